"""One JSON record per evaluation, under leaderboard/results/<playbook>/.

A record is named after what was evaluated (author, model and a key that
hashes the submission's files, the data version and the playbook), so two
different evaluations never write the same file and evaluating the same thing
twice finds the record that already exists. The board is derived from these
files alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from camino.errors import CaminoError

# 2: scores are on the public part of the internal validation rows, with
# bootstrap intervals; the private part's scores are kept apart (holdout.py).
SCHEMA = 2
RESULTS = Path("leaderboard") / "results"
# Beside a playbook's records: the internal data version its board ranks.
# Records of other versions stay (history, the daily limit) but are not
# ranked, so a board never mixes scores from two data sets; a re-score moves
# the pin and the new records in one commit.
PINNED_VERSION = "DATA_VERSION"
# The author of the playbook's template, evaluated as the board's baseline. A
# GitHub login cannot contain "_", so no participant can take the name.
BASELINE_AUTHOR = "_baseline"
# Who caused a failed evaluation: the submission's code, or the platform
# (sandbox, runner, store). Only the first counts against the daily limit.
FAULT_MODEL = "model"
FAULT_PLATFORM = "platform"
# Where a failed evaluation stopped (pipeline._run_stages).
FAILURE_STAGES = ("admission", "environment", "smoke", "internal")
# A record's file name, Record.file_name: author, model, key. The key is
# hexadecimal, so the last "--" always starts it.
RECORD_FILE = re.compile(
    r"(?P<author>[A-Za-z0-9_][A-Za-z0-9_-]{0,38})--"
    r"(?P<model>[a-z0-9][a-z0-9._-]{0,63})--(?P<key>[0-9a-f]{6,64})\.json"
)
DAY = dt.timedelta(hours=24)
# Every category a failed record may name: the steps of the harness, the
# server's stages before it, and the platform's own. A record says nothing
# else: a category is shown on the board, the comment and the re-score pull
# request, so it must never carry a model's words.
MODEL_STEPS = frozenset(
    {"import", "init", "train", "save", "predict", "output", "timeout", "memory"}
)
FAILURE_CATEGORIES = MODEL_STEPS | {"admission", "install", "data", "sandbox"}
# The fields a record's files are named after (its record, its artifacts,
# its private scores), and what none of them may hold.
NAME_FIELDS = ("playbook", "author", "model", "key")
SEPARATORS = frozenset("/\\\0")


@dataclass
class Record:
    playbook: str
    author: str
    model: str
    path: str
    key: str
    status: str  # "scored" or "failed"
    metrics: list[dict[str, Any]]
    # Public scores at full precision, although the board shows at most four
    # decimals (C29): the committed records can be probed to more digits. The
    # private part is what keeps the final ranking honest; round here if
    # probing the public part becomes a problem.
    scores: dict[str, float | None] = field(default_factory=dict)
    score_problems: dict[str, str] = field(default_factory=dict)
    train_seconds: float | None = None
    predict_seconds: float | None = None
    rows: int = 0
    # Bootstrap 95% interval [low, high] of each public score.
    intervals: dict[str, list[float]] = field(default_factory=dict)
    error: dict[str, str] | None = None
    fault: str | None = None  # FAULT_MODEL or FAULT_PLATFORM when failed
    # Where a failed evaluation stopped: admission, environment, smoke (the
    # public data) or internal.
    stage: str | None = None
    peak_memory_mb: float | None = None
    environment_seconds: float | None = None
    environment_cached: bool | None = None
    sandboxed: bool | None = None
    # Provenance: what reproduces the number. The files (submission_hash)
    # and the commit they came from ("" when no commit holds them as they
    # were), the internal data, what the environment had installed (a hash
    # of its lock), camino, and the machine (provenance.describe_runner's
    # keys). Records written before a field existed load with its default.
    submission_hash: str = ""
    submission_commit: str = ""
    data_version: str = ""
    environment_lock: str = ""
    camino_version: str = ""
    runner: dict[str, Any] = field(default_factory=dict)
    evaluated_at: str = ""
    # "submission", or "ensemble" for a row that camino compile made.
    kind: str = "submission"
    # What a kind of row needs beyond scores, e.g. an ensemble's members.
    details: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA

    @property
    def file_name(self) -> str:
        return f"{self.author}--{self.model}--{self.key}.json"

    @property
    def folder(self) -> str:
        return f"{self.author}/{self.model}"

    @property
    def scored(self) -> bool:
        return self.status == "scored"

    @property
    def is_baseline(self) -> bool:
        return self.author == BASELINE_AUTHOR

    @property
    def is_reference(self) -> bool:
        """A row that is not a participant's: the baseline or the ensemble.
        It is shown on the board but takes no participant's rank."""
        return self.is_baseline or self.kind == "ensemble"

    @property
    def when(self) -> dt.datetime:
        return parse_time(self.evaluated_at)

    @property
    def counts_against_limit(self) -> bool:
        """A failure the platform caused is not the author's to pay for."""
        return not (self.status == "failed" and self.fault == FAULT_PLATFORM)


def check_name_fields(record: Record) -> None:
    """The fields that become a folder or file name hold no path.

    The publish jobs check every record they are handed; this is a second
    line for any other way a record arrives. A name made only of dots is
    refused as well (".." as the playbook is the parent folder), while a dot
    pair inside a name (a model "v1..2") names no other folder.
    """
    for name in NAME_FIELDS:
        value = getattr(record, name)
        if (
            not isinstance(value, str)
            or value.strip(".") == ""
            or set(value) & SEPARATORS
        ):
            raise CaminoError(
                f"record {name} {str(value)[:80]!r} cannot be part of a file name; "
                "expected a name without '/' and not '..'"
            )


def is_number(value: object) -> bool:
    """A finite JSON number. A float field may hold 3 as well as 3.0 (JSON
    has one number type), but never true, NaN or infinity."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer too large for any float
        return False


def is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_score(value: object) -> bool:
    return value is None or is_number(value)


def is_interval(value: object) -> bool:
    return is_list_of(value, 2, is_number)


def is_list_of(value: object, size: int, fits: Callable[[Any], bool]) -> bool:
    return (
        isinstance(value, list)
        and len(value) == size
        and all(fits(item) for item in value)
    )


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def parse_time(text: str) -> dt.datetime:
    """A record's timestamp; one written without a zone is read as UTC."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def counted_evaluations(
    records: Iterable[Record],
    author: str,
    now: dt.datetime,
    window: dt.timedelta = DAY,
) -> list[Record]:
    """The author's evaluations that count against the daily limit, oldest
    first: those after ``now - window``, except the failures the platform
    caused.

    With a limit of ``k`` and ``len(result) >= k``, the next evaluation is
    allowed at ``result[len(result) - k].when + window``.
    """
    start = now - window
    # GitHub logins are case-insensitive: Carol and carol share one count.
    login = author.lower()
    counted = [
        record
        for record in records
        if record.author.lower() == login
        and record.counts_against_limit
        # No upper bound: a record stamped after ``now`` comes from a clock
        # ahead of this one, and still happened.
        and record.when > start
    ]
    return sorted(counted, key=lambda record: (record.when, record.key))


def results_dir(repo: Path, playbook: str) -> Path:
    return repo / RESULTS / playbook


def record_path(repo: Path, record: Record) -> Path:
    return results_dir(repo, record.playbook) / record.file_name


def find_record(repo: Path, playbook: str, author: str, model: str, key: str) -> Path:
    return results_dir(repo, playbook) / f"{author}--{model}--{key}.json"


def write_record(repo: Path, record: Record) -> Path:
    """Write the record atomically: a reader sees all of it or nothing."""
    path = record_path(repo, record)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(asdict(record), indent=2, sort_keys=True) + "\n"
    write_text_atomic(path, text)
    return path


def read_record(path: Path) -> Record:
    return parse_record(path.read_text(encoding="utf-8"))


def parse_record(text: str) -> Record:
    """A record from its JSON text (a file, or a blob of another branch)."""
    data = json.loads(text)
    data.pop("schema", None)
    return Record(**data, schema=SCHEMA)


def load_records(repo: Path, playbook: str) -> list[Record]:
    folder = results_dir(repo, playbook)
    if not folder.is_dir():
        return []
    # scandir, not glob: the board reads every record on each render, and
    # glob's extra stat calls dominate at 10,000 files.
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if e.name.endswith(".json"))
    return [read_record(folder / name) for name in names]


def pinned_version(repo: Path, playbook: str) -> str | None:
    """The data version the board of ``playbook`` ranks, if one is pinned."""
    path = results_dir(repo, playbook) / PINNED_VERSION
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8").strip() or None


def pin_version(repo: Path, playbook: str, version: str) -> None:
    folder = results_dir(repo, playbook)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / PINNED_VERSION, version + "\n")


def pin_if_unset(repo: Path, playbook: str, version: str) -> None:
    """The first evaluation of a playbook decides what its board ranks;
    afterwards only a re-score moves the pin."""
    if version and pinned_version(repo, playbook) is None:
        pin_version(repo, playbook, version)


def board_version(
    repo: Path, playbook: str, records: Sequence[Record] | None = None
) -> str | None:
    """The version the board of ``playbook`` ranks: the pinned one, else (a
    board from before pins) the newest record's, the data the latest
    evaluation saw. ``records`` saves reading them when the caller has them."""
    pinned = pinned_version(repo, playbook)
    if pinned is not None:
        return pinned
    if records is None:
        records = load_records(repo, playbook)
    if not records:
        return None
    newest = max(records, key=lambda record: (record.evaluated_at, record.key))
    return newest.data_version


def fingerprint(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def hash_folder(folder: Path, skipped: set[str]) -> str:
    """A hash of the relative paths and bytes of every file, in sorted order.

    A symbolic link counts by where it points, never by what it points at: the
    folder may come from anyone, and its links may name the host's files.
    """
    parts: list[bytes] = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if set(relative.parts) & skipped:
            continue
        if path.is_symlink():
            parts += [
                relative.as_posix().encode(),
                b"link " + os.fsencode(os.readlink(path)),
            ]
        elif path.is_file():
            parts += [relative.as_posix().encode(), path.read_bytes()]
    return fingerprint(parts)


def write_text_atomic(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
