"""Commit a record and the re-rendered board to the default branch.

Many evaluations finish at once and all push to one branch. The board is a
derived file that every one of them rewrites, so a rebase would conflict;
instead each attempt starts from the remote's newest commit (fetch, reset),
writes its own record, re-renders the board from all records, commits and
pushes. A rejected push (GitPython reports it in the push flags; it does not
raise) is retried after a jittered, growing pause, so the retries of twenty
runs spread out instead of colliding again. A record never replaces one the
branch holds with other content (record_check.on_branch).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import git
from git import Actor, PushInfo
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from camino.action.record_check import on_branch
from camino.board import write_boards
from camino.errors import CaminoError
from camino.evaluator.results import Record, pin_if_unset, write_record
from camino.playbook import all_playbooks

log = logging.getLogger(__name__)

BOT = Actor(
    "github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com"
)
# The git CLI commits: faster than GitPython's index, and it does not hold
# the GIL (the tests run twenty publishers in one process).
BOT_IDENTITY = {
    "GIT_AUTHOR_NAME": BOT.name or "",
    "GIT_AUTHOR_EMAIL": BOT.email or "",
    "GIT_COMMITTER_NAME": BOT.name or "",
    "GIT_COMMITTER_EMAIL": BOT.email or "",
}
FAILED_PUSH = PushInfo.REJECTED | PushInfo.REMOTE_REJECTED | PushInfo.ERROR
ATTEMPTS = 40
# A random pause that grows with each rejection, so runs that collided once
# spread out instead of colliding again in lockstep.
BACKOFF = wait_random_exponential(multiplier=0.3, max=3)


class PushRejected(CaminoError):
    """The remote moved on while we committed; fetch and try again."""


@dataclass(frozen=True)
class Target:
    """Where the board goes: a remote of the work tree and its branch."""

    remote: str = "origin"
    branch: str = "main"
    token: str = ""


def commit_board(
    root: Path, record: Record, target: Target, attempts: int = ATTEMPTS
) -> str | None:
    """Push ``record`` and the board; the new commit, or None when the remote
    already had exactly this (a re-run: no empty commit, no new event)."""
    message = f"Board: {record.path} ({record.status})\n\nRecord {record.file_name}"
    return commit_records(root, [record], message, target, attempts)


def commit_records(
    root: Path,
    records: list[Record],
    message: str,
    target: Target,
    attempts: int = ATTEMPTS,
) -> str | None:
    """Push several records (a compile's ensembles) and the board at once."""
    repo = git.Repo(root)
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=BACKOFF,
        retry=retry_if_exception_type(PushRejected),
        reraise=True,
    )
    with repo.git.custom_environment(**auth_environment(repo, target)):
        for attempt in retrying:
            with attempt:
                return _attempt(repo, root, records, message, target)
    return None  # not reached: the last failed attempt re-raises


def _attempt(
    repo: git.Repo, root: Path, records: list[Record], message: str, target: Target
) -> str | None:
    remote = repo.remote(target.remote)
    remote.fetch(
        f"+refs/heads/{target.branch}:refs/remotes/{target.remote}/{target.branch}"
    )
    repo.git.reset("--hard", f"{target.remote}/{target.branch}")

    for record in records:
        # Checked again on the newest branch: a record committed since the
        # job's checkout must not be rewritten either.
        on_branch(root, record, record.file_name)
        write_record(root, record)
        pin_if_unset(root, record.playbook, record.data_version)
    write_boards(root, all_playbooks(root))
    repo.git.add("--all", "leaderboard")
    if not repo.git.diff("--cached", "--name-only"):
        return None

    with repo.git.custom_environment(**BOT_IDENTITY):
        repo.git.commit("--quiet", "--no-verify", "-m", message)
    infos = remote.push(f"HEAD:refs/heads/{target.branch}")
    failed = [info for info in infos if info.flags & FAILED_PUSH]
    if failed or not infos:
        summary = failed[0].summary.strip() if failed else "no push result"
        log.info("push of %s rejected: %s", message.splitlines()[0], summary)
        raise PushRejected(f"push to {target.branch} rejected: {summary}")
    return repo.head.commit.hexsha


def auth_environment(repo: git.Repo, target: Target) -> dict[str, str]:
    """Credentials for one git process, passed in its environment: never in
    the remote URL or .git/config, where a later step could read them."""
    url = repo.remote(target.remote).url
    parsed = urlparse(url)
    if not target.token or parsed.scheme not in ("http", "https"):
        return {}
    basic = base64.b64encode(f"x-access-token:{target.token}".encode()).decode()
    key = f"http.{parsed.scheme}://{parsed.netloc}/.extraheader"
    return git_config_environment({key: f"AUTHORIZATION: basic {basic}"})


def git_config_environment(settings: Mapping[str, str]) -> dict[str, str]:
    environment = {"GIT_CONFIG_COUNT": str(len(settings))}
    for index, (key, value) in enumerate(settings.items()):
        environment[f"GIT_CONFIG_KEY_{index}"] = key
        environment[f"GIT_CONFIG_VALUE_{index}"] = value
    return environment
