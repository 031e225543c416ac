"""Rank the records of a playbook and render the Markdown leaderboard.

The board is derived from ``leaderboard/results/`` alone, so it can be
re-rendered at any time and two renders of the same records are identical
(no clock in the output). The competition may restyle it by editing the jinja2
templates in ``leaderboard/templates/``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd

from camino.errors import SpecError
from camino.evaluator.results import Record, load_records, write_text_atomic
from camino.metrics import Metric
from camino.playbook import Playbook

TEMPLATES = Path("leaderboard") / "templates"
README_ROWS = 5
TIE_BREAK = (
    "Ties on the first metric are broken by the next metrics in order, then "
    "by the earlier evaluation. Each model folder shows its best result."
)


@dataclass(frozen=True)
class Row:
    rank: int
    record: Record
    cells: list[str]


@dataclass(frozen=True)
class Board:
    playbook: Playbook
    rows: list[Row]
    evaluations: int
    failed: int


def rank(records: Sequence[Record], metrics: Sequence[Metric]) -> list[Record]:
    """The best scored record of each model folder, best first.

    Order: each metric in the playbook's order (its own direction; a missing
    or undefined value sorts last), then the earlier evaluation.
    """

    def order(record: Record) -> tuple:
        keys = [metric.sort_key(record.scores.get(metric.name)) for metric in metrics]
        return (*keys, record.evaluated_at, record.key)

    best: dict[str, Record] = {}
    for record in sorted((r for r in records if r.scored), key=order):
        best.setdefault(record.folder, record)
    return sorted(best.values(), key=order)


def build_board(repo: Path, playbook: Playbook) -> Board:
    records = load_records(repo, playbook.name)
    ranked = rank(records, playbook.metric_objects)
    rows = [
        Row(position, record, _cells(record, playbook.metric_objects))
        for position, record in enumerate(ranked, start=1)
    ]
    failed = sum(1 for record in records if not record.scored)
    return Board(playbook, rows, len(records), failed)


def _cells(record: Record, metrics: Sequence[Metric]) -> list[str]:
    return [format_score(record.scores.get(metric.name)) for metric in metrics]


def format_score(value: float | None) -> str:
    # Four decimals: more would invite probing the hidden labels one row at a
    # time, fewer would hide real differences on a few hundred rows.
    return "—" if value is None else f"{value:.4f}"


def format_seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def direction(metric: Metric) -> str:
    return "↑" if metric.greater_is_better else "↓"


def render(repo: Path, boards: Sequence[Board]) -> dict[Path, str]:
    """The text of every board page and of the index, keyed by path."""
    environment = _environment(repo)
    pages = {}
    for board in boards:
        path = repo / "leaderboard" / f"{board.playbook.name}.md"
        pages[path] = _render(
            environment, "playbook.md.j2", board=board, tie_break=TIE_BREAK
        )
    pages[repo / "leaderboard" / "README.md"] = _render(
        environment, "README.md.j2", boards=boards, top=README_ROWS
    )
    return pages


def _render(environment: jinja2.Environment, name: str, **context: object) -> str:
    # The templates belong to the competition, so a mistake in one is input
    # to fix, not a crash of camino.
    try:
        return environment.get_template(name).render(**context)
    except jinja2.TemplateError as error:
        line = getattr(error, "lineno", None)
        where = f"{TEMPLATES / name}" + (f" line {line}" if line else "")
        raise SpecError(f"{where}: {error}") from error


def _environment(repo: Path) -> jinja2.Environment:
    folder = repo / TEMPLATES
    if not folder.is_dir():
        raise SpecError(
            f"{TEMPLATES}: folder not found in {repo}; it holds the board's templates"
        )
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    environment.filters["seconds"] = format_seconds
    environment.filters["score"] = format_score
    environment.filters["direction"] = direction
    environment.filters["cell"] = _escape_cell
    environment.filters["urlpath"] = urllib.parse.quote
    return environment


def _escape_cell(text: object) -> str:
    # A pipe or a newline in a description would break the Markdown table.
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_boards(repo: Path, playbooks: Sequence[Playbook]) -> list[Path]:
    """Render every page first, then write them, so a template error leaves
    the old board in place instead of half a new one."""
    boards = [build_board(repo, playbook) for playbook in playbooks]
    pages = render(repo, boards)
    pages.update(ensemble_pages(repo, boards))
    for path, text in pages.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, text)
    return list(pages)


def board_frame(board: Board) -> pd.DataFrame:
    """The board as a table: rank, author, model, one column per metric."""
    rows = []
    for row in board.rows:
        entry = {"rank": row.rank, "author": row.record.author}
        entry["model"] = row.record.model
        for metric in board.playbook.metric_objects:
            entry[metric.display] = row.record.scores.get(metric.name)
        entry["train_seconds"] = row.record.train_seconds
        entry["predict_seconds"] = row.record.predict_seconds
        entry["evaluated_at"] = row.record.evaluated_at
        rows.append(entry)
    return pd.DataFrame(rows).set_index("rank") if rows else pd.DataFrame()


def ensemble_pages(repo: Path, boards: Sequence[Board]) -> dict[Path, str]:
    """``leaderboard/ensembles/<playbook>.md`` for each board with an ensemble
    row: members, their contribution (the ensemble's score without each) and
    how often they agree."""
    environment = _environment(repo)
    pages = {}
    for board in boards:
        shown = [row.record for row in board.rows if row.record.kind == "ensemble"]
        if shown:
            path = repo / "leaderboard" / "ensembles" / f"{board.playbook.name}.md"
            pages[path] = _ensemble_page(environment, board.playbook, shown[0])
    return pages


def _ensemble_page(
    environment: jinja2.Environment, playbook: Playbook, record: Record
) -> str:
    details = record.details
    weights = details.get("weights") or [None] * len(details["members"])
    members = [
        {"name": name, "score": score, "without": without, "weight": weight}
        for name, score, without, weight in zip(
            details["members"],
            details["member_scores"],
            details["without"],
            weights,
            strict=True,
        )
    ]
    return _render(
        environment, "ensemble.md.j2", playbook=playbook, record=record, members=members
    )
