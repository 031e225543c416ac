"""Check a model's answers against the task, then score them.

Checks come before metrics so that a format mistake (wrong length, NaN,
class indices instead of labels) is reported as such, never as a silent
score of 0.0 or a scikit-learn traceback.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from camino.errors import MetricError, SubmissionFailed
from camino.evaluator import bootstrap
from camino.metrics import Metric


@dataclass(frozen=True)
class Scores:
    values: dict[str, float | None]
    problems: dict[str, str] = field(default_factory=dict)
    # Bootstrap 95% interval (low, high) per metric, when one was asked for.
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)


def check_predictions(
    predictions: Sequence[Any], truth: pd.Series, task: str
) -> np.ndarray:
    """Return the predictions as an array comparable with ``truth``."""
    if len(predictions) != len(truth):
        raise SubmissionFailed(
            "output",
            f"model.py: Model.predict returned {len(predictions)} predictions "
            f"for {len(truth)} items; return exactly one per row, in order",
        )
    if task == "regression":
        return _check_numbers(predictions)
    return _check_labels(predictions, truth)


def _check_numbers(predictions: Sequence[Any]) -> np.ndarray:
    try:
        values = np.asarray(predictions, dtype=float)
    except (TypeError, ValueError):
        example = next(p for p in predictions if not _is_number(p))
        raise SubmissionFailed(
            "output",
            f"model.py: Model.predict returned a non-number ({example!r}); "
            "a regression model must return numbers",
        ) from None
    bad = int((~np.isfinite(values)).sum())
    if bad:
        raise SubmissionFailed(
            "output",
            f"model.py: predictions contain NaN or infinity ({bad} of "
            f"{len(values)} rows)",
        )
    return values


def _check_labels(predictions: Sequence[Any], truth: pd.Series) -> np.ndarray:
    missing = sum(1 for p in predictions if p is None or _is_nan(p))
    if missing:
        raise SubmissionFailed(
            "output",
            f"model.py: predictions contain NaN or empty values ({missing} of "
            f"{len(predictions)} rows)",
        )

    labels = list(pd.unique(truth))
    normalised = [_as_label(p, truth.dtype) for p in predictions]
    unknown = sorted({repr(p) for p in normalised if p not in set(labels)})
    if unknown:
        raise SubmissionFailed(
            "output",
            "model.py: predictions contain values that are not labels of the "
            f"target: {', '.join(unknown[:5])}; expected one of "
            f"{', '.join(map(str, sorted(labels, key=str)))} (did you forget "
            "to decode class indices back to labels?)",
        )
    # scikit-learn reads an object array of ints as an "unknown" target type.
    dtype = truth.dtype if pd.api.types.is_integer_dtype(truth.dtype) else object
    return np.asarray(normalised, dtype=dtype)


def _as_label(value: Any, dtype: Any) -> Any:
    """Map 5.0 and "5" to 5 when the target column holds integers.

    A numeric class column reads as int64 while models often answer with
    floats or strings; those are the same class, documented in the README.
    """
    if not pd.api.types.is_integer_dtype(dtype):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else value
    return value


def score(
    metrics: Sequence[Metric],
    truth: pd.Series,
    predictions: np.ndarray,
    proba: dict[str, Any] | None,
    bootstrap_seed: int | None = None,
) -> Scores:
    """Every metric's value; a metric that cannot be computed is None with
    the reason, so one undefined metric does not sink the others. With
    ``bootstrap_seed``, each value also gets its bootstrap interval."""
    labels, probabilities = _align_proba(proba, truth)
    values: dict[str, float | None] = {}
    problems: dict[str, str] = {}
    intervals: dict[str, tuple[float, float]] = {}
    y_true = truth.to_numpy(dtype=object if truth.dtype == object else None)

    for metric in metrics:
        try:
            value = metric.score(
                y_true, predictions, proba=probabilities, labels=labels
            )
        except MetricError as error:
            values[metric.name], problems[metric.name] = None, str(error)
            continue
        if not math.isfinite(value):
            values[metric.name] = None
            problems[metric.name] = f"{metric.display} is not a finite number"
            continue
        values[metric.name] = value
        if bootstrap_seed is not None:
            found = bootstrap.interval(
                metric, y_true, predictions, probabilities, labels, seed=bootstrap_seed
            )
            if found is not None:
                intervals[metric.name] = found
    return Scores(values, problems, intervals)


def _align_proba(
    proba: dict[str, Any] | None, truth: pd.Series
) -> tuple[list[Any] | None, np.ndarray | None]:
    """Columns of predict_proba in the sorted order of the target's labels."""
    if proba is None:
        return None, None
    given = [_as_label(label, truth.dtype) for label in proba["labels"]]
    labels = sorted(pd.unique(truth), key=str)
    missing = [label for label in labels if label not in given]
    if missing or len(given) != len(set(given)):
        raise SubmissionFailed(
            "output",
            "model.py: Model.predict_proba must return one column per class label "
            f"({', '.join(map(str, labels))}); it returned columns "
            f"{', '.join(map(str, given)) or '(unnamed: set self.classes_)'}",
        )
    values = np.asarray(proba["values"], dtype=float)
    order = [given.index(label) for label in labels]
    return labels, values[:, order]


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
