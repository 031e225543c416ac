"""Shared fixtures: a small competition repository made from the real one.

``competition`` copies this repository's playbooks and board templates into a
temporary folder and splits them once per test session (real scikit-learn
data sets, real files); each test gets its own copy, so tests may break it.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from camino.commands.split import split_playbook

# The GitHub side's fixtures: the REST stand-in, and no GITHUB_* variable of
# the machine leaking into a test.
pytest_plugins = ["github_fixtures"]

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOKS = ["iris", "wine", "breast-cancer", "diabetes"]


@pytest.fixture(scope="session")
def split_competition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("competition") / "repo"
    shutil.copytree(ROOT / "playbooks", repo / "playbooks")
    shutil.copytree(
        ROOT / "leaderboard" / "templates", repo / "leaderboard" / "templates"
    )
    for name in PLAYBOOKS:
        split_playbook(repo, name)
    return repo


@pytest.fixture
def competition(split_competition: Path, tmp_path: Path) -> Path:
    """A split competition repo with no submissions, private to the test."""
    repo = tmp_path / "repo"
    shutil.copytree(split_competition, repo)
    return repo


@pytest.fixture
def with_examples(competition: Path) -> Path:
    """The competition with this repository's example submissions."""
    shutil.copytree(ROOT / "submissions", competition / "submissions")
    return competition


def write_model(
    repo: Path,
    code: str,
    *,
    playbook: str = "iris",
    author: str = "tester",
    name: str = "probe",
    meta: str | None = None,
) -> Path:
    """A submission folder whose model.py is ``code`` (dedented)."""
    folder = repo / "submissions" / playbook / author / name
    folder.mkdir(parents=True)
    (folder / "model.py").write_text(textwrap.dedent(code))
    meta_text = meta if meta is not None else f"playbook: {playbook}\nname: {name}\n"
    (folder / "meta.yml").write_text(meta_text)
    (folder / "requirements.txt").write_text("scikit-learn\npandas\n")
    return folder


# A correct iris model the bad-input tests start from.
GOOD_IRIS = """
    import pandas as pd
    from sklearn.neighbors import KNeighborsClassifier

    class Model:
        def __init__(self):
            self.data = pd.read_csv("data/train.csv")
            self.y = "species"
            self.X = [c for c in self.data.columns if c != self.y]

        def train(self):
            self.clf = KNeighborsClassifier(3).fit(self.data[self.X], self.data[self.y])

        def predict(self, items):
            return list(self.clf.predict(items[self.X]))
"""
