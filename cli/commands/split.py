"""camino playbook split: cut a playbook's source into public and internal parts.

The cut is deterministic (seeded, stratified for classification): running it
again writes the same bytes, so git sees no change. Public train and validate
go to ``playbooks/<name>/data/``; internal train and validate (with labels) go
to the internal store and are never committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from camino.data import write_table
from camino.errors import SpecError
from camino.playbook import Playbook, load_playbook, playbook_dir
from camino.sources import load_source
from camino.stores import local_folder


@dataclass(frozen=True)
class SplitSummary:
    playbook: str
    public_dir: Path
    internal_dir: Path
    sizes: dict[str, int]


def split_playbook(repo: Path, name: str) -> SplitSummary:
    folder = playbook_dir(repo, name)
    playbook = load_playbook(folder)
    if not playbook.source:
        raise SpecError(
            f"playbooks/{name}/playbook.yml: source is not set; name the data set "
            "to split, e.g. source: sklearn:iris"
        )
    frame = load_source(
        playbook.source, playbook.target, f"playbooks/{name}/playbook.yml"
    )

    parts = cut(frame, playbook)
    internal_dir = local_folder(playbook.internal_location(repo))
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
    return SplitSummary(name, folder / "data", internal_dir, sizes)


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
    first, second = train_test_split(
        frame, train_size=first_fraction, random_state=seed, stratify=stratify
    )
    return first.reset_index(drop=True), second.reset_index(drop=True)
