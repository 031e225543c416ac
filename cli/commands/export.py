"""camino.export: turn a scikit-learn estimator into a model folder.

The folder must train on the server exactly as the estimator did in the
notebook, so model.py rebuilds the estimator from readable Python source (its
class and the parameters that differ from the defaults) rather than from a
pickle: a reviewer can read it, and the server fits it on the internal data.
Whatever cannot be written as source (a lambda, a class defined in the
notebook itself) is refused with what to move into a module.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import math
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import is_classifier, is_regressor

from camino.commands.init import init_model
from camino.data import read_table
from camino.errors import CaminoError
from camino.playbook import load_playbook, playbook_dir

LINE_WIDTH = 72
ALWAYS_PINNED = ("scikit-learn", "pandas", "numpy")


class ExportError(CaminoError):
    """The estimator cannot be written as source that rebuilds it."""


@dataclass
class Source:
    """Python source of an expression and the imports it needs."""

    imports: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)

    def name_of(self, thing: Any, what: str) -> str:
        module, name = public_location(thing, what)
        self.imports.add(f"from {module} import {name}")
        self.modules.add(module.split(".")[0])
        return name


def export_estimator(
    estimator: Any,
    playbook: str,
    path: Path,
    repo: Path,
    features: Sequence[str] | None = None,
    name: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a model folder at ``path`` whose Model rebuilds ``estimator``."""
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
        raise ExportError(
            f"camino.export needs an estimator with fit and predict; got "
            f"{type(estimator).__name__}"
        )
    spec = load_playbook(playbook_dir(repo, playbook))
    _check_task(estimator, spec.task, playbook)
    columns = _features(estimator, features, repo, spec)

    source = Source()
    expression = render(estimator, source, indent=1)
    model_name = name or _slug(path.name)
    _make_room(path, overwrite)
    init_model(repo, playbook, path)

    has_proba = spec.task == "classification" and hasattr(estimator, "predict_proba")
    (path / "model.py").write_text(
        _model_file(source, expression, columns, spec.target, has_proba)
    )
    (path / "meta.yml").write_text(
        f"playbook: {playbook}\nname: {model_name}\n"
        f"description: Exported from a scikit-learn {type(estimator).__name__} "
        "with camino.export.\n"
    )
    (path / "requirements.txt").write_text(requirements(source.modules))
    copy_local_modules(source.modules, path)
    return path


def _check_task(estimator: Any, task: str, playbook: str) -> None:
    if task == "classification" and is_regressor(estimator):
        kind = "a regressor"
    elif task == "regression" and is_classifier(estimator):
        kind = "a classifier"
    else:
        return
    raise ExportError(
        f"{type(estimator).__name__} is {kind}, but playbook {playbook!r} is a "
        f"{task} task"
    )


def _make_room(path: Path, overwrite: bool) -> None:
    """Replace an earlier export when asked; never a folder that is not one."""
    if not path.exists() or not any(path.iterdir()):
        return
    if not overwrite:
        raise ExportError(
            f"{path} is not empty; export to a new path, or pass overwrite=True "
            "to replace an earlier export"
        )
    if not (path / "meta.yml").is_file():
        raise ExportError(
            f"{path} has no meta.yml, so it is not a model folder; camino.export "
            "only replaces model folders"
        )
    shutil.rmtree(path)


def _features(
    estimator: Any, features: Sequence[str] | None, repo: Path, spec: Any
) -> list[str]:
    train = read_table(repo / "playbooks" / spec.name / "data" / "train.csv")
    excluded = {spec.target, spec.id}
    available = [column for column in train.columns if column not in excluded]
    fitted = getattr(estimator, "feature_names_in_", None)
    if features is not None:
        chosen = [str(column) for column in features]
    elif fitted is not None:
        chosen = [str(column) for column in fitted]
    else:
        return available

    unknown = [column for column in chosen if column not in available]
    if unknown:
        raise ExportError(
            f"features {', '.join(map(repr, unknown))} are not columns of playbook "
            f"{spec.name!r}; the feature columns are: {', '.join(available)}"
        )
    return chosen


def render(value: Any, source: Source, indent: int = 0) -> str:
    """Python source that evaluates to ``value``; raises ExportError."""
    if value is None or isinstance(value, (bool, str, int)):
        return repr(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, np.generic):
        return render(value.item(), source, indent)
    if isinstance(value, np.ndarray):
        source.imports.add("import numpy as np")
        return f"np.array({render(value.tolist(), source, indent)})"
    if isinstance(value, (list, tuple)):
        return _sequence(value, source, indent)
    if isinstance(value, dict):
        items = [
            f"{render(key, source)}: {render(item, source, indent + 1)}"
            for key, item in value.items()
        ]
        return _wrap("{", items, "}", indent)
    if hasattr(value, "get_params") and not isinstance(value, type):
        return _estimator(value, source, indent)
    if isinstance(value, np.ufunc):  # np.log1p and friends have no __module__
        source.imports.add("import numpy as np")
        return f"np.{value.__name__}"
    if isinstance(value, type) or inspect.isroutine(value):
        return source.name_of(value, _describe(value))
    raise ExportError(
        f"cannot write a {type(value).__name__} ({_short(value)}) as source; "
        "use plain values, estimators, or functions defined in a module"
    )


def _estimator(estimator: Any, source: Source, indent: int) -> str:
    cls = type(estimator)
    name = source.name_of(cls, f"class {cls.__name__}")
    arguments = [
        f"{key}={render(value, source, indent + 1)}"
        for key, value in _changed_params(estimator).items()
    ]
    return _wrap(f"{name}(", arguments, ")", indent)


def _changed_params(estimator: Any) -> dict[str, Any]:
    """Only the parameters that differ from the class defaults, for reading."""
    signature = inspect.signature(type(estimator).__init__)
    changed = {}
    for key, value in estimator.get_params(deep=False).items():
        parameter = signature.parameters.get(key)
        default = parameter.default if parameter else inspect.Parameter.empty
        if default is inspect.Parameter.empty or not _same(value, default):
            changed[key] = value
    return changed


def _same(value: Any, default: Any) -> bool:
    if value is default:
        return True
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return False
    if hasattr(value, "get_params") or type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def _sequence(value: list | tuple, source: Source, indent: int) -> str:
    items = [render(item, source, indent + 1) for item in value]
    if isinstance(value, list):
        return _wrap("[", items, "]", indent)
    if len(items) == 1:
        return f"({items[0]},)"
    return _wrap("(", items, ")", indent)


def _wrap(opening: str, items: list[str], closing: str, indent: int) -> str:
    flat = f"{opening}{', '.join(items)}{closing}"
    if len(flat) + 4 * indent <= LINE_WIDTH and "\n" not in flat:
        return flat
    inner = "    " * (indent + 1)
    body = "".join(f"{inner}{item},\n" for item in items)
    return f"{opening}\n{body}{'    ' * indent}{closing}"


def _float(value: float) -> str:
    if math.isnan(value):
        return 'float("nan")'
    if math.isinf(value):
        return 'float("inf")' if value > 0 else 'float("-inf")'
    return repr(value)


def public_location(thing: Any, what: str) -> tuple[str, str]:
    """The shortest importable module path that exposes ``thing``."""
    module = getattr(thing, "__module__", None) or ""
    name = getattr(thing, "__qualname__", getattr(thing, "__name__", ""))
    if name == "<lambda>" or "<locals>" in name:
        raise ExportError(
            f"{what} cannot be exported: a lambda or a function defined inside "
            "another function cannot be rebuilt on the server; define it with "
            "def at the top of a module (a .py file next to model.py) and "
            "import it from there"
        )
    if module in ("__main__", ""):
        raise ExportError(
            f"{what} is defined in the notebook itself (__main__), so the "
            "server cannot import it; move it into a module (a .py file in the "
            "model folder) and import it from there"
        )

    parts = module.split(".")
    for end in range(1, len(parts) + 1):
        candidate = ".".join(parts[:end])
        try:
            if getattr(importlib.import_module(candidate), name, None) is thing:
                return candidate, name
        except ImportError:
            continue
    return module, name


def local_modules(modules: set[str]) -> list[Path]:
    """Files of the modules that come from no installed distribution: the
    participant's own code, which must travel with the folder."""
    owners = importlib.metadata.packages_distributions()
    files = []
    for module in sorted(modules):
        if module in sys.stdlib_module_names or module in owners:
            continue
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        files.append(origin.parent if origin.name == "__init__.py" else origin)
    return files


def copy_local_modules(modules: set[str], folder: Path) -> None:
    for source in local_modules(modules):
        if source.is_dir():
            shutil.copytree(
                source,
                folder / source.name,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
        else:
            shutil.copy2(source, folder / source.name)


def requirements(modules: set[str]) -> str:
    """Pinned versions of what the estimator's code comes from."""
    owners = importlib.metadata.packages_distributions()
    wanted = set(ALWAYS_PINNED)
    for module in modules:
        if module in sys.stdlib_module_names:
            continue
        wanted.update(owners.get(module, []))
    lines = sorted(f"{dist}=={importlib.metadata.version(dist)}" for dist in wanted)
    return "\n".join(lines) + "\n"


def _model_file(
    source: Source,
    expression: str,
    features: list[str],
    target: str,
    has_proba: bool,
) -> str:
    # Plain `import x` lines first, then `from x import y`, as isort would.
    imports = "\n".join(sorted(source.imports, key=lambda line: (line[0] == "f", line)))
    proba = PROBA_METHOD if has_proba else ""
    return MODEL_TEMPLATE.format(
        imports=imports,
        features=_wrap("[", [repr(c) for c in features], "]", 0),
        target=repr(target),
        expression=expression,
        proba=proba,
    )


def _describe(thing: Any) -> str:
    return f"{type(thing).__name__} {getattr(thing, '__qualname__', _short(thing))}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-") or "exported"


MODEL_TEMPLATE = '''"""Written by camino.export from a scikit-learn estimator.

build_estimator() rebuilds the estimator as it was configured in the notebook;
the server fits it on the internal training data. Edit freely: this file
follows camino's model contract.
"""

import pandas as pd

{imports}

FEATURES = {features}
TARGET = {target}


def build_estimator():
    return {expression}


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.X = list(FEATURES)
        self.y = TARGET
        self.estimator = build_estimator()

    def train(self):
        self.estimator.fit(self.data[self.X], self.data[self.y])
        # The training table is not needed to predict; keep model.pkl small.
        del self.data

    def predict(self, items):
        return self.estimator.predict(items[self.X])
{proba}'''

PROBA_METHOD = """
    def predict_proba(self, items):
        proba = self.estimator.predict_proba(items[self.X])
        return pd.DataFrame(proba, columns=self.estimator.classes_, index=items.index)
"""
