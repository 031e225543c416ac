"""Rank the records of a playbook and render the Markdown leaderboard.

The board is derived from ``leaderboard/results/`` (and, once the final
ranking is revealed, ``leaderboard/revealed/``) alone, so it can be
re-rendered at any time and two renders of the same records are identical (no
clock in the output). The competition may restyle it by editing the jinja2
templates in ``leaderboard/templates/``.
"""

from __future__ import annotations

import gc
import json
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from camino import plots, ranking
from camino.errors import SpecError
from camino.evaluator.bootstrap import CONFIDENCE, RESAMPLES
from camino.evaluator.results import (
    Record,
    board_version,
    load_records,
    write_text_atomic,
)
from camino.metrics import Metric
from camino.playbook import Playbook

TEMPLATES = Path("leaderboard") / "templates"
PLOTS = Path("leaderboard") / "plots"
REVEALED = Path("leaderboard") / "revealed"
README_ROWS = 5
TIE_MARK = "≈"


@dataclass(frozen=True)
class Row:
    rank: int | None  # None for a reference row: it takes no participant's place
    record: Record
    cells: list[str]
    tied: bool = False
    average_rank: float | None = None
    # Places gained from the public to the final ranking; None before reveal.
    shake_up: int | None = None
    # What the row is ranked by: the public scores, or the private ones once
    # revealed.
    scores: Mapping[str, float | None] = field(default_factory=dict)
    intervals: Mapping[str, Sequence[float]] = field(default_factory=dict)

    @property
    def baseline(self) -> bool:
        return self.record.is_baseline

    @property
    def label(self) -> str:
        """The author cell: the participant, or what the reference row is."""
        if self.record.is_baseline:
            return "*baseline*"
        if self.record.kind == "ensemble":
            return "*ensemble*"
        return self.record.author


@dataclass(frozen=True)
class Board:
    playbook: Playbook
    metric: Metric  # ranks the board
    metrics: list[Metric]  # the columns, in the playbook's order
    rows: list[Row]
    evaluations: int
    failed: int
    revealed: bool = False
    plot: str | None = None  # relative to leaderboard/
    notes: list[str] = field(default_factory=list)
    # The internal data version ranked, and the evaluations on other versions
    # that are kept but not ranked.
    data_version: str | None = None
    other_versions: int = 0


@dataclass(frozen=True)
class Revealed:
    """The private scores published after the deadline, by record file name."""

    deadline: str
    entries: dict[str, ranking.Entry]
    rows: int


def rank(
    records: Sequence[Record], metrics: Sequence[Metric], policy: str = ranking.BEST
) -> list[Record]:
    """One scored record per model folder (``policy``: best or latest), best
    first: each metric in the playbook's order (its own direction; a missing
    or undefined value sorts last), then the earlier evaluation."""
    chosen = ranking.select(records, metrics, policy)
    return [
        entry.record
        for entry in sorted(map(ranking.public, chosen), key=ranking.order(metrics))
    ]


def ranking_metrics(playbook: Playbook, metric: str | None = None) -> list[Metric]:
    """The shown metrics in ranking order: ``metric`` (default: the playbook's
    first) ranks, the others break ties in the playbook's order."""
    shown = playbook.shown_metrics
    if metric is None:
        return shown
    first = [m for m in shown if m.name == metric]
    if not first:
        raise SpecError(
            f"playbook {playbook.name!r} has no metric {metric!r} on its board; "
            f"choose one of {', '.join(m.name for m in shown)}"
        )
    return first + [m for m in shown if m.name != metric]


def build_board(
    repo: Path,
    playbook: Playbook,
    metric: str | None = None,
    records: Sequence[Record] | None = None,
    version: str | None = None,
) -> Board:
    """The board of ``playbook``, ranked by ``metric`` (default: its first).

    Only the records of one internal data version are ranked: ``version``,
    by default the pinned one. ``records`` saves reading them again when the
    caller has them.
    """
    if records is None:
        records = load_records(repo, playbook.name)
    version = version or board_version(repo, playbook.name, records)
    ranked = [record for record in records if record.data_version == version]
    metrics = ranking_metrics(playbook, metric)
    revealed = load_revealed(repo, playbook.name, ranked)
    if revealed is None:
        rows = _public_rows(ranked, playbook, metrics)
    else:
        rows = _final_rows(ranked, playbook, metrics, revealed)

    failed = sum(1 for record in ranked if not record.scored)
    board = Board(
        playbook,
        metrics[0],
        playbook.shown_metrics,
        rows,
        len(ranked),
        failed,
        revealed=revealed is not None,
        plot=f"plots/{playbook.name}.svg" if any(r.scored for r in ranked) else None,
        data_version=version,
        other_versions=len(records) - len(ranked),
    )
    return replace(board, notes=notes(board, ranked, revealed))


def _public_rows(
    records: Sequence[Record], playbook: Playbook, metrics: Sequence[Metric]
) -> list[Row]:
    chosen = ranking.select(records, metrics, playbook.ranking.policy)
    placed = ranking.place([ranking.public(r) for r in chosen], metrics)
    columns = _columns(playbook)
    return [_row(columns, item) for item in placed]


def _final_rows(
    records: Sequence[Record],
    playbook: Playbook,
    metrics: Sequence[Metric],
    revealed: Revealed,
) -> list[Row]:
    # Each folder's entry is chosen on the public scores, as it was shown
    # before the deadline: choosing on the private ones would fit them.
    eligible = [r for r in records if r.file_name in revealed.entries]
    chosen = ranking.select(eligible, metrics, playbook.ranking.policy)
    final = ranking.place([revealed.entries[r.file_name] for r in chosen], metrics)
    before = ranking.place([ranking.public(r) for r in chosen], metrics)
    moves = ranking.shake_up(final, before)
    columns = _columns(playbook)
    return [_row(columns, item, moves.get(item.entry.record.folder)) for item in final]


def _columns(playbook: Playbook) -> list[tuple[str, int]]:
    """(metric name, decimals) of each column shown, in order."""
    return [(m.name, playbook.column(m).decimals) for m in playbook.shown_metrics]


def _row(
    columns: Sequence[tuple[str, int]],
    placed: ranking.Placed,
    moved: int | None = None,
) -> Row:
    entry = placed.entry
    cells = [
        format_score(entry.scores.get(name), decimals, entry.intervals.get(name))
        for name, decimals in columns
    ]
    return Row(
        placed.rank,
        entry.record,
        cells,
        placed.tied,
        placed.average_rank,
        moved,
        entry.scores,
        entry.intervals,
    )


def notes(
    board: Board, records: Sequence[Record], revealed: Revealed | None
) -> list[str]:
    """The footer: how the board ranks, in words that match what it did."""
    playbook, metric = board.playbook, board.metric
    others = [m.display for m in ranking_metrics(playbook, metric.name)[1:]]
    then = f"by {', then '.join(others)}, then " if others else ""
    policy = (
        "its latest scored result"
        if playbook.ranking.policy == ranking.LATEST
        else "its best result (chosen on the public scores)"
    )
    lines = [
        f"Ties on {metric.display} are broken {then}by the earlier evaluation. "
        f"Each model folder shows {policy}; failed runs are never ranked.",
        f"{TIE_MARK} marks a model statistically tied with the leader: their "
        f"{CONFIDENCE:.0%} bootstrap intervals of {metric.display} overlap "
        f"({RESAMPLES} resamples of the validation rows, seed "
        f"{playbook.board.seed}). Intervals are shown as [low, high].",
        _scope(board, records, revealed),
    ]
    if any(row.baseline for row in board.rows):
        lines.append(
            "*baseline*: the playbook's template, evaluated like a submission; "
            "it takes no participant's rank."
        )
    if any(row.record.kind == "ensemble" for row in board.rows):
        lines.append(
            "*ensemble*: a vote of the best submissions (camino compile); it "
            "takes no participant's rank."
        )
    if playbook.board.average_rank:
        lines.append("avg rank: the mean of the model's ranks on each metric shown.")
    failed = f" ({board.failed} failed)" if board.failed else ""
    lines.append(f"{board.evaluations} evaluations recorded{failed}.")
    if board.data_version:
        lines.append(_version_note(board))
    return lines


def _version_note(board: Board) -> str:
    text = f"Internal data version `{board.data_version}`."
    if board.other_versions:
        text += (
            f" {board.other_versions} evaluations on other versions of the "
            "internal data are kept but not ranked (a re-score ranks everyone "
            "on the new data at once)."
        )
    return text


def _scope(board: Board, records: Sequence[Record], revealed: Revealed | None) -> str:
    spec = board.playbook.board
    deadline = board.playbook.deadline
    if revealed is not None:
        late = sum(
            1 for r in records if r.scored and r.file_name not in revealed.entries
        )
        after = f"; {late} evaluations after it are not ranked" if late else ""
        return (
            f"Final ranking on the private part of the internal validation set "
            f"({revealed.rows} rows), revealed after the deadline "
            f"{revealed.deadline}{after}. Δ: places gained (▲) or lost (▼) "
            "against the public board."
        )

    rows = next((row.record.rows for row in board.rows), 0)
    if spec.private_fraction == 0:
        return f"Scored on the whole internal validation set ({rows} rows)."
    share = f"the private part ({spec.private_fraction:.0%} of the rows)"
    public = f"Scored on the public part of the internal validation set ({rows} rows)"
    if deadline is None:
        return f"{public}; {share} is held back for a final ranking (no deadline yet)."
    return (
        f"{public}; {share} decides the final ranking, revealed after the "
        f"deadline ({deadline})."
    )


def format_score(
    value: float | None,
    decimals: int = 4,
    interval: Sequence[float] | None = None,
) -> str:
    # Four decimals at most: more would invite probing the hidden labels one
    # row at a time (C29), fewer would hide real differences.
    if value is None:
        return "—"
    text = f"{value:.{decimals}f}"
    if interval:
        width = min(decimals, 2)
        text += f" [{interval[0]:.{width}f}, {interval[1]:.{width}f}]"
    return text


def format_seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def direction(metric: Metric) -> str:
    return "↑" if metric.greater_is_better else "↓"


def rank_cell(row: Row) -> str:
    if row.rank is None:
        return "—"
    return f"{row.rank} {TIE_MARK}" if row.tied else str(row.rank)


def shake_cell(row: Row) -> str:
    return places_cell(row.shake_up)


def places_cell(moved: int | None) -> str:
    """Places gained (▲) or lost (▼)."""
    if moved is None:
        return "—"
    if moved > 0:
        return f"▲{moved}"
    return f"▼{-moved}" if moved < 0 else "="


def moved_cell(change: Any) -> str:
    """A re-score's Δ cell (a camino.rank_changes.Change)."""
    if change.status == "failed":
        # The category is camino's own word; escaped all the same, since the
        # table goes into a pull request a maintainer merges.
        return f"failed ({_escape_cell(change.error)})" if change.error else "failed"
    if change.status != "ranked":
        return change.status
    # The baseline has no rank, so it has no move either.
    return places_cell(change.moved) if change.moved is not None else ""


def format_rank(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def load_revealed(
    repo: Path, playbook: str, records: Sequence[Record]
) -> Revealed | None:
    path = repo / REVEALED / f"{playbook}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    by_name = {record.file_name: record for record in records}
    entries = {
        name: ranking.Entry(by_name[name], part["scores"], part["intervals"])
        for name, part in data["entries"].items()
        if name in by_name
    }
    return Revealed(data["deadline"], entries, data["rows"])


def render(repo: Path, boards: Sequence[Board]) -> dict[Path, str]:
    """The text of every board page and of the index, keyed by path."""
    environment = _environment(repo)
    pages = {}
    for board in boards:
        path = repo / "leaderboard" / f"{board.playbook.name}.md"
        pages[path] = _render(environment, "playbook.md.j2", board=board)
    pages[repo / "leaderboard" / "README.md"] = _render(
        environment, "README.md.j2", boards=boards, top=README_ROWS
    )
    return pages


def render_template(repo: Path, name: str, **context: object) -> str:
    """Render one of the competition's templates in ``leaderboard/templates``."""
    return _render(_environment(repo), name, **context)


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
    environment.filters["rank_cell"] = rank_cell
    environment.filters["shake_cell"] = shake_cell
    environment.filters["avg_rank"] = format_rank
    environment.filters["moved_cell"] = moved_cell
    return environment


def _escape_cell(text: object) -> str:
    # A pipe or a newline would break the Markdown table; an angle bracket
    # could open HTML (a comment hides the rest of the page on GitHub).
    escaped = str(text).replace("|", "\\|").replace("\n", " ")
    return escaped.replace("<", "&lt;").replace(">", "&gt;")


def write_boards(repo: Path, playbooks: Sequence[Playbook]) -> list[Path]:
    """Render every page and plot first, then write them, so a template error
    leaves the old board in place instead of half a new one."""
    with _collector_paused():
        records = {p.name: load_records(repo, p.name) for p in playbooks}
        boards = [build_board(repo, p, records=records[p.name]) for p in playbooks]
        pages = render(repo, boards)
        for board in boards:
            if board.plot is not None:
                shown = [
                    record
                    for record in records[board.playbook.name]
                    if record.data_version == board.data_version
                ]
                svg = plots.history_svg(board.playbook, shown)
                pages[repo / "leaderboard" / board.plot] = svg
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
        # The row's own scores: the private ones once the ranking is revealed.
        for metric in board.metrics:
            entry[metric.display] = row.scores.get(metric.name)
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


@contextmanager
def _collector_paused() -> Iterator[None]:
    # Rendering 10,000 records allocates millions of small objects and no
    # reference cycles worth collecting; the cycle collector's repeated full
    # passes over them took about half the time (benchmarks/board.py).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
