"""The batch workflow's steps (evaluate-all.yml): plan the shards, evaluate
each shard on the runner, commit every record and the board in one commit.

Real git remotes and clones, real evaluations in the sandbox (three: two
iris examples and the baseline); the plan tests use empty model folders,
since planning evaluates nothing.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from conftest import ROOT
from github_standin import git
from support import (
    clone,
    iris_record,
    make_remote,
    read_outputs,
    remote_files,
    remote_text,
)
from typer.testing import CliRunner

from camino.action.batch import (
    MATRIX_LIMIT,
    evaluate_shard_job,
    plan_job,
    publish_records,
)
from camino.action.handover import hand_over
from camino.app import app
from camino.commands.batch import choose_named, live_folders, parse_shard
from camino.errors import CaminoError
from camino.evaluator.results import Record, hash_folder, pin_version
from camino.evaluator.runner import SKIPPED
from camino.playbook import all_playbooks

EXAMPLES = ["ada/nearest-neighbours", "grace/random-forest"]
PINNED = "a" * 16


def actions_environ(folder: Path) -> dict[str, str]:
    """The step's output and summary files, as the runner gives them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "output").write_text("")
    (folder / "summary.md").write_text("")
    return {
        "GITHUB_OUTPUT": str(folder / "output"),
        "GITHUB_STEP_SUMMARY": str(folder / "summary.md"),
    }


def outputs(environ: dict[str, str]) -> dict[str, str]:
    return read_outputs(Path(environ["GITHUB_OUTPUT"]).read_text())


def summary(environ: dict[str, str]) -> str:
    return Path(environ["GITHUB_STEP_SUMMARY"]).read_text()


def empty_models(repo: Path, count: int, playbook: str = "iris") -> None:
    """``count`` model folders with a meta.yml and nothing to run."""
    for index in range(count):
        folder = repo / "submissions" / playbook / f"user{index:03d}" / "m"
        folder.mkdir(parents=True)
        (folder / "meta.yml").write_text(f"playbook: {playbook}\nname: m\n")


# --- plan -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("models", "max_jobs", "jobs"),
    [(0, MATRIX_LIMIT, 1), (2, MATRIX_LIMIT, 3), (300, MATRIX_LIMIT, 256), (9, 4, 4)],
)
def test_plan_gives_one_folder_a_job_up_to_the_matrix_limit(
    competition: Path, tmp_path: Path, models: int, max_jobs: int, jobs: int
) -> None:
    empty_models(competition, models)
    environ = actions_environ(tmp_path / "runner")

    shards = plan_job(environ, competition, ["iris"], max_jobs)

    count = models + 1  # and the template, the baseline
    assert outputs(environ) == {"shards": json.dumps(shards), "count": str(count)}
    assert shards == [f"{k}/{jobs}" for k in range(1, jobs + 1)]
    folders = live_folders(competition, choose_named(competition, ["iris"]))
    taken = [f for s in shards for f in parse_shard(s).take(folders)]
    assert sorted(taken) == sorted(folders)
    sizes = [len(parse_shard(s).take(folders)) for s in shards]
    assert max(sizes) - min(sizes) <= 1


def test_plan_without_a_playbook_covers_every_playbook(
    competition: Path, tmp_path: Path
) -> None:
    empty_models(competition, 2, "wine")
    environ = actions_environ(tmp_path / "runner")

    shards = plan_job(environ, competition)

    assert len(shards) == 2 + len(all_playbooks(competition))


def test_plan_of_nothing_is_an_empty_matrix(competition: Path, tmp_path: Path) -> None:
    (competition / "playbooks" / "iris" / "template" / "model.py").unlink()
    environ = actions_environ(tmp_path / "runner")

    assert plan_job(environ, competition, ["iris"]) == []
    assert outputs(environ) == {"shards": "[]", "count": "0"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "--max-jobs", "0"], "--max-jobs 0: expected 1 to 256"),
        (["plan", "--max-jobs", "257"], "--max-jobs 257: expected 1 to 256"),
        (["plan", "--playbook", "nope"], "--playbook 'nope': no playbooks/nope/"),
        (["evaluate-shard"], "--shard (CAMINO_SHARD) is missing"),
        (["evaluate-shard", "--shard", "4/3"], "--shard '4/3': expected K/N"),
        (["publish-records", "--out", "{bad}"], "nope.json: not a camino record"),
        (["detect", "--playbook", "nope"], "--playbook 'nope': no playbooks/nope/"),
        (["publish-rescore"], "GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_API_URL not"),
    ],
)
def test_bad_input_to_a_step_is_named_without_a_traceback(
    competition: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "nope.json").write_text("[1, 2]")

    given = [arg.format(bad=tmp_path / "bad") for arg in args]
    result = CliRunner().invoke(
        app,
        ["action", *given, "--root", str(competition)],
        env={"GITHUB_STEP_SUMMARY": ""},
        catch_exceptions=False,
    )

    assert result.exit_code == 2, result.output
    assert message in result.output.replace("%0A", "\n")
    assert "Traceback" not in result.output


# --- evaluate and publish -------------------------------------------------------


@pytest.fixture
def batch_remote(competition: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A competition with two iris examples on a bare remote, none of them
    evaluated; and the runner's checkout, with the internal data."""
    for name in EXAMPLES:
        source = ROOT / "submissions" / "iris" / name
        shutil.copytree(source, competition / "submissions" / "iris" / name)
    bare = make_remote(competition, tmp_path / "remotes")
    return bare, clone(bare, tmp_path / "runner", internal_from=competition)


def test_a_batch_lands_in_one_commit_and_once(
    batch_remote: tuple[Path, Path], tmp_path: Path
) -> None:
    bare, runner = batch_remote
    environ = actions_environ(tmp_path / "actions")
    out = tmp_path / "records"

    shards = plan_job(environ, runner, ["iris"])
    for shard in shards:  # each would be one matrix job
        evaluate_shard_job(environ, runner, shard, out, ["iris"])
    commit = publish_records(environ, clone(bare, tmp_path / "publisher"), out)

    handed = sorted(path.name for path in out.glob("*.json"))
    assert shards == ["1/3", "2/3", "3/3"] and len(handed) == 3
    assert commit is not None
    assert git("-C", bare, "rev-list", "--count", "main") == "2"
    files = remote_files(bare)
    assert all(f"leaderboard/results/iris/{name}" in files for name in handed)
    assert "leaderboard/results/iris/DATA_VERSION" in files
    board = remote_text(bare, "leaderboard/iris.md")
    assert "random-forest" in board and "nearest-neighbours" in board
    assert "3 records committed" in summary(environ)
    assert "shard 3/3" in summary(environ)

    # Run again: the shards find their records, publish has nothing to add.
    again = tmp_path / "again"
    for shard in shards:
        assert not evaluate_shard_job(environ, runner, shard, again, ["iris"]).new
    assert publish_records(environ, clone(bare, tmp_path / "rerun"), again) is None
    assert publish_records(environ, clone(bare, tmp_path / "rerun2"), out) is None
    assert git("-C", bare, "rev-list", "--count", "main") == "2"


@pytest.fixture
def live_remote(competition: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A remote whose iris board is pinned, with one live folder, ada/knn
    (not evaluated: these tests hand over records made up for it)."""
    folder = competition / "submissions" / "iris" / "ada" / "knn"
    folder.mkdir(parents=True)
    (folder / "meta.yml").write_text("playbook: iris\nname: knn\n")
    (folder / "model.py").write_text("class Model: ...\n")
    pin_version(competition, "iris", PINNED)
    bare = make_remote(competition, tmp_path / "remotes")
    return bare, clone(bare, tmp_path / "publisher")


def of_ada(publisher: Path, f1: float, **changes: object) -> Record:
    """A record of ada/knn's files as the publisher's checkout has them."""
    files = hash_folder(publisher / "submissions" / "iris" / "ada" / "knn", SKIPPED)
    fields = {"data_version": PINNED, "submission_hash": files[:16], **changes}
    return replace(iris_record("ada", f1), **fields)


def test_records_on_other_data_are_committed_but_not_ranked(
    live_remote: tuple[Path, Path], tmp_path: Path
) -> None:
    bare, publisher = live_remote
    environ = actions_environ(tmp_path / "actions")
    record = of_ada(publisher, 0.9, data_version="b" * 16)
    hand_over(tmp_path / "out", record)

    assert publish_records(environ, publisher, tmp_path / "out") is not None

    assert f"leaderboard/results/iris/{record.file_name}" in remote_files(bare)
    assert remote_text(bare, "leaderboard/results/iris/DATA_VERSION").strip() == PINNED
    text = summary(environ)
    assert (
        f"iris: 1 records are on other internal data than the board ranks (`{PINNED}`)"
        in text
    )
    assert "not ranked until a re-score" in text
    assert ".github/workflows/rescore.yml" in text


TAMPERED = [
    (
        {"path": "leaderboard/iris.md"},
        "path 'leaderboard/iris.md' does not match its playbook, author and model",
    ),
    ({"kind": "ensemble"}, "kind 'ensemble' by 'ada'"),
    ({"author": "camino"}, "kind 'submission' by 'camino'"),
    ({"playbook": "wine"}, "expected 'submissions/wine/ada/knn'"),
    ({"playbook": "nope"}, "unknown playbook 'nope'"),
    (
        {"author": "mallory", "path": "submissions/iris/mallory/knn"},
        "submissions/iris/mallory/knn is not a model folder of this branch",
    ),
    ({"model": "Knn!"}, "model 'Knn!' is not a valid name"),
    ({"key": "not-a-key"}, "key 'not-a-key' is malformed"),
    ({"scores": {"f1": "1.0"}}, "scores['f1'] '1.0'; expected null or a finite"),
]


@pytest.mark.parametrize(("change", "message"), TAMPERED)
def test_a_tampered_record_is_refused_by_name(
    live_remote: tuple[Path, Path], tmp_path: Path, change: dict, message: str
) -> None:
    bare, publisher = live_remote
    before = git("-C", bare, "rev-parse", "main")
    bad = of_ada(publisher, 0.8, **{"key": "0" * 12, **change})
    out = tmp_path / "out"
    hand_over(out, of_ada(publisher, 0.9))
    hand_over(out, bad)

    with pytest.raises(CaminoError) as refused:
        publish_records(actions_environ(tmp_path / "actions"), publisher, out)

    assert str(refused.value).startswith(f"{bad.file_name}: ")
    assert message in str(refused.value)
    assert git("-C", bare, "rev-parse", "main") == before


def test_a_record_under_another_name_is_refused(
    live_remote: tuple[Path, Path], tmp_path: Path
) -> None:
    _, publisher = live_remote
    record = iris_record("ada", 0.9)
    out = tmp_path / "out"
    out.mkdir()
    (out / "ada--best--000000000000.json").write_text(json.dumps(asdict(record)))

    with pytest.raises(CaminoError, match=r"^ada--best--000000000000\.json: .* is "):
        publish_records(actions_environ(tmp_path / "a"), publisher, out)
