"""The pull request through PyGithub: the sticky comment, approvals, merge,
and the re-score's own pull request.

The API's address is always given (``GITHUB_API_URL`` in Actions, a local
stand-in in tests); nothing here has a default host.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from github import Auth, Github, GithubException
from github.IssueComment import IssueComment
from github.PullRequest import PullRequest
from github.Repository import Repository

from camino.action.comment import MARKER
from camino.action.event import parse_command
from camino.errors import CaminoError

log = logging.getLogger(__name__)

# Set to "0" to turn off PyGithub's pacing and retries (tests against a local
# stand-in, where waiting a second between writes only slows the suite).
PACING = "CAMINO_GITHUB_PACING"
MIN_SHA = 7


def connect(api_url: str, token: str, environ: Mapping[str, str]) -> Github:
    if not api_url or not token:
        raise CaminoError(
            "GitHub API address or token missing: set GITHUB_API_URL and "
            "GITHUB_TOKEN (the workflow passes both)"
        )
    if environ.get(PACING) == "0":
        return Github(
            base_url=api_url,
            auth=Auth.Token(token),
            retry=None,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
    return Github(base_url=api_url, auth=Auth.Token(token))


def sticky(pull: PullRequest) -> IssueComment | None:
    """camino's comment on the pull request: marked, and written by a bot
    (a participant pasting the marker cannot take the comment over)."""
    for comment in pull.get_issue_comments():
        if (comment.body or "").startswith(MARKER) and comment.user.type == "Bot":
            return comment
    return None


def upsert_comment(pull: PullRequest, body: str) -> IssueComment:
    """Edit the sticky comment, or create it on the first run."""
    existing = sticky(pull)
    if existing is None:
        return pull.create_issue_comment(body)
    if existing.body != body:
        existing.edit(body)
    return existing


def approved(pull: PullRequest, head_sha: str) -> bool:
    """Whether a maintainer approved exactly this head with
    ``/camino evaluate SHA`` in a comment on the pull request."""
    for comment in pull.get_issue_comments():
        command = parse_command(
            comment.body or "", comment.user.login, comment.author_association
        )
        if (
            command is not None
            and command.verb == "evaluate"
            and command.by_maintainer
            and approves(command.argument, head_sha)
        ):
            return True
    return False


def approves(argument: str, head_sha: str) -> bool:
    """An approval names the commit (at least 7 hex digits of it), so a push
    after the approval is not covered by it."""
    return len(argument) >= MIN_SHA and head_sha.lower().startswith(argument.lower())


def merge(pull: PullRequest, head_sha: str, title: str) -> str | None:
    """Squash-merge the pull request if its head is still ``head_sha``.

    Returns None when merged, else GitHub's reason in plain words (the pull
    request then stays open; the comment says why).
    """
    try:
        status = pull.merge(merge_method="squash", sha=head_sha, commit_title=title)
    except GithubException as error:
        reason = error.data.get("message") if isinstance(error.data, dict) else None
        log.warning("merge of #%s refused: %s", pull.number, error)
        return str(reason or error)
    return None if status.merged else (status.message or "not merged")


def pulls_from(repository: Repository, branch: str, state: str) -> list[PullRequest]:
    """The pull requests whose head is ``branch`` of ``repository`` itself."""
    head = f"{repository.owner.login}:{branch}"
    return list(repository.get_pulls(state=state, head=head))


def upsert_pull(
    repository: Repository, branch: str, base: str, title: str, body: str
) -> PullRequest:
    """Edit the open pull request from ``branch``, or open it."""
    for pull in pulls_from(repository, branch, "open"):
        if (pull.title, pull.body) != (title, body):
            pull.edit(title=title, body=body)
        return pull
    head = f"{repository.owner.login}:{branch}"
    try:
        return repository.create_pull(base=base, head=head, title=title, body=body)
    except GithubException as error:
        if error.status != 403:
            raise
        raise CaminoError(
            f"GitHub refused to open the pull request from {branch} ({error.status}"
            f" {_message(error)}): turn on Settings → Actions → General → "
            '"Allow GitHub Actions to create and approve pull requests"; the '
            "branch is pushed, the next run opens the pull request"
        ) from None


def _message(error: GithubException) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    return str(data.get("message") or error)
