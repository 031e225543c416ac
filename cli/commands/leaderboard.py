"""camino leaderboard: re-render the board, print it, reveal the final ranking.

The Markdown pages are always re-rendered; the board is also printed, as a
rich table for a person or as CSV / JSON for a script, optionally for one
playbook ranked by another of its metrics. ``reveal`` publishes the private
scores once the playbook's deadline has passed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from camino.board import (
    REVEALED,
    Board,
    Row,
    build_board,
    direction,
    format_rank,
    format_seconds,
    rank_cell,
    shake_cell,
    write_boards,
)
from camino.errors import SpecError
from camino.evaluator import holdout
from camino.evaluator.results import Record, load_records, write_text_atomic
from camino.playbook import Playbook, all_playbooks, load_playbook, playbook_dir
from camino.stores import PRIVATE_STORE_VARIABLE


def leaderboard(
    repo: Path,
    playbook: str | None = None,
    metric: str | None = None,
    reveal: bool = False,
    today: dt.date | None = None,
) -> tuple[list[Path], list[Board]]:
    """Reveal if asked, re-render every page, and build the boards to print."""
    if metric is not None and playbook is None:
        raise SpecError("--metric needs --playbook: metrics differ between playbooks")
    playbooks = all_playbooks(repo)
    chosen = [load_playbook(playbook_dir(repo, playbook))] if playbook else playbooks

    if reveal:
        day = today or dt.datetime.now(dt.UTC).date()
        for one in chosen if playbook else _past_deadline(playbooks, day):
            reveal_private(repo, one, day)
    written = write_boards(repo, playbooks)
    return written, [build_board(repo, one, metric) for one in chosen]


def _past_deadline(playbooks: Sequence[Playbook], today: dt.date) -> list[Playbook]:
    due = [p for p in playbooks if p.deadline is not None and p.deadline < today]
    if not due:
        raise SpecError(
            "no playbook's deadline has passed, so there is no private ranking to "
            "reveal yet (deadline: YYYY-MM-DD in playbook.yml)"
        )
    return due


def reveal_private(repo: Path, playbook: Playbook, today: dt.date) -> Path:
    """Publish the private scores of every evaluation made by the deadline.

    Refused before the deadline, and when an evaluation's private scores are
    not on this machine: a final ranking with holes would be wrong.
    """
    where = f"playbooks/{playbook.name}/playbook.yml"
    if playbook.deadline is None:
        raise SpecError(
            f"{where}: no deadline is set; the private ranking is revealed only "
            "after the deadline (deadline: YYYY-MM-DD)"
        )
    if today <= playbook.deadline:
        raise SpecError(
            f"{playbook.name}: the deadline is {playbook.deadline}; the private "
            f"ranking can be revealed from {playbook.deadline + dt.timedelta(1)} (UTC)"
        )

    # Evaluations made on other runners kept their private scores in the
    # private store (when one is set).
    holdout.fetch_private(repo, playbook.name)
    # The records the board ranks: one data version, as on the public board.
    board = build_board(repo, playbook)
    records = [
        r
        for r in load_records(repo, playbook.name)
        if r.data_version == board.data_version and _by_deadline(r, playbook)
    ]
    parts = {record.file_name: holdout.read_private(repo, record) for record in records}
    _refuse_missing(records, parts)
    path = repo / REVEALED / f"{playbook.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, _revealed_text(playbook, parts))
    return path


def _by_deadline(record: Record, playbook: Playbook) -> bool:
    assert playbook.deadline is not None
    return record.scored and record.when.date() <= playbook.deadline


def _refuse_missing(
    records: Sequence[Record], parts: dict[str, holdout.Part | None]
) -> None:
    missing = [record for record in records if parts[record.file_name] is None]
    if missing:
        paths = ", ".join(record.path for record in missing[:5])
        raise SpecError(
            f"the private scores of {len(missing)} evaluation(s) are not on this "
            f"machine ({holdout.PRIVATE}/) nor in {PRIVATE_STORE_VARIABLE} (when "
            f"set): {paths}; evaluate them again here with camino evaluate "
            "--force PATH, then reveal"
        )


def _revealed_text(playbook: Playbook, parts: dict[str, holdout.Part | None]) -> str:
    entries = {
        name: {"rows": part.rows, "scores": part.scores, "intervals": part.intervals}
        for name, part in sorted(parts.items())
        if part is not None
    }
    rows = max((part["rows"] for part in entries.values()), default=0)
    data = {
        "playbook": playbook.name,
        "deadline": str(playbook.deadline),
        "rows": rows,
        "entries": entries,
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


# --- printing ---------------------------------------------------------------


def rows_of(board: Board) -> list[dict[str, Any]]:
    """The board as plain values, one mapping per row, for CSV and JSON."""
    rows = []
    for row in board.rows:
        entry: dict[str, Any] = {
            "playbook": board.playbook.name,
            "rank": row.rank,
            "tied_with_leader": row.tied,
            "baseline": row.baseline,
            "kind": row.record.kind,
            "model": row.record.model,
            "author": row.record.author,
            "path": row.record.path,
        }
        if board.revealed:
            entry["shake_up"] = row.shake_up
        entry.update(_metric_values(board, row))
        entry["average_rank"] = row.average_rank
        entry["train_seconds"] = row.record.train_seconds
        entry["predict_seconds"] = row.record.predict_seconds
        entry["evaluated_at"] = row.record.evaluated_at
        rows.append(entry)
    return rows


def _metric_values(board: Board, row: Row) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for metric in board.metrics:
        interval = row.intervals.get(metric.name) or [None, None]
        values[metric.name] = row.scores.get(metric.name)
        values[f"{metric.name}_low"], values[f"{metric.name}_high"] = interval
    return values


def to_json(boards: Sequence[Board]) -> str:
    data = [
        {
            "playbook": board.playbook.name,
            "ranked_by": board.metric.name,
            "greater_is_better": board.metric.greater_is_better,
            "final": board.revealed,
            "rows": rows_of(board),
        }
        for board in boards
    ]
    return json.dumps(data, indent=2) + "\n"


def to_csv(boards: Sequence[Board]) -> str:
    buffer = io.StringIO()
    for index, board in enumerate(boards):
        rows = rows_of(board)
        if not rows:
            continue
        # Playbooks have different metrics, so each gets its own header.
        if index:
            buffer.write("\n")
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def to_table(board: Board) -> Table:
    title = f"{board.playbook.title}: ranked by {board.metric.display}"
    table = Table(title=title + (" (final)" if board.revealed else ""))
    table.add_column("#", justify="right")
    if board.revealed:
        table.add_column("Δ", justify="right")
    table.add_column("model")
    table.add_column("author")
    for metric in board.metrics:
        table.add_column(f"{metric.display} {direction(metric)}", justify="right")
    table.add_column("avg rank", justify="right")
    table.add_column("train s", justify="right")

    for row in board.rows:
        cells = [rank_cell(row)]
        if board.revealed:
            cells.append(shake_cell(row))
        cells += [row.record.model, row.label.strip("*"), *row.cells]
        cells += [
            format_rank(row.average_rank),
            format_seconds(row.record.train_seconds),
        ]
        table.add_row(*cells)
    return table
