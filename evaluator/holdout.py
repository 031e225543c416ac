"""The internal validation rows, cut into a public-board part and a private part.

A board that every submission can read back gets fitted to its rows (CASE
C29). So the board shows scores on the public part only; scores on the
private part stay on the evaluation machine (and in the private store, when
one is set), in a file that is never committed, until the playbook's
deadline has passed and ``camino leaderboard --reveal`` publishes the final
ranking. The model predicts every row without
knowing which part it belongs to; only the scoring splits them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from camino.evaluator import scoring
from camino.evaluator.results import (
    RECORD_FILE,
    Record,
    check_name_fields,
    is_count,
    is_interval,
    is_score,
    write_text_atomic,
)
from camino.playbook import Playbook
from camino.stores import Entry, Store, private_store

log = logging.getLogger(__name__)

# The private scores on the machine that evaluated (git-ignored with
# .camino/), and copied to CAMINO_PRIVATE_STORE when one is set, since an
# ephemeral runner loses its disk after each job.
PRIVATE = Path(".camino") / "private"
PRIVATE_PREFIX = "private"
# What write_private stores; a file of a few metrics is far below the limit.
PRIVATE_FIELDS = frozenset({"key", "rows", "scores", "score_problems", "intervals"})
PRIVATE_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class Part:
    """The scores of one part of the internal validation rows."""

    rows: int
    scores: dict[str, float | None]
    problems: dict[str, str] = field(default_factory=dict)
    intervals: dict[str, list[float]] = field(default_factory=dict)


def private_rows(truth: pd.Series, playbook: Playbook) -> np.ndarray:
    """A mask, True for the rows of the private part.

    Seeded by the playbook's ``board.seed`` and stratified by class where the
    classes allow it, so the same validation file always gives the same cut.
    """
    fraction = playbook.board.private_fraction
    mask = np.zeros(len(truth), dtype=bool)
    if fraction == 0 or len(truth) < 2:
        return mask

    positions = np.arange(len(truth))
    stratify = truth.to_numpy() if playbook.task == "classification" else None
    try:
        _, private = train_test_split(
            positions,
            test_size=fraction,
            random_state=playbook.board.seed,
            stratify=stratify,
        )
    except ValueError:
        # A class with a single row, or more classes than rows in a part,
        # cannot be stratified; a plain seeded cut is still deterministic.
        _, private = train_test_split(
            positions, test_size=fraction, random_state=playbook.board.seed
        )
    mask[private] = True
    return mask


def score_parts(
    playbook: Playbook,
    truth: pd.Series,
    predictions: np.ndarray,
    proba: dict[str, Any] | None,
) -> tuple[Part, Part]:
    """Scores and bootstrap intervals of the public and the private part."""
    private = private_rows(truth, playbook)
    return (
        _score_part(playbook, truth, predictions, proba, ~private),
        _score_part(playbook, truth, predictions, proba, private),
    )


def _score_part(
    playbook: Playbook,
    truth: pd.Series,
    predictions: np.ndarray,
    proba: dict[str, Any] | None,
    rows: np.ndarray,
) -> Part:
    if not rows.any():
        return Part(0, {})

    # Known shortcoming: scoring aligns probability columns to the labels found
    # in the part, so a part that misses a class (only when stratifying was
    # impossible) scores probabilities without that column. Fix when it is
    # seen: pass the labels of the whole validation set down to scoring.
    part_proba = None
    if proba is not None:
        values = np.asarray(proba["values"], dtype=float)[rows]
        part_proba = {"labels": proba["labels"], "values": values}
    scores = scoring.score(
        playbook.metric_objects,
        truth[rows].reset_index(drop=True),
        predictions[rows],
        part_proba,
        bootstrap_seed=playbook.board.seed,
    )
    intervals = {name: list(bounds) for name, bounds in scores.intervals.items()}
    return Part(int(rows.sum()), scores.values, scores.problems, intervals)


def private_path(repo: Path, record: Record) -> Path:
    check_name_fields(record)
    return repo / PRIVATE / record.playbook / record.file_name


def write_private(repo: Path, record: Record, part: Part) -> Path:
    """Keep the private scores of ``record`` next to, never inside, the repo's
    committed files."""
    path = private_path(repo, record)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "key": record.key,
        "rows": part.rows,
        "scores": part.scores,
        "score_problems": part.problems,
        "intervals": part.intervals,
    }
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    store = private_store(repo)
    if store is not None:
        store.put_file(path, f"{PRIVATE_PREFIX}/{record.playbook}/{record.file_name}")
    return path


def fetch_private(repo: Path, playbook: str) -> int:
    """Bring the private scores of ``playbook`` that other machines kept in
    the private store onto this one; returns how many were new here.

    Every evaluating runner may write to the store, so each object is read
    as untrusted: one that is not a private-scores file of the record its
    name gives is skipped with a warning, and the others still count.

    TODO(private store integrity): a runner can still write a well-formed
    file, with the right key, under another record's name, and the reveal
    ranks by it; only the machine that evaluated keeps its own copy. Closes
    when each runner may write only its own objects (deploy/aws) or the
    files are signed with a key the runners do not hold.
    """
    store = private_store(repo)
    if store is None:
        return 0
    prefix = f"{PRIVATE_PREFIX}/{playbook}"
    local = repo / PRIVATE / playbook
    local.mkdir(parents=True, exist_ok=True)
    copied = 0
    for entry in store.list(prefix):
        name = entry.key.removeprefix(f"{prefix}/")
        if RECORD_FILE.fullmatch(name) and (local / name).is_file():
            continue  # this machine's own copy
        text = _private_text(store, entry, name)
        if text is not None:
            write_text_atomic(local / name, text)
            copied += 1
    return copied


def _private_text(store: Store, entry: Entry, name: str) -> str | None:
    """The text of one private-scores object, or None (and a warning) when it
    is not one."""
    problem = _name_problem(name, entry.size)
    text = ""
    if problem is None:
        text = store.fetch_entry(entry).read_bytes().decode("utf-8", "replace")
        problem = _content_problem(text, name)
    if problem is not None:
        # %r: the key is anyone's text, and a line break in the job log
        # could start a workflow command.
        log.warning("private store: skipped %r: %s", entry.key, problem)
        return None
    return text


def _name_problem(name: str, size: int) -> str | None:
    if not RECORD_FILE.fullmatch(name):
        return "not named <author>--<model>--<key>.json"
    if size > PRIVATE_FILE_BYTES:
        return f"{size} bytes, more than a private-scores file has"
    return None


def _content_problem(text: str, name: str) -> str | None:
    key = name.removesuffix(".json").rsplit("--", 1)[-1]
    try:
        data = json.loads(text)
    except ValueError:
        return "not JSON"
    if not isinstance(data, dict) or PRIVATE_FIELDS - set(data):
        return f"not a private-scores file (expected {sorted(PRIVATE_FIELDS)})"
    if data["key"] != key:
        return f"its key {str(data['key'])[:40]!r} is not the file name's {key!r}"
    return _part_problem(data)


def _part_problem(data: dict[str, Any]) -> str | None:
    """The reveal ranks by these: the types write_private writes."""
    kinds = {
        "scores": is_score,
        "intervals": is_interval,
        "score_problems": lambda value: isinstance(value, str),
    }
    if not is_count(data["rows"]):
        return "rows is not a whole number >= 0"
    for name, fits in kinds.items():
        values = data[name]
        if not isinstance(values, dict) or not all(map(fits, values.values())):
            return f"{name} is not a mapping of metric names to {name}"
    return None


def read_private(repo: Path, record: Record) -> Part | None:
    """The private scores of ``record`` on this machine; None when there are
    none, or the file there is another record's."""
    path = private_path(repo, record)
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("key") != record.key:
        log.warning("%s: holds the private scores of key %r", path, data.get("key"))
        return None
    return Part(data["rows"], data["scores"], data["score_problems"], data["intervals"])
