"""Records handed from a job that ran submission code to a job that commits.

The evaluate and compile jobs run submissions (in the sandbox) on the
self-hosted runner and leave their new records as JSON files in an
artifact; the jobs that hold the write token read those files as untrusted
input. Before a record may name a file or a board row it must be of the
kind that job hands over, of a known playbook, of a folder that lies where
its fields say, and saved under the name its fields give it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from enum import Enum
from pathlib import Path

from camino.action.publish import KEY, LOGIN, SLUG
from camino.commands.batch import live_folders
from camino.errors import CaminoError
from camino.evaluator.results import BASELINE_AUTHOR, Record, read_record
from camino.playbook import Playbook, all_playbooks

# The author of the rows camino makes itself (ensembles).
CAMINO_AUTHOR = "camino"
TEXT_FIELDS = ("playbook", "author", "model", "path", "key", "status", "kind")


class Kind(Enum):
    """What a job hands over: the compile job ensembles, the batch and the
    re-score jobs evaluations of live folders (submissions and baselines)."""

    ENSEMBLE = "ensemble"
    SUBMISSION = "submission"


def hand_over(out: Path, record: Record) -> Path:
    """Write ``record`` into the folder that becomes the artifact."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / record.file_name
    path.write_text(json.dumps(asdict(record), indent=2), encoding="utf-8")
    return path


def read_handed_over(out: Path) -> list[Record]:
    """The records in ``out`` (none when the folder is missing: the job
    before had nothing new, so it uploaded no artifact)."""
    paths = sorted(out.glob("*.json")) if out.is_dir() else []
    return [_read(path) for path in paths]


def _read(path: Path) -> Record:
    try:
        record = read_record(path)
    except (ValueError, TypeError, AttributeError, OSError) as error:
        raise CaminoError(f"{path.name}: not a camino record ({error})") from None

    wrong = [name for name in TEXT_FIELDS if not isinstance(getattr(record, name), str)]
    if wrong:
        raise CaminoError(f"{path.name}: {', '.join(wrong)} must be text")
    if path.name != record.file_name:
        raise CaminoError(
            f"{path.name}: a record of {record.path} with key {record.key} is "
            f"named {record.file_name}"
        )
    return record


def check_records(records: Sequence[Record], root: Path, kind: Kind) -> None:
    """Refuse the whole hand-over, naming the file, at the first record that
    is not of ``kind`` or does not belong where its fields say."""
    playbooks = {playbook.name: playbook for playbook in all_playbooks(root)}
    live = (
        _live_paths(root, list(playbooks.values())) if kind is Kind.SUBMISSION else {}
    )
    for record in records:
        _check_common(record, playbooks)
        if kind is Kind.ENSEMBLE:
            _check_ensemble(record)
        else:
            _check_submission(record, live)


def _check_common(record: Record, playbooks: dict[str, Playbook]) -> None:
    name = record.file_name
    if record.playbook not in playbooks:
        raise CaminoError(f"{name}: unknown playbook {record.playbook!r}")
    if not KEY.fullmatch(record.key) or record.status not in ("scored", "failed"):
        raise CaminoError(f"{name}: record key or status is malformed")
    for metric, value in record.scores.items():
        if value is not None and not isinstance(value, int | float):
            raise CaminoError(f"{name}: score {metric!r} is not a number")


def _check_ensemble(record: Record) -> None:
    if record.kind != Kind.ENSEMBLE.value or record.author != CAMINO_AUTHOR:
        raise CaminoError(
            f"{record.file_name}: not an ensemble record; the compile job "
            "hands over ensembles only"
        )


def _check_submission(record: Record, live: dict[str, str]) -> None:
    name = record.file_name
    if record.kind != Kind.SUBMISSION.value or record.author == CAMINO_AUTHOR:
        raise CaminoError(
            f"{name}: kind {record.kind!r} by {record.author!r}; the evaluate "
            "jobs hand over evaluations of submissions and baselines only"
        )
    if not _names_are_valid(record):
        raise CaminoError(
            f"{name}: author {record.author!r} or model {record.model!r} is not "
            "a valid name"
        )
    expected = folder_of(record)
    if record.path != expected:
        raise CaminoError(
            f"{name}: path {record.path!r} does not match its playbook, author "
            f"and model (expected {expected!r})"
        )
    if live.get(record.path) != record.playbook:
        raise CaminoError(
            f"{name}: {record.path} is not a model folder of this branch; a "
            "batch evaluates the live folders only"
        )


def _names_are_valid(record: Record) -> bool:
    if record.author == BASELINE_AUTHOR:
        return record.model == "template"
    return bool(LOGIN.fullmatch(record.author) and SLUG.fullmatch(record.model))


def folder_of(record: Record) -> str:
    """Where the evaluated folder lies, from the record's own fields."""
    if record.author == BASELINE_AUTHOR:
        return f"playbooks/{record.playbook}/template"
    return f"submissions/{record.playbook}/{record.author}/{record.model}"


def _live_paths(root: Path, playbooks: list[Playbook]) -> dict[str, str]:
    """Each live folder of the checkout (relative, as records name them),
    with the playbook it belongs to."""
    live = {}
    for playbook in playbooks:
        for folder in live_folders(root, [playbook]):
            live[folder.relative_to(root).as_posix()] = playbook.name
    return live
