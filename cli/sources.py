"""Where a playbook's full data set comes from before it is split.

``source: sklearn:NAME`` names a data set that ships inside scikit-learn, so
the bundled playbooks work offline. Column names are made safe for CSV
headers and Python attributes (``sepal length (cm)`` becomes
``sepal_length``), and class targets use their names, not codes.

``source: csv:PATH`` (or ``{csv: PATH, sep: ";", decimal: ","}`` for a
European export) is a CSV the maintainer owns. It holds the internal part, so
it stays out of the repository: the path is resolved against the competition
repo (``../private/heart.csv``) and read by camino's one reader, the playbook's
``id`` column as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
from sklearn import datasets

from camino.data import read_table
from camino.errors import SpecError
from camino.playbook import CsvSource

SKLEARN_SETS: dict[str, Callable[..., object]] = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes,
}


def load_source(
    source: str | CsvSource,
    target: str,
    where: str = "playbook.yml",
    *,
    repo: Path | None = None,
    text: Sequence[str] = (),
) -> pd.DataFrame:
    """The whole data set ``source`` names; CSV paths are relative to repo."""
    csv = as_csv_source(source)
    if csv is not None:
        path = csv_path(csv, repo or Path.cwd())
        return read_table(
            path,
            name=str(path),
            required=[target],
            text=text,
            delimiter=csv.sep,
            decimal=csv.decimal,
        )

    kind, _, name = str(source).partition(":")
    if kind != "sklearn" or name not in SKLEARN_SETS:
        known = ", ".join(f"sklearn:{key}" for key in SKLEARN_SETS)
        raise SpecError(
            f"{where}: source {source!r} is not known; use csv:PATH or one of {known}"
        )
    return _sklearn_frame(name, target)


def as_csv_source(source: str | CsvSource) -> CsvSource | None:
    """The CSV a source names, or None for another kind of source."""
    if isinstance(source, CsvSource):
        return source
    kind, _, path = source.partition(":")
    return CsvSource(csv=path) if kind == "csv" and path else None


def csv_path(source: CsvSource, repo: Path) -> Path:
    return (repo / Path(source.csv).expanduser()).resolve()


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
