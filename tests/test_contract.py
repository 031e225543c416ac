"""The model contract, end to end: bad and good models through the pipeline.

Every model runs in a real child process, in the sandbox, on the competition
fixture's real (split) iris and diabetes data; nothing of camino's is mocked.
A model that breaks the contract fails on the public data first (the smoke
stage), with its own message. A failing model must leave one record with its
error category and no scores, and must never touch the rendered board
(rendering is a separate step).
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import GOOD_IRIS, write_model

from camino.data import write_table
from camino.evaluator.pipeline import (
    INTERNAL_LOG,
    artifact_dir,
    assess,
    evaluate,
    load_internal,
)
from camino.evaluator.results import Record, read_record, record_path
from camino.playbook import load_playbook, playbook_dir

IRIS_LABELS = "setosa, versicolor, virginica"


def board_files(repo: Path) -> dict[str, bytes]:
    """Every file under leaderboard/ except the records, with its bytes."""
    board = repo / "leaderboard"
    return {
        str(path.relative_to(board)): path.read_bytes()
        for path in sorted(board.rglob("*"))
        if path.is_file() and path.relative_to(board).parts[0] != "results"
    }


def record_files(repo: Path, playbook: str) -> list[Path]:
    return sorted((repo / "leaderboard" / "results" / playbook).glob("*.json"))


def private_log(repo: Path, record: Record, name: str = INTERNAL_LOG) -> str:
    return (artifact_dir(repo, record) / name).read_text()


def internal_rows(repo: Path, playbook: str) -> int:
    validate = repo / ".camino" / "internal" / playbook / "validate.csv"
    return len(pd.read_csv(validate))


def evaluate_failing(
    repo: Path, folder: Path, category: str, *, unsafe: bool = False
) -> Record:
    """Evaluate a model that must fail and check what every failure leaves."""
    board = board_files(repo)

    record, is_new = evaluate(repo, folder, unsafe_no_sandbox=unsafe)

    assert is_new
    assert record.status == "failed"
    assert not record.scored
    assert record.error is not None
    assert record.error["category"] == category, record.error
    assert record.scores == {}
    assert record.train_seconds is None
    files = record_files(repo, record.playbook)
    assert files == [record_path(repo, record)]
    assert read_record(files[0]) == record
    assert board_files(repo) == board
    return record


# --- models that break the contract -------------------------------------------

# A model that trains a real classifier; predict() is filled in per case.
IRIS_BASE = """
    import numpy as np
    import pandas as pd
    from sklearn.neighbors import KNeighborsClassifier

    class Model:
        def __init__(self):
            self.data = pd.read_csv("data/train.csv")
            self.y = "species"
            self.X = [c for c in self.data.columns if c != self.y]

        def train(self):
            self.clf = KNeighborsClassifier(3).fit(
                self.data[self.X], self.data[self.y]
            )

        def predict(self, items):
"""


def iris_predicting(body: str) -> str:
    """IRIS_BASE with ``body`` as the code of predict()."""
    return textwrap.dedent(IRIS_BASE) + textwrap.indent(textwrap.dedent(body), " " * 8)


STUB = """
import pandas as pd

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

class Model:
    def __init__(self):
        self.y = "species"
        self.X = FEATURES
{init}

    def train(self):
{train}

    def predict(self, items):
{predict}
"""


def stub(init: str = "", train: str = "pass", predict: str = "return []") -> str:
    """A model without scikit-learn; each argument is a method's extra code."""

    def body(code: str) -> str:
        return textwrap.indent(textwrap.dedent(code), " " * 8)

    return STUB.format(init=body(init), train=body(train), predict=body(predict))


# (id, playbook, model.py, category, fragments the message must contain)
FAILING = [
    (
        "syntax-error",
        "iris",
        "class Model:\n    def __init__(self)\n        pass\n",
        "import",
        ["model.py", "SyntaxError"],
    ),
    (
        "import-error",
        "iris",
        "import camino_no_such_module\n\nclass Model:\n    pass\n",
        "import",
        ["model.py", "camino_no_such_module", "requirements.txt"],
    ),
    (
        "no-model-class",
        "iris",
        "class Modell:\n    pass\n",
        "import",
        ["model.py", "Model"],
    ),
    (
        "init-raises",
        "iris",
        stub(init="raise RuntimeError('no data here')"),
        "init",
        ["model.py", "Model()", "RuntimeError: no data here"],
    ),
    (
        "x-is-a-string",
        "iris",
        stub(init="self.X = 'petal_length'"),
        "init",
        ["model.py", "self.X", "list", "'petal_length'"],
    ),
    (
        "x-names-missing-columns",
        "iris",
        stub(init="self.X = ['petal_length', 'petal_colour']"),
        "init",
        ["model.py", "self.X", "petal_colour"],
    ),
    (
        "y-is-the-wrong-column",
        "iris",
        stub(init="self.y = 'label'", predict="return ['setosa'] * len(items)"),
        "init",
        ["model.py", "self.y", "'label'", "'species'"],
    ),
    (
        "train-raises",
        "iris",
        stub(train="raise ValueError('boom')"),
        "train",
        ["model.py", "train()", "ValueError: boom"],
    ),
    (
        "nan-classification",
        "iris",
        stub(predict="return [float('nan')] * len(items)"),
        "output",
        ["model.py", "NaN"],
    ),
    (
        "nan-regression",
        "diabetes",
        stub(
            init="self.y = 'progression'\nself.X = ['age', 'bmi']",
            predict="return [float('nan')] * len(items)",
        ),
        "output",
        ["model.py", "NaN"],
    ),
    (
        "c32-class-indices-as-int",
        "iris",
        iris_predicting("""
            codes = {"setosa": 0, "versicolor": 1, "virginica": 2}
            labels = self.clf.predict(items[self.X])
            return np.array([codes[label] for label in labels], dtype=np.int64)
        """),
        "output",
        ["model.py", "0, 1, 2", IRIS_LABELS],
    ),
    (
        "c32-class-indices-as-str",
        "iris",
        iris_predicting("""
            codes = {"setosa": "0", "versicolor": "1", "virginica": "2"}
            return [codes[label] for label in self.clf.predict(items[self.X])]
        """),
        "output",
        ["model.py", "'0', '1', '2'", IRIS_LABELS],
    ),
    (
        "c04-sorted-list",
        "iris",
        iris_predicting("""
            ordered = items.sort_values("petal_length", ascending=False)
            return list(self.clf.predict(ordered[self.X]))
        """),
        "output",
        ["model.py", "predict", "order"],
    ),
    (
        "c26-lambda-without-save",
        "iris",
        stub(
            init="self.prep = lambda frame: frame.fillna(0)",
            predict="return ['setosa'] * len(items)",
        ),
        "save",
        ["model.py", "prep", "lambda"],
    ),
    (
        "save-writes-nothing",
        "iris",
        stub(predict="return ['setosa'] * len(items)")
        + "\n    def save(self):\n        pass\n",
        "save",
        ["model.py", "save()", "model.pkl"],
    ),
    (
        "sys-exit-in-train",
        "iris",
        "import sys\n" + stub(train="sys.exit(0)"),
        "train",
        ["model.py", "train()", "SystemExit"],
    ),
    (
        "os-exit-in-train",
        "iris",
        "import os\n" + stub(train="os._exit(0)"),
        "output",
        ["exit"],
    ),
]


@pytest.mark.parametrize(
    ("playbook", "code", "category", "fragments"),
    [case[1:] for case in FAILING],
    ids=[case[0] for case in FAILING],
)
def test_broken_model_fails_with_category(
    competition: Path, playbook: str, code: str, category: str, fragments: list[str]
) -> None:
    folder = write_model(competition, code, playbook=playbook)

    record = evaluate_failing(competition, folder, category)

    message = record.error["message"]
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in message


def test_nan_message_counts_the_rows(competition: Path) -> None:
    # C01: the participant learns how many rows were NaN, not only that some were.
    code = stub(
        init="self.y = 'progression'\nself.X = ['age', 'bmi']",
        # NaN for the older half of the patients: per row, so order-independent.
        predict="return [float('nan') if v > 0 else 150.0 for v in items['age']]",
    )
    folder = write_model(competition, code, playbook="diabetes")

    record = evaluate_failing(competition, folder, "output")

    # It fails on the public data already, where the count may be shown.
    assert record.stage == "smoke"
    public = pd.read_csv(competition / "playbooks/diabetes/data/validate.csv")
    bad = int((public["age"] > 0).sum())
    assert 0 < bad < len(public)
    assert f"({bad} of {len(public)} rows)" in record.error["message"]


def test_c05_dropped_rows_are_counted_in_the_private_log(competition: Path) -> None:
    # Five hidden rows, one with an empty sepal_width; the model drops it. The
    # public data has no empty cell, so only the internal stage fails.
    internal = competition / ".camino" / "internal" / "iris" / "validate.csv"
    hidden = pd.read_csv(internal).head(5)
    hidden.loc[2, "sepal_width"] = float("nan")
    write_table(hidden, internal)
    code = iris_predicting("""
        items = items.dropna()
        return list(self.clf.predict(items[self.X]))
    """)
    folder = write_model(competition, code)

    record = evaluate_failing(competition, folder, "output")

    assert record.stage == "internal"
    assert "predictions on the internal data" in record.error["message"]
    assert "4 predictions" not in record.error["message"]
    assert "returned 4 predictions for 5 items" in private_log(competition, record)


@pytest.mark.parametrize("unsafe", [False, True], ids=["sandbox", "no-sandbox"])
def test_c34_endless_train_times_out_and_its_processes_die(
    competition: Path, unsafe: bool
) -> None:
    spec = competition / "playbooks" / "iris" / "playbook.yml"
    text = spec.read_text()
    assert "train_seconds: 120" in text and "predict_seconds: 60" in text
    spec.write_text(
        text.replace("train_seconds: 120", "train_seconds: 1").replace(
            "predict_seconds: 60", "predict_seconds: 1"
        )
    )
    # An odd duration names the helper among the machine's processes.
    seconds = f"60.{os.getpid()}{int(unsafe)}"
    code = "import subprocess\n" + stub(
        train=(
            f"helper = subprocess.Popen(['sleep', {seconds!r}])\nwhile True:\n    pass"
        )
    )
    folder = write_model(competition, code)

    started = time.monotonic()
    record = evaluate_failing(competition, folder, "timeout", unsafe=unsafe)
    elapsed = time.monotonic() - started

    assert elapsed < 30, elapsed
    assert "Model.train() exceeded its time limit of 1 s" in record.error["message"]
    # The model's own child is killed with it, not left running.
    assert not running_with_arguments(["sleep", seconds])


def test_a_model_that_swallows_the_time_limit_is_stopped_all_the_same(
    competition: Path,
) -> None:
    spec = competition / "playbooks" / "iris" / "playbook.yml"
    spec.write_text(spec.read_text().replace("train_seconds: 120", "train_seconds: 1"))
    code = "import time\n" + stub(
        train=(
            "while True:\n"
            "    try:\n"
            "        time.sleep(10)\n"
            "    except BaseException:\n"
            "        pass"
        )
    )
    folder = write_model(competition, code)

    record = evaluate_failing(competition, folder, "timeout")

    # The harness ends it, not the wall clock (train + 2 x predict + 30 s).
    assert (
        "Model.train() exceeded its time limit of 1 s and did not stop"
        in (record.error["message"])
    )


def running_with_arguments(argv: list[str]) -> list[int]:
    """Live processes whose command line is ``argv``; zombies count as ended."""
    wanted = "\0".join(argv).encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or (entry / "cmdline").read_bytes() != wanted:
                continue
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] != "Z":
            found.append(int(entry.name))
    return found


# --- the same-order rule (C04) and label types (C33) ---------------------------


def test_c04_series_with_shuffled_index_is_realigned(competition: Path) -> None:
    shuffled = iris_predicting("""
        order = items.sample(frac=1, random_state=0)
        assert not order.index.equals(items.index)
        return pd.Series(self.clf.predict(order[self.X]), index=order.index)
    """)
    plain = write_model(competition, GOOD_IRIS, name="plain")
    mixed = write_model(competition, shuffled, name="shuffled")

    expected, _ = evaluate(competition, plain)
    record, _ = evaluate(competition, mixed)

    assert expected.scored, expected.error
    assert record.scored, record.error
    assert record.scores == expected.scores
    assert record.scores["f1"] > 0.8


GRADES_PLAYBOOK = """\
name: grades
title: Wine grades
task: classification
target: quality
metrics:
  - accuracy
  - name: f1
    average: macro
"""


def grades_competition(repo: Path) -> None:
    """A playbook whose target holds integer classes (3, 5, 8)."""
    folder = repo / "playbooks" / "grades"
    folder.mkdir()
    (folder / "playbook.yml").write_text(GRADES_PLAYBOOK)
    internal = repo / ".camino" / "internal" / "grades"
    internal.mkdir(parents=True)
    train = [(q + d, q) for q in (3, 5, 8) for d in (0.0, 0.1, 0.2, 0.3)]
    hidden = [(q + d, q) for q in (3, 5, 8) for d in (0.05, 0.15)]
    # The public part (the smoke stage's data) is the same kind of rows.
    for part in (internal, folder / "data"):
        part.mkdir(parents=True, exist_ok=True)
        for name, rows in (("train.csv", train), ("validate.csv", hidden)):
            frame = pd.DataFrame(rows, columns=["x", "quality"])
            write_table(frame, part / name)


def grades_model(answer: str) -> str:
    return textwrap.dedent(f"""
        class Model:
            def __init__(self):
                self.X = ["x"]
                self.y = "quality"

            def train(self):
                pass

            def predict(self, items):
                return [{answer} for value in items["x"]]
    """)


@pytest.mark.parametrize(
    "answer",
    ["str(int(value))", "float(int(value))", "int(value)"],
    ids=["strings", "floats", "ints"],
)
def test_c33_integer_classes_accept_strings_and_floats(
    competition: Path, answer: str
) -> None:
    grades_competition(competition)
    folder = write_model(competition, grades_model(answer), playbook="grades")

    record, _ = evaluate(competition, folder)

    assert record.scored, record.error
    assert record.scores == {"accuracy": 1.0, "f1": 1.0}, record.score_problems


def test_c33_non_integer_answer_is_not_rounded_to_a_class(competition: Path) -> None:
    grades_competition(competition)
    folder = write_model(
        competition, grades_model("int(value) + 0.5"), playbook="grades"
    )

    record = evaluate_failing(competition, folder, "output")

    assert "3.5" in record.error["message"]
    assert "3, 5, 8" in record.error["message"]


# --- logs -------------------------------------------------------------------


def test_loud_model_works_and_its_log_is_capped(competition: Path) -> None:
    code = stub(
        init="self.data = pd.read_csv('data/train.csv')",
        train=(
            "print('x' * 80_000)\n"
            "print('last line of the log')\n"
            "self.guess = self.data[self.y].mode()[0]"
        ),
        predict="return [self.guess] * len(items)",
    )
    folder = write_model(competition, code)
    playbook = load_playbook(playbook_dir(competition, "iris"))
    train, validate = load_internal(competition, playbook)

    assessment = assess(folder, playbook, train, validate)

    assert assessment.rows == len(validate)
    assert 0 < assessment.scores.values["accuracy"] < 1
    assert "last line of the log" in assessment.log
    assert len(assessment.log.encode()) <= 64 * 1024
    assert "x" * 1000 in assessment.log


# --- the success path ---------------------------------------------------------


def test_good_model_is_scored_recorded_once_and_not_rerun(
    competition: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    # Importing model.py appends a line: the count of real runs. It writes
    # outside its work dir, so this test runs without the sandbox.
    code = textwrap.dedent(GOOD_IRIS) + (
        f"\nwith open({str(runs)!r}, 'a') as log:\n    log.write('run\\n')\n"
    )
    folder = write_model(competition, code)
    board = board_files(competition)

    record, is_new = evaluate(competition, folder, unsafe_no_sandbox=True)

    assert is_new and record.scored, record.error
    assert record.error is None
    names = [metric["name"] for metric in record.metrics]
    assert names == ["f1", "accuracy", "balanced_accuracy"]
    assert list(record.scores) == names
    assert all(0.8 < record.scores[name] <= 1 for name in names), record.scores
    assert isinstance(record.train_seconds, float) and record.train_seconds >= 0
    assert isinstance(record.predict_seconds, float)
    # The board's scores are on the public half of the internal rows.
    assert record.rows == internal_rows(competition, "iris") // 2
    assert record.path == "submissions/iris/tester/probe"
    files = record_files(competition, "iris")
    assert files == [record_path(competition, record)]
    stored = json.loads(files[0].read_text())
    assert stored["status"] == "scored"
    assert stored["scores"] == record.scores
    assert board_files(competition) == board
    # One run on the public data, one on the internal data.
    assert runs.read_text() == "run\n" * 2
    assert record.sandboxed is False
    assert record.stage is None

    again, is_new = evaluate(competition, folder, unsafe_no_sandbox=True)

    assert not is_new
    assert again == record
    assert runs.read_text() == "run\n" * 2
    assert record_files(competition, "iris") == files

    forced, is_new = evaluate(competition, folder, force=True, unsafe_no_sandbox=True)

    assert is_new and forced.scored
    assert runs.read_text() == "run\n" * 4
    assert forced.scores == record.scores
    assert record_files(competition, "iris") == files


def test_changed_model_is_evaluated_again(competition: Path) -> None:
    folder = write_model(competition, GOOD_IRIS)
    first, _ = evaluate(competition, folder)
    (folder / "model.py").write_text(
        textwrap.dedent(GOOD_IRIS).replace(
            "KNeighborsClassifier(3)", "KNeighborsClassifier(1)"
        )
    )

    second, is_new = evaluate(competition, folder)

    assert is_new
    assert second.key != first.key
    assert len(record_files(competition, "iris")) == 2
    assert os.path.exists(record_path(competition, first))


def test_a_forgotten_return_is_named(competition: Path) -> None:
    forgot = write_model(
        competition, stub(predict="len(items)  # the return is missing"), name="forgot"
    )
    record = evaluate_failing(competition, forgot, "output")
    assert "returned None; did you forget return?" in record.error["message"]


def test_the_failing_line_of_model_py_is_named(competition: Path) -> None:
    crashing = write_model(competition, stub(train="{}['Species']"), name="crash")
    record = evaluate_failing(competition, crashing, "train")
    assert re.search(
        r"KeyError: 'Species' \(model\.py line \d+\)", record.error["message"]
    )
