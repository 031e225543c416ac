"""Ranking and rendering of the board, from hand-made records."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

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
    intervals: dict[str, list[float]] | None = None,
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
        intervals=intervals or {},
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


# --- ranking rules declared in playbook.yml ----------------------------------


def set_playbook(repo: Path, extra: str, name: str = "iris") -> None:
    """Append top-level settings to the copy's playbook.yml."""
    path = repo / "playbooks" / name / "playbook.yml"
    text = path.read_text()
    for key in ("board:", "ranking:", "deadline:"):
        if extra.lstrip().startswith(key):
            # Replace the bundled section of that name with the test's own.
            text = _without_section(text, key)
    path.write_text(text + extra)


def _without_section(text: str, key: str) -> str:
    lines, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith(key):
            skipping = True
            continue
        if skipping and line.startswith((" ", "#")):
            continue
        skipping = False
        lines.append(line)
    return "".join(lines)


def test_latest_policy_shows_the_latest_scored_result(competition: Path) -> None:
    # CASES C03, the other documented policy: the newer, worse result counts.
    set_playbook(competition, "ranking:\n  policy: latest\n")
    playbook = load_playbook(competition / "playbooks" / "iris")
    write_record(competition, record("carol", {"f1": 0.95}, when="2026-12-01T10:00"))
    write_record(competition, record("carol", {"f1": 0.80}, when="2026-12-02T10:00"))
    write_record(
        competition, record("carol", {}, when="2026-12-03T10:00", status="failed")
    )

    board = build_board(competition, playbook)

    assert [(row.record.author, row.cells[0]) for row in board.rows] == [
        ("carol", "0.8000")
    ]
    assert "its latest scored result" in board.notes[0]


def test_overlapping_intervals_are_marked_tied_with_the_leader(
    competition: Path,
) -> None:
    playbook = load_playbook(competition / "playbooks" / "iris")
    write_record(
        competition, record("lead", {"f1": 0.9}, intervals={"f1": [0.85, 0.95]})
    )
    write_record(
        competition, record("near", {"f1": 0.86}, intervals={"f1": [0.8, 0.85]})
    )
    write_record(competition, record("far", {"f1": 0.6}, intervals={"f1": [0.5, 0.7]}))
    write_record(competition, record("bare", {"f1": 0.55}))

    board = build_board(competition, playbook)

    assert [(r.record.author, r.tied) for r in board.rows] == [
        ("lead", False),
        ("near", True),
        ("far", False),
        ("bare", False),
    ]
    assert board.rows[0].cells[0] == "0.9000 [0.85, 0.95]"
    assert any("statistically tied with the leader" in note for note in board.notes)


def test_the_baseline_is_shown_in_place_but_takes_no_rank(competition: Path) -> None:
    playbook = load_playbook(competition / "playbooks" / "iris")
    baseline = record("_baseline", {"f1": 0.99}, model="template")
    baseline.path = "playbooks/iris/template"
    write_record(competition, baseline)
    write_record(competition, record("ada", {"f1": 0.9}, intervals={"f1": [0.8, 1.0]}))
    write_record(competition, record("bob", {"f1": 0.8}, intervals={"f1": [0.7, 0.9]}))

    board = build_board(competition, playbook)
    page = render(competition, [board])[competition / "leaderboard" / "iris.md"]

    assert [(r.record.author, r.rank) for r in board.rows] == [
        ("_baseline", None),
        ("ada", 1),
        ("bob", 2),
    ]
    # The leader is the best participant, never the baseline.
    assert board.rows[2].tied and not board.rows[1].tied
    assert "| — | [template](../playbooks/iris/template) | *baseline* |" in page


def test_columns_follow_playbook_yml_decimals_hidden_and_average_rank(
    competition: Path,
) -> None:
    set_playbook(
        competition,
        "board:\n  columns:\n    accuracy: {decimals: 2}\n"
        "    balanced_accuracy: {hidden: true}\n",
    )
    playbook = load_playbook(competition / "playbooks" / "iris")
    # A hidden metric must not break the tie on f1: the earlier one wins.
    write_record(
        competition,
        record("early", {"f1": 0.9, "accuracy": 0.8, "balanced_accuracy": 0.1}),
    )
    write_record(
        competition,
        record(
            "late",
            {"f1": 0.9, "accuracy": 0.8, "balanced_accuracy": 0.9},
            when="2026-12-02T10:00:00+00:00",
        ),
    )
    write_record(
        competition, record("third", {"f1": 0.5, "accuracy": 0.9123}, when="2026-12-03")
    )

    board = build_board(competition, playbook)
    page = render(competition, [board])[competition / "leaderboard" / "iris.md"]

    assert [m.name for m in board.metrics] == ["f1", "accuracy"]
    assert [r.record.author for r in board.rows] == ["early", "late", "third"]
    assert board.rows[2].cells == ["0.5000", "0.91"]
    # f1 ranks 1.5, 1.5, 3; accuracy 2.5, 2.5, 1.
    assert [r.average_rank for r in board.rows] == [2.0, 2.0, 2.0]
    assert "balanced_accuracy" not in page
    assert "| avg rank |" in page


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("board:\n  columns:\n    f1: {hidden: true}\n", "ranks the board"),
        ("board:\n  columns:\n    f2: {decimals: 2}\n", "f2, which the playbook"),
        ("board:\n  columns:\n    f1: {decimals: 6}\n", r"line \d+: board\.columns"),
        ("ranking:\n  policy: newest\n", r"ranking\.policy"),
        ("board:\n  private_fraction: 1\n", r"board\.private_fraction"),
    ],
)
def test_bad_board_settings_are_refused_with_the_key(
    competition: Path, section: str, message: str
) -> None:
    set_playbook(competition, section)

    with pytest.raises(SpecError, match=message):
        load_playbook(competition / "playbooks" / "iris")


def test_a_board_per_metric_on_demand(competition: Path) -> None:
    playbook = load_playbook(competition / "playbooks" / "iris")
    write_record(competition, record("x", {"f1": 0.9, "accuracy": 0.7}))
    write_record(competition, record("y", {"f1": 0.8, "accuracy": 0.95}))

    by_accuracy = build_board(competition, playbook, metric="accuracy")

    assert [r.record.author for r in by_accuracy.rows] == ["y", "x"]
    assert by_accuracy.metric.name == "accuracy"
    assert "Ties on accuracy are broken by f1 (macro), then " in by_accuracy.notes[0]
    with pytest.raises(SpecError, match=r"no metric 'mae'.*f1, accuracy"):
        build_board(competition, playbook, metric="mae")


def test_the_index_keeps_the_top_rows_and_links_the_rest(competition: Path) -> None:
    playbook = load_playbook(competition / "playbooks" / "iris")
    for index in range(7):
        write_record(competition, record(f"p{index}", {"f1": index / 10}))

    pages = render(competition, [build_board(competition, playbook)])
    index = pages[competition / "leaderboard" / "README.md"]

    assert index.count("](../submissions/iris/") == 5
    assert "[All 7 rows and the history of scores](iris.md)" in index


# --- the picture --------------------------------------------------------------


def test_the_history_plot_is_written_linked_and_stable(competition: Path) -> None:
    playbook = load_playbook(competition / "playbooks" / "iris")
    write_record(competition, record("ada", {"f1": 0.7}, when="2026-12-01T10:00"))
    write_record(competition, record("bob", {"f1": 0.9}, when="2026-12-02T10:00"))
    baseline = record("_baseline", {"f1": 0.8}, model="template")
    write_record(competition, baseline)

    write_boards(competition, [playbook])
    svg = competition / "leaderboard" / "plots" / "iris.svg"
    first = svg.read_bytes()
    svg.unlink()
    write_boards(competition, [playbook])

    assert svg.read_bytes() == first
    tree = ElementTree.fromstring(first)
    assert tree.tag.endswith("svg")
    text = first.decode()
    assert "Iris species: f1 (macro) on the public board" in text
    assert "baseline (template)" in text and "best so far" in text
    assert "<dc:date>" not in text
    page = (competition / "leaderboard" / "iris.md").read_text()
    assert "(plots/iris.svg)" in page


def test_no_plot_without_a_scored_record(competition: Path) -> None:
    playbook = load_playbook(competition / "playbooks" / "iris")
    write_record(competition, record("eve", {}, status="failed"))

    write_boards(competition, [playbook])

    assert not (competition / "leaderboard" / "plots").exists()
    assert "plots/" not in (competition / "leaderboard" / "iris.md").read_text()


def test_the_ensemble_row_is_shown_but_takes_no_rank(competition: Path) -> None:
    playbook = load_playbook(competition / "playbooks" / "iris")
    ensemble = record("camino", {"f1": 0.99}, model="ensemble")
    ensemble.kind, ensemble.path = "ensemble", "leaderboard/ensembles/iris.md"
    write_record(competition, ensemble)
    write_record(competition, record("ada", {"f1": 0.9}))

    board = build_board(competition, playbook)
    page = render(competition, [board])[competition / "leaderboard" / "iris.md"]

    assert [(r.record.author, r.rank) for r in board.rows] == [
        ("camino", None),
        ("ada", 1),
    ]
    assert "| — | [ensemble](../leaderboard/ensembles/iris.md) | *ensemble* |" in page
