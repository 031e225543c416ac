"""camino round: a whole competition round on this machine.

Splits every bundled playbook, evaluates every submission under
``submissions/`` and every playbook's template (the board's baseline row) on
the internal data, moves each board whose internal data changed to the new
version (``camino rescore``), compiles each playbook's ensemble of its best
submissions, and renders the board. Evaluations that already have a record
are not run again, so a second round changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from camino.board import write_boards
from camino.commands.batch import (
    BatchSummary,
    Progress,
    admit,
    evaluate_admitted,
    live_folders,
    unknown_playbook_folders,
)
from camino.commands.rescore import (
    RescoreSummary,
    board_states,
    move_boards,
)
from camino.commands.split import split_playbook
from camino.evaluator.compile import compile_playbook
from camino.evaluator.pipeline import check_internal_stores, require_sandbox
from camino.evaluator.results import Record, pin_if_unset
from camino.playbook import all_playbooks


@dataclass
class RoundSummary(BatchSummary):
    ensembles: list[Record] = field(default_factory=list)
    new_ensembles: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    boards: list[Path] = field(default_factory=list)
    rescored: RescoreSummary = field(default_factory=RescoreSummary)


def run_round(
    repo: Path, on_step: Progress | None = None, *, unsafe_no_sandbox: bool = False
) -> RoundSummary:
    playbooks = all_playbooks(repo)
    splits = [playbook for playbook in playbooks if playbook.source]
    folders = live_folders(repo, playbooks)
    total = len(splits) + len(folders) + len(playbooks) + 1
    tell = on_step or (lambda *_: None)
    summary = RoundSummary()

    # A typo in one participant's meta.yml must not hold up everyone else:
    # such a folder is reported and left out, with no record written.
    admitted = admit(repo, folders, summary)
    summary.skipped += unknown_playbook_folders(repo)
    # And refuse before splitting when the submissions cannot be sandboxed.
    if admitted:
        require_sandbox(unsafe_no_sandbox)

    for done, playbook in enumerate(splits):
        tell(f"split {playbook.name}", done, total)
        split_playbook(repo, playbook.name)

    # One look at each internal store (evaluate and compile read them all):
    # a missing bucket or credential stops the round before any model runs.
    check_internal_stores(repo, playbooks)
    states = board_states(repo, playbooks)
    stale = [state for state in states if state.stale]

    evaluate_admitted(
        repo, admitted, summary, tell, len(splits), total, unsafe=unsafe_no_sandbox
    )
    # Every live folder now has a record on the current data: a board whose
    # data changed can move to it (before compile, which reads the boards).
    move_boards(repo, stale, summary.records, summary.rescored)
    for state in states:
        # A board from before pins (or a new one) says what it ranks; a held
        # one was pinned to its old data by move_boards already.
        pin_if_unset(repo, state.playbook.name, state.current)

    for done, playbook in enumerate(playbooks, start=len(splits) + len(folders)):
        tell(f"compile {playbook.name}", done, total)
        outcome = compile_playbook(
            repo,
            playbook,
            note=summary.notes.append,
            unsafe_no_sandbox=unsafe_no_sandbox,
        )
        if outcome.record is not None:
            summary.ensembles.append(outcome.record)
            if outcome.is_new:
                summary.new_ensembles.append(outcome.record)

    tell("render the board", total - 1, total)
    summary.boards = write_boards(repo, playbooks)
    return summary
