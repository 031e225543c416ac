"""camino's Python API, for notebooks and pipelines.

The same operations as the command line, returning values instead of
printing: ``camino.test`` gives a pandas DataFrame that Jupyter shows as a
table, ``camino.leaderboard`` the ranked board. The CLI and this module are
both thin layers over ``camino.commands`` and ``camino.evaluator``.

>>> import camino
>>> folder = camino.init("iris", "my-model")          # doctest: +SKIP
>>> camino.test(folder)                                # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from camino.errors import CaminoError
from camino.playbook import find_repo


def _repo(repo: str | Path | None, near: str | Path = ".") -> Path:
    found = Path(repo) if repo else find_repo(Path(near))
    if found is None or not (found / "playbooks").is_dir():
        raise CaminoError(
            "no competition repository found: pass repo='path/to/competition'"
        )
    return found.resolve()


def init(
    playbook: str, path: str | Path | None = None, repo: str | Path | None = None
) -> Path:
    """Create a model folder from ``playbook``'s template; returns its path."""
    from camino.commands.init import init_model

    destination = Path(path or f"{playbook}-model")
    return init_model(_repo(repo), playbook, destination)


def test(path: str | Path = ".", repo: str | Path | None = None) -> pd.DataFrame:
    """Train on the folder's public data and score it.

    Returns one row per metric (``value``, ``better``: higher or lower) and the
    train and predict seconds; ``DataFrame.attrs`` holds the playbook name.
    """
    from camino.commands.test import test_model

    report = test_model(Path(path), Path(repo) if repo else None)
    return report.to_frame()


def evaluate(
    path: str | Path, repo: str | Path | None = None, force: bool = False
) -> dict[str, Any]:
    """Score a submission folder on the internal data; returns its record."""
    from dataclasses import asdict

    from camino.evaluator.pipeline import evaluate as evaluate_submission

    record, _ = evaluate_submission(_repo(repo, path), Path(path), force=force)
    return asdict(record)


def leaderboard(playbook: str, repo: str | Path | None = None) -> pd.DataFrame:
    """The ranked board of ``playbook``: one row per model folder."""
    from camino.board import board_frame, build_board
    from camino.playbook import load_playbook, playbook_dir

    root = _repo(repo)
    spec = load_playbook(playbook_dir(root, playbook))
    return board_frame(build_board(root, spec))


def export(
    estimator: Any,
    playbook: str,
    path: str | Path,
    features: Sequence[str] | None = None,
    repo: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a model folder whose model.py rebuilds ``estimator``.

    ``features`` defaults to the columns the estimator was fitted on, or else
    every column of the public training data except the target. The folder's
    requirements.txt pins the installed versions of what the estimator uses.
    ``overwrite`` replaces an earlier export at ``path`` (re-running a cell).
    """
    from camino.commands.export import export_estimator

    return export_estimator(
        estimator, playbook, Path(path), _repo(repo), features, overwrite=overwrite
    )


def submit(
    path: str | Path = ".",
    to: str | None = None,
    dry_run: bool = False,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """Open or update the pull request that submits the model folder.

    ``to`` is the competition's git URL (default: where ``init`` fetched the
    folder from, or ``CAMINO_REPO``); the token comes from ``GITHUB_TOKEN``
    or ``GH_TOKEN`` in ``environ`` (default: the process environment).
    Returns the pull request's URL, or None for a dry run.
    """
    import os

    from camino.action.submit import submit as run_submit

    _, url = run_submit(Path(path), environ or os.environ, to, dry_run)
    return url
