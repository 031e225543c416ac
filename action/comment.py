"""The sticky comment's text, one function per state of a submission.

Every body starts with a hidden marker (so the same comment is found and
edited on every run) and goes through ``finish``, which keeps it under
GitHub's body limit. Internal-stage logs never appear here: they can print
internal rows. Only the model's error message is shown, clipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from camino.action.policy import RULES, Refusal
from camino.action.quota import Quota, format_utc
from camino.board import Board, direction, format_score, format_seconds
from camino.evaluator.results import Record

MARKER = "<!-- camino:submission -->"
# GitHub refuses bodies over 65,536 characters, and reports disagree on how
# it counts (characters, UTF-16 units or bytes). UTF-8 bytes are never fewer
# than any of those, so a body within this many bytes fits whichever it is.
LIMIT_BYTES = 65_536
BUDGET_BYTES = 60_000
MESSAGE_BYTES = 4_000
TOP_ROWS = 5
# How much of each provenance value the comment shows; the record has it all.
HASH_CHARS = 12
NAME_CHARS = 60
# How much of a refused path and of a metric's problem the comment shows.
PATH_CHARS = 200
PROBLEM_CHARS = 200
TRUNCATED = "\n\n_… comment truncated to fit GitHub's limit; the full text is in "
# The evaluate job holds no write token, so the comment cannot follow each
# stage while the model runs: it shows "queued" (gate), then "recording"
# (publish), then the result; the run link shows the live stages. Closes if
# the evaluate job may report progress through a separate, trusted channel.
STAGES = [
    ("queued", "queued, waiting for a camino runner"),
    ("evaluate", "checking the pull request, training and scoring"),
    ("publish", "recording the result and updating the board"),
]
# Shown after "failed while": the harness's step names in plain words.
STEP_WORDS = {
    "admission": "checking the folder's files",
    "install": "installing requirements.txt",
    "import": "importing model.py",
    "init": "creating the model (Model())",
    "train": "training (Model.train())",
    "save": "saving the trained model",
    "predict": "predicting (Model.predict())",
    "output": "checking the predictions",
    "timeout": "running: it hit the time limit",
    "memory": "running: it hit the memory limit",
    "data": "reading the data",
}


@dataclass(frozen=True)
class Context:
    """Where the comment points: the pull request's head, the run, the board."""

    head_sha: str
    run_url: str
    board_url: str  # the branch's leaderboard/ folder, ending in "/"
    folder: str | None = None

    @property
    def what(self) -> str:
        where = f"`{self.folder}`" if self.folder else "this pull request"
        return f"{where} at `{self.head_sha[:7]}`"


def progress(context: Context, stage: str) -> str:
    lines = [f"### ⏳ camino is evaluating {context.what}", ""]
    current = [name for name, _ in STAGES].index(stage)
    for index, (_, words) in enumerate(STAGES):
        mark = "✓" if index < current else ("→" if index == current else "·")
        lines.append(f"- {mark} {words}")
    lines += ["", f"Follow the run live: {context.run_url}"]
    return finish("\n".join(lines), context)


def waiting(context: Context, reason: str) -> str:
    command = f"/camino evaluate {context.head_sha[:12]}"
    text = (
        f"### ✋ {context.what} waits for a maintainer's approval\n\n"
        f"{reason} A maintainer approves this commit by approving the run "
        f"({context.run_url}) or by commenting:\n\n```\n{command}\n```\n\n"
        "Approval covers this commit only: a new push needs a new approval."
    )
    return finish(text, context)


def refused(context: Context, refusals: Sequence[Refusal]) -> str:
    rows = [_refusal_row(refusal) for refusal in refusals]
    text = (
        f"### 🚫 Not evaluated: {context.what} breaks the submission rules\n\n"
        "| path | rule |\n|---|---|\n" + "\n".join(rows) + "\n\n"
        "Fix these and push again; nothing was run and nothing counts toward "
        "your daily limit."
    )
    return finish(text, context)


def _refusal_row(refusal: Refusal) -> str:
    """The path and the rule it broke. The path, and the detail that may
    quote a folder's name, are the pull request's own: in code spans, so no
    backtick or bracket in a file name turns into markup."""
    path = _code(refusal.path, PATH_CHARS)
    rule = RULES[refusal.rule]
    if refusal.detail:
        rule += f" ({_code(refusal.detail, PATH_CHARS)})"
    return f"| {_cell(path)} | {_cell(rule)} |"


def invalid(context: Context, message: str) -> str:
    text = (
        f"### 🚫 Not evaluated: {context.what} cannot be read\n\n"
        f"{_block(message)}\n\nFix it and push again; this does not count "
        "toward your daily limit."
    )
    return finish(text, context)


def limited(context: Context, quota: Quota, playbook: str) -> str:
    slot = format_utc(quota.next_slot) if quota.next_slot else "in 24 hours"
    text = (
        f"### ⏸ Not evaluated: daily limit reached ({quota.used}/{quota.limit} "
        f"on {playbook})\n\nThe next evaluation is allowed at **{slot}**. "
        "Comment `/camino rescore` after that time, or push a new commit."
    )
    return finish(text, context)


def platform_error(context: Context) -> str:
    text = (
        f"### ⚠️ The evaluation of {context.what} failed on our side\n\n"
        "This is not your code's fault and does not count toward your daily "
        f"limit. The run's log is at {context.run_url}; comment "
        "`/camino rescore` to try again, or a maintainer re-runs the job."
    )
    return finish(text, context)


def not_allowed(context: Context, actor: str, verb: str) -> str:
    text = (
        f"### ✋ `/camino {verb}` by @{actor} was ignored\n\n"
        "`/camino evaluate` needs a maintainer (owner, member or collaborator); "
        "`/camino rescore` needs the pull request's author or a maintainer."
    )
    return finish(text, context)


def failed(context: Context, record: Record, quota: Quota | None) -> str:
    # The model's own message only when it failed on the public data (the
    # smoke stage); an internal-stage failure's record holds a generic hint,
    # since the model's words could quote internal rows. Clipped all the same.
    error = record.error or {"category": "output", "message": ""}
    step = STEP_WORDS.get(error["category"], error["category"])
    lines = [
        f"### ❌ {context.what} failed while {step}",
        "",
        _block(_clip_tail(error["message"], MESSAGE_BYTES)),
        "",
        "The board is unchanged. Try the same with `camino test` in your model "
        "folder: it runs the model the way the server does, on the public data.",
    ]
    lines += _quota_lines(quota, record.playbook)
    lines += _provenance_lines(record)
    return finish("\n".join(lines), context)


def scored(
    context: Context,
    record: Record,
    board: Board,
    quota: Quota | None,
    new: bool,
    note: str = "",
) -> str:
    lines = [f"### ✅ Scored: {context.what}", ""]
    if not new:
        lines += [f"_This commit was already evaluated ({record.evaluated_at})._", ""]
    lines += _rank_lines(record, board, context)
    lines += ["", "| metric | value |", "|---|---:|"]
    lines += _metric_rows(record)
    lines += _provenance_lines(record)
    lines += _quota_lines(quota, record.playbook)
    lines += ["", note] if note else []
    lines += ["", "**Top of the board**", "", *_top_rows(board, record)]
    return finish("\n".join(lines), context)


def _rank_lines(record: Record, board: Board, context: Context) -> list[str]:
    link = f"[{board.playbook.title}]({context.board_url}{board.playbook.name}.md)"
    if record.data_version != board.data_version:
        return [
            f"Not ranked on {link} yet: this run used the new internal data "
            f"(version `{record.data_version}`) and the board still ranks "
            f"version `{board.data_version}`. The re-score workflow ranks every "
            "submission on the new data at once."
        ]
    row = next((r for r in board.rows if r.record.folder == record.folder), None)
    if row is None:
        return [f"Not ranked on {link}: no metric could be computed."]
    lines = [f"**Rank {row.rank} of {len(board.rows)}** on {link}."]
    if row.record.key != record.key:
        # The board shows each folder's best result, so say which one it is.
        metric = board.playbook.ranking_metric
        best = format_score(row.record.scores.get(metric.name))
        lines.append(
            f"This result did not beat your best for this model "
            f"({metric.display} {best}), which keeps its place."
        )
    return lines


def _metric_rows(record: Record) -> list[str]:
    rows = []
    for metric in record.metrics:
        arrow = (
            "↑ higher is better" if metric["greater_is_better"] else "↓ lower is better"
        )
        value = record.scores.get(metric["name"])
        shown = format_score(value)
        if value is None and metric["name"] in record.score_problems:
            # Free text of the record (a metric's message, which may quote
            # labels): shown as code, never as markdown.
            problem = _code(record.score_problems[metric["name"]], PROBLEM_CHARS)
            shown = f"n/a: {_cell(problem)}"
        rows.append(f"| {_cell(metric['display'])} ({arrow}) | {shown} |")
    rows.append(f"| train seconds | {format_seconds(record.train_seconds)} |")
    rows.append(f"| predict seconds | {format_seconds(record.predict_seconds)} |")
    return rows


def _top_rows(board: Board, record: Record) -> list[str]:
    metric = board.playbook.ranking_metric
    lines = [
        f"| # | model | author | {metric.display} {direction(metric)} |",
        "|---:|---|---|---:|",
    ]
    shown = board.rows[:TOP_ROWS]
    own = [r for r in board.rows[TOP_ROWS:] if r.record.folder == record.folder]
    for row in shown + own:
        mark = " **← you**" if row.record.folder == record.folder else ""
        lines.append(
            f"| {row.rank} | {_cell(row.record.model)}{mark} | "
            f"{_cell(row.record.author)} | {row.cells[0]} |"
        )
    return lines


def _provenance_lines(record: Record) -> list[str]:
    """One line: what reproduces the number. Parts a record does not have
    (one written before they existed) are left out."""
    values = [
        ("data version", record.data_version),
        ("environment", record.environment_lock),
        ("commit", record.submission_commit),
    ]
    parts = [f"{what} {_code(value, HASH_CHARS)}" for what, value in values if value]
    runner = _runner_words(record.runner)
    parts += [f"runner {runner}"] if runner else []
    return ["", f"<sub>Provenance: {', '.join(parts)}</sub>"] if parts else []


def _runner_words(runner: object) -> str:
    """`name` (machine type, N CPUs, M MB) of provenance.describe_runner's
    dict. The outcome file is untrusted: a value of the wrong type is left
    out rather than shown."""
    if not isinstance(runner, dict):
        return ""
    size = []
    if runner.get("machine_type"):
        size.append(_code(runner["machine_type"], NAME_CHARS))
    if isinstance(runner.get("cpus"), int | float):
        size.append(f"{runner['cpus']:g} CPUs")
    if isinstance(runner.get("memory_mb"), int | float):
        size.append(f"{runner['memory_mb']:.0f} MB")

    name = [_code(runner["name"], NAME_CHARS)] if runner.get("name") else []
    details = [f"({', '.join(size)})"] if size else []
    return " ".join(name + details)


def _quota_lines(quota: Quota | None, playbook: str) -> list[str]:
    if quota is None:
        return []
    text = f"Submissions left today on {playbook}: **{quota.left} of {quota.limit}**"
    if quota.left == 0 and quota.next_slot:
        text += f" (next at {format_utc(quota.next_slot)})"
    return ["", text + "."]


def finish(body: str, context: Context) -> str:
    """The marker, the body, a footer; clipped to the budget if need be."""
    footer = f"\n\n<sub>camino · [run]({context.run_url})</sub>"
    text = f"{MARKER}\n{body}"
    room = BUDGET_BYTES - len(footer.encode()) - len(TRUNCATED.encode()) - 200
    if len(text.encode()) > room:
        text = _clip_head(text, room) + TRUNCATED + f"the run's log: {context.run_url}"
    return text + footer


def _clip_head(text: str, limit: int) -> str:
    # Cut on a character boundary: decoding with "ignore" drops a split one.
    return text.encode()[:limit].decode("utf-8", "ignore")


def _clip_tail(text: str, limit: int) -> str:
    """The end of ``text`` within ``limit`` bytes: a traceback's last line
    (the exception) is the part that explains a failure."""
    data = text.encode()
    if len(data) <= limit:
        return text
    tail = data[-limit:].decode("utf-8", "ignore")
    return f"… (first {len(data) - limit} bytes cut)\n{tail}"


def _block(text: str) -> str:
    # A fence longer than any backtick run inside, so the text cannot close it.
    runs = re.findall(r"`+", text)
    fence = "`" * max([3, *(len(run) + 1 for run in runs)])
    return f"{fence}\n{text.rstrip()}\n{fence}"


def _code(value: object, limit: int) -> str:
    """A short value in a code span: no backtick or line break can end it,
    and no length can crowd the comment."""
    text = " ".join(str(value).replace("`", "'").split())
    return f"`{text[:limit]}`"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
