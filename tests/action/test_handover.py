"""Records handed from a job that ran submission code to a job that commits
(handover.py, record_check.py): every field as camino writes it, no rewrite
of a committed record, and the files of the folder the branch has.

Real checkouts and records through the real hand-over files; the cases that
must leave the branch untouched push to a bare remote.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from github_standin import git
from support import clone, iris_record, make_remote, remote_text

from camino.action.batch import publish_records
from camino.action.handover import Kind, check_records, hand_over, read_handed_over
from camino.board import write_boards
from camino.errors import CaminoError
from camino.evaluator.results import (
    FAULT_PLATFORM,
    Record,
    hash_folder,
    pin_version,
    write_record,
)
from camino.evaluator.runner import SKIPPED
from camino.playbook import all_playbooks

PINNED = "a" * 16
NOW = dt.datetime.now(dt.UTC)
FAILED = {
    "status": "failed",
    "scores": {},
    "intervals": {},
    "error": {"category": "predict", "message": "x"},
    "fault": "model",
    "stage": "smoke",
}


def live(root: Path, author: str, model: str = "knn") -> Path:
    folder = root / "submissions" / "iris" / author / model
    folder.mkdir(parents=True)
    (folder / "meta.yml").write_text(f"playbook: iris\nname: {model}\n")
    (folder / "model.py").write_text("class Model: ...\n")
    return folder


def fresh(root: Path, author: str, f1: float, **changes: object) -> Record:
    """A record as the evaluate job makes it of ``author``/knn's files."""
    files = hash_folder(root / "submissions" / "iris" / author / "knn", SKIPPED)
    record = replace(
        iris_record(author, f1), data_version=PINNED, submission_hash=files[:16]
    )
    return replace(record, **changes)


@pytest.fixture
def checkout(competition: Path) -> Path:
    """iris pinned; ada/knn and victim/knn live; victim's record (0.97)
    committed."""
    live(competition, "ada")
    live(competition, "victim")
    pin_version(competition, "iris", PINNED)
    write_record(competition, fresh(competition, "victim", 0.97))
    write_boards(competition, all_playbooks(competition))
    return competition


def hand_over_and_check(root: Path, out: Path, *records: Record) -> None:
    """What a publish job does with the artifact: read, then check."""
    for record in records:
        hand_over(out, record)
    check_records(read_handed_over(out), root, Kind.SUBMISSION)


# --- every field as camino writes it -----------------------------------------

FORGED = [
    ({"rows": "45 rows)\n\n# Injected\n<img src=x>"}, "rows"),
    ({"rows": -1}, "rows"),
    ({"rows": True}, "rows"),
    ({"scores": {"f1": float("inf")}}, "scores['f1']"),
    ({"scores": {"f1": float("nan")}}, "scores['f1']"),
    ({"scores": {"balanced_accuracy": True}}, "scores['balanced_accuracy']"),
    ({"scores": {"f1 <img src=x>": 0.5}}, "scores key"),
    ({"intervals": {"f1": [float("-inf"), float("inf")]}}, "intervals['f1']"),
    ({"intervals": {"f1": [0.5]}}, "intervals['f1']"),
    ({"score_problems": {"f1": 3}}, "score_problems['f1']"),
    ({"train_seconds": "fast"}, "train_seconds"),
    ({"peak_memory_mb": -5.0}, "peak_memory_mb"),
    ({"sandboxed": "yes"}, "sandboxed"),
    ({"status": "pending"}, "status"),
    ({**FAILED, "error": {"category": "x` [a](b)", "message": "m"}}, "error.category"),
    ({**FAILED, "error": {"category": "predict"}}, "error"),
    ({**FAILED, "fault": "nobody"}, "fault"),
    ({**FAILED, "stage": "anywhere"}, "stage"),
    ({**FAILED, "error": None}, "a failed record needs an error"),
    ({"error": {"category": "train", "message": "x"}}, "a scored record has no error"),
    (
        {"metrics": [{"name": "f1", "display": "f1 <img>", "greater_is_better": True}]},
        "metrics entry 'f1'",
    ),
    (
        {"metrics": [{"name": "f1", "display": "f1 (macro)", "greater_is_better": 0}]},
        "metrics entry 'f1'",
    ),
    ({"metrics": [{"name": "r2", "display": "r2"}]}, "metrics entry"),
    ({"data_version": "x`\n\n## Injected\n`"}, "data_version"),
    ({"data_version": "abcdef\n"}, "data_version"),
    ({"submission_commit": "main; rm -rf /"}, "submission_commit"),
    ({"camino_version": "<b>1</b>"}, "camino_version"),
    ({"runner": {"name": {"nested": "x"}}}, "runner"),
    ({"details": {"members": ["ada/knn"]}}, "details"),
    ({"evaluated_at": "yesterday"}, "evaluated_at"),
    ({"evaluated_at": "2099-01-01T00:00:00+00:00"}, "evaluated_at"),
    ({"evaluated_at": "2000-01-01T00:00:00+00:00"}, "evaluated_at"),
]


@pytest.mark.parametrize(("changes", "field"), FORGED, ids=[f for _, f in FORGED])
def test_a_field_camino_would_not_write_is_refused_by_file_and_field(
    checkout: Path, tmp_path: Path, changes: dict, field: str
) -> None:
    forged = fresh(checkout, "ada", 0.99, **changes)

    with pytest.raises(CaminoError) as refused:
        hand_over_and_check(checkout, tmp_path / "out", forged)

    assert str(refused.value).startswith(f"{forged.file_name}: ")
    assert field in str(refused.value)


@pytest.mark.parametrize("name", [field.name for field in dataclasses.fields(Record)])
def test_every_field_of_a_record_has_its_type_checked(
    checkout: Path, name: str
) -> None:
    forged = replace(fresh(checkout, "ada", 0.9), **{name: [["junk"]]})

    with pytest.raises(CaminoError, match=f"^{re.escape(forged.file_name)}: .*{name}"):
        check_records([forged], checkout, Kind.SUBMISSION)


def test_a_record_as_the_evaluate_job_writes_it_passes(
    checkout: Path, tmp_path: Path
) -> None:
    record = fresh(
        checkout,
        "ada",
        0.9,
        intervals={"f1": [0.8, 1.0]},
        environment_lock="0123456789abcdef",
        runner={"name": "camino-x7k2p", "cpus": 2, "labels": ["camino"]},
        evaluated_at=(NOW - dt.timedelta(days=2)).isoformat(),
    )
    failed = fresh(checkout, "ada", 0.1, key="f" * 12, **FAILED)

    hand_over_and_check(checkout, tmp_path / "out", record, failed)


def test_a_stamp_in_the_future_cannot_lock_another_author_out(
    checkout: Path, tmp_path: Path
) -> None:
    ahead = (NOW + dt.timedelta(days=2)).isoformat()
    forged = fresh(checkout, "victim", 0.1, key="0" * 12, evaluated_at=ahead, **FAILED)

    with pytest.raises(CaminoError, match=r"evaluated_at .* expected a time from"):
        hand_over_and_check(checkout, tmp_path / "out", forged)


# --- committed records are history -------------------------------------------


@pytest.fixture
def remote(checkout: Path, tmp_path: Path) -> Path:
    return make_remote(checkout, tmp_path / "remotes")


def publish(bare: Path, tmp_path: Path, *records: Record, tag: str = "p") -> str | None:
    out = tmp_path / f"out-{tag}"
    for record in records:
        hand_over(out, record)
    return publish_records({}, clone(bare, tmp_path / tag), out)


def test_a_handed_over_record_cannot_rewrite_a_committed_one(
    checkout: Path, remote: Path, tmp_path: Path
) -> None:
    real = fresh(checkout, "victim", 0.97)
    path = f"leaderboard/results/iris/{real.file_name}"
    before = git("-C", remote, "rev-parse", "main")
    forged = replace(real, **FAILED)

    with pytest.raises(CaminoError) as refused:
        publish(remote, tmp_path, forged)

    assert str(refused.value).startswith(f"{real.file_name}: {path} is on the branch")
    assert "committed records are never rewritten" in str(refused.value)
    assert git("-C", remote, "rev-parse", "main") == before
    assert json.loads(remote_text(remote, path))["status"] == "scored"


def test_the_same_record_again_is_a_re_run_and_no_commit(
    checkout: Path, remote: Path, tmp_path: Path
) -> None:
    # Committed weeks ago: its age does not matter, it is the branch's own.
    old = (NOW - dt.timedelta(days=60)).isoformat()
    committed = fresh(checkout, "ada", 0.9, key="1" * 12, evaluated_at=old)
    write_record(checkout, committed)
    write_boards(checkout, all_playbooks(checkout))
    bare = make_remote(checkout, tmp_path / "again")

    assert publish(bare, tmp_path, committed) is None


def test_a_platform_failure_on_the_branch_may_be_retried(
    checkout: Path, tmp_path: Path
) -> None:
    error = {"category": "sandbox", "message": "bubblewrap could not start"}
    broken = {**FAILED, "fault": FAULT_PLATFORM, "error": error}
    write_record(checkout, fresh(checkout, "ada", 0.0, key="2" * 12, **broken))
    bare = make_remote(checkout, tmp_path / "retry")
    retried = fresh(checkout, "ada", 0.93, key="2" * 12)

    assert publish(bare, tmp_path, retried) is not None

    text = remote_text(bare, f"leaderboard/results/iris/{retried.file_name}")
    assert json.loads(text)["status"] == "scored"


def test_a_record_committed_after_the_checkout_is_not_rewritten_either(
    checkout: Path, remote: Path, tmp_path: Path
) -> None:
    """The publish job checked its checkout; meanwhile another job committed
    the same file. The commit step looks again on the newest branch."""
    first = fresh(checkout, "ada", 0.9, key="3" * 12)
    late = clone(remote, tmp_path / "late")
    assert publish(remote, tmp_path, first, tag="first") is not None
    out = tmp_path / "out-late"
    hand_over(out, replace(first, **FAILED))

    with pytest.raises(CaminoError, match="is on the branch already"):
        publish_records({}, late, out)

    path = f"leaderboard/results/iris/{first.file_name}"
    assert json.loads(remote_text(remote, path))["status"] == "scored"


# --- the batch: the folder's files on this branch ------------------------------


HASH = "submission_hash {!r} is not of the files of submissions/iris/ada/knn"


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"submission_hash": "0123456789abcdef"}, HASH.format("0123456789abcdef")),
        ({"submission_hash": ""}, HASH.format("")),
        ({"data_version": ""}, "data_version is empty; expected the hexadecimal"),
    ],
    ids=["other files", "no hash", "no data version"],
)
def test_a_batch_record_must_be_of_the_files_on_the_branch(
    checkout: Path, tmp_path: Path, changes: dict, said: str
) -> None:
    forged = fresh(checkout, "ada", 0.99, **changes)

    with pytest.raises(CaminoError) as refused:
        hand_over_and_check(checkout, tmp_path / "out", forged)

    assert str(refused.value).startswith(f"{forged.file_name}: {said}")


def test_a_forged_version_cannot_pin_a_new_board(
    competition: Path, tmp_path: Path
) -> None:
    """wine has no pin yet: the first record's data_version would become it."""
    folder = competition / "submissions" / "wine" / "ada" / "m"
    folder.mkdir(parents=True)
    (folder / "meta.yml").write_text("playbook: wine\nname: m\n")
    forged = replace(
        iris_record("ada", 0.9),
        playbook="wine",
        model="m",
        path="submissions/wine/ada/m",
        metrics=[],
        scores={},
        submission_hash=hash_folder(folder, SKIPPED)[:16],
        data_version="not-hex",
    )

    with pytest.raises(CaminoError, match="data_version 'not-hex'; expected a hex"):
        hand_over_and_check(competition, tmp_path / "out", forged)
