"""Where a playbook's full data set comes from before it is split.

``source: sklearn:NAME`` names a data set that ships inside scikit-learn, so
the bundled playbooks work offline. Column names are made safe for CSV
headers and Python attributes (``sepal length (cm)`` becomes
``sepal_length``), and class targets use their names, not codes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
from sklearn import datasets

from camino.errors import SpecError

SKLEARN_SETS: dict[str, Callable[..., object]] = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes,
}


def load_source(source: str, target: str, where: str = "playbook.yml") -> pd.DataFrame:
    kind, _, name = source.partition(":")
    if kind != "sklearn" or name not in SKLEARN_SETS:
        known = ", ".join(f"sklearn:{key}" for key in SKLEARN_SETS)
        raise SpecError(f"{where}: source {source!r} is not known; use one of {known}")
    return _sklearn_frame(name, target)


def _sklearn_frame(name: str, target: str) -> pd.DataFrame:
    bunch = SKLEARN_SETS[name](as_frame=True)
    features = bunch.data.rename(columns=column_name)
    labels = bunch.target
    names = getattr(bunch, "target_names", None)
    if names is not None and len(names):
        labels = labels.map(lambda code: str(names[code]))
    return features.assign(**{target: labels.to_numpy()})


def column_name(raw: str) -> str:
    """``mean radius`` -> ``mean_radius``; ``sepal length (cm)`` -> ``sepal_length``."""
    text = re.sub(r"\s*\([^)]*\)", "", str(raw)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")
