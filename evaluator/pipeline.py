"""Evaluate one model folder: admit, install, run, check, score, record.

``assess`` is the part that ``camino test`` (public data) and ``camino
evaluate`` (internal data) share: run the model in its own process on a
training table, predict the validation features, check the answers and score
them. ``evaluate`` adds what the server does, in stages:

1. admission: plain files only (no symbolic links);
2. environment: the submission's requirements, installed with uv;
3. smoke: train and predict on the playbook's public data; a failure here
   keeps the model's own message and its log may be shown;
4. internal: the same on the internal data; its log may print internal rows,
   so it goes to the private artifacts with the trained model, and a failure
   is reported by category with a generic hint.

Both runs happen in the sandbox; without a working one ``evaluate`` refuses
unless told ``unsafe_no_sandbox``. A record per evaluation, written once.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from camino import __version__
from camino.data import check_same_columns, read_table
from camino.errors import (
    PlatformFailed,
    SandboxUnavailable,
    SpecError,
    SubmissionFailed,
)
from camino.evaluator import (
    environments,
    holdout,
    process,
    provenance,
    runner,
    sandbox,
    scoring,
)
from camino.evaluator.results import (
    BASELINE_AUTHOR,
    FAULT_PLATFORM,
    Record,
    check_name_fields,
    find_record,
    fingerprint,
    hash_folder,
    now,
    pin_if_unset,
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
    private_store,
)

log = logging.getLogger(__name__)

STARTUP_SECONDS = 30

PRIVATE = Path(".camino") / "artifacts"
ARTIFACTS_PREFIX = "artifacts"  # in the private store
SMOKE_LOG = "smoke.log"
INTERNAL_LOG = "internal.log"

# The message of an internal-stage failure, by category. The model's own
# words stay in the private log: they may quote internal rows.
DATA_HINT = (
    "it passed on the public data, so look for assumptions about the data, "
    "such as values, classes or missing cells the public data does not have, "
    "or a fixed number of rows"
)
INTERNAL_HINTS = {
    "import": "model.py could not be imported; " + DATA_HINT,
    "init": "Model() failed on the internal data; " + DATA_HINT,
    "train": "train() failed on the internal data; " + DATA_HINT,
    "save": "save() or reloading model.pkl failed after training on the "
    "internal data; " + DATA_HINT,
    "predict": "predict() failed on the internal data; " + DATA_HINT,
    "output": "the predictions on the internal data were not usable (their "
    "number, NaN or infinity, or labels the target does not have); " + DATA_HINT,
    "timeout": "the model went past its time limit (train {train:g} s, predict "
    "{predict:g} s) on the internal data; it did not on the public data, so the "
    "internal data may be larger: make it faster",
    "memory": "the model ran out of memory (limit {memory} MB) on the internal "
    "data; it did not on the public data, so the internal data may be larger",
}


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
    peak_memory_mb: float | None = None


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
    python: str = sys.executable,
    keep_artifact: Path | None = None,
) -> Assessment:
    """Train on ``train``, predict ``validate`` without its target, score.

    ``python`` runs the model (the current interpreter for ``camino test``,
    the submission's environment on the server); ``launcher`` starts it (a
    plain child process by default, or the sandbox).
    """
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
        python=python,
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
        result.peak_memory_mb,
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
    unsafe_no_sandbox: bool = False,
    preflight: bool = True,
    launcher: runner.Launcher | None = None,
    submission_commit: str | None = None,
) -> tuple[Record, bool]:
    """Score a submission on the internal data and write its record.

    Returns the record and whether it is new: an evaluation of the same files on
    the same data under the same playbook is done once (``force`` redoes it, and
    so does a recorded failure of the platform). A failing model gets a record
    with its error category and the stage it stopped at; bad input (meta.yml,
    layout, data, the internal store) and a missing sandbox raise before
    anything is written. ``preflight=False`` skips the store check for a caller
    that ran :func:`check_internal_stores` itself. ``launcher`` replaces the
    sandbox's (another isolation, or a test's stand-in). ``submission_commit``
    is the commit the folder's files were taken from; without it, the last
    commit of the folder in its repository (see
    :func:`provenance.submission_commit`).
    """
    submission = locate(repo, model_dir)
    check_meta(submission)
    playbook = load_playbook(playbook_dir(repo, submission.playbook))
    if preflight:
        check_internal_stores(repo, [playbook])
    public = load_public(repo, playbook)
    train, validate = load_internal(repo, playbook)
    sandboxed = require_sandbox(unsafe_no_sandbox)

    key = evaluation_key(submission, playbook, train, validate)
    existing = find_record(
        repo, playbook.name, submission.author, submission.model, key
    )
    if existing.is_file() and not force:
        found = read_record(existing)
        # A platform failure is no result of the submission's: running the
        # same files on the same data again may succeed, and replaces it.
        if found.fault != FAULT_PLATFORM:
            return found, False

    record = _new_record(submission, playbook, key, train, validate)
    record.sandboxed = sandboxed
    if submission_commit is None:
        submission_commit = provenance.submission_commit(
            submission.folder, runner.SKIPPED
        )
    record.submission_commit = submission_commit
    data = (public, (train, validate))
    _run_stages(repo, submission, playbook, data, record, launcher)
    write_record(repo, record)
    pin_if_unset(repo, playbook.name, record.data_version)
    return record, True


def require_sandbox(unsafe_no_sandbox: bool) -> bool:
    """Whether submissions run sandboxed; refuses when they cannot be."""
    if unsafe_no_sandbox:
        log.warning("running submissions without a sandbox (--unsafe-no-sandbox)")
        return False

    reason = sandbox.available()
    if reason is not None:
        raise SandboxUnavailable(
            f"cannot run submissions in a sandbox on this machine: {reason}. Fix "
            "that, or pass --unsafe-no-sandbox to run them without isolation: "
            "only for code you trust, since it can then read the internal data "
            "and this machine's secrets"
        )
    return True


def check_files(submission: Submission) -> None:
    """Admission: the folder holds plain files and folders only.

    A symbolic link could name the host's files (``/etc/passwd``, the
    internal data); inside the sandbox they are not there, but a link has no
    honest use in a submission either.

    TODO(GitHub side, DESIGN "Admit"): size limits and the check that a pull
    request changes one submission folder only.
    """
    for folder, folders, files in os.walk(submission.folder):
        folders[:] = [name for name in folders if name not in runner.SKIPPED]
        for name in sorted(folders + files):
            path = Path(folder) / name
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
                continue
            shown = f"{submission.relative}/{path.relative_to(submission.folder)}"
            what = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
            raise SubmissionFailed(
                "admission",
                f"{shown} is {what}; a submission may hold only plain files and "
                "folders (copy the file in instead of linking it)",
            )


def _run_stages(
    repo: Path,
    submission: Submission,
    playbook: Playbook,
    data: tuple[tuple[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]],
    record: Record,
    launcher: runner.Launcher | None,
) -> None:
    public, internal = data
    private: dict[str, str | Path] = {}
    stage = "admission"
    with tempfile.TemporaryDirectory(prefix="camino-artifact-") as scratch:
        try:
            check_files(submission)

            stage = "environment"
            run = _stage_runner(repo, submission, record, launcher)

            stage = "smoke"
            private[SMOKE_LOG] = _smoke(run, submission, playbook, public)

            stage = "internal"
            artifact = Path(scratch) / runner.ARTIFACT
            assessment = _internal(run, submission, playbook, internal, artifact)
            private[INTERNAL_LOG] = assessment.log
            if artifact.is_file():
                private[runner.ARTIFACT] = artifact
        except SubmissionFailed as failure:
            _record_failure(record, stage, failure, private)
        else:
            _record_scores(repo, record, playbook, assessment)
        keep_private(repo, record, private)


@dataclass(frozen=True)
class _StageRunner:
    """How both stages start the model: the environment and the launcher."""

    python: str
    launcher: runner.Launcher | None


def _stage_runner(
    repo: Path,
    submission: Submission,
    record: Record,
    launcher: runner.Launcher | None,
) -> _StageRunner:
    root = environments.environment_root(repo)
    environment = environments.prepare_folder(submission.folder, root)
    record.environment_seconds = round(environment.build_seconds, 3)
    record.environment_cached = environment.cached
    record.environment_lock = environment.lock

    if launcher is None and record.sandboxed:
        launcher = sandbox.Sandbox(environment.path)
    return _StageRunner(str(environment.python), launcher)


def _smoke(
    run: _StageRunner,
    submission: Submission,
    playbook: Playbook,
    public: tuple[pd.DataFrame, pd.DataFrame],
) -> str:
    """Train and predict on the public data; return its log (not secret)."""
    assessment = assess(
        submission.folder,
        playbook,
        *public,
        launcher=run.launcher,
        python=run.python,
    )
    return assessment.log


def _internal(
    run: _StageRunner,
    submission: Submission,
    playbook: Playbook,
    internal: tuple[pd.DataFrame, pd.DataFrame],
    artifact: Path,
) -> Assessment:
    try:
        return assess(
            submission.folder,
            playbook,
            *internal,
            launcher=run.launcher,
            python=run.python,
            keep_artifact=artifact,
        )
    except PlatformFailed:
        raise  # not the model's words: nothing to keep private
    except SubmissionFailed as failure:
        raise _Private(failure, internal_message(failure.category, playbook)) from None


class _Private(SubmissionFailed):
    """An internal-stage failure: a generic message for everyone, the model's
    own in ``original`` for the private log only."""

    def __init__(self, original: SubmissionFailed, message: str) -> None:
        super().__init__(original.category, message)
        self.original = original


def internal_message(category: str, playbook: Playbook) -> str:
    # The category is one of camino's own (runner._explain_failure); the
    # fallback still never formats text that did not come from this file.
    hint = INTERNAL_HINTS.get(category, "the model failed on the internal data")
    limits = playbook.limits
    filled = hint.format(
        train=limits.train_seconds,
        predict=limits.predict_seconds,
        memory=limits.memory_mb,
    )
    return f"{filled} (the log of this run is kept private)"


def _record_failure(
    record: Record,
    stage: str,
    failure: SubmissionFailed,
    private: dict[str, str | Path],
) -> None:
    record.status = "failed"
    record.stage = stage
    # The step and message are the model's own words, except for the
    # internal stage; no log goes into the record.
    record.error = {"category": failure.category, "message": str(failure)}
    record.fault = failure.fault
    if isinstance(failure, _Private):
        private[INTERNAL_LOG] = _failure_log(failure.original)
    elif stage == "smoke":
        private[SMOKE_LOG] = _failure_log(failure)


def _failure_log(failure: SubmissionFailed) -> str:
    parts = [f"failed ({failure.category}): {failure}", failure.trace, failure.log_tail]
    return "\n\n".join(part.strip() for part in parts if part.strip()) + "\n"


def _record_scores(
    repo: Path, record: Record, playbook: Playbook, assessment: Assessment
) -> None:
    """Public scores into the record; the private part's kept apart."""
    public, private = holdout.score_parts(
        playbook, assessment.truth, assessment.predictions, assessment.proba
    )
    record.status = "scored"
    record.scores, record.score_problems = public.scores, public.problems
    record.intervals, record.rows = public.intervals, public.rows
    # The harness measures these inside the sandbox, next to the model, so
    # they are the model's to misreport: kept within the limits and coarse,
    # they cannot carry more than a few bits of the internal data out.
    limits = playbook.limits
    record.train_seconds = _coarse(assessment.train_seconds, limits.train_seconds)
    record.predict_seconds = _coarse(assessment.predict_seconds, limits.predict_seconds)
    memory = assessment.peak_memory_mb
    record.peak_memory_mb = (
        None if memory is None else _coarse(memory, limits.memory_mb)
    )
    holdout.write_private(repo, record, private)


def _coarse(value: float, limit: float) -> float:
    """``value`` within [0, limit], in hundredths (NaN reads as the limit)."""
    number = value if math.isfinite(value) else limit
    return round(min(max(number, 0.0), float(limit)), 2)


def artifact_dir(repo: Path, record: Record) -> Path:
    """The private folder of one evaluation's artifacts: its logs and its
    trained pickle (compile keeps its refits and ensembles there too)."""
    check_name_fields(record)
    return repo / PRIVATE / record.playbook / record.file_name.removesuffix(".json")


def keep_private(repo: Path, record: Record, files: Mapping[str, str | Path]) -> Path:
    """Write an evaluation's artifacts (logs, the trained model) where only
    the maintainers look: never the record, the board or the job log. A copy
    goes to the private store when one is set (an ephemeral runner loses
    ``.camino/`` with its disk).

    TODO: compile still reads artifacts from ``artifact_dir`` only, so on
    ephemeral runners it retrains the members instead of fetching their
    pickles from the private store.
    """
    folder = artifact_dir(repo, record)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # mkdtemp makes the folder 0700: other users of the machine stay out.
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    for name, content in files.items():
        if isinstance(content, Path):
            shutil.copyfile(content, staging / name)
        else:
            (staging / name).write_text(content, encoding="utf-8")

    # A re-run replaces the artifacts of the last one as a whole.
    shutil.rmtree(folder, ignore_errors=True)
    os.rename(staging, folder)
    store = private_store(repo)
    if store is not None:
        store.put_folder(folder, f"{ARTIFACTS_PREFIX}/{record.playbook}/{folder.name}")
    return folder


def load_public(repo: Path, playbook: Playbook) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The playbook's public train and validate tables, for the smoke stage."""
    folder = playbook_dir(repo, playbook.name) / "data"
    shown = f"playbooks/{playbook.name}/data"
    options = {
        "required": [playbook.target],
        # An id column is text, as on the internal side.
        "text": [playbook.id] if playbook.id else [],
    }
    train = read_table(folder / "train.csv", name=f"{shown}/train.csv", **options)
    validate = read_table(
        folder / "validate.csv", name=f"{shown}/validate.csv", **options
    )
    check_same_columns(train, validate, f"{shown}/train.csv", f"{shown}/validate.csv")
    return train, validate


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
        runner=provenance.describe_runner(),
        evaluated_at=now(),
    )
