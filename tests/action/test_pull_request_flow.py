"""A fork pull request from opening to the board commit, end to end.

Real PyGithub talks HTTP to the stand-in, real git fetches, pushes and
merges on bare repositories, and each job gets the environment Actions
would give it (event payload file, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY).
The jobs run in the order the workflow runs them: gate, evaluate, publish.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import GOOD_IRIS
from github_standin import GitHubStandIn, git
from support import (
    BOT_TOKEN,
    Runner,
    clone,
    comment_event,
    fork_pull,
    make_remote,
    pull_event,
    remote_files,
    remote_text,
)

from camino.action.board_commit import Target, commit_board
from camino.action.comment import MARKER
from camino.action.gate import NEEDS_APPROVAL, TRUSTED, gate
from camino.action.outcome import read_outcome
from camino.action.publish import publish_job
from camino.action.run import evaluate_job, fetch_head, read_job

REPO = "org/comp"
FOLDER = "submissions/iris/alice/knn"


def open_fork_pull(standin: GitHubStandIn, bare: Path, tmp_path: Path) -> int:
    """alice forks the competition, adds her model on a branch, opens a PR."""
    files = {
        f"{FOLDER}/model.py": textwrap.dedent(GOOD_IRIS),
        f"{FOLDER}/meta.yml": "playbook: iris\nname: knn\n",
        f"{FOLDER}/requirements.txt": "scikit-learn\npandas\n",
    }
    return fork_pull(standin, bare, tmp_path / "alice", "alice", files)


def camino_comments(standin: GitHubStandIn, number: int) -> list[str]:
    return [
        c.body for c in standin.comments_on(REPO, number) if c.body.startswith(MARKER)
    ]


def test_fork_pull_request_from_opening_to_board_commit(
    standin: GitHubStandIn,
    split_competition: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare = make_remote(split_competition, tmp_path / "remotes")
    number = open_fork_pull(standin, bare, tmp_path)
    runner = Runner(tmp_path / "runner", standin, REPO)
    gate_root = clone(bare, tmp_path / "gate")

    # A first-time contributor's fork PR: the gate holds it for approval.
    gate(
        runner.environ("pull_request_target", pull_event(standin, number), BOT_TOKEN),
        gate_root,
    )
    held = runner.outputs()
    assert (held["run"], held["environment"]) == ("true", NEEDS_APPROVAL)
    [waiting] = camino_comments(standin, number)
    head = held["head-sha"]
    assert "waits for a maintainer's approval" in waiting
    assert f"/camino evaluate {head[:12]}" in waiting

    # A member approves this exact commit; the same comment turns to "queued".
    approval = comment_event(standin, number, "bob", f"/camino evaluate {head[:12]}")
    gate(runner.environ("issue_comment", approval, BOT_TOKEN), gate_root)
    approved = runner.outputs()
    assert (approved["run"], approved["environment"]) == ("true", TRUSTED)
    [queued] = camino_comments(standin, number)
    assert "queued, waiting for a camino runner" in queued

    # The evaluate job: read-only, no token in its environment at all. The
    # runner's own variables reach camino as the runner process's.
    monkeypatch.setenv("RUNNER_NAME", "camino-x7k2p")
    monkeypatch.setenv("CAMINO_MACHINE_TYPE", "c6a.large")
    job = {
        "CAMINO_PR": approved["pr"],
        "CAMINO_HEAD_SHA": head,
        "CAMINO_AUTHOR": "alice",
    }
    evaluate_root = clone(bare, tmp_path / "evaluate", internal_from=split_competition)
    environ = runner.environ("issue_comment", approval, None, **job)
    fetch_head(evaluate_root, read_job(environ), token="")
    outcome = evaluate_job(environ, evaluate_root, tmp_path / "artifact")
    assert outcome.status == "scored", outcome
    assert outcome.record is not None
    # The folder was written from the head commit, never checked out: the
    # commit comes from the job, not from the working tree's git status.
    assert outcome.record["submission_commit"] == head
    assert "GITHUB_TOKEN" not in environ
    assert git("-C", evaluate_root, "status", "--porcelain", "--", "leaderboard")

    # The publish job: a fresh checkout, the artifact, a write token.
    before = git("-C", bare, "rev-parse", "main")
    publish_root = clone(bare, tmp_path / "publish")
    environ = runner.environ("issue_comment", approval, BOT_TOKEN, **job)
    body = publish_job(environ, publish_root, tmp_path / "artifact")

    [final] = camino_comments(standin, number)
    assert final == body
    assert "✅ Scored" in body and "**Rank 1 of 1**" in body
    assert "| f1 (macro) (↑ higher is better) |" in body
    assert "| train seconds |" in body and "| predict seconds |" in body
    assert "Submissions left today on iris: **4 of 5**" in body
    [provenance] = [line for line in body.splitlines() if "Provenance:" in line]
    assert f"commit `{head[:12]}`" in provenance
    assert "runner `camino-x7k2p` (`c6a.large`, " in provenance
    assert "| 1 | knn **← you** | alice |" in body
    assert "Merged" in body
    assert body.strip() in runner.summary.read_text()

    files = remote_files(bare)
    [result] = [f for f in files if f.startswith("leaderboard/results/iris/alice--")]
    committed = json.loads(remote_text(bare, result))
    assert committed["submission_commit"] == head
    assert committed["runner"]["name"] == "camino-x7k2p"
    assert f"{FOLDER}/model.py" in files  # merged after scoring
    assert "| alice |" in remote_text(bare, "leaderboard/iris.md")
    log = git("-C", bare, "log", "--format=%an %s", f"{before}..main").splitlines()
    assert any(line.startswith("github-actions[bot] Board: " + FOLDER) for line in log)
    assert standin.pulls[(REPO, number)].merged

    # Publishing the same result again changes nothing (CASES C22).
    record = read_outcome(tmp_path / "artifact").record_object()
    head_before = git("-C", bare, "rev-parse", "main")
    assert commit_board(publish_root, record, Target()) is None
    assert git("-C", bare, "rev-parse", "main") == head_before


CRASHING = """
    import pandas as pd

    class Model:
        def __init__(self):
            self.data = pd.read_csv("data/train.csv")
            self.y = "species"
            self.X = [c for c in self.data.columns if c != self.y]

        def train(self):
            raise ValueError("boom")
"""


def test_a_failing_model_is_recorded_explained_and_left_open(
    standin: GitHubStandIn, split_competition: Path, tmp_path: Path
) -> None:
    bare = make_remote(split_competition, tmp_path / "remotes")
    files = {
        f"{FOLDER}/model.py": textwrap.dedent(CRASHING),
        f"{FOLDER}/meta.yml": "playbook: iris\nname: knn\n",
    }
    number = fork_pull(standin, bare, tmp_path / "alice", "alice", files, "MEMBER")
    runner = Runner(tmp_path / "runner", standin, REPO)
    gate(
        runner.environ("pull_request_target", pull_event(standin, number), BOT_TOKEN),
        clone(bare, tmp_path / "gate"),
    )
    decided = runner.outputs()
    assert (decided["run"], decided["environment"]) == ("true", TRUSTED)
    job = {
        "CAMINO_PR": decided["pr"],
        "CAMINO_HEAD_SHA": decided["head-sha"],
        "CAMINO_AUTHOR": "alice",
    }
    root = clone(bare, tmp_path / "evaluate", internal_from=split_competition)
    environ = runner.environ("pull_request_target", {}, None, **job)
    fetch_head(root, read_job(environ), token="")
    assert evaluate_job(environ, root, tmp_path / "artifact").status == "failed"

    environ = runner.environ("pull_request_target", {}, BOT_TOKEN, **job)
    body = publish_job(
        environ, clone(bare, tmp_path / "publish"), tmp_path / "artifact"
    )

    assert "failed while training (Model.train())" in body
    assert "ValueError: boom" in body
    assert "Submissions left today on iris: **4 of 5**" in body  # it counted
    pull = standin.pulls[(REPO, number)]
    assert (pull.state, pull.merged) == ("open", False)
    files_on_main = remote_files(bare)
    assert any(
        f.startswith("leaderboard/results/iris/alice--knn--") for f in files_on_main
    )
    assert f"{FOLDER}/model.py" not in files_on_main
    assert "| alice |" not in remote_text(bare, "leaderboard/iris.md")
