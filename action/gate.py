"""The gate job: decide whether a submission runs now, waits for approval,
or is ignored; post the first comment within seconds.

Runs on a GitHub-hosted runner with a comment-writing token and never
touches the pull request's files: it only reads the event and the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from github.PullRequest import PullRequest

from camino.action import comment
from camino.action.config import Competition, load_competition
from camino.action.event import FIRST_TIMERS, MAINTAINERS, Trigger, read_event
from camino.action.github_api import approved, approves, connect, upsert_comment
from camino.action.workflow import Runner, read_runner, require, set_outputs

# The environments the evaluate job runs in. The second one is where a
# maintainer sets required reviewers: GitHub then holds the job until one of
# them approves the run (README, "Run a competition").
TRUSTED = "camino"
NEEDS_APPROVAL = "camino-approval"


@dataclass(frozen=True)
class Decision:
    run: bool
    environment: str = ""
    reason: str = ""


def trusted(association: str, competition: Competition) -> bool:
    if competition.approval == "external":
        return association in MAINTAINERS
    return association not in FIRST_TIMERS


def decide(
    trigger: Trigger, head_sha: str, competition: Competition, pull: PullRequest
) -> Decision:
    """Who asked for what, checked against the pull request's current head."""
    command = trigger.command
    if command is None:
        if trusted(trigger.author_association, competition):
            return Decision(True, TRUSTED)
        return Decision(True, NEEDS_APPROVAL, "First contributions wait for a look.")
    if command.verb == "evaluate":
        if not command.by_maintainer:
            return Decision(False, reason="not-allowed")
        if not approves(command.argument, head_sha):
            return Decision(False, reason="stale")
        return Decision(True, TRUSTED)
    if command.verb == "rescore":
        return _rescore(trigger, head_sha, competition, pull)
    return Decision(False, reason="unknown")


def _rescore(
    trigger: Trigger, head_sha: str, competition: Competition, pull: PullRequest
) -> Decision:
    command = trigger.command
    assert command is not None
    if command.by_maintainer:
        return Decision(True, TRUSTED)
    if command.actor.lower() != trigger.author.lower():
        return Decision(False, reason="not-allowed")
    if trusted(trigger.author_association, competition) or approved(pull, head_sha):
        return Decision(True, TRUSTED)
    return Decision(True, NEEDS_APPROVAL, "This commit has not been approved yet.")


def gate(environ: Mapping[str, str], root: Path) -> Decision:
    runner = read_runner(environ)
    require(runner, "event_path", "repository")
    trigger = read_event(runner.event_path, runner.event_name)
    if trigger is None:
        return _output(runner, Decision(False, reason="no command"), None, "")

    github = connect(runner.api_url, runner.token, environ)
    pull = github.get_repo(runner.repository).get_pull(trigger.number)
    if pull.state != "open":
        return _output(runner, Decision(False, reason="closed"), trigger, "")
    head_sha = pull.head.sha
    competition = load_competition(root)

    decision = decide(trigger, head_sha, competition, pull)
    context = comment.Context(head_sha, runner.run_url, board_url(runner, competition))
    body = _first_comment(decision, trigger, context)
    if body:
        upsert_comment(pull, body)
    return _output(runner, decision, trigger, head_sha)


def _first_comment(
    decision: Decision, trigger: Trigger, context: comment.Context
) -> str:
    command = trigger.command
    if decision.run and decision.environment == NEEDS_APPROVAL:
        return comment.waiting(context, decision.reason)
    if decision.run:
        return comment.progress(context, "queued")
    if decision.reason == "stale":
        return comment.waiting(context, "The approval named another commit.")
    if decision.reason == "not-allowed" and command is not None:
        return comment.not_allowed(context, command.actor, command.verb)
    return ""


def _output(
    runner: Runner, decision: Decision, trigger: Trigger | None, head_sha: str
) -> Decision:
    set_outputs(
        runner,
        {
            "run": "true" if decision.run else "false",
            "environment": decision.environment,
            "pr": str(trigger.number) if trigger else "",
            "head-sha": head_sha,
            "author": trigger.author if trigger else "",
        },
    )
    return decision


def board_url(runner: Runner, competition: Competition) -> str:
    base = f"{runner.server_url}/{runner.repository}"
    return f"{base}/blob/{competition.branch}/leaderboard/"
