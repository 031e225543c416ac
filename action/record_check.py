"""The rules every record from a job that ran submission code must meet.

The evaluate and compile jobs run submissions and hand their records over as
files: several at once to the batch, re-score and compile publish jobs
(handover.py), one inside outcome.json to the pull request's publish job
(publish.py). A model that escaped its sandbox could write those files, so
the jobs that hold the write token read them as untrusted input: each field
must have the type camino writes, and every value that names a file, a row
or a board cell must be one camino could have written. The refusals name
the file and the field, and say what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from enum import Enum
from pathlib import Path

from camino.errors import CaminoError
from camino.evaluator.compile import ENSEMBLE_AUTHOR, ENSEMBLE_MODEL
from camino.evaluator.results import (
    BASELINE_AUTHOR,
    FAILURE_CATEGORIES,
    FAILURE_STAGES,
    FAULT_MODEL,
    FAULT_PLATFORM,
    SCHEMA,
    Record,
    is_count,
    is_interval,
    is_list_of,
    is_number,
    is_score,
    parse_time,
    read_record,
    record_path,
)
from camino.playbook import Playbook

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
KEY = re.compile(r"^[0-9a-f]{6,64}$")
LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
# A content hash or commit SHA in a record, or "" when it has none.
DIGEST = re.compile(r"^[0-9a-f]{0,64}$")
# camino's own version (PEP 440 characters only).
VERSION = re.compile(r"^[0-9A-Za-z.+!_-]{0,40}$")

# A record is stamped by the job that made it. Runners keep their clocks by
# NTP, so an hour covers any honest skew; a stamp further ahead would keep
# a forged failure inside its author's daily window for longer.
CLOCK_SKEW = dt.timedelta(hours=1)
# The oldest stamp a job may hand over. The artifacts that carry records are
# kept 7 days (retention-days in the workflows), so a publish job, first run
# or re-run, reads them within 7 days of the upload; the evaluate jobs ran at
# most a day before it (queued for up to 24 hours, then their timeout). Ten
# days leave room for both and still bound how far back a forged record can
# place itself to fall out of its author's daily limit.
# TODO(quota stamp): within those days a forged stamp still escapes the
# daily limit. Closes when the gate (trusted, it runs no submission code)
# passes the time it approved the run to the publish job, which then
# requires evaluated_at after it.
MAX_AGE = dt.timedelta(days=10)

TEXT_FIELDS = (
    "playbook",
    "author",
    "model",
    "path",
    "key",
    "status",
    "kind",
    "submission_hash",
    "submission_commit",
    "data_version",
    "environment_lock",
    "camino_version",
    "evaluated_at",
)
DIGEST_FIELDS = ("submission_hash", "submission_commit", "data_version")
MEASURE_FIELDS = (
    "train_seconds",
    "predict_seconds",
    "environment_seconds",
    "peak_memory_mb",
)
FLAG_FIELDS = ("environment_cached", "sandboxed")
ENSEMBLE_DETAILS = (
    "voting",
    "refit",
    "members",
    "member_scores",
    "weights",
    "best_member",
    "gain",
    "without",
    "agreement",
)
SHOWN_CHARS = 80


class Kind(Enum):
    """What a job hands over: the compile job ensembles, the evaluate jobs
    evaluations of model folders (submissions and baselines)."""

    ENSEMBLE = "ensemble"
    SUBMISSION = "submission"


def refuse(source: str, field: str, value: object, expected: str) -> CaminoError:
    """The refusal of one field: where, which, what came and what was expected."""
    shown = repr(value)
    if len(shown) > SHOWN_CHARS:
        shown = shown[:SHOWN_CHARS] + "…"
    return CaminoError(f"{source}: {field} {shown}; expected {expected}")


def check_text(record: Record, source: str) -> None:
    """The text fields, first: they name the record's file and folder."""
    wrong = [name for name in TEXT_FIELDS if not isinstance(getattr(record, name), str)]
    if wrong:
        raise CaminoError(f"{source}: {', '.join(wrong)} must be text")


def check_fields(
    record: Record, playbook: Playbook, source: str, now: dt.datetime | None
) -> None:
    """Every field of ``record`` has the type and a value camino writes; the
    metric names and texts are ``playbook``'s own. A record made just now is
    stamped within a window around ``now``; ``None`` for one that a camino
    job committed before, whose age says nothing."""
    check_text(record, source)
    if type(record.schema) is not int or record.schema != SCHEMA:
        raise refuse(source, "schema", record.schema, f"{SCHEMA}")
    _check_outcome(record, source)
    _check_measures(record, source)
    _check_provenance(record, source)
    _check_time(record, source, now)
    _check_metrics(record, playbook, source)
    _check_scores(record, playbook, source)


def _check_outcome(record: Record, source: str) -> None:
    """Status, fault, error and stage, and that they tell one story."""
    if record.status not in ("scored", "failed"):
        raise refuse(source, "status", record.status, "'scored' or 'failed'")
    if record.fault not in (None, FAULT_MODEL, FAULT_PLATFORM):
        raise refuse(source, "fault", record.fault, "null, 'model' or 'platform'")
    if record.stage is not None and record.stage not in FAILURE_STAGES:
        raise refuse(source, "stage", record.stage, f"null or one of {FAILURE_STAGES}")
    if record.error is not None:
        _check_error(record.error, source)

    failed = record.status == "failed"
    if failed and (record.error is None or record.fault is None):
        raise CaminoError(f"{source}: a failed record needs an error and a fault")
    if not failed and (record.error, record.fault, record.stage) != (None,) * 3:
        raise CaminoError(
            f"{source}: a scored record has no error, fault or stage; expected null"
        )


def _check_error(error: object, source: str) -> None:
    expected = "an object of category and message (text)"
    if not isinstance(error, dict) or set(error) != {"category", "message"}:
        raise refuse(source, "error", error, expected)
    if not isinstance(error["message"], str):
        raise refuse(source, "error.message", error["message"], "text")
    category = error["category"]
    if not isinstance(category, str) or category not in FAILURE_CATEGORIES:
        categories = ", ".join(sorted(FAILURE_CATEGORIES))
        raise refuse(source, "error.category", category, f"one of {categories}")


def _check_measures(record: Record, source: str) -> None:
    if not is_count(record.rows):
        raise refuse(source, "rows", record.rows, "a whole number >= 0")
    for name in MEASURE_FIELDS:
        value = getattr(record, name)
        if value is not None and not (is_number(value) and value >= 0):
            raise refuse(source, name, value, "null or a finite number >= 0")
    for name in FLAG_FIELDS:
        value = getattr(record, name)
        if value is not None and not isinstance(value, bool):
            raise refuse(source, name, value, "null, true or false")


def _check_provenance(record: Record, source: str) -> None:
    """The provenance fields go into the comment and the committed record."""
    for name in (*DIGEST_FIELDS, "environment_lock"):
        if not DIGEST.fullmatch(getattr(record, name)):
            raise refuse(source, name, getattr(record, name), "a hexadecimal digest")
    if not VERSION.fullmatch(record.camino_version):
        raise refuse(source, "camino_version", record.camino_version, "a version")
    if not isinstance(record.runner, dict) or not all(
        isinstance(key, str) and _is_runner_value(value)
        for key, value in record.runner.items()
    ):
        raise refuse(
            source,
            "runner",
            record.runner,
            "a mapping of names to text, numbers or lists of text",
        )


def _is_runner_value(value: object) -> bool:
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    return value is None or isinstance(value, str | bool) or is_number(value)


def _check_time(record: Record, source: str, now: dt.datetime | None) -> None:
    try:
        when = parse_time(record.evaluated_at)
    except ValueError:
        raise refuse(
            source, "evaluated_at", record.evaluated_at, "an ISO 8601 time"
        ) from None
    if now is not None and not now - MAX_AGE <= when <= now + CLOCK_SKEW:
        raise refuse(
            source,
            "evaluated_at",
            record.evaluated_at,
            f"a time from the last {MAX_AGE.days} days, not after "
            f"{(now + CLOCK_SKEW).isoformat(timespec='seconds')}",
        )


def _check_metrics(record: Record, playbook: Playbook, source: str) -> None:
    """The record's metric entries are shown as they are (comments), so each
    must be the playbook's own: its name, display text and direction."""
    own = {metric.name: metric for metric in playbook.metric_objects}
    if not isinstance(record.metrics, list):
        raise refuse(source, "metrics", record.metrics, "a list")
    seen = set()
    for entry in record.metrics:
        name = entry.get("name") if isinstance(entry, dict) else None
        metric = own.get(name) if isinstance(name, str) else None
        if metric is None or name in seen:
            raise refuse(
                source, "metrics entry", entry, f"one of {playbook.name}'s {list(own)}"
            )
        expected = {
            "name": metric.name,
            "display": metric.display,
            "greater_is_better": metric.greater_is_better,
        }
        if entry != expected:
            raise refuse(source, f"metrics entry {name!r}", entry, repr(expected))
        seen.add(name)


def _check_scores(record: Record, playbook: Playbook, source: str) -> None:
    names = {metric.name for metric in playbook.metric_objects}
    by_metric = {
        "scores": (record.scores, is_score, "null or a finite number"),
        "intervals": (record.intervals, is_interval, "[low, high], finite numbers"),
        "score_problems": (record.score_problems, _is_text, "text"),
    }
    for field, (values, fits, expected) in by_metric.items():
        if not isinstance(values, dict):
            raise refuse(
                source, field, values, f"a mapping of {playbook.name}'s metrics"
            )
        for name, value in values.items():
            if name not in names:
                raise refuse(source, f"{field} key", name, f"one of {sorted(names)}")
            if not fits(value):
                raise refuse(source, f"{field}[{name!r}]", value, expected)


def check_submission(record: Record, source: str) -> None:
    """An evaluation of a model folder, where its fields say the folder is."""
    if record.kind != Kind.SUBMISSION.value or record.author == ENSEMBLE_AUTHOR:
        raise CaminoError(
            f"{source}: kind {record.kind!r} by {record.author!r}; the evaluate "
            "jobs hand over evaluations of submissions and baselines only"
        )
    if not _names_are_valid(record):
        raise CaminoError(
            f"{source}: author {record.author!r} or model {record.model!r} is not "
            "a valid name"
        )
    expected = folder_of(record)
    if record.path != expected:
        raise CaminoError(
            f"{source}: path {record.path!r} does not match its playbook, author "
            f"and model (expected {expected!r})"
        )
    if record.details != {}:
        raise refuse(source, "details", record.details, "{} for a submission")


def _names_are_valid(record: Record) -> bool:
    if record.author == BASELINE_AUTHOR:
        return record.model == "template"
    return bool(LOGIN.fullmatch(record.author) and SLUG.fullmatch(record.model))


def folder_of(record: Record) -> str:
    """Where the evaluated folder lies, from the record's own fields."""
    if record.author == BASELINE_AUTHOR:
        return f"playbooks/{record.playbook}/template"
    return f"submissions/{record.playbook}/{record.author}/{record.model}"


def check_ensemble(record: Record, source: str, members: Collection[str]) -> None:
    """An ensemble as compile writes it, of ``members`` (the playbook's live
    model folders, author/model)."""
    made = (record.kind, record.author, record.model)
    if made != (Kind.ENSEMBLE.value, ENSEMBLE_AUTHOR, ENSEMBLE_MODEL):
        raise CaminoError(
            f"{source}: not an ensemble record (kind {record.kind!r}, "
            f"{record.author}/{record.model}); the compile job hands over "
            f"ensembles only, {ENSEMBLE_AUTHOR}/{ENSEMBLE_MODEL}"
        )
    expected = ensemble_page(record.playbook)
    if record.path != expected:
        raise refuse(source, "path", record.path, repr(expected))
    check_details(record.details, source, members)


def ensemble_page(playbook: str) -> str:
    return f"leaderboard/ensembles/{playbook}.md"


def check_details(details: object, source: str, live: Collection[str]) -> None:
    """An ensemble's details (compile._build_and_score): they fill its page."""
    if not isinstance(details, dict) or set(details) != set(ENSEMBLE_DETAILS):
        raise refuse(source, "details", details, f"the keys {list(ENSEMBLE_DETAILS)}")
    members = details["members"]
    _check_members(members, source, live)
    size = len(members)
    rules: dict[str, tuple[bool, str]] = {
        "voting": (details["voting"] in ("hard", "soft"), "'hard' or 'soft'"),
        "refit": (isinstance(details["refit"], bool), "true or false"),
        "member_scores": (
            is_list_of(details["member_scores"], size, is_score),
            f"{size} scores (or nulls)",
        ),
        "weights": (
            details["weights"] is None
            or is_list_of(details["weights"], size, is_number),
            f"null or {size} finite numbers",
        ),
        "best_member": (is_score(details["best_member"]), "null or a number"),
        "gain": (is_score(details["gain"]), "null or a number"),
        "without": (
            is_list_of(details["without"], size, is_score),
            f"{size} scores (or nulls)",
        ),
        "agreement": (
            is_list_of(
                details["agreement"],
                size,
                lambda row: is_list_of(row, size, is_number),
            ),
            f"a {size} by {size} table of finite numbers",
        ),
    }
    for name, (fits, expected) in rules.items():
        if not fits:
            raise refuse(source, f"details.{name}", details[name], expected)


def _check_members(members: object, source: str, live: Collection[str]) -> None:
    if not (
        isinstance(members, list)
        and len(members) >= 2
        and len(set(map(str, members))) == len(members)
        and all(isinstance(name, str) and name in live for name in members)
    ):
        raise refuse(
            source,
            "details.members",
            members,
            "two or more model folders (author/model) of this branch",
        )


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def on_branch(root: Path, record: Record, source: str) -> bool:
    """Whether the checkout ``root`` holds this very record already (a job
    run again hands over the same evaluation). A record that would replace
    a committed one with other content is refused: committed records are
    history, and nothing a job hands over rewrites them.

    TODO(equal evaluations): a batch and a pull request that evaluate the
    same files at once make two records of one name that differ in their
    stamp and runner; the later publish is refused and its job goes red
    (a re-run finds the record). If that is seen, keep the committed one
    and leave the other out instead of refusing: that rewrites nothing.
    """
    path = record_path(root, record)
    if not path.is_file():
        return False
    committed = read_record(path)
    if committed == record:
        return True
    if may_replace(committed):
        return False
    raise CaminoError(
        f"{source}: {path.relative_to(root).as_posix()} is on the branch already "
        "with other content; expected the same record or a new one (committed "
        "records are never rewritten)"
    )


def may_replace(committed: Record) -> bool:
    """The one committed record a new one may replace: a failure of the
    platform, which a later run of the same files retries (it counted for
    nothing, and the retry is the evaluation that should have been)."""
    return committed.status == "failed" and committed.fault == FAULT_PLATFORM
