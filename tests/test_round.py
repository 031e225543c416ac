"""A whole local round on the bundled playbooks and example submissions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import PLAYBOOKS

from camino.commands.round import run_round, submissions_of
from camino.errors import SpecError


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.slow
def test_a_round_ranks_every_playbook_and_a_second_round_changes_nothing(
    with_examples: Path,
) -> None:
    repo = with_examples

    first = run_round(repo)
    board_after_first = snapshot(repo / "leaderboard")
    second = run_round(repo)

    submissions = [f for name in PLAYBOOKS for f in submissions_of(repo, name)]
    assert len(first.new) == len(submissions) >= 12
    assert not first.failed, [r.error for r in first.failed]
    assert not second.new and len(second.reused) == len(submissions)
    assert snapshot(repo / "leaderboard") == board_after_first

    index = (repo / "leaderboard" / "README.md").read_text()
    for name in PLAYBOOKS:
        page = (repo / "leaderboard" / f"{name}.md").read_text()
        assert f"({name}.md)" in index
        assert "| 1 |" in page and "train s" in page
        paths = (repo / "leaderboard" / "results" / name).glob("*.json")
        records = [json.loads(path.read_text()) for path in paths]
        kinds = [record["kind"] for record in records]
        assert kinds.count("submission") == len(submissions_of(repo, name))
        assert kinds.count("ensemble") <= 1
        for record in records:
            assert record["status"] == "scored"
            assert record["train_seconds"] is not None
    assert len(first.ensembles) >= 2  # playbooks whose members differ enough


def test_a_bad_meta_file_stops_before_any_record_or_board(with_examples: Path) -> None:
    repo = with_examples
    bad = repo / "submissions" / "iris" / "ada" / "nearest-neighbours" / "meta.yml"
    bad.write_text("playbook: iris\nname: nearest-neighbours\nmetrics: f1\n")

    with pytest.raises(SpecError, match=r"meta\.yml line 3: metrics: must be a list"):
        run_round(repo)

    assert not (repo / "leaderboard" / "README.md").exists()
    assert not (repo / "leaderboard" / "results").exists()
