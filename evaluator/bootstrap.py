"""How far a score could move had other validation rows been drawn.

A percentile bootstrap over the validation rows: draw ``n`` rows with
replacement, keeping each row's truth, prediction and probabilities together
(paired resampling), score the draw with the metric's own score function,
repeat, and read the 2.5th and 97.5th percentiles of the values. The draw
depends only on the seed and the number of rows, so every submission of a
playbook is scored on the same resamples and a record is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from camino.metrics import Metric

RESAMPLES = 1000
CONFIDENCE = 0.95
# Resamples where the metric is undefined (roc_auc on a draw with one class)
# are left out; with fewer than this share defined, there is no interval.
MIN_DEFINED = 0.9


def resample_indices(rows: int, seed: int, resamples: int = RESAMPLES) -> np.ndarray:
    """Row numbers of each resample, shape (resamples, rows).

    The same draw as ``scipy.stats.bootstrap(..., paired=True,
    rng=np.random.default_rng(seed))``, so either can check the other.
    """
    return np.random.default_rng(seed).integers(0, rows, size=(resamples, rows))


def interval(
    metric: Metric,
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    proba: np.ndarray | None = None,
    labels: Sequence[Any] | None = None,
    *,
    seed: int,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
) -> tuple[float, float] | None:
    """The percentile bootstrap interval of ``metric`` on these rows.

    Parameters
    ----------
    metric : Metric
        Scores each resample with :meth:`Metric.score_resamples`, which
        gives what :meth:`Metric.score` gives on the rows drawn.
    y_true, y_pred, proba, labels
        As for :meth:`Metric.score`.
    seed : int
        Fixes the draw; the playbook's ``board.seed``.
    resamples : int, default 1000
    confidence : float, default 0.95

    Returns
    -------
    (low, high) or None
        None when there are fewer than two rows or the metric is undefined
        on too many resamples to say.
    """
    rows = len(y_true)
    if rows < 2:
        return None

    indices = resample_indices(rows, seed, resamples)
    values = metric.score_resamples(y_true, y_pred, indices, proba, labels)
    defined = values[np.isfinite(values)]
    if len(defined) < MIN_DEFINED * resamples:
        return None

    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(defined, [tail, 100 - tail])
    return float(low), float(high)
