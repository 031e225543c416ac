"""The sticky comment's text: under GitHub's limit however it counts (CASES
C21), the failing step in plain words, the end of the message kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import write_model
from github_standin import GitHubStandIn, git, too_long
from support import (
    BOT_TOKEN,
    Runner,
    clone,
    commit_files,
    iris_record,
    make_remote,
)

from camino.action import comment
from camino.action.github_api import connect, upsert_comment
from camino.action.policy import Refusal
from camino.action.quota import Quota
from camino.evaluator.pipeline import evaluate
from camino.evaluator.results import Record

CONTEXT = comment.Context("0123456789abcdef", "http://127.0.0.1:1/run", "b/", "f")
LOUD_FAILURE = """
    import pandas as pd

    class Model:
        def __init__(self):
            self.data = pd.read_csv("data/train.csv")
            self.y = "species"
            self.X = [c for c in self.data.columns if c != self.y]

        def train(self):
            print("x" * 80000)
            raise ValueError("{filler}" * 30000 + " boom")
"""


def byte_size(text: str) -> int:
    return len(text.encode())


@pytest.mark.parametrize("filler", ["y", "🙂"])
def test_a_model_that_prints_and_raises_a_huge_error_gets_a_short_comment(
    competition: Path, filler: str
) -> None:
    code = LOUD_FAILURE.replace("{filler}", filler)
    folder = write_model(competition, code, author="carol", name="loud")
    record, _ = evaluate(competition, folder)

    body = comment.failed(CONTEXT, record, Quota(5, 1, None))

    assert record.error is not None and record.error["category"] == "train"
    assert byte_size(body) <= comment.LIMIT_BYTES
    assert not too_long(body)
    assert "failed while training (Model.train())" in body
    assert body.rstrip().count("boom") == 1 and "bytes cut" in body
    assert "x" * 1000 not in body  # the model's printed output is never shown


def test_any_body_is_clipped_below_the_limit_with_a_note() -> None:
    refusals = [
        Refusal(f"submissions/{'🙂' * 20}/{n}.py", "outside") for n in range(5000)
    ]

    body = comment.refused(CONTEXT, refusals)

    assert byte_size(body) <= comment.LIMIT_BYTES
    assert body.startswith(comment.MARKER)
    assert "comment truncated to fit GitHub's limit" in body
    assert body.rstrip().endswith("</sub>")


@pytest.mark.parametrize(
    ("path", "cell"),
    [
        (
            "x` [click](https://evil.example) `y",
            "`x' [click](https://evil.example) 'y`",
        ),
        ("a|b.py", "`a\\|b.py`"),
        ("line\nbreak.py", "`line break.py`"),
    ],
    ids=["backtick", "pipe", "line break"],
)
def test_a_refused_path_stays_in_its_code_span(path: str, cell: str) -> None:
    body = comment.refused(CONTEXT, [Refusal(path, "outside")])

    assert f"| {cell} | a submission only adds files under submissions/ |" in body


def test_a_score_problem_is_shown_as_code_not_markdown() -> None:
    record = iris_record("carol", 0.5)
    record.scores = {"f1": None}
    record.score_problems = {"f1": "no `f1` [click](https://evil.example) | x"}

    rows = comment._metric_rows(record)

    assert rows[0] == (
        "| f1 (macro) (↑ higher is better) | "
        "n/a: `no 'f1' [click](https://evil.example) \\| x` |"
    )


def test_a_folder_name_quoted_in_a_refusal_stays_in_a_code_span() -> None:
    folder = "[x](https://evil.example)"
    refusal = Refusal(
        f"submissions/iris/{folder}/knn/model.py",
        "author",
        f"folder {folder!r}, author 'alice'",
    )

    body = comment.refused(CONTEXT, [refusal])

    assert (
        "| the folder's login must be the pull request author's "
        "(`folder '[x](https://evil.example)', author 'alice'`) |"
    ) in body


def test_a_backtick_fence_in_the_message_cannot_close_the_block() -> None:
    record_error = "boom ````\n# heading injected"
    block = comment._block(record_error)

    assert block.startswith("`````\n") and block.endswith("\n`````")


def failed_record(**provenance: object) -> Record:
    record = iris_record("carol", 0.0)
    record.status, record.error = "failed", {"category": "train", "message": "x"}
    for name, value in provenance.items():
        setattr(record, name, value)
    return record


def test_the_provenance_line_says_what_reproduces_the_number() -> None:
    record = failed_record(
        data_version="0123456789abcdef",
        environment_lock="fedcba9876543210",
        submission_commit="a" * 40,
        runner={
            "name": "camino-x7k2p",
            "machine_type": "c6a.large",
            "cpus": 2.0,
            "memory_mb": 3900,
        },
    )

    body = comment.failed(CONTEXT, record, None)

    [line] = [line for line in body.splitlines() if "Provenance:" in line]
    assert line == (
        "<sub>Provenance: data version `0123456789ab`, environment "
        f"`fedcba987654`, commit `{'a' * 12}`, runner `camino-x7k2p` "
        "(`c6a.large`, 2 CPUs, 3900 MB)</sub>"
    )


def test_a_record_from_before_provenance_gets_no_provenance_line() -> None:
    body = comment.failed(CONTEXT, failed_record(), None)

    assert "Provenance" not in body


def test_odd_runner_values_stay_inside_their_code_span() -> None:
    record = failed_record(
        runner={"name": "a`b\n# heading" + "x" * 500, "cpus": "many"}
    )

    body = comment.failed(CONTEXT, record, None)

    [line] = [line for line in body.splitlines() if "Provenance:" in line]
    assert "runner `a'b # heading" in line and "x" * 100 not in line
    assert "CPUs" not in line and "# heading" not in body.replace(line, "")


def test_limit_comment_names_the_next_slot() -> None:
    slot = dt.datetime(2026, 12, 5, 14, 3, tzinfo=dt.UTC)

    body = comment.limited(CONTEXT, Quota(5, 5, slot), "iris")

    assert "daily limit reached (5/5 on iris)" in body
    assert "2026-12-05 14:03 UTC" in body


def test_sticky_comment_is_edited_not_duplicated_and_not_taken_over(
    standin: GitHubStandIn, competition: Path, tmp_path: Path
) -> None:
    bare = make_remote(competition, tmp_path / "remotes")
    standin.add_repo("org/comp", bare, {"github-actions[bot]"})
    standin.add_user("alice", "alice-token")
    fork = standin.fork(standin.repos["org/comp"], "alice")
    work = clone(fork.path, tmp_path / "alice")
    commit_files(work, {"submissions/iris/alice/m/x.py": "x"}, "m", branch="m")
    git("-C", work, "push", "--quiet", "origin", "m")
    number = standin.open_pull("org/comp", "alice/comp", "m", "alice", "m").number
    # A participant pastes the marker: the bot must not try to edit that.
    standin.add_comment("org/comp", number, "alice", comment.MARKER + "\nfake")
    for n in range(3):  # more comments than one page, to exercise Link paging
        standin.add_comment("org/comp", number, "alice", f"note {n}")
    runner = Runner(tmp_path / "runner", standin, "org/comp")
    environ = runner.environ("pull_request_target", {}, BOT_TOKEN)
    github = connect(environ["GITHUB_API_URL"], BOT_TOKEN, environ)
    github.per_page = 2
    pull = github.get_repo("org/comp").get_pull(number)

    first = upsert_comment(pull, comment.progress(CONTEXT, "queued"))
    second = upsert_comment(pull, comment.progress(CONTEXT, "publish"))

    assert first.id == second.id
    bodies = [c.body for c in standin.comments_on("org/comp", number)]
    assert bodies.count(comment.MARKER + "\nfake") == 1
    assert sum("recording the result" in b for b in bodies) == 1
    assert any("page=2" in path for _, path in standin.requests)
