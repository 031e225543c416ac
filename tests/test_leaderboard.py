"""camino leaderboard: printing the board, and revealing the final ranking."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
from test_board import record, set_playbook
from test_cli import assert_one_paragraph, camino

from camino.board import build_board, write_boards
from camino.commands.leaderboard import leaderboard, reveal_private
from camino.errors import SpecError
from camino.evaluator import holdout
from camino.evaluator.results import Record, write_record
from camino.playbook import load_playbook

DEADLINE = dt.date(2026, 12, 10)


def scored(
    repo: Path,
    author: str,
    public: float,
    private: float,
    when: str = "2026-12-05T10:00:00+00:00",
) -> Record:
    """A record with its public f1 and, off the repo, its private f1."""
    # A key as camino makes them (hexadecimal): the reveal fetches private
    # scores by record file name.
    key = hashlib.sha256(f"{author}{when}".encode()).hexdigest()[:12]
    intervals = {"f1": [0.5, 1.0]}
    made = record(author, {"f1": public}, when=when, key=key, intervals=intervals)
    write_record(repo, made)
    part = holdout.Part(30, {"f1": private}, intervals={"f1": [private - 0.1, 1.0]})
    holdout.write_private(repo, made, part)
    return made


@pytest.fixture
def closing(competition: Path) -> Path:
    """Three participants whose order changes on the private rows, one late."""
    set_playbook(competition, f"deadline: {DEADLINE}\n")
    scored(competition, "ada", public=0.95, private=0.80)
    scored(competition, "bob", public=0.90, private=0.92)
    scored(competition, "cy", public=0.85, private=0.85)
    scored(competition, "late", 0.99, 0.99, when="2026-12-11T09:00:00+00:00")
    return competition


def test_the_final_ranking_is_refused_until_the_deadline_has_passed(
    closing: Path,
) -> None:
    playbook = load_playbook(closing / "playbooks" / "iris")

    with pytest.raises(SpecError, match="can be revealed from 2026-12-11"):
        reveal_private(closing, playbook, DEADLINE)

    assert not (closing / "leaderboard" / "revealed").exists()


def test_no_final_ranking_without_a_deadline(competition: Path) -> None:
    playbook = load_playbook(competition / "playbooks" / "iris")

    with pytest.raises(SpecError, match="no deadline is set"):
        reveal_private(competition, playbook, DEADLINE)


def test_reveal_ranks_on_the_private_rows_and_shows_the_shake_up(
    closing: Path,
) -> None:
    public = build_board(closing, load_playbook(closing / "playbooks" / "iris"))
    assert [r.record.author for r in public.rows] == ["late", "ada", "bob", "cy"]

    _, (final,) = leaderboard(closing, "iris", reveal=True, today=dt.date(2026, 12, 11))

    assert final.revealed
    assert [(r.record.author, r.rank, r.shake_up) for r in final.rows] == [
        ("bob", 1, 1),
        ("cy", 2, 1),
        ("ada", 3, -2),
    ]
    assert [r.cells[0] for r in final.rows] == [
        "0.9200 [0.82, 1.00]",
        "0.8500 [0.75, 1.00]",
        "0.8000 [0.70, 1.00]",
    ]
    page = (closing / "leaderboard" / "iris.md").read_text()
    assert "**Final ranking.**" in page
    assert "| 1 | ▲1 | [m](../submissions/iris/bob/m) | bob |" in page
    assert "| 3 ≈ | ▼2 |" in page
    assert "1 evaluations after it are not ranked" in page


def test_the_revealed_ranking_survives_a_plain_re_render(closing: Path) -> None:
    playbook = load_playbook(closing / "playbooks" / "iris")
    reveal_private(closing, playbook, dt.date(2026, 12, 11))

    # A fresh machine without .camino/ renders the same final board.
    (closing / holdout.PRIVATE).rename(closing / "elsewhere")
    write_boards(closing, [playbook])

    page = (closing / "leaderboard" / "iris.md").read_text()
    assert "| 1 | ▲1 | [m](../submissions/iris/bob/m) | bob |" in page


def test_reveal_gathers_private_scores_that_runners_kept_in_the_store(
    competition: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ephemeral runners: each evaluation's machine is gone, its private
    # scores are in the store only (here a local folder).
    monkeypatch.setenv("CAMINO_PRIVATE_STORE", str(tmp_path / "store"))
    set_playbook(competition, f"deadline: {DEADLINE}\n")
    scored(competition, "ada", public=0.95, private=0.80)
    scored(competition, "bob", public=0.90, private=0.92)
    shutil.rmtree(competition / holdout.PRIVATE)

    _, (final,) = leaderboard(
        competition, "iris", reveal=True, today=dt.date(2026, 12, 11)
    )

    assert [(r.record.author, r.shake_up) for r in final.rows] == [
        ("bob", 1),
        ("ada", -1),
    ]


def test_reveal_refuses_when_private_scores_are_missing(closing: Path) -> None:
    playbook = load_playbook(closing / "playbooks" / "iris")
    lost = record("dora", {"f1": 0.5}, when="2026-12-06T10:00:00+00:00")
    write_record(closing, lost)

    with pytest.raises(SpecError, match=r"1 evaluation\(s\).*submissions/iris/dora/m"):
        reveal_private(closing, playbook, dt.date(2026, 12, 11))


# --- printing -------------------------------------------------------------------


def test_json_and_csv_carry_the_rows_with_their_intervals(competition: Path) -> None:
    write_record(competition, record("ada", {"f1": 0.9}, intervals={"f1": [0.8, 1.0]}))
    write_record(competition, record("bob", {"f1": 0.7}, intervals={"f1": [0.6, 0.8]}))

    as_json = camino(
        "leaderboard", "-p", "iris", "--format", "json", "--repo", competition
    )
    as_csv = camino(
        "leaderboard", "-p", "iris", "--format", "csv", "--repo", competition
    )

    assert as_json.exit_code == 0, as_json.output
    (board,) = json.loads(as_json.stdout)
    assert board["ranked_by"] == "f1" and not board["final"]
    assert [(r["author"], r["rank"], r["tied_with_leader"]) for r in board["rows"]] == [
        ("ada", 1, False),
        ("bob", 2, True),
    ]
    assert board["rows"][0]["f1_low"] == 0.8
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["author"], r["f1"], r["f1_high"]) for r in rows] == [
        ("ada", "0.9", "1.0"),
        ("bob", "0.7", "0.8"),
    ]
    # The Markdown is re-rendered too, and said so on stderr, not stdout.
    assert "rendered leaderboard/iris.md" in as_csv.stderr
    assert (competition / "leaderboard" / "iris.md").is_file()


def test_the_table_ranks_by_the_metric_asked_for(competition: Path) -> None:
    write_record(competition, record("x", {"f1": 0.9, "accuracy": 0.7}))
    write_record(competition, record("y", {"f1": 0.8, "accuracy": 0.95}))

    result = camino(
        "leaderboard", "-p", "iris", "--metric", "accuracy", "--repo", competition
    )

    assert result.exit_code == 0, result.output
    assert "ranked by accuracy" in result.stdout
    assert result.stdout.index("│ y") < result.stdout.index("│ x")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metric", "f1"], "--metric needs --playbook"),
        (["-p", "iris", "--metric", "mae"], "no metric 'mae'"),
        (["-p", "iris", "--reveal"], "no deadline is set"),
        (["--reveal"], "no playbook's deadline has passed"),
    ],
)
def test_bad_requests_exit_2_in_one_paragraph(
    competition: Path, args: list[str], message: str
) -> None:
    result = camino("leaderboard", *args, "--repo", competition)

    assert message in assert_one_paragraph(result, 2)
