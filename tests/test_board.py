"""Ranking and rendering of the board, from hand-made records."""

from __future__ import annotations

from pathlib import Path

import pytest

from camino.board import build_board, rank, render, write_boards
from camino.errors import SpecError
from camino.evaluator.results import Record, write_record
from camino.metrics import get_metric
from camino.playbook import load_playbook

EXPECTED = Path(__file__).parent / "resources" / "iris-board.md"


def record(
    author: str,
    scores: dict[str, float | None],
    *,
    model: str = "m",
    when: str = "2026-12-01T10:00:00+00:00",
    status: str = "scored",
    key: str | None = None,
) -> Record:
    return Record(
        playbook="iris",
        author=author,
        model=model,
        path=f"submissions/iris/{author}/{model}",
        key=key or f"{author}{model}{when}"[-12:],
        status=status,
        metrics=[],
        scores=scores,
        train_seconds=0.5,
        predict_seconds=0.01,
        rows=23,
        evaluated_at=when,
    )


F1 = get_metric("f1", "classification")
ACCURACY = get_metric("accuracy", "classification")
MAE = get_metric("mae", "regression")


def test_a_failed_or_nan_score_never_ranks_above_a_number() -> None:
    # CASES C01: NaN compares unordered, so a naive sort can put it first.
    good = record("good", {"f1": 0.9})
    nan = record("nan", {"f1": float("nan")})
    missing = record("missing", {"f1": None})
    failed = record("failed", {}, status="failed")

    ranked = rank([nan, missing, failed, good], [F1])

    assert next(r.author for r in ranked) == "good"
    assert "failed" not in [r.author for r in ranked]


def test_each_model_folder_shows_its_best_result_not_its_latest() -> None:
    # CASES C03: carol's newer, worse evaluation must not replace her best.
    v1 = record("carol", {"f1": 0.95}, when="2026-12-01T10:00:00+00:00")
    v2 = record("carol", {"f1": 0.80}, when="2026-12-02T10:00:00+00:00")
    other = record("dave", {"f1": 0.90})

    ranked = rank([v2, other, v1], [F1])

    assert [(r.author, r.scores["f1"]) for r in ranked] == [
        ("carol", 0.95),
        ("dave", 0.90),
    ]


def test_lower_is_better_metrics_rank_the_smallest_first() -> None:
    # CASES C36, regression variant.
    ranked = rank([record("a", {"mae": 1.2}), record("b", {"mae": 0.9})], [MAE])
    assert [r.author for r in ranked] == ["b", "a"]


def test_ties_fall_to_the_next_metric_then_the_earlier_evaluation() -> None:
    first = record("first", {"f1": 0.9, "accuracy": 0.8}, when="2026-12-01T09:00:00")
    later = record("later", {"f1": 0.9, "accuracy": 0.8}, when="2026-12-01T11:00:00")
    better = record("better", {"f1": 0.9, "accuracy": 0.85}, when="2026-12-03T00:00")

    ranked = rank([later, better, first], [F1, ACCURACY])

    assert [r.author for r in ranked] == ["better", "first", "later"]


def test_values_land_under_their_own_metric_whatever_the_record_order(
    competition: Path,
) -> None:
    # CASES C36: the playbook, not the record, decides the columns.
    playbook = load_playbook(competition / "playbooks" / "iris")
    write_record(competition, record("x", {"accuracy": 0.9, "f1": 0.8}))
    write_record(competition, record("y", {"f1": 0.85, "accuracy": 0.85}))

    board = build_board(competition, playbook)

    assert [row.record.author for row in board.rows] == ["y", "x"]
    names = [metric.name for metric in playbook.metric_objects]
    assert board.rows[1].cells[names.index("accuracy")] == "0.9000"
    assert board.rows[1].cells[names.index("f1")] == "0.8000"


def test_the_rendered_board_matches_the_stored_page(competition: Path) -> None:
    playbook = load_playbook(competition / "playbooks" / "iris")
    write_record(competition, record("ada", {"f1": 0.9, "accuracy": 0.91}, model="knn"))
    write_record(competition, record("bob|x", {"f1": 0.95, "accuracy": 0.9}))
    write_record(competition, record("eve", {}, status="failed"))

    pages = render(competition, [build_board(competition, playbook)])
    page = pages[competition / "leaderboard" / "iris.md"]

    assert page == EXPECTED.read_text(encoding="utf-8")


def test_writing_twice_changes_no_byte(competition: Path) -> None:
    playbook = load_playbook(competition / "playbooks" / "iris")
    write_record(competition, record("ada", {"f1": 0.9}))
    paths = write_boards(competition, [playbook])
    first = {path: path.stat().st_mtime_ns for path in paths}

    write_boards(competition, [playbook])

    assert {path: path.stat().st_mtime_ns for path in paths} == first


def test_a_broken_template_leaves_the_old_board_in_place(competition: Path) -> None:
    playbook = load_playbook(competition / "playbooks" / "iris")
    write_record(competition, record("ada", {"f1": 0.9}))
    paths = write_boards(competition, [playbook])
    before = {path: path.read_text() for path in paths}
    templates = competition / "leaderboard" / "templates"
    (templates / "README.md.j2").write_text("{{ no_such_variable }}")
    write_record(competition, record("zed", {"f1": 0.99}))

    with pytest.raises(SpecError, match=r"README\.md\.j2.*no_such_variable"):
        write_boards(competition, [playbook])

    assert {path: path.read_text() for path in paths} == before
