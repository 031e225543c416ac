"""camino round: a whole competition round on this machine.

Splits every bundled playbook, evaluates every submission under
``submissions/`` and every playbook's template (the board's baseline row) on
the internal data, compiles each playbook's ensemble of its best
submissions, and renders the board. Evaluations that already have a record
are not run again, so a second round changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from camino.board import write_boards
from camino.commands.split import split_playbook
from camino.errors import SpecError
from camino.evaluator.compile import compile_playbook
from camino.evaluator.pipeline import (
    check_internal_stores,
    check_meta,
    evaluate,
    locate,
    require_sandbox,
)
from camino.evaluator.results import Record
from camino.playbook import Playbook, load_playbook

# Told each step before it starts: (what, steps done, steps in all).
Progress = Callable[[str, int, int], None]


@dataclass
class RoundSummary:
    new: list[Record] = field(default_factory=list)
    reused: list[Record] = field(default_factory=list)
    ensembles: list[Record] = field(default_factory=list)
    # Folders refused before evaluation (bad meta.yml, layout), with why.
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    boards: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> list[Record]:
        return [record for record in self.new + self.reused if not record.scored]


def all_playbooks(repo: Path) -> list[Playbook]:
    folders = sorted(path.parent for path in repo.glob("playbooks/*/playbook.yml"))
    return [load_playbook(folder) for folder in folders]


def submissions_of(repo: Path, playbook: str) -> list[Path]:
    return sorted(
        path.parent for path in repo.glob(f"submissions/{playbook}/*/*/meta.yml")
    )


def baselines_of(repo: Path, playbooks: list[Playbook]) -> list[Path]:
    """The playbooks' templates, evaluated like submissions as baselines."""
    folders = [
        repo / "playbooks" / playbook.name / "template" for playbook in playbooks
    ]
    return [folder for folder in folders if (folder / "model.py").is_file()]


def run_round(
    repo: Path, on_step: Progress | None = None, *, unsafe_no_sandbox: bool = False
) -> RoundSummary:
    playbooks = all_playbooks(repo)
    splits = [playbook for playbook in playbooks if playbook.source]
    folders = [folder for p in playbooks for folder in submissions_of(repo, p.name)]
    folders += baselines_of(repo, playbooks)
    total = len(splits) + len(folders) + len(playbooks) + 1
    tell = on_step or (lambda *_: None)
    summary = RoundSummary()

    # A typo in one participant's meta.yml must not hold up everyone else:
    # such a folder is reported and left out, with no record written.
    admitted = []
    for folder in folders:
        try:
            check_meta(locate(repo, folder))
        except SpecError as error:
            summary.skipped.append((folder, str(error)))
        else:
            admitted.append(folder)
    # And refuse before splitting when the submissions cannot be sandboxed.
    if admitted:
        require_sandbox(unsafe_no_sandbox)

    for done, playbook in enumerate(splits):
        tell(f"split {playbook.name}", done, total)
        split_playbook(repo, playbook.name)

    # One look at each internal store (evaluate and compile read them all):
    # a missing bucket or credential stops the round before any model runs.
    check_internal_stores(repo, playbooks)

    for done, folder in enumerate(admitted, start=len(splits)):
        tell(f"evaluate {folder.relative_to(repo)}", done, total)
        record, is_new = evaluate(
            repo, folder, preflight=False, unsafe_no_sandbox=unsafe_no_sandbox
        )
        (summary.new if is_new else summary.reused).append(record)

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

    tell("render the board", total - 1, total)
    summary.boards = write_boards(repo, playbooks)
    return summary
