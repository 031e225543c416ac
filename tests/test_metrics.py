"""camino.metrics against real scikit-learn on tiny hand-made predictions."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from camino.errors import MetricError
from camino.metrics import get_metric, known_metrics

# CASE C06: iris-style string labels, three classes.
IRIS_TRUE = ["setosa", "versicolor", "virginica", "setosa"]
IRIS_PRED = ["setosa", "versicolor", "versicolor", "setosa"]

CLS_TRUE = np.array(["a", "b", "c", "a", "b", "c", "a", "b"])
CLS_PRED = np.array(["a", "b", "b", "a", "c", "c", "b", "b"])
CLS_LABELS = ["a", "b", "c"]
CLS_PROBA = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.1, 0.6, 0.3],
        [0.2, 0.5, 0.3],
        [0.8, 0.1, 0.1],
        [0.2, 0.3, 0.5],
        [0.1, 0.2, 0.7],
        [0.3, 0.4, 0.3],
        [0.2, 0.7, 0.1],
    ]
)

BIN_TRUE = np.array(["no", "yes", "no", "yes", "yes", "no"])
BIN_PRED = np.array(["no", "yes", "yes", "no", "yes", "no"])
BIN_LABELS = ["no", "yes"]
BIN_PROBA = np.array(
    [[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.6, 0.4], [0.1, 0.9], [0.7, 0.3]]
)

REG_TRUE = np.array([3.0, -0.5, 2.0, 7.0, 4.2])
REG_PRED = np.array([2.5, 0.0, 2.0, 8.0, 3.9])

Expected = Callable[[], float]


def _cls(spec: str | Mapping[str, Any], expected: Expected) -> tuple[Any, ...]:
    return spec, CLS_TRUE, CLS_PRED, CLS_PROBA, CLS_LABELS, expected


def _bin(spec: str | Mapping[str, Any], expected: Expected) -> tuple[Any, ...]:
    return spec, BIN_TRUE, BIN_PRED, BIN_PROBA, BIN_LABELS, expected


def _reg(spec: str | Mapping[str, Any], expected: Expected) -> tuple[Any, ...]:
    return spec, REG_TRUE, REG_PRED, None, None, expected


SAME_AS_SKLEARN = [
    _cls("accuracy", lambda: skm.accuracy_score(CLS_TRUE, CLS_PRED)),
    _cls("balanced_accuracy", lambda: skm.balanced_accuracy_score(CLS_TRUE, CLS_PRED)),
    _cls("f1", lambda: skm.f1_score(CLS_TRUE, CLS_PRED, average="macro")),
    _cls(
        {"name": "f1", "average": "micro"},
        lambda: skm.f1_score(CLS_TRUE, CLS_PRED, average="micro"),
    ),
    _cls(
        {"name": "f1", "average": "weighted"},
        lambda: skm.f1_score(CLS_TRUE, CLS_PRED, average="weighted"),
    ),
    _cls("precision", lambda: skm.precision_score(CLS_TRUE, CLS_PRED, average="macro")),
    _cls("recall", lambda: skm.recall_score(CLS_TRUE, CLS_PRED, average="macro")),
    _cls(
        {"name": "recall", "average": "weighted"},
        lambda: skm.recall_score(CLS_TRUE, CLS_PRED, average="weighted"),
    ),
    _bin(
        {"name": "f1", "average": "binary"},
        lambda: skm.f1_score(BIN_TRUE, BIN_PRED, pos_label="yes"),
    ),
    _bin(
        {"name": "precision", "average": "binary", "pos_label": "no"},
        lambda: skm.precision_score(BIN_TRUE, BIN_PRED, pos_label="no"),
    ),
    _cls(
        "roc_auc",
        lambda: skm.roc_auc_score(CLS_TRUE, CLS_PROBA, multi_class="ovr"),
    ),
    _cls(
        {"name": "roc_auc", "average": "weighted"},
        lambda: skm.roc_auc_score(
            CLS_TRUE, CLS_PROBA, multi_class="ovr", average="weighted"
        ),
    ),
    _bin("roc_auc", lambda: skm.roc_auc_score(BIN_TRUE, BIN_PROBA[:, 1])),
    _cls("log_loss", lambda: skm.log_loss(CLS_TRUE, CLS_PROBA)),
    _bin("log_loss", lambda: skm.log_loss(BIN_TRUE, BIN_PROBA)),
    _reg("mae", lambda: skm.mean_absolute_error(REG_TRUE, REG_PRED)),
    _reg("mse", lambda: skm.mean_squared_error(REG_TRUE, REG_PRED)),
    _reg("rmse", lambda: skm.root_mean_squared_error(REG_TRUE, REG_PRED)),
    _reg("mape", lambda: skm.mean_absolute_percentage_error(REG_TRUE, REG_PRED)),
    _reg("r2", lambda: skm.r2_score(REG_TRUE, REG_PRED)),
]


@pytest.mark.parametrize(
    ("spec", "y_true", "y_pred", "proba", "labels", "expected"),
    SAME_AS_SKLEARN,
    ids=[str(row[0]) for row in SAME_AS_SKLEARN],
)
def test_builtin_equals_sklearn(
    spec: str | Mapping[str, Any],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    labels: list[str] | None,
    expected: Expected,
) -> None:
    value = get_metric(spec).score(y_true, y_pred, proba=proba, labels=labels)

    assert type(value) is float
    assert value == pytest.approx(expected(), abs=1e-12)


def test_every_builtin_is_in_the_table() -> None:
    tested = {get_metric(row[0]).name for row in SAME_AS_SKLEARN}

    assert tested == set(known_metrics())


def test_c06_three_string_classes_score_with_macro_average() -> None:
    scores = {
        name: get_metric(name).score(IRIS_TRUE, IRIS_PRED)
        for name in ("f1", "accuracy", "precision", "recall")
    }

    assert round(scores["f1"], 4) == 0.5556
    assert scores["accuracy"] == 0.75
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(2 / 3)


def test_c06_two_classes_stay_macro_not_binary() -> None:
    y_true, y_pred = ["a", "b", "b", "a"], ["a", "b", "a", "a"]

    value = get_metric("f1").score(y_true, y_pred)

    assert value == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))
    assert value != pytest.approx(skm.f1_score(y_true, y_pred, pos_label="b"))


def test_binary_average_refuses_three_classes() -> None:
    f1 = get_metric({"name": "f1", "average": "binary"})

    with pytest.raises(MetricError, match="binary needs 2 classes, got 3"):
        f1.score(IRIS_TRUE, IRIS_PRED)


@pytest.mark.parametrize(
    ("spec", "display"),
    [
        ("f1", "f1 (macro)"),
        ("F1", "f1 (macro)"),
        ({"name": "precision", "average": "weighted"}, "precision (weighted)"),
        (
            {"name": "recall", "average": "binary", "pos_label": 1},
            "recall (binary, pos_label=1)",
        ),
        ("roc_auc", "roc_auc (macro)"),
        ("rmse", "rmse"),
        ("accuracy", "accuracy"),
        ("neg_median_absolute_error", "neg_median_absolute_error"),
    ],
)
def test_display_names_the_average(spec: str | Mapping[str, Any], display: str) -> None:
    assert get_metric(spec).display == display


def test_builtin_names_are_case_insensitive() -> None:
    assert get_metric("Balanced_Accuracy").name == "balanced_accuracy"
    assert get_metric({"name": "RMSE"}, "regression").name == "rmse"


def test_equal_specs_give_equal_hashable_metrics() -> None:
    plain, explicit = get_metric("f1"), get_metric({"name": "f1", "average": "macro"})

    assert plain == explicit
    assert {plain: 1}[explicit] == 1
    assert plain != get_metric({"name": "f1", "average": "micro"})


@pytest.mark.parametrize("zero", [0, 0.0, 1e-13])
def test_c08_mape_with_a_zero_target_raises(zero: float) -> None:
    mape = get_metric("mape")

    with pytest.raises(MetricError) as raised:
        mape.score([zero, 10, 20], [1, 10, 20])

    assert str(raised.value) == (
        "mape is undefined: 1 target value(s) are 0; use mae or rmse"
    )


def test_rmse_is_sqrt_of_mse() -> None:
    rmse = get_metric("rmse").score(REG_TRUE, REG_PRED)

    assert rmse == pytest.approx(math.sqrt(get_metric("mse").score(REG_TRUE, REG_PRED)))


@pytest.mark.parametrize(
    ("name", "better", "worse", "worst"),
    [("accuracy", 0.9, 0.8, -math.inf), ("mae", 0.9, 1.2, math.inf)],
)
def test_direction(name: str, better: float, worse: float, worst: float) -> None:
    metric = get_metric(name)

    assert metric.better(better, worse)
    assert not metric.better(worse, better)
    assert not metric.better(better, better)
    assert metric.worst == worst
    assert metric.better(worse, None)
    assert not metric.better(math.nan, worse)


@pytest.mark.parametrize(
    ("name", "values", "best_first"),
    [
        ("f1", [0.8, None, 0.85, math.nan, 0.1], [0.85, 0.8, 0.1]),
        ("mae", [1.2, math.nan, 0.9, None, 5.0], [0.9, 1.2, 5.0]),
        ("log_loss", [math.nan, math.inf, 0.3], [0.3, math.inf]),
        ("r2", [None, -math.inf, 0.5], [0.5, -math.inf]),
    ],
)
def test_sort_key_puts_best_first_and_missing_last(
    name: str, values: list[float | None], best_first: list[float]
) -> None:
    ordered = sorted(values, key=get_metric(name).sort_key)

    assert ordered[: len(best_first)] == best_first
    assert all(v is None or math.isnan(v) for v in ordered[len(best_first) :])


def test_unknown_name_lists_known_metrics_and_where() -> None:
    where = "playbooks/iris/playbook.yml, metrics[1]"

    with pytest.raises(MetricError) as raised:
        get_metric("f2", where=where)

    message = str(raised.value)
    assert message.startswith(f"{where}: unknown metric 'f2'")
    assert ", ".join(known_metrics()) in message
    assert "scikit-learn scorer" in message
    assert "(did you mean '" in message


def test_known_metrics_is_sorted_builtins() -> None:
    names = known_metrics()

    assert names == sorted(names)
    assert {"f1", "roc_auc", "log_loss", "mape", "r2"} <= set(names)


def test_scorer_name_neg_mae_is_minus_mae() -> None:
    metric = get_metric("neg_mean_absolute_error", "regression")

    assert metric.greater_is_better
    assert not metric.needs_proba
    assert metric.score(REG_TRUE, REG_PRED) == pytest.approx(
        -skm.mean_absolute_error(REG_TRUE, REG_PRED)
    )


def test_scorer_name_matthews_equals_sklearn() -> None:
    value = get_metric("matthews_corrcoef").score(IRIS_TRUE, IRIS_PRED)

    assert value == pytest.approx(skm.matthews_corrcoef(IRIS_TRUE, IRIS_PRED))


def test_probability_scorer_reads_columns_in_labels_order() -> None:
    # The model's classes come unsorted: columns follow `labels`, not sorting.
    order = [2, 0, 1]
    labels = [CLS_LABELS[i] for i in order]
    proba = CLS_PROBA[:, order]
    expected = skm.log_loss(CLS_TRUE, CLS_PROBA)

    scorer = get_metric("neg_log_loss", "classification")
    builtin = get_metric("log_loss")

    assert scorer.needs_proba
    assert scorer.score(CLS_TRUE, CLS_PRED, proba, labels) == pytest.approx(-expected)
    assert builtin.score(CLS_TRUE, CLS_PRED, proba, labels) == pytest.approx(expected)


def test_roc_auc_multiclass_reads_columns_in_labels_order() -> None:
    order = [1, 2, 0]
    labels = [CLS_LABELS[i] for i in order]

    value = get_metric("roc_auc").score(CLS_TRUE, CLS_PRED, CLS_PROBA[:, order], labels)

    assert value == pytest.approx(
        skm.roc_auc_score(CLS_TRUE, CLS_PROBA, multi_class="ovr")
    )


@pytest.mark.parametrize("name", ["roc_auc", "log_loss", "neg_brier_score"])
def test_probability_metric_without_proba_says_what_to_add(name: str) -> None:
    with pytest.raises(MetricError) as raised:
        get_metric(name).score(BIN_TRUE, BIN_PRED)

    assert str(raised.value) == (
        f"{name} needs predicted probabilities: add predict_proba(items) to Model"
    )


def test_probabilities_with_wrong_column_count_fail_clearly() -> None:
    with pytest.raises(MetricError, match=r"2 column.* but there are 3 label"):
        get_metric("log_loss").score(CLS_TRUE, CLS_PRED, CLS_PROBA[:, :2], CLS_LABELS)


def test_label_metric_ignores_malformed_probabilities() -> None:
    value = get_metric("accuracy").score(BIN_TRUE, BIN_PRED, proba=[[1.0]])

    assert value == pytest.approx(4 / 6)


def test_undefined_sklearn_value_becomes_metric_error() -> None:
    one_class, roc_auc = ["a", "a", "a"], get_metric("roc_auc")

    with pytest.raises(
        MetricError, match=r"roc_auc \(macro\) cannot be computed: Only"
    ):
        roc_auc.score(one_class, one_class, [[0.9, 0.1]] * 3, ["a", "b"])


def test_sklearn_error_becomes_metric_error() -> None:
    with pytest.raises(MetricError, match=r"mae cannot be computed: .*could not"):
        get_metric("mae").score(["x", "y"], [1.0, 2.0])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "mae", "average": "macro"}, "'mae' does not take 'average'"),
        ({"name": "f1", "average": "samples"}, "average must be one of macro, micro"),
        ({"name": "roc_auc", "average": "binary"}, "average must be one of macro"),
        ({"name": "f1", "avg": "macro"}, "takes average, pos_label"),
        ({"name": "f1", "pos_label": "yes"}, "pos_label only applies with average"),
        ({"average": "macro"}, "needs 'name'"),
        ({"name": 3}, "needs 'name'"),
        (3, "a metric is a name or a mapping"),
        ({"name": "neg_log_loss", "eps": 1e-9}, "takes no parameters, got eps"),
    ],
)
def test_bad_spec_fails_at_load_time(spec: Any, message: str) -> None:
    with pytest.raises(MetricError, match=message) as raised:
        get_metric(spec, where="playbook.yml, metrics[0]")

    assert str(raised.value).startswith("playbook.yml, metrics[0]: ")


@pytest.mark.parametrize(
    ("name", "task"),
    [
        ("mae", "classification"),
        ("mape", "classification"),
        ("f1", "regression"),
        ("roc_auc", "regression"),
        ("neg_log_loss", "regression"),
    ],
)
def test_metric_that_does_not_fit_the_task_fails(name: str, task: str) -> None:
    with pytest.raises(MetricError, match=f"'{name}' does not fit a {task} task"):
        get_metric(name, task)


def test_metric_fits_its_task_and_task_is_optional() -> None:
    assert get_metric("r2", "regression").tasks == {"regression"}
    assert get_metric("roc_auc", "classification").needs_proba
    assert get_metric("mae").name == "mae"


def test_unknown_task_fails() -> None:
    with pytest.raises(MetricError, match="unknown task 'clustering'"):
        get_metric("f1", "clustering")
