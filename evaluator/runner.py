"""Train and predict one model folder in a separate process.

The parent prepares a fresh work dir that holds the model's files, the
training table as ``data/train.csv`` and the items to predict (features only),
runs ``harness.py`` there, and reads back the predictions. Labels of the items
never enter the work dir: scoring happens in the parent.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from camino.data import write_table
from camino.errors import SubmissionFailed
from camino.evaluator import process

HARNESS = Path(__file__).with_name("harness.py")

# What never leaves the model folder for the work dir: the participant's own
# data (the stage provides the data), artifacts and tool folders.
SKIPPED = {"data", "model.pkl", ".git", ".venv", "__pycache__", ".camino"}

Launcher = Callable[[list[str], Path, process.Limits], process.Outcome]


@dataclass(frozen=True)
class RunResult:
    predictions: list[Any]
    proba: dict[str, Any] | None
    features: list[str]
    target: str
    train_seconds: float
    predict_seconds: float
    log: str


def run_model(
    model_dir: Path,
    train: pd.DataFrame,
    items: pd.DataFrame,
    limits: process.Limits,
    *,
    want_proba: bool = False,
    python: str = sys.executable,
    launcher: Launcher | None = None,
    keep_artifact: Path | None = None,
    step_seconds: dict[str, float] | None = None,
) -> RunResult:
    """Train ``model_dir``'s Model on ``train`` and predict ``items``.

    ``keep_artifact``: where to copy the trained model.pkl. Raises
    SubmissionFailed with the step that failed (import, init, train, save,
    predict, output, timeout, memory).
    """
    launch = launcher or _plain_launcher
    with _work_dir(model_dir) as work:
        write_table(train, work / "data" / "train.csv")
        options = {"proba": want_proba, "limits": step_seconds or {}}
        request = _write_request(work, items, options)
        outcome = launch([python, str(HARNESS), str(request)], work, limits)
        result = _read_result(work, outcome, limits)
        if keep_artifact is not None:
            keep_artifact.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(work / "model.pkl", keep_artifact)
        return result


def predict_saved(
    model_dir: Path,
    artifact: Path,
    items: pd.DataFrame,
    limits: process.Limits,
    *,
    want_proba: bool = False,
    python: str = sys.executable,
    launcher: Launcher | None = None,
) -> RunResult:
    """Predict ``items`` with a model trained earlier (its model.pkl).

    The pickle is loaded only in the child process, next to the submission's
    model.py, because unpickling runs the submission's code.
    """
    launch = launcher or _plain_launcher
    with _work_dir(model_dir) as work:
        shutil.copy2(artifact, work / ".camino-artifact.pkl")
        options = {"proba": want_proba, "mode": "predict"}
        options["artifact"] = str(work / ".camino-artifact.pkl")
        request = _write_request(work, items, options)
        outcome = launch([python, str(HARNESS), str(request)], work, limits)
        return _read_result(work, outcome, limits)


def _plain_launcher(
    argv: list[str], workdir: Path, limits: process.Limits
) -> process.Outcome:
    return process.run(argv, workdir, limits)


@contextmanager
def _work_dir(model_dir: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="camino-work-") as folder:
        work = Path(folder) / "work"
        shutil.copytree(
            model_dir,
            work,
            ignore=lambda _, names: [name for name in names if name in SKIPPED],
            symlinks=True,
        )
        (work / "data").mkdir()
        yield work


def _write_request(work: Path, items: pd.DataFrame, options: dict[str, Any]) -> Path:
    control = work / ".camino"
    control.mkdir()
    write_table(items, control / "items.csv")
    request = {
        "items": str(control / "items.csv"),
        "out": str(control / "out"),
        **options,
    }
    path = control / "request.json"
    path.write_text(json.dumps(request))
    return path


def _read_result(
    work: Path, outcome: process.Outcome, limits: process.Limits
) -> RunResult:
    out = work / ".camino" / "out"
    if outcome.timed_out:
        raise SubmissionFailed(
            "timeout",
            f"the model's process did not finish within {limits.wall_seconds:g} s "
            "(its steps' time limits plus start-up) and was stopped",
            outcome.output,
        )

    failure = _load(out / "failure.json")
    if failure:
        raise SubmissionFailed(
            failure["step"], failure["message"], outcome.output, failure["traceback"]
        )

    result = _load(out / "result.json")
    if outcome.returncode != 0 or result is None:
        raise SubmissionFailed(*_explain_crash(outcome, limits), outcome.output)

    log = _mark_cut(outcome.output) if outcome.truncated else outcome.output
    return RunResult(
        predictions=result["predictions"],
        proba=result["proba"],
        features=result["features"],
        target=result["target"],
        train_seconds=float(result["train_seconds"]),
        predict_seconds=float(result["predict_seconds"]),
        log=log,
    )


def _mark_cut(log: str) -> str:
    """The note that earlier output was cut, in place of as much of the
    oldest output, so the log stays within the output limit."""
    note = "[earlier output cut: only the last {} characters are kept]\n"
    room = process.OUTPUT_LIMIT - len(note.format(len(log)).encode())
    kept = log.encode()[-room:].decode("utf-8", errors="ignore")
    return note.format(len(kept)) + kept


def _explain_crash(outcome: process.Outcome, limits: process.Limits) -> tuple[str, str]:
    if "MemoryError" in outcome.output or "Cannot allocate memory" in outcome.output:
        return "memory", f"the model ran out of memory (limit {limits.memory_mb} MB)"
    if outcome.returncode < 0:
        return "memory", (
            f"the model's process was killed by signal {-outcome.returncode} "
            f"(memory limit {limits.memory_mb} MB, or CPU time)"
        )
    return "output", (
        f"the model's process exited with code {outcome.returncode} before it "
        "returned predictions (did model.py call sys.exit or os._exit?)"
    )


def _load(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    return json.loads(path.read_text())
