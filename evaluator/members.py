"""A submission as a scikit-learn estimator, for voting ensembles.

``SubmissionModel`` follows scikit-learn's estimator conventions (parameters
in ``__init__``, learned state with a trailing underscore, ``clone``-able), so
``VotingClassifier`` and ``VotingRegressor`` use it like any estimator. Each
call to ``predict`` runs the submission's saved model in a child process,
because loading a submission's pickle runs its code: the evaluator never
unpickles it itself. That process runs in the submission's own environment
and, unless told otherwise, in the sandbox, like its evaluation did.

scikit-learn's ``VotingClassifier`` encodes the target as 0..k-1 before it
fits its members and decodes the vote afterwards. A member therefore answers
in that encoding: ``labels`` holds the original labels in sorted order, the
same order ``LabelEncoder`` uses.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags, RegressorTags, Tags
from sklearn.utils.metaestimators import available_if

from camino.errors import CaminoError, SubmissionFailed
from camino.evaluator import process, runner
from camino.evaluator.sandbox import Sandbox

# Answers by (folder, artifact, table, proba): VotingClassifier fits clones of
# its members, and a clone must not run the same child process again.
_ANSWERS: dict[tuple[str, str, str, bool], runner.RunResult] = {}


def _has_proba(member: SubmissionModel) -> bool:
    return member.has_proba


class SubmissionModel(BaseEstimator):
    """One scored submission, reused as trained or retrained on ``fit``.

    Parameters
    ----------
    folder : str
        The submission's model folder (model.py and its helpers).
    artifact : str or None
        Its trained model.pkl; required unless ``refit``.
    target : str
        Name of the target column, needed to retrain.
    labels : list or None
        Sorted class labels for classification; None for regression.
    refit : bool
        Retrain on the data given to ``fit`` instead of reusing ``artifact``.
    has_proba : bool
        Whether the submission answers ``predict_proba``.
    seconds, memory_mb : limits of each child process.
    environment : str or None
        The submission's environment (see ``environments``); None runs it in
        the current interpreter.
    sandboxed : bool
        Run it in the sandbox (needs ``environment``).
    """

    def __init__(
        self,
        folder: str = "",
        artifact: str | None = None,
        target: str = "",
        labels: list[Any] | None = None,
        refit: bool = False,
        has_proba: bool = False,
        seconds: float = 600,
        memory_mb: int = 2048,
        environment: str | None = None,
        sandboxed: bool = False,
    ) -> None:
        self.folder = folder
        self.artifact = artifact
        self.target = target
        self.labels = labels
        self.refit = refit
        self.has_proba = has_proba
        self.seconds = seconds
        self.memory_mb = memory_mb
        self.environment = environment
        self.sandboxed = sandboxed

    def fit(self, X: pd.DataFrame, y: Any) -> SubmissionModel:
        y = np.asarray(y)
        if self.labels is not None:
            self.classes_ = np.unique(y)
        self.artifact_ = self._retrain(X, y) if self.refit else self.reusable_artifact()
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        predictions = self.answer(X, proba=False).predictions
        if self.labels is None:
            return np.asarray(predictions, dtype=float)
        return self._encode(predictions)

    @available_if(_has_proba)
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        proba = self.answer(X, proba=True).proba
        if proba is None:
            raise SubmissionFailed(
                "output", f"{self.folder}: Model has no predict_proba"
            )
        columns = [proba["labels"].index(label) for label in self.labels]
        return np.asarray(proba["values"], dtype=float)[:, columns]

    def answer(self, X: pd.DataFrame, proba: bool) -> runner.RunResult:
        """The submission's answers for ``X``, computed once per table."""
        key = (self.folder, str(self.artifact_), _fingerprint(X), proba)
        with_proba = (*key[:3], True)
        if not proba and with_proba in _ANSWERS:
            return _ANSWERS[with_proba]  # it holds the plain predictions too
        if key not in _ANSWERS:
            _ANSWERS[key] = runner.predict_saved(
                Path(self.folder),
                self.artifact_,
                X,
                self._limits(),
                want_proba=proba,
                python=self._python(),
                launcher=self._launcher(),
            )
        return _ANSWERS[key]

    def reusable_artifact(self) -> Path:
        """The trained model.pkl this member reuses; fails when it is gone."""
        if not self.artifact or not Path(self.artifact).is_file():
            raise SubmissionFailed(
                "save",
                f"{self.folder}: no saved model.pkl to reuse; compile with --refit",
            )
        return Path(self.artifact)

    def _retrain(self, X: pd.DataFrame, y: np.ndarray) -> Path:
        target = y if self.labels is None else np.asarray(self.labels, dtype=object)[y]
        train = X.assign(**{self.target: target})
        folder = Path(tempfile.mkdtemp(prefix="camino-refit-"))
        artifact = folder / "model.pkl"
        runner.run_model(
            Path(self.folder),
            train,
            X.head(2),
            self._limits(),
            python=self._python(),
            launcher=self._launcher(),
            keep_artifact=artifact,
        )
        return artifact

    def _python(self) -> str:
        if self.environment is None:
            return sys.executable
        return str(Path(self.environment) / "bin" / "python")

    def _launcher(self) -> runner.Launcher | None:
        if not self.sandboxed:
            return None
        if self.environment is None:
            raise CaminoError(
                f"{self.folder}: a sandboxed member needs its environment"
            )
        return Sandbox(Path(self.environment))

    def _encode(self, predictions: list[Any]) -> np.ndarray:
        positions = {label: index for index, label in enumerate(self.labels)}
        unknown = {p for p in predictions if p not in positions}
        if unknown:
            raise SubmissionFailed(
                "output",
                f"{self.folder}: predictions {sorted(map(str, unknown))} are not "
                "labels of the target",
            )
        return np.asarray([positions[p] for p in predictions])

    def _limits(self) -> process.Limits:
        return process.Limits(wall_seconds=self.seconds, memory_mb=self.memory_mb)

    def __sklearn_tags__(self) -> Tags:
        # A classifier or a regressor depending on the task, so that voting
        # estimators accept it.
        tags = super().__sklearn_tags__()
        if self.labels is None:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        else:
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        return tags


def _fingerprint(frame: pd.DataFrame) -> str:
    hashes = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    columns = "\0".join(map(str, frame.columns)).encode()
    return hashlib.sha256(hashes.tobytes() + columns).hexdigest()
