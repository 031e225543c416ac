"""The command line: exit codes, messages and what each command leaves behind.

Commands run through typer's CliRunner (in process) and, for the console
script itself, as a real subprocess. Models run in real child processes on
the competition fixture's real data.
"""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, write_model
from typer.testing import CliRunner, Result

from camino.app import app

CAMINO = ROOT / ".venv" / "bin" / "camino"
KNOWN_PLAYBOOKS = "breast-cancer, diabetes, iris, wine"


def camino(*args: object) -> Result:
    return CliRunner().invoke(app, [str(arg) for arg in args])


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for a folder)."""
    return {
        str(path.relative_to(folder)): path.read_bytes() if path.is_file() else None
        for path in sorted(folder.rglob("*"))
    }


def assert_one_paragraph(result: Result, exit_code: int) -> str:
    """The command failed with ``exit_code`` and said why in one paragraph."""
    assert result.exit_code == exit_code, result.output
    message = result.stderr.strip()
    assert message.startswith("error:"), result.output
    assert "\n\n" not in message, message
    assert "Traceback" not in result.output
    return message


@pytest.fixture
def iris_folder(competition: Path, tmp_path: Path) -> Path:
    """A model folder made by camino init, outside the competition repo."""
    folder = tmp_path / "mine"
    result = camino("init", "--playbook", "iris", folder, "--repo", competition)
    assert result.exit_code == 0, result.output
    return folder


# --- init and test, the participant's first steps --------------------------------


def test_console_script_inits_and_tests_iris(competition: Path, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CAMINO), *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    made = run("init", "--playbook", "iris", "mine", "--repo", str(competition))

    assert made.returncode == 0, made.stderr
    folder = tmp_path / "mine"
    for name in ("model.py", "meta.yml", "data/train.csv", "data/validate.csv"):
        assert (folder / name).is_file(), name
    assert (folder / ".camino" / "playbook.yml").is_file()

    tested = run("test", "mine")

    assert tested.returncode == 0, tested.stderr
    assert "f1 (macro)" in tested.stdout
    assert "balanced_accuracy" in tested.stdout
    assert "validation rows" in tested.stdout
    assert "Traceback" not in tested.stdout + tested.stderr


def test_init_then_test_diabetes(competition: Path, tmp_path: Path) -> None:
    folder = tmp_path / "regression"

    made = camino("init", "--playbook", "diabetes", folder, "--repo", competition)
    tested = camino("test", folder)

    assert made.exit_code == 0, made.output
    assert tested.exit_code == 0, tested.output
    for name in ("rmse", "mae", "r2", "Diabetes progression"):
        assert name in tested.stdout, tested.stdout
    assert "f1" not in tested.stdout


def test_init_refuses_a_non_empty_folder(competition: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    (folder / "data").mkdir(parents=True)
    (folder / "model.py").write_text("# my own work\n")
    (folder / "data" / "train.csv").write_text("a,b\n1,2\n")
    before = snapshot(tmp_path)

    result = camino("init", "--playbook", "iris", folder, "--repo", competition)

    message = assert_one_paragraph(result, 2)
    assert "not empty" in message
    assert snapshot(tmp_path) == before


def test_init_unknown_playbook_lists_the_known_ones(
    competition: Path, tmp_path: Path
) -> None:
    result = camino(
        "init", "--playbook", "iriss", tmp_path / "m", "--repo", competition
    )

    message = assert_one_paragraph(result, 2)
    assert "'iriss'" in message
    assert KNOWN_PLAYBOOKS in message
    assert not (tmp_path / "m").exists()


# --- a broken model ------------------------------------------------------------

BROKEN_TRAIN = """
    import pandas as pd

    class Model:
        def __init__(self):
            self.y = "species"
            self.X = ["sepal_length", "petal_length"]

        def train(self):
            print("hello from train")
            raise ValueError("boom")

        def predict(self, items):
            return ["setosa"] * len(items)
"""


def test_broken_model_exits_3_without_a_traceback(iris_folder: Path) -> None:
    (iris_folder / "model.py").write_text(textwrap.dedent(BROKEN_TRAIN))

    result = camino("test", iris_folder)

    assert result.exit_code == 3, result.output
    assert "model.py" in result.stderr
    assert "train()" in result.stderr
    assert "ValueError: boom" in result.stderr
    assert "hello from train" in result.stderr
    assert "Traceback" not in result.output


def test_verbose_shows_the_models_traceback(iris_folder: Path) -> None:
    (iris_folder / "model.py").write_text(textwrap.dedent(BROKEN_TRAIN))

    result = camino("--verbose", "test", iris_folder)

    assert result.exit_code == 3, result.output
    assert "Traceback" in result.output
    assert 'raise ValueError("boom")' in result.output
    assert "ValueError: boom" in result.stderr


# --- meta.yml mistakes -------------------------------------------------------------

# (id, meta.yml, what the message must say)
BAD_META = [
    (
        "c24-metrics-is-a-string",
        "playbook: iris\nmetrics: f1\nname: mine\n",
        ["meta.yml line 2", "metrics", "must be a list"],
    ),
    (
        "c24-metrics-empty",
        "playbook: iris\nmetrics: []\nname: mine\n",
        ["meta.yml line 2", "at least one metric"],
    ),
    (
        "c25-tab-indented",
        "playbook: iris\nmetrics:\n\t- f1\n\t- accuracy\nname: mine\n",
        ["meta.yml line 3", "TAB"],
    ),
    (
        "c25-tab-before-comment",
        "playbook: iris\nname: mine\nmetrics: [f1]\t# main metric\n",
        ["meta.yml line 3", "TAB"],
    ),
    (
        "unknown-playbook",
        "playbook: nosuch\nname: mine\n",
        ["meta.yml", "'nosuch'"],
    ),
    (
        "unknown-key",
        "playbook: iris\nname: mine\ncolour: blue\n",
        ["meta.yml line 3", "colour", "not a known key"],
    ),
    (
        "name-is-a-boolean",
        "playbook: iris\nname: yes\n",
        ["meta.yml line 2", "name", "boolean"],
    ),
]


@pytest.mark.parametrize(
    ("meta", "fragments"),
    [case[1:] for case in BAD_META],
    ids=[case[0] for case in BAD_META],
)
def test_bad_meta_yml_exits_2_in_one_paragraph(
    iris_folder: Path, meta: str, fragments: list[str]
) -> None:
    (iris_folder / "meta.yml").write_text(meta)

    result = camino("test", iris_folder)

    message = assert_one_paragraph(result, 2)
    for fragment in fragments:
        assert fragment in message, message
    assert "metric 'f'" not in message
    assert "validation rows" not in result.stdout


@pytest.mark.parametrize(
    "meta",
    ["playbook: iris\nname: probe\nmetrics: f1\n", "playbook: iris\n\tname: probe\n"],
    ids=["metrics-is-a-string", "tab"],
)
def test_evaluate_with_bad_meta_yml_writes_no_record(
    competition: Path, meta: str
) -> None:
    folder = write_model(competition, "class Model:\n    pass\n", meta=meta)
    before = snapshot(competition / "leaderboard")

    result = camino("evaluate", folder, "--repo", competition)

    message = assert_one_paragraph(result, 2)
    assert "submissions/iris/tester/probe/meta.yml" in message
    assert snapshot(competition / "leaderboard") == before


# --- the model folder's data -------------------------------------------------------


def test_byte_order_mark_in_train_csv_is_accepted(iris_folder: Path) -> None:
    train = iris_folder / "data" / "train.csv"
    train.write_bytes(b"\xef\xbb\xbf" + train.read_bytes())

    result = camino("test", iris_folder)

    assert result.exit_code == 0, result.output
    assert "f1 (macro)" in result.stdout


def _semicolons(text: str) -> str:
    return text.replace(",", ";")


def _saved_index(text: str) -> str:
    header, *rows = text.splitlines()
    lines = [f",{header}", *(f"{n},{row}" for n, row in enumerate(rows))]
    return "\n".join(lines) + "\n"


def _unnamed_index(text: str) -> str:
    return "Unnamed: 0" + _saved_index(text)


@pytest.mark.parametrize(
    ("rewrite", "fragment"),
    [
        (_semicolons, "';'"),
        (_saved_index, "column 1 has no name"),
        (_unnamed_index, "column 1 has no name"),
    ],
    ids=["semicolons", "saved-index", "unnamed-0"],
)
def test_malformed_train_csv_exits_2_naming_the_file(
    iris_folder: Path, rewrite: Callable[[str], str], fragment: str
) -> None:
    train = iris_folder / "data" / "train.csv"
    train.write_text(rewrite(train.read_text()))

    result = camino("test", iris_folder)

    message = assert_one_paragraph(result, 2)
    assert "data/train.csv" in message
    assert fragment in message


# --- playbook.yml mistakes ---------------------------------------------------------


def test_unknown_metric_in_playbook_copy(iris_folder: Path) -> None:
    spec = iris_folder / ".camino" / "playbook.yml"
    spec.write_text(spec.read_text().replace("  - accuracy\n", "  - acuracy\n"))

    result = camino("test", iris_folder)

    message = assert_one_paragraph(result, 2)
    assert ".camino/playbook.yml" in message
    assert "'acuracy'" in message
    assert "accuracy, balanced_accuracy, f1" in message


def test_unknown_metric_in_repo_playbook_stops_init(
    competition: Path, tmp_path: Path
) -> None:
    spec = competition / "playbooks" / "iris" / "playbook.yml"
    spec.write_text(spec.read_text().replace("  - accuracy\n", "  - acuracy\n"))

    result = camino("init", "--playbook", "iris", tmp_path / "m", "--repo", competition)

    message = assert_one_paragraph(result, 2)
    assert "playbooks/iris/playbook.yml" in message
    assert "'acuracy'" in message
    assert "accuracy, balanced_accuracy, f1" in message
    assert not (tmp_path / "m").exists()


def test_init_names_the_model_after_its_folder(competition: Path, tmp_path: Path):
    result = camino(
        "init", "--playbook", "iris", tmp_path / "random-forest", "--repo", competition
    )

    assert result.exit_code == 0, result.output
    meta = (tmp_path / "random-forest" / "meta.yml").read_text()
    assert "name: random-forest" in meta


def test_init_refuses_a_folder_name_that_cannot_be_a_model_name(
    competition: Path, tmp_path: Path
):
    # The folder under submissions/ and meta.yml's name must match later, so
    # a name the board cannot take is refused now, with one it can.
    result = camino(
        "init", "--playbook", "iris", tmp_path / "Random Forest", "--repo", competition
    )

    message = assert_one_paragraph(result, 2)
    assert "must be lower-case letters" in message
    assert "try random-forest" in message
    assert not (tmp_path / "Random Forest").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "nowhere", "folder not found"),
        (lambda d: d, "has no meta.yml, so it is not a model folder"),
    ],
)
def test_test_explains_a_folder_that_is_not_a_model_folder(
    tmp_path: Path, make, message: str
) -> None:
    result = camino("test", make(tmp_path))

    assert result.exit_code == 2
    assert message in result.output


def test_verbose_may_follow_the_command(competition: Path, tmp_path: Path) -> None:
    completed = subprocess.run(
        [str(CAMINO), "test", str(tmp_path / "nowhere"), "--verbose"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 2
    assert "folder not found" in completed.stderr


def test_init_from_a_missing_repository_says_what_git_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)

    result = camino("init", "--playbook", "iris", "--from", tmp_path / "nowhere", "m")

    message = assert_one_paragraph(result, 2)
    assert "does not appear to be a git repository" in message
    assert not (tmp_path / "m").exists()
