"""Talk to GitHub Actions in its own protocol: the runner's environment in,
step outputs, the job summary and ``::error::`` annotations out.

Nothing here reads ``os.environ`` at import time: every function takes the
environment as a mapping, so tests hand in a dict with temporary files, as
the runner would set them.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from camino.errors import CaminoError


@dataclass(frozen=True)
class Runner:
    """What Actions tells a step about itself, read once from the environment."""

    event_name: str
    event_path: Path | None
    repository: str
    token: str
    api_url: str
    server_url: str
    run_id: str
    output: Path | None
    summary: Path | None

    @property
    def run_url(self) -> str:
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"


def read_runner(environ: Mapping[str, str]) -> Runner:
    """The runner's variables; a missing API URL is an error, not a guess, so
    nothing can ever talk to a GitHub the caller did not name."""
    event_path = environ.get("GITHUB_EVENT_PATH")
    output = environ.get("GITHUB_OUTPUT")
    summary = environ.get("GITHUB_STEP_SUMMARY")
    return Runner(
        event_name=environ.get("GITHUB_EVENT_NAME", ""),
        event_path=Path(event_path) if event_path else None,
        repository=environ.get("GITHUB_REPOSITORY", ""),
        token=environ.get("GITHUB_TOKEN", ""),
        api_url=environ.get("GITHUB_API_URL", ""),
        server_url=environ.get("GITHUB_SERVER_URL", ""),
        run_id=environ.get("GITHUB_RUN_ID", ""),
        output=Path(output) if output else None,
        summary=Path(summary) if summary else None,
    )


def require(runner: Runner, *names: str) -> None:
    """Fail early, naming the variable, when a step needs what is not set."""
    missing = [name for name in names if not getattr(runner, name)]
    if missing:
        variables = ", ".join(f"GITHUB_{name.upper()}" for name in missing)
        raise CaminoError(
            f"{variables} not set: run this inside a GitHub Actions step "
            "(or set the variables as the runner does)"
        )


def set_outputs(runner: Runner, values: Mapping[str, str]) -> None:
    """Append step outputs; every value uses a heredoc delimiter, so a value
    with newlines (or one that looks like ``name=value``) stays one value."""
    if runner.output is None:
        return
    with runner.output.open("a", encoding="utf-8") as stream:
        for name, value in values.items():
            delimiter = f"CAMINO_{uuid.uuid4().hex}"
            stream.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def add_summary(runner: Runner, markdown: str) -> None:
    if runner.summary is None:
        return
    with runner.summary.open("a", encoding="utf-8") as stream:
        stream.write(markdown.rstrip() + "\n\n")


def annotate(
    level: str, message: str, *, title: str = "camino", stream: TextIO | None = None
) -> None:
    """One workflow command (``::error::``, ``::warning::``, ``::notice::``).

    Newlines and the characters the runner parses are escaped as Actions
    documents, so a message cannot end the command early or inject another.
    """
    text = _escape(message, data=True)
    head = _escape(title, data=False)
    print(f"::{level} title={head}::{text}", file=stream or sys.stdout, flush=True)


def report_error(runner: Runner, message: str, stream: TextIO | None = None) -> None:
    """The one way a step reports a failure: an annotation on the run and a
    paragraph in the job summary, with the same words."""
    annotate("error", message, stream=stream)
    add_summary(runner, f"### camino failed\n\n{message}")


def _escape(text: str, *, data: bool) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if not data:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text
