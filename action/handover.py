"""Records handed from a job that ran submission code to a job that commits.

The evaluate and compile jobs run submissions (in the sandbox) on the
self-hosted runner and leave their new records as JSON files in an
artifact; the jobs that hold the write token read those files as untrusted
input. Before a record may name a file or a board row it must be of the
kind that job hands over, of a known playbook, of a folder that lies where
its fields say, and saved under the name its fields give it; and it must
not rewrite a record the branch holds (record_check.py has the rules).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from camino.action.quota import utc_now
from camino.action.record_check import (
    KEY,
    Kind,
    check_ensemble,
    check_fields,
    check_submission,
    check_text,
    on_branch,
)
from camino.commands.batch import live_folders
from camino.errors import CaminoError
from camino.evaluator.results import Record, hash_folder, read_record
from camino.evaluator.runner import SKIPPED
from camino.playbook import Playbook, all_playbooks


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

    check_text(record, path.name)
    if path.name != record.file_name:
        raise CaminoError(
            f"{path.name}: a record of {record.path} with key {record.key} is "
            f"named {record.file_name}"
        )
    return record


def check_records(
    records: Sequence[Record],
    root: Path,
    kind: Kind,
    *,
    fresh: bool = True,
    now: dt.datetime | None = None,
) -> None:
    """Refuse the whole hand-over, naming the file, at the first record that
    is not of ``kind``, does not belong where its fields say, breaks a rule
    of record_check or would rewrite a record of ``root``'s branch.

    ``fresh`` records were just made by the evaluate jobs: stamped about
    ``now``, and of the folder's files as ``root`` has them. ``fresh=False``
    is for records a camino job committed before (the re-score branch's),
    made any time ago, of files that may have changed since.
    """
    playbooks = {playbook.name: playbook for playbook in all_playbooks(root)}
    live = _live_paths(root, list(playbooks.values()))
    moment = now or utc_now()
    for record in records:
        name = record.file_name
        check_text(record, name)
        _check_identity(record, playbooks)
        if kind is Kind.ENSEMBLE:
            check_ensemble(record, name, _members(live, record.playbook))
        else:
            check_submission(record, name)
            _check_live(record, live)
        if on_branch(root, record, name):
            continue  # the branch's own record: history, not news
        check_fields(
            record, playbooks[record.playbook], name, moment if fresh else None
        )
        if kind is Kind.SUBMISSION and fresh:
            _check_files(record, root)


def _check_identity(record: Record, playbooks: dict[str, Playbook]) -> None:
    name = record.file_name
    if record.playbook not in playbooks:
        raise CaminoError(f"{name}: unknown playbook {record.playbook!r}")
    if not KEY.fullmatch(record.key):
        raise CaminoError(
            f"{name}: key {record.key!r} is malformed; expected 6 to 64 "
            "hexadecimal digits"
        )


def _check_live(record: Record, live: dict[str, str]) -> None:
    if live.get(record.path) != record.playbook:
        raise CaminoError(
            f"{record.file_name}: {record.path} is not a model folder of this "
            "branch; a batch evaluates the live folders only"
        )


def _check_files(record: Record, root: Path) -> None:
    """The record is of the folder's files as the branch has them: the
    evaluate jobs checked out the same branch. Its data version must be
    there too, since the first record of a playbook pins its board."""
    files = hash_folder(root / record.path, SKIPPED)[:16]
    if record.submission_hash != files:
        raise CaminoError(
            f"{record.file_name}: submission_hash {record.submission_hash!r} is "
            f"not of the files of {record.path} on this branch (expected "
            f"{files!r})"
        )
    if not record.data_version:
        raise CaminoError(
            f"{record.file_name}: data_version is empty; expected the "
            "hexadecimal digest of the internal data it was evaluated on"
        )


def _members(live: dict[str, str], playbook: str) -> set[str]:
    """The names an ensemble gives its members (author/model): the
    playbook's live submission folders."""
    prefix = f"submissions/{playbook}/"
    return {
        path.removeprefix(prefix)
        for path, owner in live.items()
        if owner == playbook and path.startswith(prefix)
    }


def _live_paths(root: Path, playbooks: list[Playbook]) -> dict[str, str]:
    """Each live folder of the checkout (relative, as records name them),
    with the playbook it belongs to."""
    live = {}
    for playbook in playbooks:
        for folder in live_folders(root, [playbook]):
            live[folder.relative_to(root).as_posix()] = playbook.name
    return live
