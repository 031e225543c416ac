"""The compile workflow's two steps: build ensembles, then commit them.

``compile_job`` runs on the self-hosted runner (it runs submissions' saved
models, in the sandbox) with a read-only token, and hands the ensemble
records it made to ``publish_compiled`` as files. ``publish_compiled`` runs
where the write token is and never runs submission code: it accepts only
ensemble records of known playbooks and commits them with the board.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from camino.action.board_commit import Target, commit_records
from camino.action.config import load_competition
from camino.action.handover import Kind, check_records, hand_over, read_handed_over
from camino.action.workflow import add_summary, read_runner
from camino.evaluator.compile import Options, compile_playbook
from camino.evaluator.results import Record
from camino.playbook import all_playbooks


def compile_job(
    environ: Mapping[str, str], root: Path, out: Path, options: Options | None = None
) -> list[Record]:
    """Compile every playbook; write each new ensemble record into ``out``.

    A member whose pickle is not on this runner is trained again: on
    ephemeral runners that is every member. TODO(artifact reuse): the
    evaluations copy their pickles to CAMINO_PRIVATE_STORE, but the runners
    may only write there (deploy/aws); a compile role allowed to read
    ``artifacts/`` could fetch them instead of retraining.
    """
    options = options or Options()
    runner = read_runner(environ)
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    made = []
    for playbook in all_playbooks(root):
        outcome = compile_playbook(root, playbook, options, notes.append)
        if outcome.record is not None and outcome.is_new:
            made.append(outcome.record)
            hand_over(out, outcome.record)

    lines = [f"- {r.playbook}: {len(r.details['members'])} members" for r in made]
    lines += [f"- note: {note}" for note in notes]
    add_summary(runner, "### camino compile\n\n" + ("\n".join(lines) or "nothing new"))
    return made


def publish_compiled(
    environ: Mapping[str, str], root: Path, out: Path, remote: str = "origin"
) -> str | None:
    """Commit the handed-over ensemble records and the board; the commit, or
    None when there was nothing new."""
    runner = read_runner(environ)
    records = read_handed_over(out)
    check_records(records, root, Kind.ENSEMBLE)
    if not records:
        return None

    competition = load_competition(root)
    names = ", ".join(record.playbook for record in records)
    message = f"Board: ensembles of {names}"
    return commit_records(
        root, records, message, Target(remote, competition.branch, runner.token)
    )
