"""What moving a board to new internal data changes: a table of every model
folder's rank and score on the old data and on the new.

A re-score ranks everyone on the new data at once; this table is what the
maintainers read before they accept it (the body of the re-score pull
request, and the end of ``camino rescore``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from camino.board import Board, Row, build_board, render_template
from camino.evaluator.results import Record, load_records
from camino.metrics import Metric
from camino.playbook import Playbook

TEMPLATE = "rank_changes.md.j2"


@dataclass(frozen=True)
class Change:
    """One model folder on the old board and on the new one."""

    author: str  # the row's label: a login, or *baseline*
    model: str
    before: int | None  # rank; None when not ranked (or the baseline)
    after: int | None
    score_before: float | None
    score_after: float | None
    # "ranked", "new" (not on the old board), "failed" (its run on the new
    # data failed), or "not re-scored" (no run on the new data: the folder
    # is gone from the branch).
    status: str
    error: str = ""

    @property
    def moved(self) -> int | None:
        """Places gained (positive) or lost; None when there is no pair."""
        if self.before is None or self.after is None:
            return None
        return self.before - self.after


@dataclass(frozen=True)
class RankChanges:
    playbook: Playbook
    metric: Metric
    old_version: str | None
    new_version: str
    changes: list[Change]

    @property
    def moved(self) -> int:
        return sum(1 for change in self.changes if change.moved)


def rank_changes(
    repo: Path,
    playbook: Playbook,
    old_version: str | None,
    new_version: str,
    records: Sequence[Record] | None = None,
) -> RankChanges:
    """Compare the board on ``old_version`` with the board on ``new_version``
    (reading the records once when the caller has none)."""
    if records is None:
        records = load_records(repo, playbook.name)
    after = build_board(repo, playbook, records=records, version=new_version)
    before = (
        build_board(repo, playbook, records=records, version=old_version)
        if old_version
        else None
    )
    failures = _failures(records, new_version)

    metric = after.metric.name
    changes = [_ranked(row, before, metric) for row in _participant_rows(after)]
    shown = {(change.author, change.model) for change in changes}
    for row in _participant_rows(before) if before else []:
        if (row.label, row.record.model) not in shown:
            failure = failures.get(row.record.folder)
            changes.append(_left_behind(row, failure, metric))
    return RankChanges(playbook, after.metric, old_version, new_version, changes)


def _participant_rows(board: Board) -> list[Row]:
    # The ensemble is rebuilt by the next compile on the new data; the
    # baseline stays in as the yardstick.
    return [row for row in board.rows if row.record.kind != "ensemble"]


def _failures(records: Sequence[Record], version: str) -> dict[str, Record]:
    """Each folder's latest failed run on ``version``."""
    failed = [r for r in records if r.data_version == version and not r.scored]
    latest: dict[str, Record] = {}
    for record in sorted(failed, key=lambda r: (r.evaluated_at, r.key)):
        latest[record.folder] = record
    return latest


def _ranked(row: Row, before: Board | None, metric: str) -> Change:
    old = _find(before, row.record.folder)
    return Change(
        row.label,
        row.record.model,
        old.rank if old else None,
        row.rank,
        old.scores.get(metric) if old else None,
        row.scores.get(metric),
        "ranked" if old else "new",
    )


def _left_behind(row: Row, failure: Record | None, metric: str) -> Change:
    error = (failure.error or {}) if failure else {}
    return Change(
        row.label,
        row.record.model,
        row.rank,
        None,
        row.scores.get(metric),
        None,
        "failed" if failure else "not re-scored",
        error.get("category", ""),
    )


def _find(board: Board | None, folder: str) -> Row | None:
    if board is None:
        return None
    return next((row for row in board.rows if row.record.folder == folder), None)


def render_changes(repo: Path, tables: Sequence[RankChanges]) -> str:
    """The Markdown of one or more playbooks' tables (the competition may
    restyle it in ``leaderboard/templates/rank_changes.md.j2``)."""
    return render_template(repo, TEMPLATE, tables=tables)
