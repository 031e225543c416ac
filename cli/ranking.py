"""Which result of each model folder is ranked, in which order, and how sure
the order is.

Pure functions over records, so the board, the terminal view and the reveal
rank the same way. A failed or undefined score never ranks above a number
(CASE C01); each metric sorts in its own direction (C36); one row per model
folder, by the playbook's policy (C03).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import rankdata

from camino.evaluator.results import Record
from camino.metrics import Metric

BEST = "best"
LATEST = "latest"


@dataclass(frozen=True)
class Entry:
    """A record with the scores it is ranked by: its public scores, or its
    private ones once the final ranking is revealed."""

    record: Record
    scores: Mapping[str, float | None]
    intervals: Mapping[str, Sequence[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Placed:
    """An entry in board order; a reference row (the baseline, the ensemble)
    has no rank of its own."""

    entry: Entry
    rank: int | None
    tied: bool
    average_rank: float | None


SortKey = Callable[[Entry], tuple[object, ...]]


def public(record: Record) -> Entry:
    return Entry(record, record.scores, record.intervals)


def order(metrics: Sequence[Metric]) -> SortKey:
    """Each metric in its direction, then the earlier evaluation, then the key
    (so two renders of the same records always agree)."""

    def key(entry: Entry) -> tuple[object, ...]:
        values = [metric.sort_key(entry.scores.get(metric.name)) for metric in metrics]
        return (*values, entry.record.evaluated_at, entry.record.key)

    return key


def select(
    records: Sequence[Record], metrics: Sequence[Metric], policy: str = BEST
) -> list[Record]:
    """One scored record per model folder: its best by public scores, or its
    latest. Failed evaluations are never chosen."""
    scored = [record for record in records if record.scored]
    if policy == LATEST:
        latest: dict[str, Record] = {}
        for record in sorted(scored, key=lambda r: (r.evaluated_at, r.key)):
            latest[record.folder] = record
        return list(latest.values())

    key = order(metrics)
    best: dict[str, Entry] = {}
    for entry in sorted(map(public, scored), key=key):
        best.setdefault(entry.record.folder, entry)
    return [entry.record for entry in best.values()]


def place(entries: Sequence[Entry], metrics: Sequence[Metric]) -> list[Placed]:
    """Sort by ``metrics`` (the first ranks), number the participants, mark
    who is statistically tied with the leader, and average their ranks."""
    key = order(metrics)
    keyed = sorted(((key(entry), entry) for entry in entries), key=_first)
    participants = [pair for pair in keyed if not pair[1].record.is_reference]
    leader = participants[0][1] if participants else None
    # The sort keys already hold each metric's value in its direction.
    averages = average_ranks([k[: len(metrics)] for k, _ in participants])

    placed = []
    ranks = iter(range(1, len(participants) + 1))
    mean_ranks = iter(averages)
    for _, entry in keyed:
        if entry.record.is_reference:
            placed.append(Placed(entry, None, _tied(entry, leader, metrics[0]), None))
            continue
        tied = entry is not leader and _tied(entry, leader, metrics[0])
        placed.append(Placed(entry, next(ranks), tied, next(mean_ranks)))
    return placed


def _first(pair: tuple[tuple[object, ...], Entry]) -> tuple[object, ...]:
    return pair[0]


def _tied(entry: Entry, leader: Entry | None, metric: Metric) -> bool:
    return leader is not None and overlaps(entry, leader, metric)


def overlaps(entry: Entry, other: Entry | None, metric: Metric) -> bool:
    """Whether the two bootstrap intervals of ``metric`` share a value.

    Overlapping 95% intervals is a cautious reading: two entries can differ
    significantly and still overlap a little; it never calls a real tie a win.
    """
    if other is None:
        return False
    mine = entry.intervals.get(metric.name)
    theirs = other.intervals.get(metric.name)
    if not mine or not theirs:
        return False
    return mine[0] <= theirs[1] and theirs[0] <= mine[1]


def average_ranks(keys: Sequence[Sequence[object]]) -> list[float]:
    """Per row of sort keys (one column per metric, smaller is better), the
    mean of its ranks on each metric; equal values share their mean rank."""
    if not keys:
        return []
    ranks = rankdata(np.array(keys, dtype=float), axis=0, method="average")
    return [float(mean) for mean in ranks.mean(axis=1)]


def shake_up(final: Sequence[Placed], public_order: Sequence[Placed]) -> dict[str, int]:
    """Places each model folder moved from the public to the final ranking
    (positive: it climbed)."""
    before = {
        placed.entry.record.folder: placed.rank
        for placed in public_order
        if placed.rank is not None
    }
    return {
        placed.entry.record.folder: before[placed.entry.record.folder] - placed.rank
        for placed in final
        if placed.rank is not None and placed.entry.record.folder in before
    }
