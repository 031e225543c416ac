"""The daily limit: how many evaluations an author had in the last 24 hours
on one playbook, and when the next one is allowed.

Counted from the records committed to the board, so forks, branches and
separate pull requests of one login share one count. What counts: every
record, scored or failed by the model's own code. A run that failed because
of the platform either writes no record (camino raises before it records)
or a record whose fault is the platform's; neither costs the participant a
slot (camino.evaluator.results.counted_evaluations).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from camino.evaluator.results import Record, counted_evaluations, load_records

WINDOW = dt.timedelta(hours=24)

# Known gaps, each closed by the condition named:
# - Two pull requests of one author evaluated at the same moment both see
#   the count from before either record was committed, so one extra run can
#   slip through. Closes with a per-author concurrency group or a check
#   against the freshly fetched default branch in the evaluate job.
# - Records are keyed by login; a renamed GitHub account starts a new count.
#   Closes when records carry the numeric user id from the event.

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Quota:
    limit: int
    used: int
    next_slot: dt.datetime | None  # when one more is allowed, if none is left now

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)


def recent_evaluations(
    repo: Path, playbook: str, author: str, now: dt.datetime
) -> list[Record]:
    """The author's records on ``playbook`` that count in the window."""
    return counted_evaluations(load_records(repo, playbook), author, now, WINDOW)


def quota(
    repo: Path, playbook: str, author: str, limit: int, now: dt.datetime
) -> Quota:
    recent = [r.when for r in recent_evaluations(repo, playbook, author, now)]
    used = len(recent)
    # The slot frees up when the oldest counted evaluation leaves the window.
    next_slot = recent[used - limit] + WINDOW if used >= limit else None
    return Quota(limit, used, next_slot)


def format_utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
