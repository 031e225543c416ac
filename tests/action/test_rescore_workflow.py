"""The re-score workflow's steps (rescore.yml): new internal data in the
store becomes one pull request that moves the board, and only one.

A real bare remote, the stand-in GitHub driven by the real PyGithub, local
internal stores, real evaluations in the sandbox (two iris examples and the
baseline, on the old data and on the new). The held-back cases hand over
records made up for a folder that is never run.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT, refresh_internal_data
from github_standin import GitHubStandIn, git
from support import (
    BOT_TOKEN,
    Runner,
    clone,
    iris_record,
    make_remote,
    remote_files,
    remote_text,
)

from camino.action.batch import evaluate_shard_job
from camino.action.handover import hand_over
from camino.action.rescore import (
    MARKER,
    Move,
    branch_name,
    detect_job,
    publish_rescore,
    read_request,
)
from camino.commands.batch import evaluate_all
from camino.errors import CaminoError
from camino.evaluator.results import FAULT_PLATFORM, Record, hash_folder, pin_version
from camino.evaluator.runner import SKIPPED
from camino.playbook import load_playbook, playbook_dir

REPO = "org/comp"
EXAMPLES = ["ada/nearest-neighbours", "grace/random-forest"]
OLD, NEW = "a" * 16, "b" * 16
PINS = "leaderboard/results/iris/DATA_VERSION"


def publish_environ(runner: Runner, detected: dict[str, str], run: str) -> dict:
    """What the publish job gets: the detect job's outputs, as env."""
    return runner.environ(
        "schedule",
        {},
        BOT_TOKEN,
        GITHUB_RUN_ID=run,
        CAMINO_PLAYBOOKS=detected["playbooks"],
        CAMINO_VERSIONS=detected["versions"],
        CAMINO_BRANCH=detected["branch"],
    )


def open_pulls(standin: GitHubStandIn) -> list:
    return [pull for pull in standin.pulls.values() if pull.state == "open"]


@pytest.fixture
def evaluated(competition: Path, tmp_path: Path, standin: GitHubStandIn) -> Path:
    """Two iris examples and the baseline, evaluated and pinned, on a bare
    remote that the stand-in serves as org/comp."""
    for name in EXAMPLES:
        source = ROOT / "submissions" / "iris" / name
        shutil.copytree(source, competition / "submissions" / "iris" / name)
    iris = load_playbook(playbook_dir(competition, "iris"))
    assert len(evaluate_all(competition, [iris]).new) == 3
    bare = make_remote(competition, tmp_path / "remotes")
    standin.add_repo(REPO, bare, {"github-actions[bot]"})
    return bare


def test_new_internal_data_becomes_one_pull_request(
    evaluated: Path, competition: Path, standin: GitHubStandIn, tmp_path: Path
) -> None:
    bare = evaluated
    main = git("-C", bare, "rev-parse", "main")
    old = remote_text(bare, PINS).strip()
    # The runner's checkout, whose store the maintainers refreshed.
    checkout = clone(bare, tmp_path / "checkout", internal_from=competition)
    refresh_internal_data(checkout)
    runner = Runner(tmp_path / "detect", standin, REPO)
    environ = runner.environ("schedule", {}, BOT_TOKEN)

    detect_job(environ, checkout, ["iris"])
    detected = runner.outputs()
    versions = json.loads(detected["versions"])
    new = versions["iris"]["new"]
    assert detected["playbooks"] == "iris" and versions["iris"]["old"] == old
    assert new != old
    assert json.loads(detected["shards"]) == ["1/3", "2/3", "3/3"]
    assert detected["branch"].startswith("camino/rescore-")

    out = tmp_path / "records"
    for shard in json.loads(detected["shards"]):
        evaluate_shard_job(environ, checkout, shard, out, ["iris"])
    publisher = Runner(tmp_path / "publish", standin, REPO)
    url = publish_rescore(
        publish_environ(publisher, detected, "1"), clone(bare, tmp_path / "p1"), out
    )

    branch = detected["branch"]
    files = remote_files(bare, branch)
    handed = sorted(path.name for path in out.glob("*.json"))
    assert len(handed) == 3
    assert all(f"leaderboard/results/iris/{name}" in files for name in handed)
    assert remote_text(bare, PINS, branch).strip() == new
    assert f"Internal data version `{new}`" in remote_text(
        bare, "leaderboard/iris.md", branch
    )
    assert git("-C", bare, "rev-parse", "main") == main
    (pull,) = open_pulls(standin)
    assert (pull.head_ref, pull.author) == (branch, "github-actions[bot]")
    assert url and url.endswith(f"/pull/{pull.number}")
    assert pull.body.startswith(MARKER)
    assert "| rank now | before | Δ |" in pull.body
    assert f"| iris | `{old}` → `{new}` | 3 | 3 | 0 | moves |" in pull.body
    assert "**Merging** switches the moved boards" in pull.body

    # The next daily run: the branch exists, so nothing is evaluated again.
    again = Runner(tmp_path / "detect-again", standin, REPO)
    detect_job(again.environ("schedule", {}, BOT_TOKEN), checkout, ["iris"])
    assert json.loads(again.outputs()["shards"]) == []
    assert again.outputs()["branch"] == branch
    assert f"The branch `{branch}` exists" in again.summary.read_text()

    # Its publish job gets no records: it rebuilds the branch from the ones
    # already there and edits the same pull request.
    publish_rescore(
        publish_environ(Runner(tmp_path / "p2", standin, REPO), detected, "2"),
        clone(bare, tmp_path / "p2-checkout"),
        tmp_path / "no-artifact",
    )
    assert open_pulls(standin) == [pull] and len(standin.pulls) == 1
    assert ("PATCH", f"/repos/{REPO}/pulls/{pull.number}") in standin.requests
    assert f"| iris | `{old}` → `{new}` | 3 | 0 | 3 | moves |" in pull.body
    assert remote_text(bare, PINS, branch).strip() == new
    assert git("-C", bare, "rev-parse", "main") == main


# --- held back, refused: records made up for a folder that never runs -----------


@pytest.fixture
def stale_remote(
    competition: Path, tmp_path: Path, standin: GitHubStandIn
) -> tuple[Path, Path]:
    """org/comp whose iris board is pinned to OLD, with one live folder
    ada/knn beside the baseline; returns the remote and that folder."""
    folder = competition / "submissions" / "iris" / "ada" / "knn"
    folder.mkdir(parents=True)
    (folder / "meta.yml").write_text("playbook: iris\nname: knn\n")
    (folder / "model.py").write_text("class Model: ...\n")
    pin_version(competition, "iris", OLD)
    bare = make_remote(competition, tmp_path / "remotes")
    standin.add_repo(REPO, bare, {"github-actions[bot]"})
    return bare, folder


def request_outputs(moves: dict[str, Move]) -> dict[str, str]:
    versions = {name: {"old": m.old, "new": m.new} for name, m in moves.items()}
    return {
        "playbooks": " ".join(sorted(moves)),
        "versions": json.dumps(versions),
        "branch": branch_name(moves),
    }


def on_new_data(folder: Path, **changes: object) -> Record:
    """A record of ada/knn's files on the NEW data, with ``changes``."""
    files = hash_folder(folder, SKIPPED)[:16]
    fields = {"data_version": NEW, "submission_hash": files, **changes}
    return replace(iris_record("ada", 0.9), **fields)


@pytest.mark.parametrize(
    ("records", "reason"),
    [
        ({}, "no evaluation on the new data of playbooks/iris/template"),
        (
            {
                "status": "failed",
                "fault": FAULT_PLATFORM,
                "error": {"category": "sandbox", "message": "no sandbox"},
            },
            "the platform failed submissions/iris/ada/knn",
        ),
    ],
    ids=["missing", "platform"],
)
def test_a_board_without_every_record_on_the_new_data_is_held_back(
    stale_remote: tuple[Path, Path],
    standin: GitHubStandIn,
    tmp_path: Path,
    records: dict,
    reason: str,
) -> None:
    bare, folder = stale_remote
    detected = request_outputs({"iris": Move(OLD, NEW)})
    hand_over(tmp_path / "out", on_new_data(folder, **records))
    if records:  # the baseline has its record; ada's is the platform failure
        template = folder.parents[3] / "playbooks" / "iris" / "template"
        baseline = iris_record("_baseline", 0.5)
        hand_over(
            tmp_path / "out",
            replace(
                baseline,
                model="template",
                path="playbooks/iris/template",
                key="1" * 12,
                data_version=NEW,
                submission_hash=hash_folder(template, SKIPPED)[:16],
            ),
        )
    runner = Runner(tmp_path / "publish", standin, REPO)

    publish_rescore(
        publish_environ(runner, detected, "1"),
        clone(bare, tmp_path / "publisher"),
        tmp_path / "out",
    )

    (pull,) = open_pulls(standin)
    assert "### Held back" in pull.body and reason in pull.body
    assert "| iris | " in pull.body and "| held back |" in pull.body
    assert remote_text(bare, PINS, detected["branch"]).strip() == OLD


def test_a_record_on_other_data_than_the_move_is_refused(
    stale_remote: tuple[Path, Path], standin: GitHubStandIn, tmp_path: Path
) -> None:
    bare, folder = stale_remote
    detected = request_outputs({"iris": Move(OLD, NEW)})
    record = on_new_data(folder, data_version="c" * 16)
    hand_over(tmp_path / "out", record)
    runner = Runner(tmp_path / "publish", standin, REPO)

    with pytest.raises(CaminoError, match=f"^{record.file_name}: data version"):
        publish_rescore(
            publish_environ(runner, detected, "1"),
            clone(bare, tmp_path / "publisher"),
            tmp_path / "out",
        )

    assert detected["branch"] not in git("-C", bare, "branch", "--list")
    assert not standin.pulls


def test_a_re_score_of_newer_data_closes_the_one_it_replaces(
    stale_remote: tuple[Path, Path], standin: GitHubStandIn, tmp_path: Path
) -> None:
    bare, folder = stale_remote
    newest = "c" * 16
    pulls = []
    for version in (NEW, newest):
        detected = request_outputs({"iris": Move(OLD, version)})
        out = tmp_path / f"out-{version}"
        hand_over(out, on_new_data(folder, data_version=version))
        runner = Runner(tmp_path / f"publish-{version}", standin, REPO)
        publish_rescore(
            publish_environ(runner, detected, version[0]),
            clone(bare, tmp_path / f"publisher-{version}"),
            out,
        )
        pulls.append(
            next(p for p in standin.pulls.values() if p.head_ref == detected["branch"])
        )

    older, newer = pulls
    assert open_pulls(standin) == [newer]
    assert older.state == "closed"
    (comment,) = standin.comments_on(REPO, older.number)
    assert f"Superseded by #{newer.number}" in comment.body


def test_a_re_score_leaves_open_one_that_moves_other_boards_too(
    stale_remote: tuple[Path, Path], standin: GitHubStandIn, tmp_path: Path
) -> None:
    bare, folder = stale_remote
    git("-C", bare, "branch", "camino/rescore-0123456789ab", "main")
    wider = standin.open_pull(
        REPO, REPO, "camino/rescore-0123456789ab", "github-actions[bot]", "wider"
    )
    wider.body = "<!-- camino:rescore -->\n<!-- camino:moves iris,wine -->"
    detected = request_outputs({"iris": Move(OLD, NEW)})
    hand_over(tmp_path / "out", on_new_data(folder))

    publish_rescore(
        publish_environ(Runner(tmp_path / "publish", standin, REPO), detected, "1"),
        clone(bare, tmp_path / "publisher"),
        tmp_path / "out",
    )

    # Merging iris alone must not drop wine's move: both stay open.
    assert wider.state == "open" and len(open_pulls(standin)) == 2


def test_without_the_repository_setting_the_branch_waits_for_the_next_run(
    stale_remote: tuple[Path, Path], standin: GitHubStandIn, tmp_path: Path
) -> None:
    bare, folder = stale_remote
    standin.actions_open_pulls = False
    detected = request_outputs({"iris": Move(OLD, NEW)})
    hand_over(tmp_path / "out", on_new_data(folder))
    runner = Runner(tmp_path / "publish", standin, REPO)

    with pytest.raises(CaminoError, match="Allow GitHub Actions to create and appr"):
        publish_rescore(
            publish_environ(runner, detected, "1"),
            clone(bare, tmp_path / "publisher"),
            tmp_path / "out",
        )

    assert detected["branch"] in git("-C", bare, "branch", "--list")
    assert not standin.pulls


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"CAMINO_VERSIONS": "{"}, "CAMINO_VERSIONS: expected the detect job's"),
        ({"CAMINO_VERSIONS": "{}"}, "a non-empty JSON object"),
        (
            {"CAMINO_VERSIONS": json.dumps({"nope": {"old": OLD, "new": NEW}})},
            "unknown playbook 'nope'",
        ),
        (
            {"CAMINO_VERSIONS": json.dumps({"iris": {"old": OLD, "new": "x"}})},
            "'iris' has no valid new version",
        ),
        ({"CAMINO_PLAYBOOKS": "iris wine"}, "CAMINO_PLAYBOOKS 'iris wine' and"),
        ({"CAMINO_BRANCH": "main"}, "CAMINO_BRANCH 'main' is not the re-score"),
    ],
)
def test_the_detect_outputs_are_checked_before_anything_is_pushed(
    competition: Path, change: dict[str, str], message: str
) -> None:
    detected = request_outputs({"iris": Move(OLD, NEW)})
    environ = {
        "CAMINO_PLAYBOOKS": detected["playbooks"],
        "CAMINO_VERSIONS": detected["versions"],
        "CAMINO_BRANCH": detected["branch"],
        **change,
    }

    with pytest.raises(CaminoError, match=message.replace("(", r"\(")):
        read_request(environ, competition)


def test_branch_names_follow_the_versions() -> None:
    one = branch_name({"iris": Move(OLD, NEW)})

    assert one == branch_name({"iris": Move(OLD, NEW)})
    assert one != branch_name({"iris": Move(OLD, "c" * 16)})
    assert one.startswith("camino/rescore-")
