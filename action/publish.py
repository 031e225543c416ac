"""The publish job: commit the board, answer on the pull request, merge.

It never runs submission code, and it treats the evaluate job's outcome
file as untrusted input: that job ran the submission, so every field used
to name a file or a row is checked against what the gate decided.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from github.PullRequest import PullRequest

from camino.action import comment
from camino.action.board_commit import Target, commit_board
from camino.action.config import Competition, load_competition
from camino.action.gate import board_url
from camino.action.github_api import connect, merge, upsert_comment
from camino.action.outcome import FILE, Outcome, read_outcome
from camino.action.policy import RULES
from camino.action.quota import utc_now
from camino.action.record_check import (
    KEY,
    LOGIN,
    SLUG,
    check_fields,
    check_submission,
    check_text,
    on_branch,
    refuse,
)
from camino.action.run import Job, read_job
from camino.action.workflow import add_summary, read_runner, require
from camino.board import build_board
from camino.errors import CaminoError
from camino.evaluator.results import Record
from camino.playbook import load_playbook, playbook_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Publication:
    """Everything the publish job works with, read once at its start."""

    root: Path
    job: Job
    competition: Competition
    pull: PullRequest
    context: comment.Context
    target: Target


def publish_job(
    environ: Mapping[str, str], root: Path, outcome_dir: Path, remote: str = "origin"
) -> str:
    """Returns the comment body it posted (also written to the job summary)."""
    runner = read_runner(environ)
    require(runner, "repository", "token", "api_url")
    job = read_job(environ)
    competition = load_competition(root)
    outcome = read_outcome(outcome_dir)

    github = connect(runner.api_url, runner.token, environ)
    pull = github.get_repo(runner.repository).get_pull(job.pr)
    folder = outcome.folder if outcome else None
    context = comment.Context(
        job.head_sha, runner.run_url, board_url(runner, competition), folder
    )
    target = Target(remote, competition.branch, runner.token)
    publication = Publication(root, job, competition, pull, context, target)

    # A reviewer who rejects the approval also leaves no outcome: that is
    # reported as a platform failure too, until the workflow passes the
    # evaluate job's result in (needs.evaluate.result) to tell them apart.
    if outcome is None or outcome.status == "error":
        body = comment.platform_error(context)
    else:
        validate(outcome, job, root)
        upsert_comment(pull, comment.progress(context, "publish"))
        body = _result(publication, outcome)

    upsert_comment(pull, body)
    add_summary(runner, body)
    return body


def _result(publication: Publication, outcome: Outcome) -> str:
    context = publication.context
    if outcome.status == "refused":
        return comment.refused(context, outcome.refusal_objects())
    if outcome.status == "invalid":
        return comment.invalid(context, outcome.message)
    quota = outcome.quota_object()
    if outcome.status == "limited":
        assert quota is not None
        return comment.limited(context, quota, (outcome.folder or "").split("/")[1])

    record = outcome.record_object()
    assert record is not None
    commit_board(publication.root, record, publication.target)
    if not record.scored:
        return comment.failed(context, record, quota)
    playbook = load_playbook(playbook_dir(publication.root, record.playbook))
    board = build_board(publication.root, playbook)
    note = _merge(publication, outcome)
    return comment.scored(context, record, board, quota, outcome.new, note)


def _merge(publication: Publication, outcome: Outcome) -> str:
    """Merge a scored submission (competition setting ``merge: auto``), so
    the default branch holds the model folder beside its record."""
    pull = publication.pull
    if publication.competition.merge != "auto":
        return "A maintainer merges scored submissions by hand in this competition."
    if pull.merged:
        return "Merged: your model folder is on the default branch."
    reason = merge(pull, publication.job.head_sha, f"Submission {outcome.folder}")
    if reason is None:
        return "Merged: your model folder is now on the default branch."
    return f"Not merged automatically: {reason}. A maintainer will look at it."


def validate(
    outcome: Outcome, job: Job, root: Path, now: dt.datetime | None = None
) -> None:
    """Refuse an outcome that does not belong to the gate's pull request, or
    whose record would name a file or row outside its own folder or breaks
    a rule of record_check.

    TODO(outcome fields): the outcome's quota and ``new`` are not checked
    here; a malformed quota crashes the job (red, no comment) but names no
    file and reaches the comment only as numbers. Check them here like the
    record when that crash is seen.
    """
    if (outcome.pr, outcome.head_sha, outcome.author) != (
        job.pr,
        job.head_sha,
        job.author,
    ):
        raise CaminoError(
            "outcome.json belongs to another pull request or commit than the "
            f"gate decided (#{outcome.pr} {outcome.head_sha[:7]})"
        )
    if outcome.status in ("refused",):
        _check_refusals(outcome.refusals)
        return
    parts = (outcome.folder or "").split("/")
    if len(parts) != 4 or parts[0] != "submissions":
        raise CaminoError(
            f"outcome.json: folder {outcome.folder!r} is not a submission"
        )
    _check_names(parts[1], parts[2], parts[3], job.author, root)
    record = outcome.record_object()
    if record is None and outcome.status in ("scored", "failed"):
        raise CaminoError(f"outcome.json: status {outcome.status!r} without a record")
    if record is not None:
        _check_record(record, outcome.folder or "", job, root, now or utc_now())


def _check_refusals(refusals: object) -> None:
    """The refused comment shows each refusal: a rule of the policy, with
    its path and detail as text."""
    if not isinstance(refusals, list):
        raise refuse(FILE, "refusals", refusals, "a list of the policy's refusals")
    for index, item in enumerate(refusals):
        fields = item if isinstance(item, dict) else {}
        texts = all(isinstance(value, str) for value in fields.values())
        if set(fields) != {"path", "rule", "detail"} or not texts:
            raise refuse(
                FILE, f"refusals[{index}]", item, "a path, a rule and a detail (text)"
            )
        if fields["rule"] not in RULES:
            raise refuse(
                FILE, f"refusals[{index}].rule", fields["rule"], f"one of {list(RULES)}"
            )


def _check_names(
    playbook: str, author: str, model: str, login: str, root: Path
) -> None:
    if author.lower() != login.lower() or not LOGIN.fullmatch(author):
        raise CaminoError(f"outcome.json: author {author!r} is not {login!r}")
    if not SLUG.fullmatch(playbook) or not SLUG.fullmatch(model):
        raise CaminoError(
            f"outcome.json: bad playbook or model name in {playbook}/{model}"
        )
    playbook_dir(root, playbook)  # raises for an unknown playbook


def _check_record(
    record: Record, folder: str, job: Job, root: Path, now: dt.datetime
) -> None:
    check_text(record, FILE)
    source = f"{FILE}, record {record.file_name}"
    _, playbook, author, model = folder.split("/")
    if (record.playbook, record.author, record.model) != (playbook, author, model):
        raise CaminoError(f"{FILE}: the record is not of {folder}")
    check_submission(record, source)
    if not KEY.fullmatch(record.key):
        raise refuse(source, "key", record.key, "6 to 64 hexadecimal digits")
    if on_branch(root, record, source):
        # The branch's own: these files were evaluated before, maybe in an
        # earlier commit of the pull request.
        return
    if record.submission_commit not in ("", job.head_sha):
        raise refuse(
            source,
            "submission_commit",
            record.submission_commit,
            f"the pull request's head {job.head_sha}",
        )
    check_fields(record, load_playbook(playbook_dir(root, playbook)), source, now)
