"""The history of a playbook's board as an SVG picture.

Every scored evaluation is a dot at the time it was made, the best public
score so far is a step line, the baseline a dashed line. The SVG is made
without a display (matplotlib's object API, no pyplot state) and is
byte-for-byte the same for the same records: element ids come from a fixed
salt and the file carries no date, so re-rendering the board changes no file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from camino.evaluator.results import Record
from camino.metrics import Metric
from camino.playbook import Playbook

STYLE = {
    "svg.hashsalt": "camino",
    # Text stays text: a smaller file, and no glyph outlines that differ
    # between font versions.
    "svg.fonttype": "none",
    "font.size": 9,
    "timezone": "UTC",
}
# Past this many dots, they are drawn as one embedded image: thousands of SVG
# markers would make the file megabytes long and the render seconds slow.
RASTER_POINTS = 2000


def history_svg(playbook: Playbook, records: Sequence[Record]) -> str:
    """The picture of ``records`` for the playbook's ranking metric.

    Public scores only, also after the reveal: the final ranking is one
    moment, shown in the table with its shake-up, not a history.
    """
    metric = playbook.ranking_metric
    with matplotlib.rc_context(STYLE):
        # Fixed margins: a layout engine would draw the figure twice.
        figure = Figure(figsize=(8, 3.6), dpi=100)
        figure.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.14)
        axes = figure.add_subplot()
        _draw(axes, metric, records)
        axes.set_title(f"{playbook.title}: {metric.display} on the public board")
        better = "higher" if metric.greater_is_better else "lower"
        axes.set_ylabel(f"{metric.display} ({better} is better)")
        axes.grid(alpha=0.3)

        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _draw(axes: Axes, metric: Metric, records: Sequence[Record]) -> None:
    # Participants only: the baseline and the ensemble are drawn as levels.
    times, values = _points(metric, [r for r in records if not r.is_reference])
    if len(times):
        axes.plot(
            times,
            values,
            linestyle="none",
            marker="o",
            markersize=3,
            alpha=0.45,
            color="tab:gray",
            label="every evaluation",
            rasterized=len(times) > RASTER_POINTS,
        )
        best = _best_so_far(values, metric.greater_is_better)
        axes.step(times, best, where="post", color="tab:blue", label="best so far")

    references = [
        ([r for r in records if r.is_baseline], "--", "tab:red", "baseline (template)"),
        ([r for r in records if r.kind == "ensemble"], ":", "tab:green", "ensemble"),
    ]
    for chosen, style, color, label in references:
        _, levels = _points(metric, chosen)
        if len(levels):
            axes.axhline(
                levels[-1], linestyle=style, color=color, linewidth=1, label=label
            )

    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.legend(loc="best")


def _points(metric: Metric, records: Sequence[Record]) -> tuple[np.ndarray, np.ndarray]:
    """Times and values of the scored records, in time order."""
    scored = [
        record
        for record in records
        if record.scored and record.scores.get(metric.name) is not None
    ]
    scored.sort(key=lambda record: (record.evaluated_at, record.key))
    times = np.array([record.when.replace(tzinfo=None) for record in scored])
    values = np.array([record.scores[metric.name] for record in scored], dtype=float)
    return times, values


def _best_so_far(values: np.ndarray, greater_is_better: bool) -> np.ndarray:
    running = np.maximum if greater_is_better else np.minimum
    return running.accumulate(values)
