"""The compile workflow's publish step: ensembles in, nothing else."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from support import clone, iris_record, make_remote, remote_files, remote_text

from camino.action.compiled import publish_compiled
from camino.errors import CaminoError

ENSEMBLE_DETAILS = {
    "voting": "hard",
    "refit": False,
    "members": ["ada/knn", "bo/tree"],
    "member_scores": [0.9, 0.8],
    "weights": None,
    "best_member": 0.9,
    "gain": 0.02,
    "without": [None, None],
    "agreement": [[1.0, 0.9], [0.9, 1.0]],
}


@pytest.fixture
def checkout(competition: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The ensemble's members, ada/knn and bo/tree, are live iris folders."""
    for member in ENSEMBLE_DETAILS["members"]:
        folder = competition / "submissions" / "iris" / member
        folder.mkdir(parents=True)
        (folder / "meta.yml").write_text(f"playbook: iris\nname: {folder.name}\n")
    remote = make_remote(competition, tmp_path / "remotes")
    return remote, clone(remote, tmp_path / "publisher")


def hand_over(folder: Path, *records) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for record in records:
        (folder / record.file_name).write_text(json.dumps(asdict(record)))
    return folder


def ensemble(f1: float, **changes: object):
    record = iris_record("camino", f1)
    fields = {
        "model": "ensemble",
        "path": "leaderboard/ensembles/iris.md",
        "kind": "ensemble",
        "details": ENSEMBLE_DETAILS,
        **changes,
    }
    return replace(record, **fields)


def test_an_ensemble_is_committed_with_its_page_and_once(
    checkout: tuple[Path, Path], tmp_path: Path
) -> None:
    remote, root = checkout
    out = hand_over(tmp_path / "out", ensemble(0.92))

    first = publish_compiled({}, root, out)
    again = publish_compiled({}, root, out)

    assert first is not None and again is None
    files = remote_files(remote)
    assert "leaderboard/ensembles/iris.md" in files
    assert "ensemble" in remote_text(remote, "leaderboard/iris.md")
    assert "+0.0200 against its best member" in remote_text(
        remote, "leaderboard/ensembles/iris.md"
    )


def test_anything_but_an_ensemble_record_is_refused(
    checkout: tuple[Path, Path], tmp_path: Path
) -> None:
    remote, root = checkout
    before = remote_files(remote)
    forged = replace(iris_record("mallory", 1.0), model="best")
    out = hand_over(tmp_path / "out", ensemble(0.92), forged)

    with pytest.raises(CaminoError, match="not an ensemble record"):
        publish_compiled({}, root, out)

    assert remote_files(remote) == before


def test_nothing_handed_over_is_no_commit(
    checkout: tuple[Path, Path], tmp_path: Path
) -> None:
    _, root = checkout
    assert publish_compiled({}, root, hand_over(tmp_path / "empty")) is None


PHISH = "ada/knn](https://evil.example/phish) <img src=https://evil.example/t.png> [x"
FORGED = [
    (
        {"details": {**ENSEMBLE_DETAILS, "members": [PHISH, "bo/tree"]}},
        "details.members",
    ),
    ({"details": {**ENSEMBLE_DETAILS, "members": ["ada/knn", "mallory/x"]}}, "members"),
    ({"details": {**ENSEMBLE_DETAILS, "members": ["ada/knn"]}}, "details.members"),
    ({"details": {}}, "details {}; expected the keys"),
    ({"details": {**ENSEMBLE_DETAILS, "agreement": [[1.0]]}}, "details.agreement"),
    ({"details": {**ENSEMBLE_DETAILS, "member_scores": [0.9]}}, "member_scores"),
    ({"details": {**ENSEMBLE_DETAILS, "voting": "<b>"}}, "details.voting"),
    ({"details": {**ENSEMBLE_DETAILS, "gain": float("inf")}}, "details.gain"),
    ({"path": "../../../../evil"}, "path '../../../../evil'"),
    ({"model": "x](https:evil.example) [y"}, "not an ensemble record"),
    ({"scores": {"f1": float("nan")}}, "scores['f1']"),
]


@pytest.mark.parametrize(("changes", "said"), FORGED, ids=[s for _, s in FORGED])
def test_an_ensemble_compile_would_not_write_is_refused(
    checkout: tuple[Path, Path], tmp_path: Path, changes: dict, said: str
) -> None:
    remote, root = checkout
    before = remote_files(remote)
    forged = ensemble(0.999, **changes)
    out = hand_over(tmp_path / "out", forged)

    with pytest.raises(CaminoError) as refused:
        publish_compiled({}, root, out)

    assert str(refused.value).startswith(f"{forged.file_name}: ")
    assert said in str(refused.value)
    assert remote_files(remote) == before
