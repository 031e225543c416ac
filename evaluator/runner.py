"""Train and predict one model folder in a separate process.

The parent prepares a fresh work dir that holds the model's files, the
training table as ``data/train.csv``, the items to predict (features only) and
a copy of ``harness.py``, runs the harness there, and reads back the
predictions. Labels of the items never enter the work dir: scoring happens in
the parent. Every path the child gets is relative to the work dir, so a
sandbox can show it under another name.

The work dir belongs to the model while it runs: whatever the parent reads
back from it is opened without following symbolic links and with a size cap.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
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
from camino.evaluator.results import MODEL_STEPS

HARNESS = Path(__file__).with_name("harness.py")
CONTROL = ".camino"
ARTIFACT = "model.pkl"
# Where predict_saved puts a trained model.pkl for the harness to load.
SAVED_ARTIFACT = ".camino-artifact.pkl"
# result.json holds every prediction; a larger file is not one the harness
# wrote.
RESULT_LIMIT = 256 * 1024 * 1024
# A failure's message goes into the committed record: past this it is the
# model talking. Its head and its tail (where the exception is) are kept.
MESSAGE_LIMIT = 16_000

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
    peak_memory_mb: float | None = None


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

    Raises SubmissionFailed with the step that failed (import, init, train,
    save, predict, output, timeout, memory). ``step_seconds`` limits the train
    and predict steps inside the child. After a successful run the trained
    ``model.pkl`` is copied to ``keep_artifact`` when it is given.
    """
    launch = launcher or _plain_launcher
    with _work_dir(model_dir) as work:
        write_table(train, work / "data" / "train.csv")
        options = {"proba": want_proba, "limits": step_seconds or {}}
        request = _write_request(work, items, options)
        argv = [python, f"{CONTROL}/harness.py", request]
        outcome = launch(argv, work, limits)
        result = _read_result(work, outcome, limits)
        if keep_artifact is not None:
            copy_out(work, ARTIFACT, keep_artifact)
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
        shutil.copy2(artifact, work / SAVED_ARTIFACT)
        options = {"proba": want_proba, "mode": "predict", "artifact": SAVED_ARTIFACT}
        request = _write_request(work, items, options)
        argv = [python, f"{CONTROL}/harness.py", request]
        outcome = launch(argv, work, limits)
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


def _write_request(work: Path, items: pd.DataFrame, options: dict[str, Any]) -> str:
    """Write the harness, the items and the request; return the request's
    path relative to the work dir."""
    control = work / CONTROL
    control.mkdir()
    # A copy rather than the installed file: a sandbox then needs no view of
    # camino's package, and the model cannot change the one the next run uses.
    shutil.copyfile(HARNESS, control / "harness.py")
    write_table(items, control / "items.csv")
    request = {
        "items": f"{CONTROL}/items.csv",
        "out": f"{CONTROL}/out",
        **options,
    }
    (control / "request.json").write_text(json.dumps(request))
    return f"{CONTROL}/request.json"


def _read_result(
    work: Path, outcome: process.Outcome, limits: process.Limits
) -> RunResult:
    out = f"{CONTROL}/out"
    if outcome.timed_out:
        raise SubmissionFailed(
            "timeout",
            f"the model's process did not finish within {limits.wall_seconds:g} s "
            "(its steps' time limits plus start-up) and was stopped",
            outcome.output,
        )

    failure = _load(work, f"{out}/failure.json")
    if failure:
        category, message, trace = _explain_failure(failure, limits)
        raise SubmissionFailed(category, message, outcome.output, trace)

    result = _load(work, f"{out}/result.json")
    if outcome.returncode != 0 or result is None:
        raise SubmissionFailed(*_explain_crash(outcome, limits), outcome.output)

    log = _mark_cut(outcome.output) if outcome.truncated else outcome.output
    # The model shares the harness's process and can write this file too:
    # a result camino cannot read is the model's failure, not camino's.
    try:
        return RunResult(
            predictions=result["predictions"],
            proba=result["proba"],
            features=result["features"],
            target=result["target"],
            train_seconds=float(result["train_seconds"]),
            predict_seconds=float(result["predict_seconds"]),
            log=log,
            peak_memory_mb=_peak_memory(result, outcome),
        )
    except (KeyError, TypeError, ValueError):
        raise SubmissionFailed(
            "output",
            "the model's process left a result camino cannot read (did model.py "
            "write into camino's own files?)",
            outcome.output,
        ) from None


def _mark_cut(log: str) -> str:
    """The note that earlier output was cut, in place of as much of the
    oldest output, so the log stays within the output limit."""
    note = "[earlier output cut: only the last {} characters are kept]\n"
    room = process.OUTPUT_LIMIT - len(note.format(len(log)).encode())
    kept = log.encode()[-room:].decode("utf-8", errors="ignore")
    return note.format(len(kept)) + kept


def _peak_memory(result: dict[str, Any], outcome: process.Outcome) -> float | None:
    # The harness measures its own process; a launcher may not know it.
    reported = result.get("peak_memory_mb")
    if isinstance(reported, (int, float)) and reported >= 0:
        return float(reported)
    return outcome.peak_memory_mb


def _explain_failure(
    failure: dict[str, Any], limits: process.Limits
) -> tuple[str, str, str]:
    """Category, message and traceback of the failure the harness wrote.

    The model runs in the harness's process and can write this file itself,
    so nothing in it is trusted: a step camino does not know becomes
    "output", never a category of the model's choosing (a category is
    published, even for a run on the internal data).
    """
    step = failure.get("step")
    message = str(failure.get("message", "the harness reported no message"))
    if step not in MODEL_STEPS:
        step = "output"
        message = (
            "the model's process reported a failure of a kind camino does not "
            "know (did model.py write into camino's own files?)"
        )
    if step == "memory":
        message += f" (limit {limits.memory_mb} MB)"
    return str(step), _clip(message), str(failure.get("traceback", ""))


def _clip(message: str) -> str:
    if len(message) <= MESSAGE_LIMIT:
        return message
    half = MESSAGE_LIMIT // 2
    cut = len(message) - 2 * half
    return f"{message[:half]}\n… ({cut} characters cut) …\n{message[-half:]}"


def _explain_crash(outcome: process.Outcome, limits: process.Limits) -> tuple[str, str]:
    if "MemoryError" in outcome.output or "Cannot allocate memory" in outcome.output:
        return "memory", f"the model ran out of memory (limit {limits.memory_mb} MB)"
    if outcome.returncode == -signal.SIGXCPU:
        return "timeout", (
            f"the model used more CPU time than its {limits.wall_seconds:g} s "
            "(train and predict together)"
        )
    if outcome.returncode == -signal.SIGXFSZ:
        return "output", f"the model wrote a file larger than {limits.file_mb} MB"
    if outcome.returncode < 0:
        return "memory", (
            f"the model's process was killed by signal {-outcome.returncode} "
            f"(memory limit {limits.memory_mb} MB, or CPU time)"
        )
    return "output", (
        f"the model's process exited with code {outcome.returncode} before it "
        "returned predictions (did model.py call sys.exit or os._exit?)"
    )


def _load(work: Path, relative: str) -> dict[str, Any] | None:
    data = read_inside(work, relative, RESULT_LIMIT)
    if data is None:
        return None
    try:
        loaded = json.loads(data)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def read_inside(work: Path, relative: str, limit: int) -> bytes | None:
    """The bytes of ``work/relative`` if it is a regular file of at most
    ``limit`` bytes reached without a symbolic link; else None.

    The model may have replaced any part of the path with a link to a file of
    the host (or a FIFO that blocks the reader); the parent may be root.
    """
    handle = _open_inside(work, relative)
    if handle is None:
        return None
    with os.fdopen(handle, "rb") as stream:
        data = stream.read(limit + 1)
    return data if len(data) <= limit else None


def copy_out(work: Path, relative: str, destination: Path) -> bool:
    """Copy ``work/relative`` to ``destination`` under the rules of
    ``read_inside``, without a size cap (RLIMIT_FSIZE bounded it)."""
    handle = _open_inside(work, relative)
    if handle is None:
        return False
    destination.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(handle, "rb") as source, destination.open("wb") as target:
        shutil.copyfileobj(source, target)
    return True


def _open_inside(work: Path, relative: str) -> int | None:
    folder = work
    *parents, name = Path(relative).parts
    for part in parents:
        folder = folder / part
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                return None
        except OSError:
            return None

    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        handle = os.open(folder / name, flags)
    except OSError:  # missing, a link (ELOOP), or nothing a harness writes
        return None
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        return None
    return handle
