"""camino init: create a model folder from a playbook's template.

The folder gets the template (model.py, meta.yml, requirements.txt), the
public data (data/train.csv, data/validate.csv) and a copy of playbook.yml in
``.camino/`` so that ``camino test`` works away from the competition repo.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from camino.errors import SpecError
from camino.playbook import SLUG, SLUG_RULE, load_playbook, playbook_dir


def init_model(repo: Path, playbook_name: str, destination: Path) -> Path:
    source = playbook_dir(repo, playbook_name)
    load_playbook(source)  # a broken playbook should fail here, not in `test`
    _check_destination(destination)
    for needed in ("template/model.py", "data/train.csv", "data/validate.csv"):
        if not (source / needed).is_file():
            raise SpecError(
                f"playbooks/{playbook_name}/{needed} is missing; a maintainer "
                f"must run: camino playbook split {playbook_name}"
            )

    # Build next to the destination, then rename: an interrupted init leaves
    # no half-made folder behind.
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".camino-init-", dir=destination.parent))
    try:
        shutil.copytree(source / "template", staging, dirs_exist_ok=True)
        _name_after(staging / "meta.yml", destination.name)
        shutil.copytree(source / "data", staging / "data")
        (staging / ".camino").mkdir()
        shutil.copy2(source / "playbook.yml", staging / ".camino" / "playbook.yml")
        if destination.exists():
            destination.rmdir()
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def _check_destination(destination: Path) -> None:
    if not SLUG.fullmatch(destination.name):
        suggestion = re.sub(r"[^a-z0-9._-]+", "-", destination.name.lower())
        raise SpecError(
            f"{destination}: the folder's name is the model's name on the board "
            f"(meta.yml name:), so it {SLUG_RULE}"
            + (f"; try {suggestion.strip('-._')}" if suggestion.strip("-._") else "")
        )
    if destination.exists() and not destination.is_dir():
        raise SpecError(f"{destination} exists and is not a folder")
    if destination.is_dir() and any(destination.iterdir()):
        raise SpecError(
            f"{destination} is not empty; camino init only writes into a new or "
            "empty folder, so nothing of yours is overwritten"
        )


def _name_after(meta: Path, name: str) -> None:
    """Set meta.yml's name to the folder's: a submission's folder and its
    name must match, and a participant should not have to know that."""
    if not meta.is_file():
        return
    text = meta.read_text(encoding="utf-8")
    meta.write_text(re.sub(r"(?m)^name:.*$", f"name: {name}", text), encoding="utf-8")
