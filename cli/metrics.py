"""The metric registry: what each metric name means, its direction and its task.

The evaluator scores with :meth:`Metric.score`; the leaderboard sorts with
:meth:`Metric.sort_key` and shows :attr:`Metric.display`, so neither needs to
know which metrics are "lower is better" (CASE C36).

Two kinds of names are accepted:

* the built-ins of :func:`known_metrics`, matched case-insensitively ("F1" is
  "f1"). The averaged ones (f1, precision, recall, roc_auc) default to
  ``average: macro`` whatever the number of classes: scikit-learn's own
  default, ``binary``, raises on three classes and would silently change the
  meaning of the score on two (CASE C06);
* any scikit-learn scorer name (``sklearn.metrics.get_scorer_names()``),
  matched exactly. Scorers are "greater is better" by construction: the
  ``neg_*`` ones already carry the minus sign.
"""

from __future__ import annotations

import difflib
import functools
import math
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils.multiclass import unique_labels

from camino import resampled
from camino.errors import MetricError

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = frozenset({CLASSIFICATION, REGRESSION})

_CLASSIFICATION_ONLY = frozenset({CLASSIFICATION})
_REGRESSION_ONLY = frozenset({REGRESSION})
_AVERAGES = ("macro", "micro", "weighted", "binary")
# roc_auc has no "binary" average: two classes are always scored on the
# positive class, and the one-vs-rest average only matters for three or more.
_ROC_AUC_AVERAGES = ("macro", "micro", "weighted")
# sklearn's mape divides by max(|y|, eps) and returns ~1e15 for a zero target
# instead of failing (CASE C08); below this |y| counts as zero.
_MAPE_ZERO = 1e-12
# Real values never reach this key, so None/NaN sort after even an infinite
# loss.
_LAST = math.inf
_MAX_KEY = sys.float_info.max


@dataclass(frozen=True)
class _Inputs:
    """One call's arrays, converted once."""

    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None
    labels: np.ndarray | None


_ScoreFn = Callable[[_Inputs, Mapping[str, Any]], float]
# Values on many resamples at once, given row weights of shape (resamples, n);
# None when these inputs need scoring resample by resample.
_ResampledFn = Callable[[_Inputs, Mapping[str, Any], np.ndarray], np.ndarray | None]


@dataclass(frozen=True)
class Metric:
    """One metric with the parameters it was asked for, ready to score.

    Parameters
    ----------
    name : str
        Canonical key as written in playbook.yml, e.g. ``"f1"``.
    display : str
        Column header, with the averaging mode when there is one:
        ``"f1 (macro)"``.
    greater_is_better : bool
        Direction used by :meth:`better`, :meth:`sort_key` and :attr:`worst`.
    needs_proba : bool
        Scored on class probabilities (roc_auc, log_loss, neg_log_loss...).
    tasks : frozenset of str
        The tasks the metric fits: ``"classification"``, ``"regression"``.
    params : Mapping
        Resolved parameters, defaults included: ``{"average": "macro"}``.
    """

    name: str
    display: str
    greater_is_better: bool
    needs_proba: bool
    tasks: frozenset[str]
    # A mapping is not hashable; leaving it out of the hash keeps Metric usable
    # as a dict key, and equal metrics still hash equally.
    params: Mapping[str, Any] = field(hash=False)
    _compute: _ScoreFn = field(repr=False, compare=False)
    _resampled: _ResampledFn | None = field(default=None, repr=False, compare=False)

    def score(
        self,
        y_true: Sequence[Any] | np.ndarray,
        y_pred: Sequence[Any] | np.ndarray,
        proba: Sequence[Sequence[float]] | np.ndarray | None = None,
        labels: Sequence[Any] | np.ndarray | None = None,
    ) -> float:
        """Score predictions against the true targets.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n_samples,)
            Same length; the caller has checked it.
        proba : array-like of shape (n_samples, n_classes), optional
            Class probabilities, columns in the order of ``labels``. Required
            when :attr:`needs_proba`.
        labels : array-like of shape (n_classes,), optional
            The class labels, in the column order of ``proba``. Defaults to
            the sorted classes of ``y_true``. Label-based metrics (f1, ...)
            do not use it: they average over the classes that occur, as
            scikit-learn does.

        Returns
        -------
        float
            A plain Python float.

        Raises
        ------
        MetricError
            Probabilities are missing, or the metric is undefined for these
            values (a zero target for mape, one class only for roc_auc...).
        """
        if self.needs_proba and proba is None:
            raise MetricError(
                f"{self.name} needs predicted probabilities: "
                "add predict_proba(items) to Model"
            )
        # Only a metric that reads probabilities may fail on their shape.
        wanted = proba if self.needs_proba else None
        inputs = _inputs(y_true, y_pred, wanted, labels)
        try:
            return _run(self._compute, inputs, self.params)
        except (ValueError, TypeError, _Undefined) as error:
            # sklearn says why in its message; keep it, but as our error so the
            # evaluator can mark this one metric as failed and go on.
            raise MetricError(f"{self.display} cannot be computed: {error}") from error

    def score_resamples(
        self,
        y_true: Sequence[Any] | np.ndarray,
        y_pred: Sequence[Any] | np.ndarray,
        indices: np.ndarray,
        proba: Sequence[Sequence[float]] | np.ndarray | None = None,
        labels: Sequence[Any] | np.ndarray | None = None,
    ) -> np.ndarray:
        """The metric on many resamples of the rows, as :meth:`score` gives it.

        Parameters
        ----------
        y_true, y_pred, proba, labels
            As for :meth:`score`, all rows.
        indices : ndarray of int, shape (n_resamples, n_samples)
            Row ``r`` lists the rows drawn for resample ``r``.

        Returns
        -------
        ndarray of shape (n_resamples,)
            NaN where the metric is undefined on that resample (one class
            only for roc_auc, ...).
        """
        inputs = _inputs(y_true, y_pred, proba if self.needs_proba else None, labels)
        if self._resampled is not None:
            weights = resampled.draw_counts(indices, len(inputs.y_true))
            with np.errstate(divide="ignore", invalid="ignore"):
                values = self._resampled(inputs, self.params, weights)
            if values is not None:
                return values
        return np.array([self._score_or_nan(inputs, rows) for rows in indices])

    def _score_or_nan(self, inputs: _Inputs, rows: np.ndarray) -> float:
        proba = None if inputs.proba is None else inputs.proba[rows]
        # A thousand resamples would repeat the same sklearn warning a
        # thousand times; the point score already showed it once.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return self.score(
                    inputs.y_true[rows], inputs.y_pred[rows], proba, inputs.labels
                )
            except MetricError:
                return math.nan

    def better(self, a: float | None, b: float | None) -> bool:
        """Whether ``a`` is strictly better than ``b``; None/NaN is never."""
        return self.sort_key(a) < self.sort_key(b)

    def sort_key(self, value: float | None) -> float:
        """Key for an ascending sort that puts the best value first.

        None and NaN (a failed submission) come last in both directions, after
        even the worst real value.
        """
        if value is None or math.isnan(value):
            return _LAST
        key = -value if self.greater_is_better else value
        return min(key, _MAX_KEY)

    @property
    def worst(self) -> float:
        """The value that any real score beats or ties."""
        return -math.inf if self.greater_is_better else math.inf


def get_metric(
    spec: str | Mapping[str, Any],
    task: str | None = None,
    *,
    where: str = "",
) -> Metric:
    """Resolve a metric entry of playbook.yml into a :class:`Metric`.

    Parameters
    ----------
    spec : str or Mapping
        A name (``"f1"``) or a mapping with ``name`` and parameters
        (``{"name": "f1", "average": "weighted"}``). Built-in names are
        matched case-insensitively, scikit-learn scorer names exactly.
    task : {"classification", "regression"}, optional
        When given, a metric that does not fit it is refused.
    where : str, optional
        Where the entry was read, for the error message, e.g.
        ``"playbooks/iris/playbook.yml, metrics[1]"``.

    Raises
    ------
    MetricError
        Unknown name, unknown or invalid parameter, or a metric that does not
        fit ``task``.

    Examples
    --------
    >>> get_metric("F1").display
    'f1 (macro)'
    >>> get_metric({"name": "mae"}, "regression").greater_is_better
    False
    """
    name, params = _split_spec(spec, where)
    builtin = _BUILTINS.get(name.lower())
    if builtin is not None:
        metric = builtin.resolve(params, where)
    elif name in _scorer_names():
        metric = _scorer_metric(name, params, where)
    else:
        raise MetricError(_unknown_message(name, where))

    if task is not None:
        _check_task(metric, task, where)
    return metric


def known_metrics() -> list[str]:
    """Sorted names of the built-in metrics."""
    return sorted(_BUILTINS)


# --- reading the spec -------------------------------------------------------


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def _split_spec(
    spec: str | Mapping[str, Any], where: str
) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        return spec, {}
    if not isinstance(spec, Mapping):
        raise MetricError(
            f"{_at(where)}a metric is a name or a mapping with 'name', got {spec!r}"
        )

    params = dict(spec)
    name = params.pop("name", None)
    if not isinstance(name, str):
        raise MetricError(
            f"{_at(where)}a metric mapping needs 'name' with a metric name, "
            f"got {spec!r}"
        )
    return name, params


def _unknown_message(name: str, where: str) -> str:
    builtins = known_metrics()
    close = difflib.get_close_matches(name, builtins + _scorer_names(), n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"{_at(where)}unknown metric {name!r}{hint}; known metrics: "
        f"{', '.join(builtins)}; any scikit-learn scorer name works too "
        "(see sklearn.metrics.get_scorer_names())"
    )


def _check_task(metric: Metric, task: str, where: str) -> None:
    if task not in TASKS:
        raise MetricError(
            f"{_at(where)}unknown task {task!r}; expected one of "
            f"{', '.join(sorted(TASKS))}"
        )
    if task not in metric.tasks:
        fits = " or ".join(sorted(metric.tasks))
        raise MetricError(
            f"{_at(where)}metric {metric.name!r} does not fit a {task} task; "
            f"it is for {fits}"
        )


# --- built-in metrics -------------------------------------------------------


@dataclass(frozen=True)
class _Builtin:
    """A built-in metric before its parameters are known."""

    name: str
    compute: _ScoreFn
    greater_is_better: bool
    tasks: frozenset[str]
    needs_proba: bool = False
    # Allowed values of `average`, the default first; empty: no parameters.
    averages: tuple[str, ...] = ()
    resampled: _ResampledFn | None = None

    def resolve(self, given: Mapping[str, Any], where: str) -> Metric:
        params = self._params(given, where)
        return Metric(
            name=self.name,
            display=_display(self.name, params),
            greater_is_better=self.greater_is_better,
            needs_proba=self.needs_proba,
            tasks=self.tasks,
            params=MappingProxyType(params),
            _compute=self.compute,
            _resampled=self.resampled,
        )

    def _params(self, given: Mapping[str, Any], where: str) -> dict[str, Any]:
        allowed = self._allowed_params()
        unknown = sorted(str(key) for key in given if key not in allowed)
        if unknown:
            takes = ", ".join(allowed) if allowed else "no parameters"
            raise MetricError(
                f"{_at(where)}metric {self.name!r} does not take "
                f"{', '.join(repr(key) for key in unknown)}; it takes {takes}"
            )
        if not self.averages:
            return {}

        params = {"average": self.averages[0], **given}
        self._check_average(params, where)
        return params

    def _allowed_params(self) -> tuple[str, ...]:
        if "binary" in self.averages:
            return ("average", "pos_label")
        return ("average",) if self.averages else ()

    def _check_average(self, params: Mapping[str, Any], where: str) -> None:
        average = params["average"]
        if average not in self.averages:
            raise MetricError(
                f"{_at(where)}metric {self.name!r}: average must be one of "
                f"{', '.join(self.averages)}; got {average!r}"
            )
        if "pos_label" in params and average != "binary":
            raise MetricError(
                f"{_at(where)}metric {self.name!r}: pos_label only applies "
                f"with average: binary, not {average!r}"
            )


def _display(name: str, params: Mapping[str, Any]) -> str:
    if "average" not in params:
        return name
    if "pos_label" in params:
        return f"{name} (binary, pos_label={params['pos_label']})"
    return f"{name} ({params['average']})"


def _accuracy(x: _Inputs, params: Mapping[str, Any]) -> float:
    return skm.accuracy_score(x.y_true, x.y_pred)


def _balanced_accuracy(x: _Inputs, params: Mapping[str, Any]) -> float:
    return skm.balanced_accuracy_score(x.y_true, x.y_pred)


def _averaged(score_func: Callable[..., float]) -> _ScoreFn:
    def compute(x: _Inputs, params: Mapping[str, Any]) -> float:
        return score_func(x.y_true, x.y_pred, **_average_kwargs(x, params))

    return compute


def _average_kwargs(x: _Inputs, params: Mapping[str, Any]) -> dict[str, Any]:
    # zero_division=0.0 is the value sklearn's default "warn" gives, minus the
    # warning that would only clutter the evaluation log.
    kwargs: dict[str, Any] = {"average": params["average"], "zero_division": 0.0}
    if params["average"] == "binary":
        kwargs["pos_label"] = _positive_label(x, params)
    return kwargs


def _positive_label(x: _Inputs, params: Mapping[str, Any]) -> Any:
    classes = x.labels if x.labels is not None else unique_labels(x.y_true, x.y_pred)
    if len(classes) > 2:
        raise MetricError(
            f"average: binary needs 2 classes, got {len(classes)}; "
            "use macro, micro or weighted"
        )
    if "pos_label" in params:
        return params["pos_label"]
    if len(classes) < 2:
        raise MetricError(
            "average: binary cannot tell the positive class from one class; "
            "set pos_label"
        )
    # Same rule as roc_auc: the second label is the positive class.
    return classes[1]


def _roc_auc(x: _Inputs, params: Mapping[str, Any]) -> float:
    labels, proba = _proba_columns(x)
    if len(labels) == 2:
        return skm.roc_auc_score(x.y_true == labels[1], proba[:, 1])
    return skm.roc_auc_score(
        x.y_true,
        proba,
        multi_class="ovr",
        average=params["average"],
        labels=labels,
    )


def _log_loss(x: _Inputs, params: Mapping[str, Any]) -> float:
    labels, proba = _proba_columns(x)
    return skm.log_loss(x.y_true, proba, labels=labels)


def _mae(x: _Inputs, params: Mapping[str, Any]) -> float:
    return skm.mean_absolute_error(x.y_true, x.y_pred)


def _mse(x: _Inputs, params: Mapping[str, Any]) -> float:
    return skm.mean_squared_error(x.y_true, x.y_pred)


def _rmse(x: _Inputs, params: Mapping[str, Any]) -> float:
    # Derived from mse so the two columns can never disagree.
    return math.sqrt(_mse(x, params))


def _mape(x: _Inputs, params: Mapping[str, Any]) -> float:
    zeros = int(np.count_nonzero(np.abs(x.y_true.astype(float)) < _MAPE_ZERO))
    if zeros:
        raise MetricError(
            f"mape is undefined: {zeros} target value(s) are 0; use mae or rmse"
        )
    return skm.mean_absolute_percentage_error(x.y_true, x.y_pred)


def _r2(x: _Inputs, params: Mapping[str, Any]) -> float:
    return skm.r2_score(x.y_true, x.y_pred)


_BUILTINS: dict[str, _Builtin] = {
    builtin.name: builtin
    for builtin in (
        _Builtin(
            "accuracy",
            _accuracy,
            True,
            _CLASSIFICATION_ONLY,
            resampled=resampled.accuracy,
        ),
        _Builtin(
            "balanced_accuracy",
            _balanced_accuracy,
            True,
            _CLASSIFICATION_ONLY,
            resampled=resampled.balanced_accuracy,
        ),
        _Builtin(
            "f1",
            _averaged(skm.f1_score),
            True,
            _CLASSIFICATION_ONLY,
            averages=_AVERAGES,
            resampled=resampled.f1,
        ),
        _Builtin(
            "precision",
            _averaged(skm.precision_score),
            True,
            _CLASSIFICATION_ONLY,
            averages=_AVERAGES,
            resampled=resampled.precision,
        ),
        _Builtin(
            "recall",
            _averaged(skm.recall_score),
            True,
            _CLASSIFICATION_ONLY,
            averages=_AVERAGES,
            resampled=resampled.recall,
        ),
        _Builtin(
            "roc_auc",
            _roc_auc,
            True,
            _CLASSIFICATION_ONLY,
            needs_proba=True,
            averages=_ROC_AUC_AVERAGES,
            resampled=resampled.roc_auc,
        ),
        _Builtin(
            "log_loss",
            _log_loss,
            False,
            _CLASSIFICATION_ONLY,
            needs_proba=True,
            resampled=resampled.log_loss,
        ),
        _Builtin("mae", _mae, False, _REGRESSION_ONLY, resampled=resampled.mae),
        _Builtin("mse", _mse, False, _REGRESSION_ONLY, resampled=resampled.mse),
        _Builtin("rmse", _rmse, False, _REGRESSION_ONLY, resampled=resampled.rmse),
        _Builtin(
            "mape",
            _mape,
            False,
            _REGRESSION_ONLY,
            resampled=functools.partial(resampled.mape, zero=_MAPE_ZERO),
        ),
        _Builtin("r2", _r2, True, _REGRESSION_ONLY, resampled=resampled.r2),
    )
}


# --- running a metric ------------------------------------------------------


class _Undefined(Exception):
    """sklearn returned NaN and said why in an UndefinedMetricWarning."""


def _run(compute: _ScoreFn, inputs: _Inputs, params: Mapping[str, Any]) -> float:
    # sklearn reports some undefined values (one class for roc_auc, one sample
    # for r2) as NaN plus a warning; the warning is the reason worth showing.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedMetricWarning)
        value = float(compute(inputs, params))

    undefined = [w for w in caught if issubclass(w.category, UndefinedMetricWarning)]
    if math.isnan(value) and undefined:
        raise _Undefined(str(undefined[0].message))
    for caught_warning in caught:
        warnings.warn_explicit(
            caught_warning.message,
            caught_warning.category,
            caught_warning.filename,
            caught_warning.lineno,
        )
    return value


# --- input arrays -----------------------------------------------------------


def _inputs(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    proba: Sequence[Sequence[float]] | np.ndarray | None,
    labels: Sequence[Any] | np.ndarray | None,
) -> _Inputs:
    true = np.asarray(y_true)
    return _Inputs(
        y_true=true,
        y_pred=np.asarray(y_pred),
        proba=None if proba is None else _proba_array(proba, len(true)),
        labels=None if labels is None else np.asarray(labels),
    )


def _proba_array(
    proba: Sequence[Sequence[float]] | np.ndarray, rows: int
) -> np.ndarray:
    array = np.asarray(proba, dtype=float)
    if array.ndim != 2 or array.shape[0] != rows:
        raise MetricError(
            f"probabilities must have shape ({rows}, n_classes), got {array.shape}"
        )
    return array


def _proba_columns(x: _Inputs) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probability columns, both in sorted label order.

    sklearn's roc_auc_score and log_loss read the columns in sorted label
    order whatever order the model's classes come in.
    """
    assert x.proba is not None  # score() refuses needs_proba without proba
    labels = x.labels if x.labels is not None else np.unique(x.y_true)
    if x.proba.shape[1] != len(labels):
        raise MetricError(
            f"probabilities have {x.proba.shape[1]} column(s) but there are "
            f"{len(labels)} label(s); pass labels in the column order"
        )
    order = np.argsort(labels, kind="stable")
    return labels[order], x.proba[:, order]


# --- scikit-learn scorers ---------------------------------------------------


@cache
def _scorer_names() -> list[str]:
    return list(skm.get_scorer_names())


def _scorer_metric(name: str, params: Mapping[str, Any], where: str) -> Metric:
    if params:
        raise MetricError(
            f"{_at(where)}scikit-learn scorer {name!r} takes no parameters, "
            f"got {', '.join(sorted(map(str, params)))}"
        )
    needs_proba = _scorer_needs_proba(name)
    return Metric(
        name=name,
        display=name,
        greater_is_better=True,
        needs_proba=needs_proba,
        tasks=_CLASSIFICATION_ONLY if needs_proba else TASKS,
        params=MappingProxyType({}),
        _compute=_scorer_compute(name),
    )


def _scorer_compute(name: str) -> _ScoreFn:
    def compute(x: _Inputs, params: Mapping[str, Any]) -> float:
        if x.proba is not None:
            classes, proba = _proba_columns(x)
        else:
            given = x.labels if x.labels is not None else x.y_true
            classes, proba = np.unique(given), None
        estimator = _Predictions(x.y_pred, proba, classes)
        return skm.get_scorer(name)(estimator, _no_features(len(x.y_true)), x.y_true)

    return compute


def _no_features(rows: int) -> np.ndarray:
    # The estimator ignores X; scorers only pass it through.
    return np.zeros((rows, 1))


class _Predictions(ClassifierMixin, BaseEstimator):
    """A fitted classifier stand-in that returns predictions made elsewhere.

    A scikit-learn scorer takes (estimator, X, y) and asks the estimator for
    the response it needs; handing it the submission's arrays lets the real
    scorer choose the method, the positive class and the sign. It is tagged a
    classifier because that path calls ``predict`` unchanged for label and
    regression scorers and adds the class handling probability scorers need.
    No ``decision_function``: scorers that prefer it fall back to
    ``predict_proba``, which is what a submission provides.
    """

    def __init__(
        self,
        y_pred: np.ndarray | None = None,
        proba: np.ndarray | None = None,
        classes: np.ndarray | None = None,
    ) -> None:
        self.y_pred = y_pred
        self.proba = proba
        self.classes = classes

    @property
    def classes_(self) -> np.ndarray | None:
        return self.classes

    def predict(self, X: np.ndarray) -> np.ndarray | None:
        return self.y_pred

    def predict_proba(self, X: np.ndarray) -> np.ndarray | None:
        return self.proba


class _Asked(Exception):
    """Raised by the probe to stop a scorer at its first question."""

    def __init__(self, method: str) -> None:
        super().__init__(method)
        self.method = method


class _Probe(ClassifierMixin, BaseEstimator):
    """Finds which response a scorer wants, using only the public call."""

    classes_ = np.array([0, 1])

    def predict(self, X: np.ndarray) -> np.ndarray:
        raise _Asked("predict")

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        raise _Asked("predict_proba")


@cache
def _scorer_needs_proba(name: str) -> bool:
    try:
        skm.get_scorer(name)(_Probe(), _no_features(2), np.array([0, 1]))
    except _Asked as asked:
        return asked.method != "predict"
    # A scorer that asks for nothing has nothing to be given.
    return False
