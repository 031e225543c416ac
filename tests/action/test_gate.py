"""Who may start an evaluation: the gate job against the stand-in.

Members' pull requests run at once; first-time contributors wait for an
approval that names the exact head commit; ``/camino rescore`` works for the
author and maintainers and never skips an approval.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from github_standin import GitHubStandIn, git
from support import (
    BOT_TOKEN,
    Runner,
    comment_event,
    commit_files,
    fork_pull,
    make_remote,
    pull_event,
)

from camino.action.comment import MARKER
from camino.action.gate import NEEDS_APPROVAL, TRUSTED, gate

FILES = {"submissions/iris/alice/knn/model.py": "class Model: ...\n"}


@pytest.fixture
def bare(competition: Path, tmp_path: Path) -> Path:
    return make_remote(competition, tmp_path / "remotes")


def run_gate(
    standin: GitHubStandIn, tmp_path: Path, event: str, payload: dict
) -> dict[str, str]:
    runner = Runner(tmp_path / "runner", standin, "org/comp")
    gate(runner.environ(event, payload, BOT_TOKEN), tmp_path / "gate-root")
    return runner.outputs()


def sticky(standin: GitHubStandIn, number: int) -> str:
    [body] = [
        c.body
        for c in standin.comments_on("org/comp", number)
        if c.body.startswith(MARKER)
    ]
    return body


@pytest.fixture
def gate_root(tmp_path: Path) -> Path:
    root = tmp_path / "gate-root"
    root.mkdir()
    return root


@pytest.mark.usefixtures("gate_root")
@pytest.mark.parametrize(
    ("association", "environment", "words"),
    [
        ("MEMBER", TRUSTED, "queued"),
        ("CONTRIBUTOR", TRUSTED, "queued"),
        ("FIRST_TIME_CONTRIBUTOR", NEEDS_APPROVAL, "waits for a maintainer"),
        ("NONE", NEEDS_APPROVAL, "waits for a maintainer"),
    ],
)
def test_pull_request_runs_or_waits_by_who_opened_it(
    standin: GitHubStandIn,
    bare: Path,
    tmp_path: Path,
    association: str,
    environment: str,
    words: str,
) -> None:
    number = fork_pull(standin, bare, tmp_path / "w", "alice", FILES, association)

    out = run_gate(
        standin, tmp_path, "pull_request_target", pull_event(standin, number)
    )

    assert (out["run"], out["environment"]) == ("true", environment)
    assert (out["pr"], out["author"]) == (str(number), "alice")
    assert words in sticky(standin, number)


@pytest.mark.usefixtures("gate_root")
def test_approval_must_name_the_current_head(
    standin: GitHubStandIn, bare: Path, tmp_path: Path
) -> None:
    work = tmp_path / "w"
    number = fork_pull(standin, bare, work, "alice", FILES)
    old = git("-C", work, "rev-parse", "HEAD")
    commit_files(work, {"submissions/iris/alice/knn/more.py": "x"}, "more")
    git("-C", work, "push", "--quiet", "origin", "model")

    stale = comment_event(standin, number, "bob", f"/camino evaluate {old[:12]}")
    out = run_gate(standin, tmp_path, "issue_comment", stale)

    assert out["run"] == "false"
    new = git("-C", work, "rev-parse", "HEAD")
    assert f"/camino evaluate {new[:12]}" in sticky(standin, number)

    fresh = comment_event(standin, number, "bob", f"/camino evaluate {new[:7]}")
    out = run_gate(standin, tmp_path, "issue_comment", fresh)
    assert (out["run"], out["environment"], out["head-sha"]) == ("true", TRUSTED, new)


@pytest.mark.usefixtures("gate_root")
def test_only_members_approve_and_only_author_or_members_rescore(
    standin: GitHubStandIn, bare: Path, tmp_path: Path
) -> None:
    number = fork_pull(standin, bare, tmp_path / "w", "alice", FILES)
    standin.add_user("mallory", "m-token", association="NONE")
    head = standin.pull_json(standin.pulls[("org/comp", number)], "bob")["head"]["sha"]

    self_approval = comment_event(standin, number, "alice", f"/camino evaluate {head}")
    assert run_gate(standin, tmp_path, "issue_comment", self_approval)["run"] == "false"
    assert "was ignored" in sticky(standin, number)

    stranger = comment_event(standin, number, "mallory", "/camino rescore")
    assert run_gate(standin, tmp_path, "issue_comment", stranger)["run"] == "false"

    # The author's rescore of an unapproved commit goes to the approval gate...
    rescore = comment_event(standin, number, "alice", "/camino rescore")
    out = run_gate(standin, tmp_path, "issue_comment", rescore)
    assert (out["run"], out["environment"]) == ("true", NEEDS_APPROVAL)

    # ...and runs at once after a member approved that commit.
    comment_event(standin, number, "bob", f"/camino evaluate {head[:10]}")
    again = comment_event(standin, number, "alice", "/camino rescore")
    out = run_gate(standin, tmp_path, "issue_comment", again)
    assert (out["run"], out["environment"]) == ("true", TRUSTED)


@pytest.mark.usefixtures("gate_root")
def test_plain_comments_start_nothing_and_post_nothing(
    standin: GitHubStandIn, bare: Path, tmp_path: Path
) -> None:
    number = fork_pull(standin, bare, tmp_path / "w", "alice", FILES)
    chat = comment_event(standin, number, "bob", "looks good! /camino evaluate later")

    out = run_gate(standin, tmp_path, "issue_comment", chat)

    assert out["run"] == "false"
    assert not [c for c in standin.comments_on("org/comp", number) if MARKER in c.body]
    assert not [m for m, _ in standin.requests if m in ("POST", "PATCH", "PUT")]
