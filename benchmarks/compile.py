"""Compile five iris members reusing their trained models vs retraining them.

Prints, from one run on this machine:
- reuse / refit: well below 1 when reuse does not retrain;
- reuse / (sum of the members' own predict runs): close to 1 when compiling
  costs about what predicting with each member costs.

Run: .venv/bin/python benchmarks/compile.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import write_model  # noqa: E402

from camino.commands.split import split_playbook  # noqa: E402
from camino.evaluator import members, runner  # noqa: E402
from camino.evaluator.compile import Options, compile_playbook  # noqa: E402
from camino.evaluator.pipeline import artifact_dir, evaluate, load_internal  # noqa: E402
from camino.evaluator.process import Limits  # noqa: E402
from camino.playbook import load_playbook  # noqa: E402

MODEL = """
import pandas as pd
from sklearn.{module} import {estimator}

class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = "species"
        self.X = {features}

    def train(self):
        self.clf = {estimator}({arguments}).fit(self.data[self.X], self.data[self.y])

    def predict(self, items):
        return list(self.clf.predict(items[self.X]))
"""
SEPALS = ["sepal_length", "sepal_width"]
PETALS = ["petal_length", "petal_width"]
FIVE = [
    ("tree", "tree", "DecisionTreeClassifier", "max_depth=2", SEPALS),
    ("knn", "neighbors", "KNeighborsClassifier", "n_neighbors=25", SEPALS),
    ("forest", "ensemble", "RandomForestClassifier", "n_estimators=300", SEPALS),
    ("logistic", "linear_model", "LogisticRegression", "C=0.01", PETALS),
    ("bayes", "naive_bayes", "GaussianNB", "", SEPALS + PETALS),
]


def competition(folder: Path) -> tuple[Path, list]:
    repo = folder / "repo"
    shutil.copytree(ROOT / "playbooks", repo / "playbooks")
    shutil.copytree(
        ROOT / "leaderboard" / "templates", repo / "leaderboard" / "templates"
    )
    split_playbook(repo, "iris")
    records = []
    for name, module, estimator, arguments, features in FIVE:
        code = MODEL.format(
            module=module, estimator=estimator, arguments=arguments, features=features
        )
        records.append(
            evaluate(repo, write_model(repo, code, author=name, name=name))[0]
        )
    return repo, records


def timed_compile(repo: Path, refit: bool) -> float:
    members._ANSWERS.clear()
    for path in (repo / "leaderboard" / "results" / "iris").glob("camino--*"):
        path.unlink()
    options = Options(refit=refit, duplicate_agreement=1.01)
    started = time.perf_counter()
    outcome = compile_playbook(
        repo, load_playbook(repo / "playbooks" / "iris"), options
    )
    assert outcome.record is not None
    return time.perf_counter() - started


def members_predict(repo: Path, records: list) -> float:
    _, validate = load_internal(repo, load_playbook(repo / "playbooks" / "iris"))
    items = validate.drop(columns=["species"])
    started = time.perf_counter()
    for record in records:
        runner.predict_saved(
            repo / record.path,
            artifact_dir(repo, record) / "model.pkl",
            items,
            Limits(),
            want_proba=True,
        )
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        repo, records = competition(Path(folder))
        predict = members_predict(repo, records)
        reuse = timed_compile(repo, refit=False)
        refit = timed_compile(repo, refit=True)
    print(f"compile, 5 members reused:     {reuse:6.2f} s")
    print(f"compile, 5 members retrained:  {refit:6.2f} s")
    print(f"sum of the members' predicts:  {predict:6.2f} s")
    print(f"ratio reuse / refit:           {reuse / refit:6.2f}")
    print(f"ratio reuse / members predict: {reuse / predict:6.2f}")


if __name__ == "__main__":
    main()
