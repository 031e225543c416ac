"""Fixtures for every test that touches the GitHub side (loaded by
conftest.py as a plugin, so any test folder can use them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from github_standin import GitHubStandIn

# The variables a test must never inherit from the machine: a real token or
# API URL in them would point a test at a real GitHub.
RUNNER_VARIABLES = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_EVENT_PATH",
    "GITHUB_EVENT_NAME",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "CAMINO_REPO",
)
BOT_TOKEN = "actions-token"


@pytest.fixture(autouse=True)
def no_real_github(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in RUNNER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def standin() -> Iterator[GitHubStandIn]:
    """The REST stand-in on 127.0.0.1, with the workflow's bot user."""
    server = GitHubStandIn().start()
    server.add_user("github-actions[bot]", BOT_TOKEN, bot=True)
    yield server
    server.stop()
