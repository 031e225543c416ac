"""Evaluate one model folder: admit, run, check, score, record.

``assess`` is the part that ``camino test`` (public data) and ``camino
evaluate`` (internal data) share: run the model in its own process on a
training table, predict the validation features, check the answers and score
them. ``evaluate`` adds what the server does: the internal data, a record per
evaluation and idempotence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from camino import __version__
from camino.data import check_same_columns, read_table
from camino.errors import SpecError, SubmissionFailed
from camino.evaluator import holdout, process, runner, scoring
from camino.evaluator.results import (
    BASELINE_AUTHOR,
    Record,
    find_record,
    fingerprint,
    hash_folder,
    now,
    read_record,
    write_record,
)
from camino.metrics import Metric
from camino.playbook import Meta, Playbook, load_meta, load_playbook, playbook_dir
from camino.stores import (
    cache_root,
    check_internal_data,
    internal_data,
    internal_location,
)

log = logging.getLogger(__name__)

STARTUP_SECONDS = 30


@dataclass(frozen=True)
class Assessment:
    scores: scoring.Scores
    train_seconds: float
    predict_seconds: float
    rows: int
    log: str
    # The checked answers, so that parts of the rows can be scored again.
    truth: pd.Series
    predictions: np.ndarray
    proba: dict[str, Any] | None


@dataclass(frozen=True)
class Submission:
    """Where a model folder sits in the competition repository."""

    folder: Path
    playbook: str
    author: str
    model: str

    @property
    def relative(self) -> str:
        if self.author == BASELINE_AUTHOR:
            return f"playbooks/{self.playbook}/{self.model}"
        return f"submissions/{self.playbook}/{self.author}/{self.model}"


def assess(
    model_dir: Path,
    playbook: Playbook,
    train: pd.DataFrame,
    validate: pd.DataFrame,
    metrics: list[Metric] | None = None,
    launcher: runner.Launcher | None = None,
    keep_artifact: Path | None = None,
) -> Assessment:
    """Train on ``train``, predict ``validate`` without its target, score."""
    metrics = metrics or playbook.metric_objects
    truth = validate[playbook.target]
    items = validate.drop(columns=[playbook.target])
    steps = {
        "train": playbook.limits.train_seconds,
        "predict": playbook.limits.predict_seconds,
    }
    # Each step is timed inside the child; the wall clock is the backstop for
    # a model that swallows the alarm: start-up, train, and predict twice (the
    # row-order check), with a margin for loading libraries.
    limits = process.Limits(
        wall_seconds=steps["train"] + 2 * steps["predict"] + STARTUP_SECONDS,
        memory_mb=playbook.limits.memory_mb,
    )

    result = runner.run_model(
        model_dir,
        train,
        items,
        limits,
        want_proba=any(metric.needs_proba for metric in metrics),
        launcher=launcher,
        keep_artifact=keep_artifact,
        step_seconds=steps,
    )
    if result.target != playbook.target:
        raise SubmissionFailed(
            "init",
            f"model.py: Model.__init__ sets self.y to {result.target!r}, but this "
            f"playbook's target column is {playbook.target!r}",
        )

    predictions = scoring.check_predictions(result.predictions, truth, playbook.task)
    scores = scoring.score(metrics, truth, predictions, result.proba)
    return Assessment(
        scores,
        result.train_seconds,
        result.predict_seconds,
        len(items),
        result.log,
        truth,
        predictions,
        result.proba,
    )


def locate(repo: Path, model_dir: Path) -> Submission:
    """Read the author and model from ``submissions/<playbook>/<author>/<model>``;
    ``playbooks/<playbook>/template`` is the playbook's baseline."""
    if not model_dir.is_dir():
        raise SpecError(f"{model_dir}: folder not found")
    folder = model_dir.resolve()
    if (
        folder.name == "template"
        and folder.parent.parent == (repo / "playbooks").resolve()
    ):
        return Submission(folder, folder.parent.name, BASELINE_AUTHOR, "template")
    try:
        parts = folder.relative_to((repo / "submissions").resolve()).parts
    except ValueError:
        parts = ()
    if len(parts) != 3:
        raise SpecError(
            f"{model_dir}: a submission must be a folder "
            f"submissions/<playbook>/<author>/<model>/ inside {repo}"
        )
    if parts[1] == BASELINE_AUTHOR:
        raise SpecError(
            f"{model_dir}: the author name {BASELINE_AUTHOR!r} is reserved for the "
            "playbook's baseline"
        )
    return Submission(folder, *parts)


def check_meta(submission: Submission) -> Meta:
    name = f"{submission.relative}/meta.yml"
    meta = load_meta(submission.folder, name)
    if meta.playbook != submission.playbook:
        raise SpecError(
            f"{name}: playbook is {meta.playbook!r} but the folder lies under "
            f"submissions/{submission.playbook}/"
        )
    # The template's meta.yml names the model a participant will make of it.
    if meta.name != submission.model and submission.author != BASELINE_AUTHOR:
        raise SpecError(
            f"{name}: name is {meta.name!r} but the folder is named "
            f"{submission.model!r}; they must match"
        )
    return meta


def evaluate(
    repo: Path,
    model_dir: Path,
    *,
    force: bool = False,
    launcher: runner.Launcher | None = None,
    preflight: bool = True,
) -> tuple[Record, bool]:
    """Score a submission on the internal data and write its record.

    Returns the record and whether it is new: an evaluation of the same files
    on the same data under the same playbook is done once (``force`` redoes
    it). A failing model gets a record with its error category; bad input
    (meta.yml, layout, data, the internal store) raises before anything is
    written. ``preflight=False`` skips the store check for a caller that ran
    :func:`check_internal_stores` itself.
    """
    submission = locate(repo, model_dir)
    check_meta(submission)
    playbook = load_playbook(playbook_dir(repo, submission.playbook))
    if preflight:
        check_internal_stores(repo, [playbook])
    train, validate = load_internal(repo, playbook)

    key = evaluation_key(submission, playbook, train, validate)
    existing = find_record(
        repo, playbook.name, submission.author, submission.model, key
    )
    if existing.is_file() and not force:
        return read_record(existing), False

    record = _new_record(submission, playbook, key, train, validate)
    try:
        assessment = assess(
            submission.folder,
            playbook,
            train,
            validate,
            launcher=launcher,
            keep_artifact=artifact_dir(repo, record) / "model.pkl",
        )
    except SubmissionFailed as failure:
        # The step and message are the model's own words; the full log stays
        # out of the record because it may print internal rows.
        record.status = "failed"
        record.error = {"category": failure.category, "message": str(failure)}
        record.fault = failure.fault
    else:
        public, private = holdout.score_parts(
            playbook, assessment.truth, assessment.predictions, assessment.proba
        )
        record.status = "scored"
        record.scores, record.score_problems = public.scores, public.problems
        record.intervals, record.rows = public.intervals, public.rows
        record.train_seconds = round(assessment.train_seconds, 4)
        record.predict_seconds = round(assessment.predict_seconds, 4)
        holdout.write_private(repo, record, private)
    write_record(repo, record)
    return record, True


def artifact_dir(repo: Path, record: Record) -> Path:
    """The private folder of one evaluation's artifacts (its trained pickle)."""
    stem = Path(record.file_name).stem
    return repo / ".camino" / "artifacts" / record.playbook / stem


def check_internal_stores(repo: Path, playbooks: Iterable[Playbook]) -> None:
    """The preflight, run once before any submission: every playbook's
    internal store answers, may be read, and holds the internal files. A
    missing variable or permission stops the run here, not mid-round."""
    for playbook in playbooks:
        location = internal_location(playbook.name, playbook.internal, repo)
        check_internal_data(location, playbook.name, cache=cache_root(repo))


def load_internal(repo: Path, playbook: Playbook) -> tuple[pd.DataFrame, pd.DataFrame]:
    location = internal_location(playbook.name, playbook.internal, repo)
    folder = internal_data(location, playbook.name, cache=cache_root(repo))
    target = [playbook.target]
    text = [playbook.id] if playbook.id else []
    train = read_table(
        folder / "train.csv",
        name=f"internal {playbook.name}/train.csv",
        required=target,
        text=text,
    )
    validate = read_table(
        folder / "validate.csv",
        name=f"internal {playbook.name}/validate.csv",
        required=target,
        text=text,
    )
    check_same_columns(train, validate, "internal train.csv", "internal validate.csv")
    return train, validate


def evaluation_key(
    submission: Submission,
    playbook: Playbook,
    train: pd.DataFrame,
    validate: pd.DataFrame,
) -> str:
    files = hash_folder(submission.folder, runner.SKIPPED)
    parts = [
        files.encode(),
        data_version(train, validate).encode(),
        playbook.scoring_json().encode(),
    ]
    return fingerprint(parts)[:12]


def data_version(train: pd.DataFrame, validate: pd.DataFrame) -> str:
    frames = [frame.to_csv(index=False).encode() for frame in (train, validate)]
    return fingerprint(frames)[:16]


def _new_record(
    submission: Submission,
    playbook: Playbook,
    key: str,
    train: pd.DataFrame,
    validate: pd.DataFrame,
) -> Record:
    return Record(
        playbook=playbook.name,
        author=submission.author,
        model=submission.model,
        path=submission.relative,
        key=key,
        status="pending",
        metrics=[
            {
                "name": m.name,
                "display": m.display,
                "greater_is_better": m.greater_is_better,
            }
            for m in playbook.metric_objects
        ],
        rows=len(validate),
        submission_hash=hash_folder(submission.folder, runner.SKIPPED)[:16],
        data_version=data_version(train, validate),
        camino_version=__version__,
        evaluated_at=now(),
    )
