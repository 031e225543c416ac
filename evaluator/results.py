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
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = 1
RESULTS = Path("leaderboard") / "results"


@dataclass
class Record:
    playbook: str
    author: str
    model: str
    path: str
    key: str
    status: str  # "scored" or "failed"
    metrics: list[dict[str, Any]]
    scores: dict[str, float | None] = field(default_factory=dict)
    score_problems: dict[str, str] = field(default_factory=dict)
    train_seconds: float | None = None
    predict_seconds: float | None = None
    rows: int = 0
    error: dict[str, str] | None = None
    # Where a failed evaluation stopped: admission, environment, smoke (the
    # public data) or internal.
    stage: str | None = None
    peak_memory_mb: float | None = None
    environment_seconds: float | None = None
    environment_cached: bool | None = None
    sandboxed: bool | None = None
    submission_hash: str = ""
    data_version: str = ""
    camino_version: str = ""
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


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


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
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("schema", None)
    return Record(**data, schema=SCHEMA)


def load_records(repo: Path, playbook: str) -> list[Record]:
    folder = results_dir(repo, playbook)
    return [read_record(path) for path in sorted(folder.glob("*.json"))]


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
