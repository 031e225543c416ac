"""camino rescore: move boards to new internal data, everyone at once.

Each board ranks the records of one internal data version (pinned in
``leaderboard/results/<playbook>/DATA_VERSION``). When the maintainers put
new internal data in the store, the board would otherwise go on showing old
scores next to new ones. A re-score evaluates every live submission of the
playbooks whose data changed, then moves the pin, so the whole board
switches in one step, and reports what that did to the ranking.

A board whose re-score had a failure the platform caused (the sandbox, the
runner, the store) keeps its old version: moving it would drop a submission
for a fault that is not its author's. Running the re-score again evaluates
just what is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from camino.board import write_boards
from camino.commands.batch import BatchSummary, Progress, evaluate_all
from camino.evaluator.pipeline import check_internal_stores, data_version, load_internal
from camino.evaluator.results import (
    FAULT_PLATFORM,
    Record,
    board_version,
    pin_if_unset,
    pin_version,
)
from camino.playbook import Playbook, all_playbooks
from camino.rank_changes import RankChanges, rank_changes


@dataclass(frozen=True)
class Stale:
    """A board's data version and the store's: stale when they differ."""

    playbook: Playbook
    shown: str | None  # the version the board ranks; None: no records yet
    current: str

    @property
    def stale(self) -> bool:
        # A board with no records yet is not stale: its first evaluation
        # pins the data it ranks.
        return self.shown is not None and self.shown != self.current


@dataclass
class RescoreSummary:
    batch: BatchSummary = field(default_factory=BatchSummary)
    tables: list[RankChanges] = field(default_factory=list)
    # Playbooks whose board already ranks the current data.
    unchanged: list[str] = field(default_factory=list)
    # Boards left on their old version, with why.
    held: list[tuple[str, str]] = field(default_factory=list)


def current_version(repo: Path, playbook: Playbook) -> str:
    """The version of the internal data in the playbook's store now."""
    return data_version(*load_internal(repo, playbook))


def board_states(repo: Path, playbooks: Sequence[Playbook]) -> list[Stale]:
    """Each board's version beside the store's (reads each internal data
    set once)."""
    return [
        Stale(p, board_version(repo, p.name), current_version(repo, p))
        for p in playbooks
    ]


def stale_boards(repo: Path, playbooks: Sequence[Playbook]) -> list[Stale]:
    return [state for state in board_states(repo, playbooks) if state.stale]


def rescore(
    repo: Path,
    playbooks: Sequence[Playbook],
    on_step: Progress | None = None,
    *,
    unsafe_no_sandbox: bool = False,
) -> RescoreSummary:
    """Re-score the boards of ``playbooks`` whose internal data changed."""
    check_internal_stores(repo, playbooks)
    stale = stale_boards(repo, playbooks)
    summary = RescoreSummary()
    moving = {entry.playbook.name for entry in stale}
    summary.unchanged = [p.name for p in playbooks if p.name not in moving]
    if not stale:
        return summary

    summary.batch = evaluate_all(
        repo,
        [entry.playbook for entry in stale],
        on_step=on_step,
        unsafe_no_sandbox=unsafe_no_sandbox,
    )
    move_boards(repo, stale, summary.batch.records, summary)
    write_boards(repo, all_playbooks(repo))
    return summary


def move_boards(
    repo: Path,
    stale: Sequence[Stale],
    evaluated: Sequence[Record],
    summary: RescoreSummary,
) -> None:
    """Pin each stale board to its current data, unless the platform failed
    one of its evaluations; the rank changes go into ``summary``."""
    for entry in stale:
        name = entry.playbook.name
        broken = [
            record
            for record in evaluated
            if record.playbook == name and record.fault == FAULT_PLATFORM
        ]
        if broken:
            paths = ", ".join(record.path for record in broken[:3])
            summary.held.append((name, f"the platform failed {paths}; run again"))
            # Held means held: a board from before pins keeps what it shows.
            pin_if_unset(repo, name, entry.shown or "")
            continue
        summary.tables.append(move_board(repo, entry))


def move_board(repo: Path, entry: Stale) -> RankChanges:
    table = rank_changes(repo, entry.playbook, entry.shown, entry.current)
    pin_version(repo, entry.playbook.name, entry.current)
    return table
