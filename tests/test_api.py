"""The Python API and camino.export, against real estimators and real runs."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from nbclient import NotebookClient
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score, mean_squared_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import camino
from camino.commands.export import ExportError
from camino.evaluator import holdout
from camino.playbook import Playbook, load_playbook


def public(repo: Path, playbook: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = repo / "playbooks" / playbook / "data"
    return pd.read_csv(data / "train.csv"), pd.read_csv(data / "validate.csv")


def internal(repo: Path, playbook: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = repo / ".camino" / "internal" / playbook
    return pd.read_csv(data / "train.csv"), pd.read_csv(data / "validate.csv")


def test_an_exported_pipeline_scores_what_it_scored_in_the_notebook(
    competition: Path, tmp_path: Path
) -> None:
    train, validate = public(competition, "iris")
    features = [c for c in train.columns if c != "species"]
    pipeline = make_pipeline(
        FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(C=0.5)
    )
    pipeline.fit(train[features], train["species"])
    expected = f1_score(
        validate["species"], pipeline.predict(validate[features]), average="macro"
    )

    folder = camino.export(pipeline, "iris", tmp_path / "m", repo=competition)
    scores = camino.test(folder, repo=competition)

    assert scores.loc["f1 (macro)", "value"] == pytest.approx(expected, abs=1e-12)
    assert scores.loc["f1 (macro)", "better"] == "higher"
    assert "train seconds" in scores.index
    source = (folder / "model.py").read_text()
    assert "LogisticRegression(C=0.5)" in source and "np.log1p" in source
    assert "def predict_proba" in source


def playbook(repo: Path, name: str = "diabetes") -> Playbook:
    return load_playbook(repo / "playbooks" / name)


def test_an_exported_regressor_evaluates_on_internal_data_as_fitted_directly(
    competition: Path,
) -> None:
    model = make_pipeline(StandardScaler(), Ridge(alpha=3.0))
    folder = competition / "submissions" / "diabetes" / "nb" / "ridge"

    camino.export(model, "diabetes", folder, repo=competition)
    record = camino.evaluate(folder, repo=competition)

    train, validate = internal(competition, "diabetes")
    features = [c for c in train.columns if c != "progression"]
    model.fit(train[features], train["progression"])
    predictions = model.predict(validate[features])
    # The record holds the score on the public part of the validation rows.
    public = ~holdout.private_rows(validate["progression"], playbook(competition))
    truth = validate["progression"][public]
    rmse = mean_squared_error(truth, predictions[public]) ** 0.5
    assert record["status"] == "scored", record["error"]
    assert record["scores"]["rmse"] == pytest.approx(rmse, rel=1e-9)


def test_requirements_pin_the_installed_versions(competition: Path, tmp_path: Path):
    folder = camino.export(
        RandomForestRegressor(n_estimators=5),
        "diabetes",
        tmp_path / "m",
        repo=competition,
    )

    pins = (folder / "requirements.txt").read_text().split()
    assert f"scikit-learn=={__import__('sklearn').__version__}" in pins
    assert f"pandas=={pd.__version__}" in pins


def test_a_lambda_is_refused_with_what_to_move_into_a_module(
    competition: Path, tmp_path: Path
) -> None:
    pipeline = make_pipeline(FunctionTransformer(lambda x: x), LogisticRegression())

    with pytest.raises(ExportError, match=r"lambda.*module"):
        camino.export(pipeline, "iris", tmp_path / "m", repo=competition)

    assert not (tmp_path / "m").exists()


def test_a_class_defined_in_the_notebook_is_refused(
    competition: Path, tmp_path: Path
) -> None:
    notebook_class = type("Mine", (LogisticRegression,), {"__module__": "__main__"})

    with pytest.raises(ExportError, match=r"notebook itself \(__main__\)"):
        camino.export(notebook_class(), "iris", tmp_path / "m", repo=competition)


def test_a_helper_module_of_the_participant_travels_with_the_folder(
    competition: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "my_features.py").write_text(
        textwrap.dedent(
            """
            import numpy as np

            def squash(x):
                return np.tanh(x)
            """
        )
    )
    monkeypatch.syspath_prepend(str(helpers))
    import my_features

    pipeline = make_pipeline(FunctionTransformer(my_features.squash), Ridge())
    folder = camino.export(pipeline, "diabetes", tmp_path / "m", repo=competition)

    assert (folder / "my_features.py").is_file()
    assert "from my_features import squash" in (folder / "model.py").read_text()
    scores = camino.test(folder, repo=competition)
    assert np.isfinite(scores.loc["rmse", "value"])


def test_leaderboard_is_a_ranked_table(with_examples: Path) -> None:
    folder = with_examples / "submissions" / "iris" / "ada" / "nearest-neighbours"
    camino.evaluate(folder, repo=with_examples)

    board = camino.leaderboard("iris", repo=with_examples)

    assert list(board.index) == [1]
    assert board.loc[1, "author"] == "ada"
    assert 0 <= board.loc[1, "f1 (macro)"] <= 1


@pytest.mark.slow
def test_the_example_notebook_runs(competition: Path) -> None:
    examples = competition / "examples"
    shutil.copytree(ROOT / "examples", examples)
    notebook = nbformat.read(examples / "from-a-notebook.ipynb", as_version=4)

    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(examples)}},
    )
    client.execute()

    outputs = [cell.get("outputs", []) for cell in notebook.cells]
    assert not [o for cell in outputs for o in cell if o.output_type == "error"]


def test_export_checks_features_and_the_task_and_replaces_only_on_request(
    competition: Path, tmp_path: Path
) -> None:
    with pytest.raises(ExportError, match="'petal_lenght' are not columns"):
        camino.export(
            LogisticRegression(),
            "iris",
            tmp_path / "a",
            features=["petal_lenght"],
            repo=competition,
        )
    with pytest.raises(ExportError, match="is a classifier, but playbook 'diabetes'"):
        camino.export(
            LogisticRegression(), "diabetes", tmp_path / "b", repo=competition
        )

    folder = camino.export(
        LogisticRegression(), "iris", tmp_path / "c", repo=competition
    )
    with pytest.raises(ExportError, match="overwrite=True"):
        camino.export(Ridge(), "diabetes", folder, repo=competition)
    camino.export(
        LogisticRegression(C=2.0), "iris", folder, repo=competition, overwrite=True
    )
    assert "LogisticRegression(C=2.0)" in (folder / "model.py").read_text()
