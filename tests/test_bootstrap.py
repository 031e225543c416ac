"""Bootstrap intervals: the fast path against the metric itself, and the
interval against a direct percentile bootstrap and scipy's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from camino.errors import MetricError
from camino.evaluator import bootstrap
from camino.metrics import Metric, get_metric

CLASSIFICATION_SPECS: list[dict[str, Any]] = [
    {"name": "accuracy"},
    {"name": "balanced_accuracy"},
    {"name": "log_loss"},
    *[
        {"name": name, "average": average}
        for name in ("f1", "precision", "recall")
        for average in ("macro", "micro", "weighted", "binary")
    ],
    {"name": "f1", "average": "binary", "pos_label": 2},
    {"name": "recall", "average": "binary", "pos_label": 2},
    *[{"name": "roc_auc", "average": a} for a in ("macro", "weighted", "micro")],
]
REGRESSION_SPECS = ["mae", "mse", "rmse", "mape", "r2"]


def one_by_one(
    metric: Metric,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    indices: np.ndarray,
    proba: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """The reference: Metric.score on each resample's rows, NaN if undefined."""
    values = []
    for rows in indices:
        part = None if proba is None else proba[rows]
        try:
            values.append(metric.score(y_true[rows], y_pred[rows], part, labels))
        except MetricError:
            values.append(math.nan)
    return np.array(values)


@st.composite
def labelled(draw: st.DrawFn) -> dict[str, Any]:
    """Small, often degenerate classification data: 1 to 4 labels, 2 to 10
    rows, probabilities, and 12 resamples of the rows."""
    labels = np.array([1, 2, 3, 4][: draw(st.integers(1, 4))])
    rows = draw(st.integers(2, 10))
    pick = st.lists(st.sampled_from(labels.tolist()), min_size=rows, max_size=rows)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return {
        "y_true": np.array(draw(pick)),
        "y_pred": np.array(draw(pick)),
        "proba": rng.dirichlet(np.ones(len(labels)), rows),
        "labels": labels,
        "indices": rng.integers(0, rows, (12, rows)),
    }


@pytest.mark.parametrize("spec", CLASSIFICATION_SPECS, ids=lambda s: str(s))
@pytest.mark.filterwarnings("ignore")
@settings(max_examples=30, deadline=None)
@given(data=labelled(), fix_labels=st.booleans())
def test_fast_classification_resamples_equal_the_metric_on_each(
    spec: dict[str, Any], data: dict[str, Any], fix_labels: bool
) -> None:
    metric = get_metric(spec, "classification")
    # Probability metrics are always given the labels, as scoring does.
    labels = data["labels"] if fix_labels or metric.needs_proba else None
    args = (data["y_true"], data["y_pred"], data["indices"], data["proba"], labels)

    fast = metric.score_resamples(*args)
    slow = one_by_one(metric, *args[:3], data["proba"], labels)

    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name", REGRESSION_SPECS)
@pytest.mark.filterwarnings("ignore")
@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.integers(-4, 4), st.integers(-8, 8)), min_size=2, max_size=10
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_fast_regression_resamples_equal_the_metric_on_each(
    name: str, values: list[tuple[int, int]], seed: int
) -> None:
    # Whole numbers and halves keep sums exact, so a constant target is
    # exactly constant for both ways of computing r2.
    y_true = np.array([float(t) for t, _ in values])
    y_pred = np.array([p / 2 for _, p in values])
    indices = np.random.default_rng(seed).integers(0, len(values), (12, len(values)))
    metric = get_metric(name, "regression")

    fast = metric.score_resamples(y_true, y_pred, indices)
    slow = one_by_one(metric, y_true, y_pred, indices)

    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_a_scorer_without_a_fast_path_is_scored_resample_by_resample() -> None:
    metric = get_metric("neg_mean_absolute_error", "regression")
    y_true, y_pred = np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0])
    indices = np.array([[0, 0, 1], [2, 2, 2]])

    values = metric.score_resamples(y_true, y_pred, indices)

    assert values.tolist() == [-1 / 3, -1.0]


# Twelve rows, three classes, one mistake in four: a small case where the
# interval is wide and every resample is defined.
TRUE = np.array(["a", "b", "c"] * 4, dtype=object)
PRED = np.array(
    ["a", "b", "c", "a", "c", "c", "a", "b", "b", "a", "b", "c"], dtype=object
)
NUMBERS_TRUE = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0])
NUMBERS_PRED = np.array([2.5, 1.5, 4.0, 2.0, 4.0, 8.0, 2.0, 7.0, 5.5, 3.0, 4.0, 9.0])


def direct_percentile(
    statistic: Any, rows: int, seed: int, resamples: int
) -> tuple[float, float]:
    """A percentile bootstrap written out in full, with scikit-learn itself."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, rows, size=(resamples, rows))
    values = [statistic(draw) for draw in draws]
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


@pytest.mark.parametrize(
    ("spec", "task", "truth", "pred", "statistic"),
    [
        (
            {"name": "f1", "average": "macro"},
            "classification",
            TRUE,
            PRED,
            lambda d: skm.f1_score(TRUE[d], PRED[d], average="macro", zero_division=0),
        ),
        (
            "accuracy",
            "classification",
            TRUE,
            PRED,
            lambda d: skm.accuracy_score(TRUE[d], PRED[d]),
        ),
        (
            "rmse",
            "regression",
            NUMBERS_TRUE,
            NUMBERS_PRED,
            lambda d: math.sqrt(
                skm.mean_squared_error(NUMBERS_TRUE[d], NUMBERS_PRED[d])
            ),
        ),
    ],
    ids=["f1", "accuracy", "rmse"],
)
def test_interval_equals_a_direct_percentile_bootstrap(
    spec: Any, task: str, truth: np.ndarray, pred: np.ndarray, statistic: Any
) -> None:
    metric = get_metric(spec, task)

    found = bootstrap.interval(metric, truth, pred, seed=42, resamples=300)
    expected = direct_percentile(statistic, len(truth), seed=42, resamples=300)

    assert found == pytest.approx(expected, rel=1e-12)
    assert found[0] < found[1]


def test_interval_equals_scipys_paired_percentile_bootstrap() -> None:
    metric = get_metric({"name": "f1", "average": "macro"}, "classification")

    def f1(truth: np.ndarray, pred: np.ndarray) -> float:
        return skm.f1_score(truth, pred, average="macro", zero_division=0)

    scipy_result = scipy.stats.bootstrap(
        (TRUE, PRED),
        f1,
        paired=True,
        vectorized=False,
        n_resamples=300,
        method="percentile",
        rng=np.random.default_rng(7),
    )
    found = bootstrap.interval(metric, TRUE, PRED, seed=7, resamples=300)

    interval = scipy_result.confidence_interval
    assert found == pytest.approx((interval.low, interval.high), rel=1e-12)


def test_the_same_seed_gives_the_same_interval_and_another_seed_another() -> None:
    metric = get_metric("mae", "regression")

    first = bootstrap.interval(metric, NUMBERS_TRUE, NUMBERS_PRED, seed=1)
    again = bootstrap.interval(metric, NUMBERS_TRUE, NUMBERS_PRED, seed=1)
    other = bootstrap.interval(metric, NUMBERS_TRUE, NUMBERS_PRED, seed=2)

    assert first == again
    assert first != other


def test_no_interval_when_most_resamples_are_undefined() -> None:
    # One positive row in ten: most resamples miss it, and roc_auc needs both.
    truth = np.array(["no"] * 9 + ["yes"], dtype=object)
    proba = np.column_stack([np.linspace(0.9, 0.1, 10), np.linspace(0.1, 0.9, 10)])
    metric = get_metric("roc_auc", "classification")

    found = bootstrap.interval(
        metric,
        truth,
        truth,
        proba,
        labels=np.array(["no", "yes"], dtype=object),
        seed=0,
    )

    assert found is None


def test_no_interval_from_a_single_row() -> None:
    metric = get_metric("accuracy", "classification")
    assert bootstrap.interval(metric, ["a"], ["a"], seed=0) is None
