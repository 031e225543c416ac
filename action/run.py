"""The evaluate job: fetch the pull request's head as data, apply the policy
and the daily limit, run camino's evaluator, write the outcome file.

This job runs the submission's code (in the evaluator's sandbox: no
network, no secrets, nothing of the runner writable but its own work dir),
so it holds a read-only token and writes nothing to GitHub: the publish job
posts and commits what this job leaves behind. A model cannot reach
outcome.json; the publish job's checks still confine an outcome to the
submission's own folder and row.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import git

from camino.action import policy
from camino.action.board_commit import Target, auth_environment
from camino.action.config import load_competition
from camino.action.outcome import Outcome, quota_data, write_outcome
from camino.action.quota import Clock, quota, utc_now
from camino.errors import CaminoError
from camino.evaluator import pipeline
from camino.evaluator.results import find_record
from camino.playbook import Playbook, load_playbook, playbook_dir

log = logging.getLogger(__name__)

PR_REF = "refs/camino/pull"


@dataclass(frozen=True)
class Job:
    """What the gate decided, handed to this job in its environment."""

    pr: int
    head_sha: str
    author: str


def read_job(environ: Mapping[str, str]) -> Job:
    try:
        return Job(
            int(environ["CAMINO_PR"]),
            environ["CAMINO_HEAD_SHA"],
            environ["CAMINO_AUTHOR"],
        )
    except (KeyError, ValueError) as error:
        raise CaminoError(
            f"CAMINO_PR, CAMINO_HEAD_SHA and CAMINO_AUTHOR must be set by the "
            f"workflow from the gate job's outputs ({error})"
        ) from None


def fetch_head(root: Path, job: Job, token: str, remote: str = "origin") -> None:
    """Fetch ``refs/pull/N/head`` into a private ref: objects only, nothing
    checked out, no hook or config of the pull request's ever runs."""
    repo = git.Repo(root)
    refspec = f"+refs/pull/{job.pr}/head:{PR_REF}/{job.pr}"
    with repo.git.custom_environment(
        **auth_environment(repo, Target(remote, token=token))
    ):
        repo.git.fetch("--no-tags", remote, refspec)
    try:
        repo.git.cat_file("-e", f"{job.head_sha}^{{commit}}")
    except git.GitCommandError:
        raise CaminoError(
            f"commit {job.head_sha[:12]} is not in pull request #{job.pr} any "
            "more (a newer push replaced it; its own run evaluates it)"
        ) from None


def evaluate_job(
    environ: Mapping[str, str], root: Path, out: Path, clock: Clock = utc_now
) -> Outcome:
    """Admit, evaluate, and write ``out/outcome.json``; returns the outcome.

    Platform failures (internal data missing, a camino bug) raise after
    writing an ``error`` outcome, so the job fails red and the comment says
    the run does not count.
    """
    job = read_job(environ)
    outcome = Outcome("error", job.pr, job.head_sha, job.author)
    try:
        outcome = _evaluate(job, root, clock)
    finally:
        write_outcome(out, outcome)
    return outcome


def _evaluate(job: Job, root: Path, clock: Clock) -> Outcome:
    competition = load_competition(root)
    repo = git.Repo(root)
    changes = policy.changes_between(repo, "HEAD", job.head_sha)
    verdict = policy.check(changes, job.author, competition.limits)
    if not verdict.admitted or verdict.folder is None:
        refusals = [vars(r) for r in verdict.refusals]
        return Outcome("refused", job.pr, job.head_sha, job.author, refusals=refusals)

    folder = root / verdict.folder
    materialize(repo, job.head_sha, verdict.folder, folder)
    base = Outcome("invalid", job.pr, job.head_sha, job.author, verdict.folder)
    try:
        submission = pipeline.locate(root, folder)
        pipeline.check_meta(submission)
        playbook = load_playbook(playbook_dir(root, submission.playbook))
    except CaminoError as error:  # the participant's meta.yml or layout
        base.message = str(error)
        return base
    return _score(base, root, folder, playbook, clock)


def _score(
    base: Outcome, root: Path, folder: Path, playbook: Playbook, clock: Clock
) -> Outcome:
    limit = playbook.limits.submissions_per_day
    before = quota(root, playbook.name, base.author, limit, clock())
    if before.left == 0 and not already_recorded(root, folder, playbook):
        base.status, base.quota = "limited", quota_data(before)
        return base

    # The folder was materialized from the head commit, not checked out:
    # git would see untracked files, so the commit is named here.
    record, new = pipeline.evaluate(root, folder, submission_commit=base.head_sha)
    after = quota(root, playbook.name, base.author, limit, clock())
    base.status = "scored" if record.scored else "failed"
    base.record, base.new, base.quota = vars(record), new, quota_data(after)
    return base


def already_recorded(root: Path, folder: Path, playbook: Playbook) -> bool:
    """A re-run of the same files on the same data costs no slot: the
    evaluator returns the record it already has."""
    submission = pipeline.locate(root, folder)
    train, validate = pipeline.load_internal(root, playbook)
    key = pipeline.evaluation_key(submission, playbook, train, validate)
    path = find_record(root, playbook.name, submission.author, submission.model, key)
    return path.is_file()


def materialize(repo: git.Repo, head_sha: str, relative: str, folder: Path) -> None:
    """Write the folder's files as they are at ``head_sha`` into ``folder``,
    replacing what the base branch had there. Only regular files: the policy
    has already refused links and submodules."""
    if folder.exists():
        shutil.rmtree(folder)
    tree = repo.commit(head_sha).tree / relative
    for blob in tree.traverse():
        if blob.type != "blob":
            continue
        target = (folder / Path(blob.path).relative_to(relative)).resolve()
        if folder.resolve() not in target.parents:
            raise CaminoError(f"{blob.path}: a path that leaves its folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob.data_stream.read())
