"""Run one submission's Model inside its own process: train, save, reload, predict.

This file is executed by the submission's interpreter (``python harness.py
REQUEST``), possibly inside a sandbox, so it imports nothing from camino and
only the standard library plus pandas and numpy, which every model needs.
It never sees labels of the validation rows: the parent process scores.

The request (JSON) names the items file and the output folder. On success the
harness writes ``result.json`` with the predictions; on failure it writes
``failure.json`` with the step that failed (import, init, train, save,
predict, output), a message a student can act on, and the traceback.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import pickle
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

MODEL_FILE = "model.py"
ARTIFACT = "model.pkl"

# What this file imports besides the standard library: every submission's
# environment gets these even when its requirements.txt does not name them.
NEEDS = ("numpy", "pandas")
# Part of the cache key of the environments: raise it when the harness needs
# something new from them (another package, a newer pandas).
VERSION = 1


class StepFailed(Exception):
    def __init__(self, step: str, message: str, show_traceback: bool = True) -> None:
        super().__init__(message)
        self.step = step
        self.message = message
        self.trace = traceback.format_exc() if show_traceback else ""


def main(request_path: str) -> int:
    request = json.loads(Path(request_path).read_text())
    LIMITS.update(request.get("limits", {}))
    out = Path(request["out"])
    STEP["out"] = out
    out.mkdir(parents=True, exist_ok=True)
    try:
        if request.get("mode") == "predict":
            result = predict_saved(request)
        else:
            result = run(request)
    except StepFailed as failure:
        failure_record = {
            "step": failure.step,
            "message": failure.message,
            "traceback": failure.trace,
        }
        _write_json(out / "failure.json", failure_record)
        return 1

    _write_json(out / "result.json", result)
    return 0


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Train, save, reload the pickle, and answer with the reloaded model."""
    model_class = load_model_class()
    model = call("init", "Model()", model_class)
    features, target = read_contract(model)

    started = time.perf_counter()
    call("train", "Model.train()", model.train)
    train_seconds = time.perf_counter() - started

    model = save_and_reload(model)
    answers = answer(model, features, request)
    return {
        **answers,
        "features": features,
        "target": target,
        "train_seconds": train_seconds,
    }


def predict_saved(request: dict[str, Any]) -> dict[str, Any]:
    """Answer with a model trained earlier, loaded from its pickle."""
    load_model_class()  # the pickle refers to classes of the module `model`
    model = load_artifact(Path(request["artifact"]))
    features, target = read_contract(model)
    answers = answer(model, features, request)
    return {**answers, "features": features, "target": target, "train_seconds": 0.0}


def answer(model: Any, features: list[str], request: dict[str, Any]) -> dict[str, Any]:
    """Predict the request's items (and their probabilities when asked)."""
    import pandas as pd

    items = pd.read_csv(request["items"])
    missing = [name for name in features if name not in items.columns]
    if missing:
        raise StepFailed(
            "init",
            f"model.py: Model.__init__ set self.X to columns that the data does "
            f"not have: {', '.join(map(str, missing))}; the columns are: "
            f"{', '.join(items.columns)}",
            show_traceback=False,
        )
    items = items[features]

    started = time.perf_counter()
    predictions = predict(model, items)
    predict_seconds = time.perf_counter() - started

    if request.get("check_order", True):
        check_row_order(model, items, predictions)

    proba = predict_proba(model, items) if request.get("proba") else None
    return {
        "predictions": predictions,
        "proba": proba,
        "predict_seconds": predict_seconds,
        "peak_memory_mb": peak_memory_mb(),
    }


def peak_memory_mb() -> float:
    """Peak resident memory of this process and the children it waited for.

    Measured here because a sandbox's launcher cannot: bubblewrap's monitor
    exits without reaping the namespace's first process, so its rusage never
    reaches the evaluator. The model runs in this process and could change
    the figure; it is for information only (TODO: a cgroup's memory.peak
    where the runner has cgroup v2).
    """
    import resource

    peak_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    return round(peak_kb / 1024, 1)


def load_model_class() -> type:
    path = Path(MODEL_FILE)
    if not path.is_file():
        raise StepFailed("import", "model.py is missing from the model folder", False)

    # Each process runs one submission, so the plain name `model` cannot clash
    # with another submission's, and pickles made by the participant's own
    # `import model` load here unchanged.
    sys.path.insert(0, os.getcwd())
    spec = importlib.util.spec_from_file_location("model", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["model"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as error:
        # On the server the model has only the packages of its requirements.txt.
        hint = (
            "; list the package in requirements.txt"
            if isinstance(error, ModuleNotFoundError)
            else ""
        )
        raise StepFailed(
            "import", f"model.py could not be imported: {_describe(error)}{hint}"
        ) from None

    model_class = getattr(module, "Model", None)
    if not isinstance(model_class, type):
        raise StepFailed(
            "import", "model.py defines no class named Model (class Model: ...)", False
        )
    return model_class


class StepTimeout(BaseException):
    """Raised in the model's code when its step runs past its time limit."""


# Seconds each step may take, from the request; None means no limit here
# (the parent's wall clock still applies).
LIMITS: dict[str, float | None] = {"train": None, "predict": None}


# The step that runs now, for an alarm that has to end it from outside.
STEP: dict[str, Any] = {}


def call(step: str, what: str, function: Any, *args: Any) -> Any:
    limit = LIMITS.get(step)
    STEP.update(what=what, limit=limit, rings=0)
    _alarm(limit)
    try:
        return function(*args)
    except StepFailed:
        raise
    except StepTimeout:
        _alarm(None)
        raise StepFailed(
            "timeout", f"model.py: {what} exceeded its time limit of {limit:g} s", False
        ) from None
    except MemoryError as error:
        # Under the memory limit an allocation fails here rather than the
        # process being killed: report it as what it is, not as a crash.
        raise StepFailed(
            "memory", f"model.py: {what} ran out of memory: {_describe(error)}"
        ) from None
    except BaseException as error:
        raise StepFailed(step, f"model.py: {what} failed: {_describe(error)}") from None
    finally:
        _alarm(None)


# After a step's limit the alarm rings again this often, and after this many
# rings the harness ends the process itself: the model may swallow
# StepTimeout, and Python ignores an exception raised in an at-fork hook,
# which is where a fork bomb nearly always is when the alarm rings.
ALARM_REPEAT = 0.25
ALARM_RINGS = 2


def _alarm(seconds: float | None) -> None:
    def expire(*_: Any) -> None:
        STEP["rings"] = STEP.get("rings", 0) + 1
        if STEP["rings"] > ALARM_RINGS:
            _stop_overdue_step()
        signal.setitimer(signal.ITIMER_REAL, ALARM_REPEAT)
        raise StepTimeout

    if seconds is None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return
    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _stop_overdue_step() -> None:
    """Report the timeout and exit now: the step did not stop when told."""
    message = (
        f"model.py: {STEP.get('what', 'a step')} exceeded its time limit of "
        f"{STEP.get('limit') or 0:g} s and did not stop"
    )
    failure = {"step": "timeout", "message": message, "traceback": ""}
    _write_json(Path(STEP["out"]) / "failure.json", failure)
    os._exit(1)


def read_contract(model: Any) -> tuple[list[str], str]:
    features = getattr(model, "X", None)
    target = getattr(model, "y", None)
    if isinstance(target, (list, tuple)) and len(target) == 1:
        target = target[0]

    if (
        not isinstance(features, (list, tuple))
        or not features
        or not all(isinstance(name, str) for name in features)
    ):
        raise StepFailed(
            "init",
            "model.py: Model.__init__ must set self.X to a non-empty list of "
            f"feature column names; it is {_short_repr(features)}",
            False,
        )
    if not isinstance(target, str):
        raise StepFailed(
            "init",
            "model.py: Model.__init__ must set self.y to the target column name; "
            f"it is {_short_repr(target)}",
            False,
        )
    if target in features:
        raise StepFailed(
            "init", f"model.py: self.X contains the target column {target!r}", False
        )
    return list(features), target


def save_and_reload(model: Any) -> Any:
    artifact = Path(ARTIFACT)
    if artifact.exists():
        artifact.unlink()

    if callable(getattr(model, "save", None)):
        call("save", "Model.save()", model.save)
        if not artifact.is_file():
            raise StepFailed(
                "save", "model.py: Model.save() did not write model.pkl", False
            )
    else:
        dump(model, artifact)
    return load_artifact(artifact)


def load_artifact(artifact: Path) -> Any:
    try:
        with artifact.open("rb") as stream:
            return pickle.load(stream)
    except BaseException as error:  # any failure here is the model's
        raise StepFailed(
            "save", f"{artifact.name} could not be loaded back: {_describe(error)}"
        ) from None


def dump(model: Any, artifact: Path) -> None:
    try:
        with artifact.open("wb") as stream:
            pickle.dump(model, stream)
    except Exception as error:
        culprit = _unpicklable_attribute(model)
        where = f" (attribute self.{culprit})" if culprit else ""
        raise StepFailed(
            "save",
            f"model.py: the Model cannot be pickled{where}: {_describe(error)}; "
            "lambdas and local functions cannot be saved, use a module-level "
            "function instead",
        ) from None


def _unpicklable_attribute(model: Any) -> str | None:
    for name, value in vars(model).items():
        try:
            pickle.dumps(value)
        except Exception:
            return name
    return None


def predict(model: Any, items: Any) -> list[Any]:
    answer = call("predict", "Model.predict(items)", model.predict, items.copy())
    return to_list(answer, items, "Model.predict(items)")


def check_row_order(model: Any, items: Any, predictions: list[Any]) -> None:
    """Predict the rows again in reverse order; the answers must follow them."""
    if len(items) < 2 or len(predictions) != len(items):
        return
    reverse = items.iloc[::-1]
    answer = call("predict", "Model.predict(items)", model.predict, reverse.copy())
    again = to_list(answer, reverse, "Model.predict(items)")
    if not _same(again[::-1], predictions):
        raise StepFailed(
            "output",
            "model.py: Model.predict(items) gave different answers when the same "
            "rows came in another order; return one prediction per row of items, "
            "in the order of items (do not sort or shuffle them)",
            False,
        )


def predict_proba(model: Any, items: Any) -> dict[str, Any] | None:
    if not callable(getattr(model, "predict_proba", None)):
        return None
    answer = call(
        "predict", "Model.predict_proba(items)", model.predict_proba, items.copy()
    )
    import numpy as np
    import pandas as pd

    if isinstance(answer, pd.DataFrame):
        labels = [_plain(label) for label in answer.columns]
        values = answer.to_numpy(dtype=float)
    else:
        labels = [_plain(label) for label in getattr(model, "classes_", [])]
        values = np.asarray(answer, dtype=float)
    if values.ndim != 2 or values.shape[0] != len(items):
        raise StepFailed(
            "output",
            "model.py: Model.predict_proba(items) must return one row per item "
            f"and one column per class; got shape {values.shape}",
            False,
        )
    return {"labels": labels, "values": values.tolist()}


def to_list(answer: Any, items: Any, what: str) -> list[Any]:
    import numpy as np
    import pandas as pd

    if answer is None:
        raise StepFailed(
            "output", f"model.py: {what} returned None; did you forget return?", False
        )
    if isinstance(answer, pd.DataFrame):
        if answer.shape[1] != 1:
            raise StepFailed(
                "output",
                f"model.py: {what} returned a table with {answer.shape[1]} columns; "
                "return one value per row",
                False,
            )
        answer = answer.iloc[:, 0]
    if isinstance(answer, pd.Series):
        answer = _realign(answer, items, what)
    try:
        values = np.asarray(answer, dtype=object).ravel().tolist()
    except Exception as error:
        raise StepFailed(
            "output", f"model.py: {what} returned {type(answer).__name__}: {error}"
        ) from None
    if np.ndim(answer) > 1 and np.shape(answer)[1] != 1:
        raise StepFailed(
            "output",
            f"model.py: {what} returned an array of shape {np.shape(answer)}; "
            "return one value per row",
            False,
        )
    return [_plain(value) for value in values]


def _realign(answer: Any, items: Any, what: str) -> Any:
    # A Series carries the index of the rows it answers: if the model reordered
    # them, put them back rather than scoring row i against another row's label.
    if answer.index.equals(items.index):
        return answer
    if len(answer) == len(items) and answer.index.sort_values().equals(
        items.index.sort_values()
    ):
        return answer.reindex(items.index)
    if len(answer) != len(items):
        return answer
    raise StepFailed(
        "output",
        f"model.py: {what} returned a pandas Series whose index does not match "
        "the index of items; keep the index of items (or return a list)",
        False,
    )


def _plain(value: Any) -> Any:
    """A JSON-ready Python value; numpy scalars become int/float/str/bool."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(ValueError, TypeError):
            value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise StepFailed(
        "output",
        f"a prediction is of type {type(value).__name__} ({_short_repr(value)}); "
        "predictions must be numbers or strings",
        False,
    )


def _same(left: list[Any], right: list[Any]) -> bool:
    for a, b in zip(left, right, strict=True):
        if isinstance(a, float) and isinstance(b, float):
            if not (
                math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) or (a != a and b != b)
            ):
                return False
        elif a != b:
            return False
    return True


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    described = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
    return described + _where(error)


def _where(error: BaseException) -> str:
    """ " (model.py line 12)": the last line of the participant's own code."""
    here = os.getcwd()
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename.startswith(here + os.sep)
    ]
    if not frames:
        return ""
    last = frames[-1]
    return f" ({os.path.relpath(last.filename, here)} line {last.lineno})"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _write_json(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data))
    os.replace(temporary, path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
