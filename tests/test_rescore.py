"""Batch evaluation (camino evaluate --all, shards) and re-scoring a board
when its internal data changes: real evaluations in the sandbox, on the
local internal store of a split competition."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT, refresh_internal_data
from typer.testing import CliRunner, Result

from camino.app import app
from camino.board import build_board
from camino.commands.batch import (
    Shard,
    evaluate_all,
    live_folders,
    parse_shard,
)
from camino.commands.rescore import (
    RescoreSummary,
    Stale,
    current_version,
    move_boards,
    rescore,
)
from camino.errors import SpecError
from camino.evaluator.pipeline import evaluate
from camino.evaluator.results import (
    FAULT_PLATFORM,
    load_records,
    pinned_version,
)
from camino.playbook import all_playbooks, load_playbook, playbook_dir

IRIS_EXAMPLES = ["ada/nearest-neighbours", "grace/random-forest", "linus/decision-tree"]


def camino(*args: object) -> Result:
    return CliRunner().invoke(app, [str(arg) for arg in args])


@pytest.fixture
def iris_round(competition: Path) -> Path:
    """The competition with three iris submissions, all evaluated."""
    for name in IRIS_EXAMPLES:
        source = ROOT / "submissions" / "iris" / name
        shutil.copytree(source, competition / "submissions" / "iris" / name)
    summary = evaluate_all(competition, [iris(competition)])
    assert len(summary.new) == 4 and not summary.failed  # three and the baseline
    return competition


def iris(repo: Path):
    return load_playbook(playbook_dir(repo, "iris"))


def test_shards_share_out_the_live_folders_once_each(with_examples: Path) -> None:
    folders = live_folders(with_examples, all_playbooks(with_examples))

    shares = [Shard(index, 3).take(folders) for index in (1, 2, 3)]

    assert sorted(f for share in shares for f in share) == sorted(folders)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    assert parse_shard(" 2/3 ") == Shard(2, 3)


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/3"])
def test_a_bad_shard_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(SpecError, match=r"--shard .*expected K/N with 1 <= K <= N"):
        parse_shard(text)


def test_the_first_evaluation_pins_the_board_and_a_batch_runs_once(
    iris_round: Path,
) -> None:
    version = current_version(iris_round, iris(iris_round))

    again = evaluate_all(iris_round, [iris(iris_round)])

    assert pinned_version(iris_round, "iris") == version
    assert not again.new and len(again.reused) == 4
    assert (iris_round / "leaderboard" / "results" / "iris" / "DATA_VERSION").is_file()


def test_new_internal_data_is_ranked_only_after_a_rescore_moves_everyone(
    iris_round: Path,
) -> None:
    repo, playbook = iris_round, iris(iris_round)
    old = current_version(repo, playbook)
    refresh_internal_data(repo)
    new = current_version(repo, playbook)
    assert new != old

    # A pull request scored between the refresh and the re-score.
    early = repo / "submissions" / "iris" / "grace" / "random-forest"
    record, _ = evaluate(repo, early, force=True)
    waiting = build_board(repo, playbook)
    assert record.data_version == new and waiting.data_version == old
    assert {row.record.data_version for row in waiting.rows} == {old}
    assert waiting.other_versions == 1
    assert "1 evaluations on other versions" in " ".join(waiting.notes)

    summary = rescore(repo, [playbook])

    assert pinned_version(repo, "iris") == new
    # Three evaluations: the early one is reused.
    assert len(summary.batch.new) == 3 and len(summary.batch.reused) == 1
    (table,) = summary.tables
    assert (table.old_version, table.new_version) == (old, new)
    models = {change.model for change in table.changes}
    assert models == {name.split("/")[1] for name in IRIS_EXAMPLES} | {"template"}
    assert all(change.status == "ranked" for change in table.changes)
    moved = build_board(repo, playbook)
    assert {row.record.data_version for row in moved.rows} == {new}
    page = (repo / "leaderboard" / "iris.md").read_text()
    assert f"Internal data version `{new}`" in page
    assert f"was `{old}`" in render_changes_text(repo, summary)

    # Nothing changed since: a second re-score evaluates nothing.
    second = rescore(repo, [playbook])
    assert not second.tables and second.unchanged == ["iris"]
    assert not second.batch.records


def render_changes_text(repo: Path, summary: RescoreSummary) -> str:
    from camino.rank_changes import render_changes

    text = render_changes(repo, summary.tables)
    assert "| rank now | before | Δ |" in text
    return text


def test_a_platform_failure_holds_the_board_on_its_old_data(
    iris_round: Path,
) -> None:
    repo, playbook = iris_round, iris(iris_round)
    old = pinned_version(repo, "iris")
    refresh_internal_data(repo)
    records = load_records(repo, "iris")
    broken = replace(records[0], status="failed", fault=FAULT_PLATFORM)
    stale = Stale(playbook, old, current_version(repo, playbook))
    summary = RescoreSummary()

    move_boards(repo, [stale], [broken], summary)

    assert pinned_version(repo, "iris") == old
    assert not summary.tables
    ((name, reason),) = summary.held
    assert name == "iris" and broken.path in reason and "run again" in reason


def test_a_failure_on_the_new_data_shows_in_the_rank_changes(
    iris_round: Path,
) -> None:
    repo, playbook = iris_round, iris(iris_round)
    refresh_internal_data(repo)
    # The tree now fails on every small table, the new validation data too.
    model = repo / "submissions" / "iris" / "linus" / "decision-tree" / "model.py"
    model.write_text(
        model.read_text()
        + "\n\n_predict = Model.predict\n\n"
        + "def predict(self, items):\n"
        + "    if len(items) < 60:\n"
        + "        raise ValueError('too few rows')\n"
        + "    return _predict(self, items)\n\n"
        + "Model.predict = predict\n"
    )

    summary = rescore(repo, [playbook])

    (table,) = summary.tables
    failed = [c for c in table.changes if c.model == "decision-tree"]
    # Not on the new board: its old row is reported as failed, by category.
    assert [(c.status, c.error, c.after) for c in failed] == [
        ("failed", "predict", None)
    ]


def test_evaluate_all_on_the_command_line(iris_round: Path) -> None:
    result = camino("evaluate", "--all", "--playbook", "iris", "--repo", iris_round)

    assert result.exit_code == 0, result.output
    assert "0 evaluated, 4 already evaluated, 0 failed, 0 skipped" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a FOLDER (submissions/<playbook>/<author>/<model>) or --all"),
        (["--all", "submissions/iris/x/y"], "give a FOLDER or --all, not both"),
        (["--playbook", "iris"], "--playbook and --shard go with --all"),
        (["--all", "--playbook", "nope"], "--playbook 'nope': no playbooks/nope/"),
        (["--all", "--shard", "5/4"], "--shard '5/4': expected K/N"),
    ],
)
def test_evaluate_refuses_options_that_do_not_go_together(
    competition: Path, args: list[str], message: str
) -> None:
    result = camino("evaluate", *args, "--repo", competition)

    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (competition / "leaderboard" / "results").exists()


def test_rescore_on_the_command_line_writes_the_table(
    iris_round: Path, tmp_path: Path
) -> None:
    refresh_internal_data(iris_round)
    table = tmp_path / "changes.md"

    moved = camino(
        "rescore", "--playbook", "iris", "--changes", table, "--repo", iris_round
    )
    again = camino("rescore", "--playbook", "iris", "--repo", iris_round)

    assert moved.exit_code == 0, moved.output
    assert "| rank now | before | Δ |" in table.read_text()
    assert "re-scored on internal data" in moved.output
    assert again.exit_code == 0
    assert "already on the current internal data: iris" in again.output


def test_rescore_refuses_a_table_path_it_could_not_write_before_any_work(
    iris_round: Path, tmp_path: Path
) -> None:
    refresh_internal_data(iris_round)
    pinned = pinned_version(iris_round, "iris")

    for where in (tmp_path / "missing" / "changes.md", tmp_path):
        result = camino("rescore", "--changes", where, "--repo", iris_round)

        assert result.exit_code == 2, result.output
        assert f"--changes {where}:" in result.output
        assert "Traceback" not in result.output
    assert pinned_version(iris_round, "iris") == pinned


def test_a_run_on_data_the_board_does_not_rank_says_so(iris_round: Path) -> None:
    refresh_internal_data(iris_round)
    folder = iris_round / "submissions" / "iris" / "ada" / "nearest-neighbours"

    result = camino("evaluate", folder, "--force", "--repo", iris_round)

    assert result.exit_code == 0, result.output
    assert "the board ranks" in result.output and "camino rescore" in result.output


def test_evaluate_all_reports_folders_it_cannot_take(iris_round: Path) -> None:
    (iris_round / "submissions" / "iris" / "bo" / "no-meta").mkdir(parents=True)
    (iris_round / "submissions" / "irsi" / "bo" / "typo").mkdir(parents=True)

    result = camino("evaluate", "--all", "--repo", iris_round)

    assert result.exit_code == 2, result.output
    assert "no-meta" in result.output and "meta.yml" in result.output
    assert "submissions/irsi/: no playbook 'irsi'" in result.output
    assert "2 skipped" in result.output


def test_a_failure_cell_cannot_open_html_in_the_table() -> None:
    from camino.board import moved_cell
    from camino.rank_changes import Change

    change = Change("ada", "m", 1, None, 0.9, None, "failed", "<!-- x | y")

    assert moved_cell(change) == "failed (&lt;!-- x \\| y)"
