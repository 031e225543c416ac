"""camino evaluate --all: every live submission of the competition, at once.

"Live" means the model folders on the checked-out branch: each playbook's
``submissions/<playbook>/<author>/<model>/`` and its template (the board's
baseline row). A folder that has a record for the same files, data and
playbook is not run again, so a batch after a batch costs nothing; one with
a broken meta.yml is reported and left out, so it cannot hold up the others.

A batch can be cut into shards (``--shard 3/10``): the folders are sorted
and shard k of n takes every n-th one from the k-th on. Each shard is one
job of a workflow matrix, so n runners clear the batch side by side and
every one of them gets the same share without talking to the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from camino.errors import SpecError
from camino.evaluator.pipeline import (
    check_internal_stores,
    check_meta,
    evaluate,
    locate,
    require_sandbox,
)
from camino.evaluator.results import Record
from camino.playbook import Playbook, all_playbooks

# Told each step before it starts: (what, steps done, steps in all).
Progress = Callable[[str, int, int], None]

SHARD = re.compile(r"(\d+)/(\d+)")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (from 1) of ``count``."""

    index: int = 1
    count: int = 1

    def take(self, folders: Sequence[Path]) -> list[Path]:
        return list(folders[self.index - 1 :: self.count])


def parse_shard(text: str) -> Shard:
    match = SHARD.fullmatch(text.strip())
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        raise SpecError(
            f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 3/10 for the "
            "third of ten shards"
        )
    return Shard(int(match[1]), int(match[2]))


@dataclass
class BatchSummary:
    new: list[Record] = field(default_factory=list)
    reused: list[Record] = field(default_factory=list)
    # Folders refused before evaluation (bad meta.yml, layout), with why.
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def records(self) -> list[Record]:
        return self.new + self.reused

    @property
    def failed(self) -> list[Record]:
        return [record for record in self.records if not record.scored]


def choose_playbooks(repo: Path, name: str | None) -> list[Playbook]:
    """Every playbook, or the one named; an unknown name lists the known."""
    playbooks = all_playbooks(repo)
    if name is None:
        return playbooks
    chosen = [playbook for playbook in playbooks if playbook.name == name]
    if not chosen:
        known = ", ".join(playbook.name for playbook in playbooks) or "none"
        raise SpecError(
            f"--playbook {name!r}: no playbooks/{name}/playbook.yml in {repo} "
            f"(playbooks: {known})"
        )
    return chosen


def choose_named(repo: Path, names: Sequence[str]) -> list[Playbook]:
    """The playbooks named (each once, in the order given), or every one
    when no name is given."""
    if not names:
        return choose_playbooks(repo, None)
    chosen: dict[str, Playbook] = {}
    for name in names:
        (playbook,) = choose_playbooks(repo, name)
        chosen.setdefault(playbook.name, playbook)
    return list(chosen.values())


def submissions_of(repo: Path, playbook: str) -> list[Path]:
    """Every folder ``submissions/<playbook>/<author>/<model>``: also one
    without meta.yml, so that admission reports it instead of passing over
    it in silence."""
    return sorted(
        path
        for path in repo.glob(f"submissions/{playbook}/*/*")
        if path.is_dir() and not _hidden(path.relative_to(repo))
    )


def _hidden(relative: Path) -> bool:
    # .ipynb_checkpoints and the like are no one's submission.
    return any(part.startswith(".") for part in relative.parts)


def unknown_playbook_folders(repo: Path) -> list[tuple[Path, str]]:
    """``submissions/<name>/`` folders of no playbook, with why they are
    skipped: a typo there would otherwise leave a submission unevaluated
    without a word."""
    known = {playbook.name for playbook in all_playbooks(repo)}
    shown = ", ".join(sorted(known)) or "none"
    return [
        (
            folder,
            f"{folder.relative_to(repo)}/: no playbook {folder.name!r} "
            f"(playbooks: {shown}); its submissions are not evaluated",
        )
        for folder in sorted((repo / "submissions").glob("*"))
        if folder.is_dir()
        and folder.name not in known
        and not folder.name.startswith(".")
    ]


def baselines_of(repo: Path, playbooks: Sequence[Playbook]) -> list[Path]:
    """The playbooks' templates, evaluated like submissions as baselines."""
    folders = [
        repo / "playbooks" / playbook.name / "template" for playbook in playbooks
    ]
    return [folder for folder in folders if (folder / "model.py").is_file()]


def live_folders(repo: Path, playbooks: Sequence[Playbook]) -> list[Path]:
    """Every model folder the boards of ``playbooks`` rank, in a fixed order."""
    folders = [folder for p in playbooks for folder in submissions_of(repo, p.name)]
    return folders + baselines_of(repo, playbooks)


def admit(repo: Path, folders: Sequence[Path], summary: BatchSummary) -> list[Path]:
    """The folders whose meta.yml and place are right; the others go to
    ``summary.skipped`` with the reason, and no record is written for them."""
    admitted = []
    for folder in folders:
        try:
            check_meta(locate(repo, folder))
        except SpecError as error:
            summary.skipped.append((folder, str(error)))
        else:
            admitted.append(folder)
    return admitted


def evaluate_all(
    repo: Path,
    playbooks: Sequence[Playbook],
    shard: Shard = Shard(),
    on_step: Progress | None = None,
    *,
    force: bool = False,
    unsafe_no_sandbox: bool = False,
) -> BatchSummary:
    """Evaluate this shard's live folders of ``playbooks``."""
    summary = BatchSummary()
    admitted = admit(repo, shard.take(live_folders(repo, playbooks)), summary)
    if not admitted:
        return summary
    # Refuse before any work when the submissions cannot be sandboxed, and
    # look at each internal store once: a missing bucket or credential stops
    # the batch before any model runs.
    require_sandbox(unsafe_no_sandbox)
    check_internal_stores(repo, playbooks)

    evaluate_admitted(
        repo, admitted, summary, on_step, force=force, unsafe=unsafe_no_sandbox
    )
    return summary


def evaluate_admitted(
    repo: Path,
    folders: Sequence[Path],
    summary: BatchSummary,
    on_step: Progress | None = None,
    start: int = 0,
    total: int | None = None,
    *,
    force: bool = False,
    unsafe: bool = False,
) -> None:
    """Evaluate admitted folders one after the other, telling ``on_step``
    (numbered from ``start`` of ``total``, for a caller with more steps)."""
    tell = on_step or (lambda *_: None)
    total = len(folders) if total is None else total
    for done, folder in enumerate(folders, start=start):
        tell(f"evaluate {folder.relative_to(repo)}", done, total)
        record, is_new = evaluate(
            repo, folder, force=force, preflight=False, unsafe_no_sandbox=unsafe
        )
        (summary.new if is_new else summary.reused).append(record)
