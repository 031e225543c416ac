"""The daily limit (CASES C29): counted per login and playbook from the
committed records, re-runs of an evaluated commit cost nothing, and the
refusal names the time of the next slot."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import textwrap
from pathlib import Path

from conftest import GOOD_IRIS
from github_standin import GitHubStandIn, git
from support import (
    BOT_TOKEN,
    Runner,
    clone,
    commit_files,
    fork_pull,
    iris_record,
    make_remote,
)

from camino.action.publish import publish_job
from camino.action.quota import quota
from camino.action.run import evaluate_job, fetch_head, read_job
from camino.evaluator.results import load_records, write_record

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
FOLDER = "submissions/iris/alice/knn"


def at(hours_ago: float) -> str:
    return (NOW - dt.timedelta(hours=hours_ago)).isoformat()


def add_records(
    repo: Path, author: str, hours_ago: list[float], playbook: str = "iris"
) -> None:
    for index, hours in enumerate(hours_ago):
        record = dataclasses.replace(
            iris_record(author, 0.5),
            playbook=playbook,
            model=f"m{index}",
            path=f"submissions/{playbook}/{author}/m{index}",
            evaluated_at=at(hours),
            key=hashlib.sha256(
                f"{author}{playbook}{index}{hours}".encode()
            ).hexdigest()[:12],
        )
        write_record(repo, record)


def test_quota_counts_the_last_24_hours_of_one_login_on_one_playbook(
    competition: Path,
) -> None:
    add_records(competition, "alice", [1, 2, 3, 30])  # one is a day old
    add_records(competition, "Alice", [5])  # the same login, other case
    add_records(competition, "bob", [1, 1, 1])
    add_records(competition, "alice", [1], playbook="wine")

    counted = quota(competition, "iris", "alice", 5, NOW)
    assert (counted.used, counted.left, counted.next_slot) == (4, 1, None)

    add_records(competition, "alice", [0.5])
    full = quota(competition, "iris", "alice", 5, NOW)
    assert (full.used, full.left) == (5, 0)
    # The oldest counted evaluation (5 h ago) leaves the window first.
    assert full.next_slot == NOW - dt.timedelta(hours=5) + dt.timedelta(hours=24)


def test_a_rerun_is_free_and_a_new_commit_over_the_limit_is_refused(
    standin: GitHubStandIn, split_competition: Path, tmp_path: Path
) -> None:
    bare = make_remote(split_competition, tmp_path / "remotes")
    files = {
        f"{FOLDER}/model.py": textwrap.dedent(GOOD_IRIS),
        f"{FOLDER}/meta.yml": "playbook: iris\nname: knn\n",
        # The model runs in an environment of these packages only.
        f"{FOLDER}/requirements.txt": "scikit-learn\npandas\n",
    }
    work = tmp_path / "alice"
    number = fork_pull(standin, bare, work, "alice", files)
    runner = Runner(tmp_path / "runner", standin, "org/comp")
    root = clone(bare, tmp_path / "evaluate", internal_from=split_competition)

    def evaluate_head(out: str):
        head = git("-C", work, "rev-parse", "HEAD")
        job = {
            "CAMINO_PR": str(number),
            "CAMINO_HEAD_SHA": head,
            "CAMINO_AUTHOR": "alice",
        }
        environ = runner.environ("pull_request_target", {}, None, **job)
        fetch_head(root, read_job(environ), token="")
        return evaluate_job(environ, root, tmp_path / out, clock=lambda: NOW), job

    first, _ = evaluate_head("first")
    assert (first.status, first.new, first.quota["used"]) == ("scored", True, 1)
    scored_at = dt.datetime.fromisoformat(first.record["evaluated_at"])
    clock_now = max(NOW, scored_at)
    add_records(root, "alice", [1, 2, 3, 4])

    again, _ = evaluate_head("again")
    assert (again.status, again.new) == ("scored", False)  # same commit: free

    commit_files(
        work, {f"{FOLDER}/model.py": textwrap.dedent(GOOD_IRIS) + "# v2\n"}, "v2"
    )
    git("-C", work, "push", "--quiet", "origin", "model")
    standin.head_sha(standin.pulls[("org/comp", number)])
    records_before = len(load_records(root, "iris"))
    limited, job = evaluate_head("limited")

    assert limited.status == "limited" and limited.quota["used"] == 5
    assert len(load_records(root, "iris")) == records_before  # nothing ran
    environ = runner.environ("pull_request_target", {}, BOT_TOKEN, **job)
    body = publish_job(environ, clone(bare, tmp_path / "publish"), tmp_path / "limited")
    assert "daily limit reached (5/5 on iris)" in body
    slot = dt.datetime.fromisoformat(limited.quota["next_slot"])
    assert slot.strftime("%Y-%m-%d %H:%M UTC") in body
    assert slot <= clock_now + dt.timedelta(hours=24)
