"""camino compile on real submissions, real child processes, real sklearn."""

from __future__ import annotations

import pickle
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import write_model

from camino.errors import CaminoError
from camino.evaluator import holdout
from camino.evaluator.compile import Options, compile_playbook, select
from camino.evaluator.pipeline import artifact_dir, evaluate
from camino.evaluator.results import load_records
from camino.playbook import load_playbook

# Three deliberately different iris models, so no two are near-duplicates.
IRIS = """
    import pandas as pd
    from sklearn.{module} import {estimator}

    class Model:
        def __init__(self):
            self.data = pd.read_csv("data/train.csv")
            self.y = "species"
            self.X = {features}

        def train(self):
            self.clf = {estimator}({arguments}).fit(
                self.data[self.X], self.data[self.y]
            )

        def predict(self, items):
            return list(self.clf.predict(items[self.X]))
        {proba}
"""
PROBA = """
        def predict_proba(self, items):
            return pd.DataFrame(
                self.clf.predict_proba(items[self.X]), columns=self.clf.classes_
            )
"""
SEPALS = '["sepal_length", "sepal_width"]'
ALL = '["sepal_length", "sepal_width", "petal_length", "petal_width"]'
MODELS = {
    "tree": ("tree", "DecisionTreeClassifier", "max_depth=1", SEPALS, PROBA),
    "knn": ("neighbors", "KNeighborsClassifier", "n_neighbors=15", SEPALS, PROBA),
    "logistic": ("linear_model", "LogisticRegression", "C=0.05", ALL, ""),
}


def iris_model(name: str) -> str:
    module, estimator, arguments, features, proba = MODELS[name]
    return IRIS.format(
        module=module,
        estimator=estimator,
        arguments=arguments,
        features=features,
        proba=proba,
    )


@pytest.fixture(scope="module")
def scored_once(split_competition: Path, tmp_path_factory: pytest.TempPathFactory):
    repo = tmp_path_factory.mktemp("scored") / "repo"
    shutil.copytree(split_competition, repo)
    for author, name in [("ann", "tree"), ("bo", "knn"), ("cy", "logistic")]:
        folder = write_model(repo, iris_model(name), author=author, name=name)
        record, _ = evaluate(repo, folder)
        assert record.scored, record.error
    return repo


@pytest.fixture
def scored_iris(scored_once: Path, tmp_path: Path) -> Path:
    """Three scored iris submissions with their saved models, private to the test."""
    repo = tmp_path / "repo"
    shutil.copytree(scored_once, repo)
    return repo


def playbook(repo: Path, name: str = "iris"):
    return load_playbook(repo / "playbooks" / name)


def internal(repo: Path, name: str = "iris") -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = repo / ".camino" / "internal" / name
    return pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "validate.csv")


def load_ensemble(repo: Path, record) -> object:
    with (artifact_dir(repo, record) / "ensemble.pkl").open("rb") as stream:
        return pickle.load(stream)


def test_selection_takes_the_best_per_metric_and_their_union(scored_iris: Path):
    records = load_records(scored_iris, "iris")
    spec = playbook(scored_iris)

    assert len(select(records, spec, top=5)) == 3
    one = select(records, spec, top=1)
    best_by_each = {
        max(records, key=lambda r, m=m: r.scores[m.name]).folder
        for m in spec.metric_objects
    }
    assert {r.folder for r in one} == best_by_each


def test_hard_voting_answers_string_labels_and_is_the_majority_vote(
    scored_iris: Path,
) -> None:
    # CASES C09 and C12: members are reused, the vote decodes to labels.
    notes: list[str] = []
    outcome = compile_playbook(
        scored_iris,
        playbook(scored_iris),
        Options(duplicate_agreement=1.01),
        notes.append,
    )

    record = outcome.record
    assert record is not None and outcome.is_new, notes
    assert record.kind == "ensemble" and len(record.details["members"]) == 3
    train, validate = internal(scored_iris)
    ensemble = load_ensemble(scored_iris, record)
    items = validate.drop(columns=["species"])
    predicted = ensemble.predict(items)
    assert set(predicted) <= set(train["species"])

    votes = [m.predict(items) for m in ensemble.estimators_]
    labels = sorted(train["species"].unique())
    majority = [
        labels[Counter(column).most_common(1)[0][0]]
        if max(Counter(column).values()) > 1
        else None
        for column in zip(*votes, strict=True)
    ]
    decided = [(p, m) for p, m in zip(predicted, majority, strict=True) if m]
    assert all(p == m for p, m in decided)
    # Scored like a submission: the record holds the public part's accuracy,
    # the private part's stays off the repo.
    right = predicted == validate["species"].to_numpy()
    private = holdout.private_rows(validate["species"], playbook(scored_iris))
    assert record.scores["accuracy"] == pytest.approx(float(np.mean(right[~private])))
    kept = holdout.read_private(scored_iris, record)
    assert kept is not None
    assert kept.scores["accuracy"] == pytest.approx(float(np.mean(right[private])))


def test_details_report_gain_leave_one_out_and_agreement(scored_iris: Path):
    outcome = compile_playbook(
        scored_iris, playbook(scored_iris), Options(duplicate_agreement=1.01)
    )

    details = outcome.record.details
    size = len(details["members"])
    assert len(details["without"]) == size
    assert np.allclose(np.diag(details["agreement"]), 1.0)
    assert np.allclose(details["agreement"], np.transpose(details["agreement"]))
    best = max(details["member_scores"])
    assert details["gain"] == pytest.approx(outcome.record.scores["f1"] - best)
    page = (scored_iris / "leaderboard" / "ensembles").exists()
    assert not page  # pages are written by the command, not by compile itself


def test_compiling_twice_changes_nothing(scored_iris: Path) -> None:
    spec = playbook(scored_iris)
    first = compile_playbook(scored_iris, spec, Options(duplicate_agreement=1.01))
    files = sorted((scored_iris / "leaderboard" / "results" / "iris").iterdir())

    second = compile_playbook(scored_iris, spec, Options(duplicate_agreement=1.01))

    assert not second.is_new and second.record == first.record
    assert sorted((scored_iris / "leaderboard" / "results" / "iris").iterdir()) == files


def test_soft_voting_refuses_a_member_without_predict_proba(scored_iris: Path):
    # CASES C10: fail before building, naming the member.
    with pytest.raises(CaminoError, match="predict_proba; missing in: cy/logistic"):
        compile_playbook(
            scored_iris,
            playbook(scored_iris),
            Options(voting="soft", duplicate_agreement=1.01),
        )


def test_auto_voting_falls_back_to_hard_and_soft_works_when_all_can(
    scored_iris: Path,
) -> None:
    spec = playbook(scored_iris)
    auto = compile_playbook(
        scored_iris, spec, Options(voting="auto", duplicate_agreement=1.01)
    )
    assert auto.record.details["voting"] == "hard"

    soft = compile_playbook(
        scored_iris, spec, Options(voting="soft", top=1, duplicate_agreement=1.01)
    )
    if soft.record is not None:  # top=1 may leave fewer than two members
        assert soft.record.details["voting"] == "soft"


def test_a_member_whose_saved_model_is_gone_is_trained_again(
    scored_iris: Path,
) -> None:
    # A fresh clone or an ephemeral runner: the pickle stayed elsewhere.
    records = {r.folder: r for r in load_records(scored_iris, "iris")}
    (artifact_dir(scored_iris, records["bo/knn"]) / "model.pkl").unlink()
    spec = playbook(scored_iris)

    notes: list[str] = []
    outcome = compile_playbook(
        scored_iris, spec, Options(duplicate_agreement=1.01), notes.append
    )

    assert "bo/knn" in outcome.record.details["members"]
    assert "bo/knn: its trained model is not on this machine; retrained" in notes
    assert (artifact_dir(scored_iris, records["bo/knn"]) / "refit.pkl").is_file()


def test_a_member_that_fails_at_predict_time_is_dropped_with_a_note(
    scored_iris: Path,
) -> None:
    folder = scored_iris / "submissions" / "iris" / "cy" / "logistic"
    source = (folder / "model.py").read_text()
    # The saved pickle still loads, but this model.py now breaks predict.
    (folder / "model.py").write_text(
        source.replace(
            "return list(self.clf.predict(items[self.X]))", "raise RuntimeError('gone')"
        )
    )

    notes: list[str] = []
    outcome = compile_playbook(
        scored_iris,
        playbook(scored_iris),
        Options(duplicate_agreement=1.01),
        notes.append,
    )

    assert "cy/logistic" not in outcome.record.details["members"]
    assert any("cy/logistic left out (predict)" in note for note in notes)


def test_fewer_than_two_members_is_a_clear_no_op(competition: Path) -> None:
    folder = write_model(competition, iris_model("tree"), author="ann", name="tree")
    evaluate(competition, folder)

    notes: list[str] = []
    outcome = compile_playbook(
        competition, playbook(competition), Options(), notes.append
    )

    assert outcome.record is None
    assert notes[-1] == "iris: 1 usable member(s); no ensemble built"
    assert not list((competition / "leaderboard" / "results" / "iris").glob("camino*"))


def test_near_duplicates_count_once(competition: Path) -> None:
    for author in ("ann", "twin"):
        folder = write_model(competition, iris_model("tree"), author=author, name="t")
        evaluate(competition, folder)

    notes: list[str] = []
    outcome = compile_playbook(
        competition, playbook(competition), Options(), notes.append
    )

    assert outcome.record is None
    assert "twin/t left out: answers like ann/t" in notes


def test_regression_voting_averages_the_members(competition: Path) -> None:
    code = """
        import pandas as pd
        from sklearn.linear_model import Ridge
        from sklearn.neighbors import KNeighborsRegressor

        class Model:
            def __init__(self):
                self.data = pd.read_csv("data/train.csv")
                self.y = "progression"
                self.X = [c for c in self.data.columns if c != self.y]

            def train(self):
                self.reg = {estimator}.fit(self.data[self.X], self.data[self.y])

            def predict(self, items):
                return self.reg.predict(items[self.X])
    """
    for name, estimator in [("ridge", "Ridge()"), ("knn", "KNeighborsRegressor(9)")]:
        folder = write_model(
            competition,
            code.format(estimator=estimator),
            playbook="diabetes",
            author=name,
            name=name,
        )
        evaluate(competition, folder)

    outcome = compile_playbook(competition, playbook(competition, "diabetes"))

    _, validate = internal(competition, "diabetes")
    ensemble = load_ensemble(competition, outcome.record)
    items = validate.drop(columns=["progression"])
    members = [m.predict(items) for m in ensemble.estimators_]
    assert np.allclose(ensemble.predict(items), np.mean(members, axis=0))
    assert outcome.record.details["without"] == [None, None]
