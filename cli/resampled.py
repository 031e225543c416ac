"""Metric values on many resamples of the rows at once: the bootstrap's fast path.

A resample of ``n`` rows is described by how often each row was drawn, so a
set of resamples is a weight matrix of shape ``(resamples, n)`` whose rows sum
to ``n``. Each function below returns, for every resample, the value the
metric's own score function gives on the rows drawn (``tests/test_bootstrap.py``
checks that resample by resample against :meth:`camino.metrics.Metric.score`),
with NaN where the metric is undefined. A function returns None for inputs it
does not cover; the caller then scores resample by resample.

Calling scikit-learn once per resample costs about 1 ms, so 1,000 resamples
of three metrics would add seconds to every evaluation; here they cost a few
matrix products.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

# scikit-learn's mean_absolute_percentage_error divides by max(|y|, this).
_FLOAT_EPS = float(np.finfo(np.float64).eps)


class Rows(Protocol):
    """The arrays of one scoring call (``camino.metrics`` passes its own)."""

    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None
    labels: np.ndarray | None


def draw_counts(indices: np.ndarray, rows: int) -> np.ndarray:
    """Turn resampled row numbers, shape (resamples, n), into row weights."""
    resamples = indices.shape[0]
    flat = (np.arange(resamples)[:, None] * rows + indices).ravel()
    counts = np.bincount(flat, minlength=resamples * rows)
    return counts.reshape(resamples, rows).astype(float)


# --- labels: everything follows from one confusion matrix per resample ------


@dataclass(frozen=True)
class _Confusion:
    classes: np.ndarray
    matrix: np.ndarray  # (resamples, true class, predicted class)

    @property
    def hits(self) -> np.ndarray:
        return np.diagonal(self.matrix, axis1=1, axis2=2)

    @property
    def true(self) -> np.ndarray:
        return self.matrix.sum(axis=2)

    @property
    def predicted(self) -> np.ndarray:
        return self.matrix.sum(axis=1)

    @property
    def present(self) -> np.ndarray:
        # scikit-learn averages over the labels that occur in the resample.
        return (self.true + self.predicted) > 0


def _confusion(rows: Rows, weights: np.ndarray) -> _Confusion:
    size = len(rows.y_true)
    classes, codes = np.unique(
        np.concatenate([rows.y_true, rows.y_pred]), return_inverse=True
    )
    count = len(classes)
    cells = np.zeros((size, count * count))
    cells[np.arange(size), codes[:size] * count + codes[size:]] = 1.0
    matrix = (weights @ cells).reshape(-1, count, count)
    return _Confusion(classes, matrix)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (zero_division=0)."""
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def accuracy(rows: Rows, params: Mapping[str, Any], weights: np.ndarray) -> np.ndarray:
    hits = weights @ (rows.y_true == rows.y_pred).astype(float)
    return hits / weights.sum(axis=1)


def balanced_accuracy(
    rows: Rows, params: Mapping[str, Any], weights: np.ndarray
) -> np.ndarray:
    confusion = _confusion(rows, weights)
    # A class that is predicted but never true has no recall and is left out,
    # as scikit-learn does.
    recall = np.where(confusion.true > 0, confusion.hits, np.nan) / confusion.true
    return np.nanmean(recall, axis=1)


def precision(rows: Rows, params: Mapping[str, Any], weights: np.ndarray) -> np.ndarray:
    return _averaged(rows, params, weights, "precision")


def recall(rows: Rows, params: Mapping[str, Any], weights: np.ndarray) -> np.ndarray:
    return _averaged(rows, params, weights, "recall")


def f1(rows: Rows, params: Mapping[str, Any], weights: np.ndarray) -> np.ndarray:
    return _averaged(rows, params, weights, "f1")


def _per_class(
    kind: str, hits: np.ndarray, true: np.ndarray, predicted: np.ndarray
) -> np.ndarray:
    if kind == "precision":
        return _divide(hits, predicted)
    if kind == "recall":
        return _divide(hits, true)
    return _divide(2 * hits, true + predicted)


def _averaged(
    rows: Rows, params: Mapping[str, Any], weights: np.ndarray, kind: str
) -> np.ndarray:
    confusion = _confusion(rows, weights)
    hits, true, predicted = confusion.hits, confusion.true, confusion.predicted
    average = params["average"]
    if average == "micro":
        return _per_class(kind, hits.sum(1), true.sum(1), predicted.sum(1))

    scores = _per_class(kind, hits, true, predicted)
    if average == "macro":
        present = confusion.present
        return (scores * present).sum(axis=1) / present.sum(axis=1)
    if average == "weighted":
        return (scores * true).sum(axis=1) / true.sum(axis=1)
    return _binary(rows, params, confusion, scores)


def _binary(
    rows: Rows, params: Mapping[str, Any], confusion: _Confusion, scores: np.ndarray
) -> np.ndarray:
    """The positive class's score, chosen per resample as the metric does."""
    present = confusion.present
    count = present.sum(axis=1)
    positive, undefined = _positive_codes(rows, params, confusion.classes, present)

    found = positive >= 0
    values = np.zeros(len(scores))
    values[found] = scores[found, positive[found]]
    in_resample = np.zeros(len(scores), dtype=bool)
    in_resample[found] = present[found, positive[found]]
    # scikit-learn refuses a positive label absent from two present labels,
    # and any resample with more than two labels.
    undefined |= (~in_resample & (count >= 2)) | (count > 2)
    return np.where(undefined, np.nan, values)


def _positive_codes(
    rows: Rows, params: Mapping[str, Any], classes: np.ndarray, present: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Column of the positive class per resample (-1: not a label here), and
    where it cannot be told."""
    resamples = len(present)
    undefined = np.zeros(resamples, dtype=bool)
    fixed = rows.labels
    if fixed is not None and len(fixed) > 2:
        return np.full(resamples, -1), ~undefined
    if "pos_label" in params:
        return np.full(resamples, _code_of(params["pos_label"], classes)), undefined

    if fixed is not None:
        # The labels are fixed for the call: the second one is positive.
        if len(fixed) < 2:
            return np.full(resamples, -1), ~undefined
        return np.full(resamples, _code_of(fixed[1], classes)), undefined

    # Otherwise the second of the labels present in the resample.
    second = np.argmax(np.cumsum(present, axis=1) == 2, axis=1)
    return second, present.sum(axis=1) != 2


def _code_of(label: Any, classes: np.ndarray) -> int:
    matches = np.flatnonzero(classes == label)
    return int(matches[0]) if len(matches) else -1


# --- probabilities ------------------------------------------------------------


def _sorted_columns(rows: Rows) -> tuple[np.ndarray, np.ndarray] | None:
    """Labels and probability columns in sorted label order, or None when the
    call does not fix the labels (each resample would find its own)."""
    if rows.labels is None or rows.proba is None:
        return None
    if rows.proba.shape[1] != len(rows.labels):
        return None
    order = np.argsort(rows.labels, kind="stable")
    return rows.labels[order], rows.proba[:, order]


def log_loss(
    rows: Rows, params: Mapping[str, Any], weights: np.ndarray
) -> np.ndarray | None:
    columns = _sorted_columns(rows)
    if columns is None:
        return None
    labels, proba = columns
    if len(labels) < 2:
        return None  # scikit-learn refuses it; the slow path says so
    codes = np.searchsorted(labels, rows.y_true)
    if np.any(codes >= len(labels)) or np.any(labels[codes] != rows.y_true):
        return None

    # Per row: minus the log of the probability of the true class, clipped
    # as scikit-learn clips; the loss is their mean.
    eps = np.finfo(proba.dtype).eps
    chosen = np.clip(proba, eps, 1 - eps)[np.arange(len(codes)), codes]
    return (weights @ -np.log(chosen)) / weights.sum(axis=1)


def roc_auc(
    rows: Rows, params: Mapping[str, Any], weights: np.ndarray
) -> np.ndarray | None:
    columns = _sorted_columns(rows)
    if columns is None:
        return None
    labels, proba = columns
    if len(labels) == 2:
        return _binary_auc(rows.y_true == labels[1], proba[:, 1], weights)
    if params["average"] == "micro":
        return None

    # One-vs-rest: each class against the others, then averaged.
    scores = np.stack(
        [
            _binary_auc(rows.y_true == label, proba[:, column], weights)
            for column, label in enumerate(labels)
        ],
        axis=1,
    )
    if params["average"] == "macro":
        return scores.mean(axis=1)
    prevalence = np.stack(
        [weights @ (rows.y_true == label).astype(float) for label in labels], axis=1
    )
    # A class absent from the resample weighs 0, so its NaN does not count.
    scores = np.where(prevalence == 0, 0.0, scores)
    return (scores * prevalence).sum(axis=1) / prevalence.sum(axis=1)


def _binary_auc(positive: Any, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Area under the ROC curve per resample: the weighted share of (positive,
    negative) pairs ordered correctly by score, a tie counting one half."""
    positive = np.asarray(positive, dtype=bool)
    values, group = np.unique(score, return_inverse=True)
    members = np.zeros((len(score), len(values)))
    members[np.arange(len(score)), group] = 1.0

    negatives = (weights * ~positive) @ members  # per score value
    below = np.cumsum(negatives, axis=1) - negatives
    beaten = below + 0.5 * negatives
    wins = (weights * positive * beaten[:, group]).sum(axis=1)

    pairs = (weights @ positive) * (weights @ ~positive)
    return np.where(pairs == 0, np.nan, wins / np.where(pairs == 0, 1.0, pairs))


# --- numbers --------------------------------------------------------------------


def _errors(rows: Rows) -> np.ndarray:
    return rows.y_true.astype(float) - rows.y_pred.astype(float)


def mae(rows: Rows, params: Mapping[str, Any], weights: np.ndarray) -> np.ndarray:
    return (weights @ np.abs(_errors(rows))) / weights.sum(axis=1)


def mse(rows: Rows, params: Mapping[str, Any], weights: np.ndarray) -> np.ndarray:
    return (weights @ _errors(rows) ** 2) / weights.sum(axis=1)


def rmse(rows: Rows, params: Mapping[str, Any], weights: np.ndarray) -> np.ndarray:
    return np.sqrt(mse(rows, params, weights))


def mape(
    rows: Rows, params: Mapping[str, Any], weights: np.ndarray, zero: float
) -> np.ndarray:
    truth = rows.y_true.astype(float)
    # A resample that draws a zero target is undefined, as the whole set is.
    drew_zero = (weights @ (np.abs(truth) < zero).astype(float)) > 0
    ratios = np.abs(_errors(rows)) / np.maximum(np.abs(truth), _FLOAT_EPS)
    values = (weights @ ratios) / weights.sum(axis=1)
    return np.where(drew_zero, np.nan, values)


def r2(rows: Rows, params: Mapping[str, Any], weights: np.ndarray) -> np.ndarray:
    truth = rows.y_true.astype(float)
    total = weights.sum(axis=1)
    means = (weights @ truth) / total
    spread = (weights * (truth[None, :] - means[:, None]) ** 2).sum(axis=1)
    residual = weights @ _errors(rows) ** 2

    # scikit-learn's force_finite: a constant target scores 1 when predicted
    # exactly, else 0; one row has no r2 at all.
    safe = np.where(spread == 0, 1.0, spread)
    values = np.where(
        spread == 0, np.where(residual == 0, 1.0, 0.0), 1 - residual / safe
    )
    return np.where(total < 2, np.nan, values)
