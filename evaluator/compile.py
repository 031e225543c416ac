"""camino compile: a voting ensemble of a playbook's best submissions.

For each metric of the playbook the five best model folders are taken; their
union, less near-duplicates (members that almost always answer alike add
nothing to a vote), becomes a scikit-learn ``VotingClassifier`` or
``VotingRegressor`` of ``SubmissionModel`` members. The ensemble is scored on
the internal validation set like a submission and recorded as its own row,
with what it gains over its best member, each member's contribution (the
score without it) and how often members agree.
"""

from __future__ import annotations

import logging
import pickle
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier, VotingRegressor

from camino import __version__
from camino.board import rank
from camino.errors import CaminoError, SubmissionFailed
from camino.evaluator import holdout, provenance, scoring
from camino.evaluator.environments import environment_root, prepare_folder
from camino.evaluator.members import SubmissionModel
from camino.evaluator.pipeline import (
    artifact_dir,
    data_version,
    load_internal,
    require_sandbox,
)
from camino.evaluator.results import (
    Record,
    find_record,
    fingerprint,
    load_records,
    now,
    read_record,
    write_record,
)
from camino.metrics import Metric
from camino.playbook import Playbook

log = logging.getLogger(__name__)

TOP = 5
DUPLICATE_AGREEMENT = 0.99
ENSEMBLE_AUTHOR = "camino"
ENSEMBLE_MODEL = "ensemble"

Note = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    top: int = TOP
    voting: str = "hard"  # hard, soft, or auto (soft when every member can)
    weighted: bool = False
    refit: bool = False
    duplicate_agreement: float = DUPLICATE_AGREEMENT


@dataclass
class Member:
    record: Record
    model: SubmissionModel
    predictions: np.ndarray | None = None
    has_proba: bool = False

    @property
    def name(self) -> str:
        return self.record.folder


@dataclass
class Outcome:
    record: Record | None
    is_new: bool
    notes: list[str] = field(default_factory=list)


def select(records: Sequence[Record], playbook: Playbook, top: int) -> list[Record]:
    """The ``top`` best model folders for each metric, in first-seen order."""
    # Participants only: the baseline is a yardstick, not a member.
    candidates = [r for r in records if r.kind == "submission" and not r.is_baseline]
    metrics = playbook.metric_objects
    chosen: dict[str, Record] = {}
    for metric in metrics:
        order = [metric, *(m for m in metrics if m is not metric)]
        for record in rank(candidates, order)[:top]:
            if record.scores.get(metric.name) is not None:
                chosen.setdefault(record.folder, record)
    return list(chosen.values())


def compile_playbook(
    repo: Path,
    playbook: Playbook,
    options: Options = Options(),
    note: Note = log.info,
    *,
    unsafe_no_sandbox: bool = False,
) -> Outcome:
    """Build, score and record the ensemble of ``playbook``.

    Fewer than two usable members is a no-op with a note, not an error. The
    members run in their environments and the sandbox, as evaluations do.
    """
    _check_options(options)
    train, validate = load_internal(repo, playbook)

    # Members scored on other internal data than the ensemble's are not
    # comparable with it (they wait for a re-score).
    version = data_version(train, validate)
    records = [
        r for r in load_records(repo, playbook.name) if r.data_version == version
    ]
    chosen = select(records, playbook, options.top)
    # The same candidates, options and data make the same ensemble: known
    # before any member runs, so compiling twice costs nothing.
    key = _key(chosen, options, train, validate)
    existing = find_record(repo, playbook.name, ENSEMBLE_AUTHOR, ENSEMBLE_MODEL, key)
    if existing.is_file():
        return Outcome(read_record(existing), False)

    # Not part of the key: where the members run does not change the ensemble.
    sandboxed = require_sandbox(unsafe_no_sandbox)
    members = _prepare(
        repo, playbook, chosen, options, (train, validate), note, sandboxed
    )
    members = _drop_duplicates(members, playbook, options.duplicate_agreement, note)
    if len(members) < 2:
        note(f"{playbook.name}: {len(members)} usable member(s); no ensemble built")
        return Outcome(None, False)

    voting = _voting(members, options)

    record = _build_and_score(
        repo, playbook, members, options, voting, key, train, validate
    )
    write_record(repo, record)
    return Outcome(record, True)


def _check_options(options: Options) -> None:
    if options.voting not in ("hard", "soft", "auto"):
        raise CaminoError(
            f"--voting must be hard, soft or auto; got {options.voting!r}"
        )
    if options.top < 1:
        raise CaminoError(f"--top must be at least 1; got {options.top}")


def _prepare(
    repo: Path,
    playbook: Playbook,
    chosen: list[Record],
    options: Options,
    data: tuple[pd.DataFrame, pd.DataFrame],
    note: Note,
    sandboxed: bool,
) -> list[Member]:
    """Fit each member (reuse or retrain) and get its validation answers;
    a member that fails is dropped with a note naming it and why."""
    train, validate = data
    labels = _labels(train, playbook)
    members = []
    for record in chosen:
        folder = repo / record.path
        artifact = artifact_dir(repo, record) / "model.pkl"
        # The pickle stays on the machine that evaluated (a fresh clone, an
        # ephemeral runner): without it, the member is trained again.
        refit = options.refit or not artifact.is_file()
        if refit and not options.refit:
            note(
                f"{record.folder}: its trained model is not on this machine; retrained"
            )
        model = SubmissionModel(
            folder=str(folder),
            artifact=str(artifact),
            target=playbook.target,
            labels=labels,
            refit=refit,
            seconds=playbook.limits.train_seconds + playbook.limits.predict_seconds,
            memory_mb=playbook.limits.memory_mb,
            sandboxed=sandboxed,
        )
        try:
            environment = prepare_folder(folder, environment_root(repo))
            model.set_params(environment=str(environment.path))
            if refit:
                model = _retrained(repo, model, record, train, playbook)
            members.append(_answer(model, record, train, validate, playbook))
        except SubmissionFailed as failure:
            note(f"{record.folder} left out ({failure.category}): {failure}")
    return members


def _retrained(
    repo: Path,
    model: SubmissionModel,
    record: Record,
    train: pd.DataFrame,
    playbook: Playbook,
) -> SubmissionModel:
    """Retrain once, keep the pickle beside the evaluation's own, and reuse
    it from then on: voting estimators fit clones of their members, and each
    clone would otherwise train the submission again."""
    target = _encoded_target(train[playbook.target], model.labels)
    model.fit(train.drop(columns=[playbook.target]), target)
    kept = artifact_dir(repo, record) / "refit.pkl"
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(model.artifact_, kept)
    shutil.rmtree(Path(model.artifact_).parent, ignore_errors=True)
    return clone(model).set_params(artifact=str(kept), refit=False)


def _answer(
    model: SubmissionModel,
    record: Record,
    train: pd.DataFrame,
    validate: pd.DataFrame,
    playbook: Playbook,
) -> Member:
    target = _encoded_target(train[playbook.target], model.labels)
    model.fit(train.drop(columns=[playbook.target]), target)
    items = validate.drop(columns=[playbook.target])
    wants_proba = playbook.task == "classification"
    result = model.answer(items, proba=wants_proba)
    model.has_proba = result.proba is not None
    predictions = model.predict(items)
    return Member(record, model, predictions, model.has_proba)


def _labels(train: pd.DataFrame, playbook: Playbook) -> list[Any] | None:
    if playbook.task != "classification":
        return None
    return sorted(pd.unique(train[playbook.target]).tolist(), key=str)


def _encoded_target(target: pd.Series, labels: list[Any] | None) -> np.ndarray:
    if labels is None:
        return target.to_numpy(dtype=float)
    positions = {label: index for index, label in enumerate(labels)}
    return target.map(positions).to_numpy()


def agreement(members: Sequence[Member], task: str) -> np.ndarray:
    """How alike each pair answers: the share of equal predictions for
    classification, the correlation of predictions for regression."""
    answers = [member.predictions for member in members]
    size = len(answers)
    matrix = np.ones((size, size))
    for i in range(size):
        for j in range(i + 1, size):
            matrix[i, j] = matrix[j, i] = _alike(answers[i], answers[j], task)
    return matrix


def _alike(a: np.ndarray, b: np.ndarray, task: str) -> float:
    if task == "classification":
        return float(np.mean(a == b))
    if np.std(a) == 0 or np.std(b) == 0:
        return float(np.allclose(a, b))
    return float(np.corrcoef(a, b)[0, 1])


def _drop_duplicates(
    members: list[Member], playbook: Playbook, threshold: float, note: Note
) -> list[Member]:
    """Keep the better of two members that answer alike ``threshold`` of the
    time: a vote counts the same opinion twice otherwise."""
    kept: list[Member] = []
    for member in members:
        twin = next(
            (
                k
                for k in kept
                if agreement([k, member], playbook.task)[0, 1] >= threshold
            ),
            None,
        )
        if twin is None:
            kept.append(member)
        else:
            note(f"{member.name} left out: answers like {twin.name}")
    return kept


def _voting(members: Sequence[Member], options: Options) -> str:
    if options.voting == "hard" or members[0].model.labels is None:
        return "hard"
    without = [m.name for m in members if not m.has_proba]
    if without and options.voting == "soft":
        raise CaminoError(
            "soft voting needs predict_proba; missing in: " + ", ".join(without)
        )
    return "hard" if without else "soft"


def _weights(members: Sequence[Member], metric: Metric) -> list[float] | None:
    scores = [member.record.scores.get(metric.name) for member in members]
    if any(score is None for score in scores):
        return None
    if metric.greater_is_better:
        return [max(float(score), 1e-9) for score in scores]
    return [1.0 / max(float(score), 1e-9) for score in scores]


def ensemble_of(
    members: Sequence[Member], task: str, voting: str, weights: list[float] | None
) -> VotingClassifier | VotingRegressor:
    estimators = [(f"m{index}", m.model) for index, m in enumerate(members)]
    if task == "classification":
        return VotingClassifier(estimators, voting=voting, weights=weights)
    return VotingRegressor(estimators, weights=weights)


def _build_and_score(
    repo: Path,
    playbook: Playbook,
    members: list[Member],
    options: Options,
    voting: str,
    key: str,
    train: pd.DataFrame,
    validate: pd.DataFrame,
) -> Record:
    metric = playbook.ranking_metric
    weights = _weights(members, metric) if options.weighted else None
    started = time.perf_counter()
    ensemble, (public, private) = _fit_and_score(
        members, playbook, voting, weights, train, validate
    )
    seconds = time.perf_counter() - started
    best = _best_member_score(members, metric)

    record = Record(
        playbook=playbook.name,
        author=ENSEMBLE_AUTHOR,
        model=ENSEMBLE_MODEL,
        path=f"leaderboard/ensembles/{playbook.name}.md",
        key=key,
        status="scored",
        metrics=[
            {
                "name": m.name,
                "display": m.display,
                "greater_is_better": m.greater_is_better,
            }
            for m in playbook.metric_objects
        ],
        scores=public.scores,
        score_problems=public.problems,
        intervals=public.intervals,
        rows=public.rows,
        # Fitting reuses the members, so the run is nearly all prediction:
        # the members' own predict calls, each in its own process.
        train_seconds=0.0,
        predict_seconds=round(seconds, 4),
        data_version=data_version(train, validate),
        # Each member runs in its own environment: there is no one lock to
        # name, and the members' records hold theirs.
        camino_version=__version__,
        runner=provenance.describe_runner(),
        evaluated_at=now(),
        kind="ensemble",
        details={
            "voting": voting,
            "refit": options.refit,
            "members": [m.name for m in members],
            "member_scores": [m.record.scores.get(metric.name) for m in members],
            "weights": weights,
            "best_member": best,
            "gain": _gain(public.scores.get(metric.name), best, metric),
            "without": _leave_one_out(
                members, playbook, voting, weights, train, validate
            ),
            "agreement": agreement(members, playbook.task).round(4).tolist(),
        },
    )
    _save_ensemble(repo, record, ensemble)
    holdout.write_private(repo, record, private)
    return record


def _fit_and_score(
    members: Sequence[Member],
    playbook: Playbook,
    voting: str,
    weights: list[float] | None,
    train: pd.DataFrame,
    validate: pd.DataFrame,
) -> tuple[VotingClassifier | VotingRegressor, tuple[holdout.Part, holdout.Part]]:
    """Fit the voting estimator (members are reused, not retrained: their
    answers are cached) and score its predictions like a submission's: the
    public and the private part of the validation rows."""
    target = playbook.target
    ensemble = ensemble_of(members, playbook.task, voting, weights)
    ensemble.fit(train.drop(columns=[target]), train[target])

    items = validate.drop(columns=[target])
    predictions = scoring.check_predictions(
        list(ensemble.predict(items)), validate[target], playbook.task
    )
    proba = None
    if voting == "soft":
        values = ensemble.predict_proba(items)
        proba = {"labels": list(ensemble.classes_), "values": values.tolist()}
    parts = holdout.score_parts(playbook, validate[target], predictions, proba)
    return ensemble, parts


def _leave_one_out(
    members: Sequence[Member],
    playbook: Playbook,
    voting: str,
    weights: list[float] | None,
    train: pd.DataFrame,
    validate: pd.DataFrame,
) -> list[float | None]:
    """The ensemble's ranking score without each member in turn."""
    if len(members) < 3:
        return [None] * len(members)  # one member left is not an ensemble
    metric = playbook.ranking_metric
    scores = []
    for index in range(len(members)):
        rest = [m for i, m in enumerate(members) if i != index]
        rest_weights = (
            None
            if weights is None
            else [w for i, w in enumerate(weights) if i != index]
        )
        _, (public, _) = _fit_and_score(
            rest, playbook, voting, rest_weights, train, validate
        )
        scores.append(public.scores.get(metric.name))
    return scores


def _best_member_score(members: Sequence[Member], metric: Metric) -> float | None:
    values = [m.record.scores.get(metric.name) for m in members]
    known = [v for v in values if v is not None]
    if not known:
        return None
    return max(known) if metric.greater_is_better else min(known)


def _gain(ensemble: float | None, best: float | None, metric: Metric) -> float | None:
    """How much better than its best member the ensemble is (positive: better)."""
    if ensemble is None or best is None:
        return None
    return ensemble - best if metric.greater_is_better else best - ensemble


def _key(
    candidates: Sequence[Record],
    options: Options,
    train: pd.DataFrame,
    validate: pd.DataFrame,
) -> str:
    parts = [record.key.encode() for record in candidates]
    parts.append(repr(options).encode())
    parts.append(data_version(train, validate).encode())
    return fingerprint(parts)[:12]


def _save_ensemble(repo: Path, record: Record, ensemble: Any) -> Path:
    """Pickle the ensemble next to the submissions' artifacts. It holds only
    camino's own member adapters, never a submission's pickled objects."""
    path = artifact_dir(repo, record) / "ensemble.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        pickle.dump(ensemble, stream)
    return path
