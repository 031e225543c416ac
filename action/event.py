"""Read the event that started the workflow: a pull request, or a
``/camino ...`` command in a comment on one.

The payload file is written by GitHub, so its fields are trusted facts (who
opened the pull request, who commented and with what association); the
pull request's *content* is not, and nothing here reads it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camino.errors import CaminoError

# Associations GitHub gives people who may approve and re-run submissions.
MAINTAINERS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
# People GitHub itself treats as new: their pull requests wait for approval.
FIRST_TIMERS = frozenset({"FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "NONE"})

COMMAND = re.compile(r"^/camino\s+(?P<verb>[a-z-]+)(?:\s+(?P<arg>\S+))?\s*$")


@dataclass(frozen=True)
class Command:
    """A ``/camino VERB [ARG]`` line from a comment, with who wrote it."""

    verb: str
    argument: str
    actor: str
    association: str

    @property
    def by_maintainer(self) -> bool:
        return self.association in MAINTAINERS


@dataclass(frozen=True)
class Trigger:
    """The pull request the workflow is about, and the command if any."""

    number: int
    author: str
    author_association: str
    head_sha: str
    command: Command | None


def read_event(path: Path | None, event_name: str) -> Trigger | None:
    """The trigger, or None for an event camino ignores (a plain comment, a
    comment on an issue that is not a pull request)."""
    if path is None or not path.is_file():
        raise CaminoError("GITHUB_EVENT_PATH does not name the event payload file")
    payload: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))

    if event_name in ("pull_request_target", "pull_request"):
        return _from_pull_request(payload["pull_request"])
    if event_name == "issue_comment":
        return _from_comment(payload)
    raise CaminoError(
        f"event {event_name!r} is not one camino handles; the evaluate workflow "
        "runs on pull_request_target and issue_comment"
    )


def _from_pull_request(pull: dict[str, Any]) -> Trigger:
    return Trigger(
        number=int(pull["number"]),
        author=pull["user"]["login"],
        author_association=pull.get("author_association", "NONE"),
        head_sha=pull["head"]["sha"],
        command=None,
    )


def _from_comment(payload: dict[str, Any]) -> Trigger | None:
    issue, comment = payload["issue"], payload["comment"]
    if "pull_request" not in issue:
        return None
    command = parse_command(
        comment.get("body") or "",
        comment["user"]["login"],
        comment.get("author_association", "NONE"),
    )
    if command is None:
        return None
    # The comment event does not carry the head: it is read from the API by
    # the gate, at the moment the command is checked.
    return Trigger(
        number=int(issue["number"]),
        author=issue["user"]["login"],
        author_association=issue.get("author_association", "NONE"),
        head_sha="",
        command=command,
    )


def parse_command(body: str, actor: str, association: str) -> Command | None:
    """The first line of ``body`` as a camino command, or None."""
    first = body.strip().splitlines()[0] if body.strip() else ""
    match = COMMAND.match(first.strip())
    if match is None:
        return None
    return Command(match["verb"], match["arg"] or "", actor, association)
