"""camino playbook split: cut a playbook's source into public and internal parts.

The cut is deterministic (seeded, stratified for classification): running it
again writes the same bytes, so git sees no change. Public train and validate
go to ``playbooks/<name>/data/``; internal train and validate (with labels) go
to the playbook's local internal folder (``.camino/internal/<name>``, or its
``internal:`` folder) and are never committed. When the evaluation reads the
internal data from a remote store, ``camino playbook upload`` sends it there.

Rows that are equal in every column but the ``id`` are dropped before the
cut (the first one is kept): otherwise one copy could land in the public data
and the other in the internal data, and a model could look the answer up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from camino.data import write_table
from camino.errors import DataError, SpecError
from camino.playbook import Playbook, load_playbook, playbook_dir
from camino.sources import load_source
from camino.stores import (
    internal_location,
    is_local,
    local_folder,
    staging_folder,
)


@dataclass(frozen=True)
class SplitSummary:
    playbook: str
    public_dir: Path
    internal_dir: Path
    sizes: dict[str, int]
    duplicates: int = 0
    # How messages call the remote store the internal part must be sent to;
    # None when the evaluation reads internal_dir itself.
    upload_to: str | None = None


def split_playbook(
    repo: Path, name: str, environ: Mapping[str, str] | None = None
) -> SplitSummary:
    folder = playbook_dir(repo, name)
    playbook = load_playbook(folder)
    where = f"playbooks/{name}/playbook.yml"
    if not playbook.source:
        raise SpecError(
            f"{where}: source is not set; name the data set to split, e.g. "
            "source: sklearn:iris or source: csv:../private/data.csv"
        )
    frame = load_source(
        playbook.source, playbook.target, where, repo=repo, text=id_columns(playbook)
    )
    frame, duplicates = drop_duplicates(frame, playbook)
    check_target(frame, playbook, f"the source of {where}")

    parts = cut(frame, playbook)
    internal_dir = local_internal_folder(repo, playbook)
    destinations = {
        "public train": folder / "data" / "train.csv",
        "public validate": folder / "data" / "validate.csv",
        "internal train": internal_dir / "train.csv",
        "internal validate": internal_dir / "validate.csv",
    }
    for label, path in destinations.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_table(parts[label], path)

    sizes = {label: len(part) for label, part in parts.items()}
    upload_to = _remote_store(repo, playbook, internal_dir, environ)
    return SplitSummary(
        name, folder / "data", internal_dir, sizes, duplicates, upload_to
    )


def local_internal_folder(repo: Path, playbook: Playbook) -> Path:
    """Where split writes the internal part: the playbook's ``internal:``
    when that is a folder, else the staging folder that upload reads."""
    if playbook.internal and is_local(playbook.internal):
        return repo / local_folder(playbook.internal)
    return staging_folder(repo, playbook.name)


def id_columns(playbook: Playbook) -> list[str]:
    return [playbook.id] if playbook.id else []


def drop_duplicates(
    frame: pd.DataFrame, playbook: Playbook
) -> tuple[pd.DataFrame, int]:
    """``frame`` without rows that repeat an earlier one in every column but
    the id, and how many were dropped."""
    compared = [column for column in frame.columns if column != playbook.id]
    repeated = frame.duplicated(subset=compared, keep="first")
    return frame[~repeated].reset_index(drop=True), int(repeated.sum())


def check_target(frame: pd.DataFrame, playbook: Playbook, shown: str) -> None:
    """The target can be learned: no empty cell, a number for a regression,
    at least two classes for a classification."""
    target = frame[playbook.target]
    empty = int(target.isna().sum())
    if empty:
        raise DataError(
            f"{shown}: the target column {playbook.target!r} is empty on {empty} "
            "row(s); fill them in or drop those rows"
        )
    if playbook.task == "regression" and not pd.api.types.is_numeric_dtype(target):
        raise DataError(
            f"{shown}: the target column {playbook.target!r} of a regression "
            f"holds text (e.g. {target.iloc[0]!r}); it must hold numbers"
        )
    classes = target.unique()
    if playbook.task == "classification" and len(classes) < 2:
        raise DataError(
            f"{shown}: the target column {playbook.target!r} has one class "
            f"only ({classes[0]!r}); a classification needs at least two"
        )


def cut(frame: pd.DataFrame, playbook: Playbook) -> dict[str, pd.DataFrame]:
    """Four disjoint parts: public and internal, each into train and validate."""
    split = playbook.split
    public, internal = _split(frame, split.public_fraction, playbook, split.seed)
    public_train, public_validate = _split(
        public, 1 - split.validate_fraction, playbook, split.seed + 1
    )
    internal_train, internal_validate = _split(
        internal, 1 - split.validate_fraction, playbook, split.seed + 2
    )
    return {
        "public train": public_train,
        "public validate": public_validate,
        "internal train": internal_train,
        "internal validate": internal_validate,
    }


def _split(
    frame: pd.DataFrame, first_fraction: float, playbook: Playbook, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    stratify = frame[playbook.target] if playbook.task == "classification" else None
    try:
        first, second = train_test_split(
            frame, train_size=first_fraction, random_state=seed, stratify=stratify
        )
    except ValueError as error:
        raise DataError(_too_few_rows(frame, playbook, error)) from None
    return first.reset_index(drop=True), second.reset_index(drop=True)


def _too_few_rows(frame: pd.DataFrame, playbook: Playbook, error: ValueError) -> str:
    message = (
        f"playbook {playbook.name!r}: {len(frame)} rows cannot be cut into "
        f"public/internal and train/validate parts ({error})"
    )
    if playbook.task != "classification":
        return f"{message}; add rows"
    counts = frame[playbook.target].value_counts()
    rare = ", ".join(f"{label!r}: {count}" for label, count in counts.items())
    return (
        f"{message}; every class needs rows in all four parts (rows per class: "
        f"{rare}); add rows or drop the rare classes"
    )


def _remote_store(
    repo: Path,
    playbook: Playbook,
    internal_dir: Path,
    environ: Mapping[str, str] | None,
) -> str | None:
    where = internal_location(playbook.name, playbook.internal, repo, environ)
    if is_local(where.url) and local_folder(where.url).resolve() == (
        internal_dir.resolve()
    ):
        return None
    return where.label
