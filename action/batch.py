"""The batch workflow's steps (evaluate-all.yml): plan the shards, evaluate
one shard, commit every shard's records in one go.

``plan`` and ``publish_records`` run on GitHub-hosted runners and never run
submission code; ``evaluate_shard`` runs on the self-hosted camino runner,
one matrix job per shard, with a read-only token, and hands its new records
to the publish job as files. The board commit is the one serialized step:
all records of the batch land in one commit, retried against the pushes of
evaluations that finish at the same time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from camino.action.board_commit import Target, commit_records
from camino.action.config import load_competition
from camino.action.handover import Kind, check_records, hand_over, read_handed_over
from camino.action.workflow import add_summary, annotate, read_runner, set_outputs
from camino.board import format_score
from camino.commands.batch import (
    BatchSummary,
    Shard,
    choose_named,
    evaluate_all,
    live_folders,
    parse_shard,
)
from camino.errors import EXIT_BUG, CaminoError
from camino.evaluator.results import FAULT_PLATFORM, Record, pinned_version

# GitHub runs at most 256 jobs from one matrix; past that, a job takes a
# shard of several folders.
MATRIX_LIMIT = 256
RESCORE_WORKFLOW = ".github/workflows/rescore.yml"


class PlatformFailure(CaminoError):
    """The runner, the sandbox or the store failed some evaluations: the
    job fails red, and its records still go to the publish job."""

    exit_code = EXIT_BUG


def plan_shards(count: int, max_jobs: int = MATRIX_LIMIT) -> list[str]:
    """One shard per folder while they fit in ``max_jobs``, else
    ``max_jobs`` shards of several; an empty list when there is nothing."""
    if not 1 <= max_jobs <= MATRIX_LIMIT:
        raise CaminoError(
            f"--max-jobs {max_jobs}: expected 1 to {MATRIX_LIMIT} (GitHub runs "
            f"at most {MATRIX_LIMIT} jobs of one matrix)"
        )
    jobs = min(count, max_jobs)
    return [f"{index}/{jobs}" for index in range(1, jobs + 1)]


def plan_job(
    environ: Mapping[str, str],
    root: Path,
    playbooks: Sequence[str] = (),
    max_jobs: int = MATRIX_LIMIT,
) -> list[str]:
    """Count the live folders of ``playbooks`` (all when none is named) and
    write the step outputs ``shards`` (JSON) and ``count``.

    TODO(batch cost): every live folder gets a share of a job, also one that
    already has a record on the pinned data; its job only finds the record,
    but pays a runner's start-up. Leave out folders whose files (the
    records' submission_hash) were scored on the pinned version once plan
    can tell that the store still holds that version (it runs without it).
    """
    runner = read_runner(environ)
    chosen = choose_named(root, playbooks)
    count = len(live_folders(root, chosen))
    shards = plan_shards(count, max_jobs)

    set_outputs(runner, {"shards": json.dumps(shards), "count": str(count)})
    names = ", ".join(playbook.name for playbook in chosen)
    add_summary(
        runner,
        f"### camino batch plan\n\n{count} model folders of {names or 'no playbook'}"
        f" in {len(shards)} jobs.",
    )
    return shards


def evaluate_shard_job(
    environ: Mapping[str, str],
    root: Path,
    shard: str,
    out: Path,
    playbooks: Sequence[str] = (),
) -> BatchSummary:
    """Evaluate shard ``shard`` (K/N) of the live folders; hand each new
    record over in ``out``. A model that fails is a record; a failure of
    the platform raises after the records are written."""
    runner = read_runner(environ)
    part = parse_shard(shard)
    summary = evaluate_all(root, choose_named(root, playbooks), part)

    for record in summary.new:
        hand_over(out, record)
    for folder, reason in summary.skipped:
        annotate("warning", reason, title=f"camino: {folder.relative_to(root)}")
    add_summary(runner, shard_summary(part, summary))

    broken = [record.path for record in summary.new if record.fault == FAULT_PLATFORM]
    if broken:
        raise PlatformFailure(
            f"shard {shard}: the platform (sandbox, runner or store) failed "
            f"{', '.join(broken)}; their records say so and do not count. Run "
            "the batch again to evaluate them"
        )
    return summary


def shard_summary(shard: Shard, summary: BatchSummary) -> str:
    lines = [
        f"### camino batch, shard {shard.index}/{shard.count}",
        "",
        f"{len(summary.new)} evaluated, {len(summary.reused)} already evaluated, "
        f"{len(summary.failed)} failed, {len(summary.skipped)} skipped",
        "",
    ]
    lines += [f"- {_outcome(record)}" for record in summary.new]
    lines += [f"- skipped: {reason}" for _, reason in summary.skipped]
    return "\n".join(lines)


def _outcome(record: Record) -> str:
    if not record.scored:
        category = (record.error or {}).get("category", "unknown")
        return f"`{record.path}`: failed ({category}, {record.fault} fault)"
    metric = record.metrics[0] if record.metrics else {"name": "", "display": ""}
    score = format_score(record.scores.get(metric["name"]))
    return f"`{record.path}`: {metric['display']} {score}"


def publish_records(
    environ: Mapping[str, str], root: Path, out: Path, remote: str = "origin"
) -> str | None:
    """Commit every handed-over record and the boards in one commit; the
    commit, or None when there was nothing new."""
    runner = read_runner(environ)
    records = read_handed_over(out)
    check_records(records, root, Kind.SUBMISSION)
    if not records:
        add_summary(runner, "### camino batch\n\nNothing new to commit.")
        return None

    competition = load_competition(root)
    target = Target(remote, competition.branch, runner.token)
    commit = commit_records(root, records, batch_message(records), target)
    add_summary(runner, publish_summary(root, records, commit))
    return commit


def batch_message(records: Sequence[Record]) -> str:
    names = ", ".join(sorted({record.playbook for record in records}))
    listed = "\n".join(f"- {record.path} ({record.status})" for record in records)
    return f"Board: batch evaluation of {len(records)} ({names})\n\n{listed}"


def publish_summary(root: Path, records: Sequence[Record], commit: str | None) -> str:
    """What was committed, and which records the boards do not rank yet."""
    lines = [
        "### camino batch",
        "",
        f"{len(records)} records committed in {commit[:12]}."
        if commit
        else f"{len(records)} records were on the branch already: no commit.",
    ]
    for playbook, count, pinned in unranked(root, records):
        lines.append(
            f"\n{playbook}: {count} records are on other internal data than the "
            f"board ranks (`{pinned}`). They are committed but not ranked until "
            f"a re-score moves the board to the new data: run the re-score "
            f"workflow ({RESCORE_WORKFLOW}) or wait for its daily run."
        )
    return "\n".join(lines)


def unranked(
    root: Path, records: Sequence[Record]
) -> list[tuple[str, int, str | None]]:
    """Per playbook: how many of ``records`` are on another data version
    than its board pins, and the pinned one."""
    found = []
    for playbook in sorted({record.playbook for record in records}):
        pinned = pinned_version(root, playbook)
        count = sum(
            1
            for record in records
            if record.playbook == playbook and record.data_version != pinned
        )
        if count:
            found.append((playbook, count, pinned))
    return found
