"""A whole local round on the bundled playbooks and example submissions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import PLAYBOOKS, ROOT

from camino.commands.batch import baselines_of, submissions_of
from camino.commands.round import run_round
from camino.playbook import all_playbooks


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
    baselines = baselines_of(repo, all_playbooks(repo))
    evaluated = len(submissions) + len(baselines)
    assert len(submissions) >= 12 and len(baselines) == len(PLAYBOOKS)
    assert len(first.new) == evaluated
    assert not first.failed, [r.error for r in first.failed]
    assert not second.new and len(second.reused) == evaluated
    assert snapshot(repo / "leaderboard") == board_after_first

    index = (repo / "leaderboard" / "README.md").read_text()
    for name in PLAYBOOKS:
        page = (repo / "leaderboard" / f"{name}.md").read_text()
        assert f"({name}.md)" in index
        assert "| 1 " in page and "train s" in page
        assert "| — | [template](../playbooks/" in page
        assert f"(plots/{name}.svg)" in page
        assert (repo / "leaderboard" / "plots" / f"{name}.svg").is_file()
        paths = list((repo / "leaderboard" / "results" / name).glob("*.json"))
        records = [json.loads(path.read_text()) for path in paths]
        kinds = [record["kind"] for record in records]
        # Every example submission, and the template as the baseline.
        assert kinds.count("submission") == len(submissions_of(repo, name)) + 1
        assert kinds.count("ensemble") <= 1
        for path, record in zip(paths, records, strict=True):
            assert record["status"] == "scored"
            assert record["train_seconds"] is not None
            scored = {k for k, v in record["scores"].items() if v is not None}
            assert set(record["intervals"]) == scored
            # Where it ran, ensembles included; what was installed, for
            # submissions (an ensemble's members each have their own).
            assert record["runner"]["cpus"] > 0 and record["camino_version"]
            if record["kind"] == "submission":
                assert len(record["environment_lock"]) == 16
            assert (repo / ".camino" / "private" / name / path.name).is_file()
    assert len(first.ensembles) >= 2  # playbooks whose members differ enough


def test_a_bad_meta_file_is_skipped_and_holds_up_nobody(competition: Path) -> None:
    repo = competition
    examples = ROOT / "submissions" / "iris"
    for folder in ("ada/nearest-neighbours", "linus/decision-tree"):
        shutil.copytree(examples / folder, repo / "submissions" / "iris" / folder)
    bad = repo / "submissions" / "iris" / "ada" / "nearest-neighbours" / "meta.yml"
    bad.write_text("playbook: iris\nname: nearest-neighbours\nmetrics: f1\n")

    summary = run_round(repo)

    assert [folder.name for folder, _ in summary.skipped] == ["nearest-neighbours"]
    assert "meta.yml line 3: metrics: must be a list" in summary.skipped[0][1]
    participants = [r.folder for r in summary.new if not r.is_baseline]
    assert participants == ["linus/decision-tree"]
    assert not list((repo / "leaderboard" / "results" / "iris").glob("ada--*"))
    assert "decision-tree" in (repo / "leaderboard" / "iris.md").read_text()
