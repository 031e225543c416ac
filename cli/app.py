"""The camino command line. This module only declares the commands; each
verb's logic lives in camino.commands or camino.evaluator and can be called
without typer.
"""

from __future__ import annotations

import enum
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from camino.action.cli import action_app
from camino.errors import EXIT_BAD_INPUT, EXIT_BUG, CaminoError, SubmissionFailed

HELP = """camino: machine-learning challenges in a Git repository that scores
itself.

Participants: camino init, camino test, then a pull request with the folder.
Maintainers: camino playbook split, camino round, camino evaluate --all,
camino rescore, camino compile.

Exit codes: 0 success, 1 a fault in camino (a bug), 2 bad input (a file,
field or option you can fix), 3 the submission's own code failed.
"""

app = typer.Typer(
    help=HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
playbook_app = typer.Typer(
    help="Maintain playbooks (challenges).", no_args_is_help=True
)
app.add_typer(playbook_app, name="playbook")
app.add_typer(action_app, name="action")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
Command = TypeVar("Command", bound=Callable[..., Any])


class Task(StrEnum):
    classification = "classification"
    regression = "regression"


state = {"verbose": False}


class BoardFormat(enum.StrEnum):
    """How ``camino leaderboard`` prints the board."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


UnsafeOption = Annotated[
    bool,
    typer.Option(
        "--unsafe-no-sandbox",
        help="Run submissions without the sandbox. Only for code you trust: "
        "it can then read the internal data and this machine's secrets.",
    ),
]

RepoOption = Annotated[
    Path | None,
    typer.Option(
        "--repo",
        help="The competition repository (default: the one holding the current "
        "folder).",
        file_okay=False,
    ),
]


def handle_errors(command: Command) -> Command:
    """Turn camino's errors into one paragraph on stderr and an exit code."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CaminoError as error:
            _report(error)
            raise typer.Exit(error.exit_code) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception:
            err.print(
                "[red]error:[/] camino itself failed; this is a bug. Please "
                "report it with the traceback below."
            )
            err.print(traceback.format_exc(), markup=False, highlight=False)
            raise typer.Exit(EXIT_BUG) from None

    return wrapper  # type: ignore[return-value]


def _report(error: CaminoError) -> None:
    if state["verbose"] and error.__cause__ is not None:
        err.print(
            "".join(traceback.format_exception(error.__cause__)),
            markup=False,
            highlight=False,
        )
    if isinstance(error, SubmissionFailed):
        if state["verbose"] and error.trace:
            err.print(error.trace.rstrip(), markup=False, highlight=False)
        err.print(f"[red]failed ({error.category}):[/] ", end="")
        err.print(str(error), markup=False, highlight=False)
        if error.log_tail.strip():
            tail = error.log_tail if state["verbose"] else _last_lines(error.log_tail)
            err.print("\n[dim]output of the model (last lines):[/]")
            err.print(tail.rstrip(), markup=False, highlight=False)
        return
    err.print("[red]error:[/] ", end="")
    err.print(str(error), markup=False, highlight=False)


def _last_lines(text: str, count: int = 15) -> str:
    return "\n".join(text.rstrip().splitlines()[-count:])


def resolve_repo(repo: Path | None) -> Path:
    from camino.playbook import find_repo

    if repo is not None and not (repo / "playbooks").is_dir():
        raise CaminoError(
            f"--repo {repo}: not a competition repository (it has no playbooks/ folder)"
        )
    found = repo or find_repo(Path.cwd())
    if found is None or not (found / "playbooks").is_dir():
        raise CaminoError(
            "no competition repository here: run inside one (a folder with "
            "playbooks/) or pass --repo PATH"
        )
    return found.resolve()


@app.callback()
def main_options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks and full logs.")
    ] = False,
) -> None:
    state["verbose"] = verbose
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING)
    # camino's own debug lines; the libraries' (every git command, every
    # HTTP request) would bury them.
    for library in ("git", "urllib3", "botocore", "boto3", "filelock"):
        logging.getLogger(library).setLevel(logging.WARNING)


@app.command()
@handle_errors
def init(
    playbook: Annotated[str, typer.Option("--playbook", "-p", help="Playbook name.")],
    folder: Annotated[
        Path | None, typer.Argument(help="Where to create the model folder.")
    ] = None,
    repo: RepoOption = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Git URL of the competition (default: CAMINO_REPO, else the "
            "repository camino was installed from). Only playbooks/NAME is "
            "fetched.",
        ),
    ] = None,
) -> None:
    """Create a model folder from a playbook's template and public data."""
    from camino.commands.init import init_model

    destination = folder or Path(f"{playbook}-model")
    local = repo or (None if source else find_local_repo())
    if local is not None:
        init_model(resolve_repo(local), playbook, destination)
    else:
        from camino.action.remote import competition_url, init_from_remote

        init_from_remote(competition_url(source, os.environ), playbook, destination)
    out.print(f"Created {destination}/ for playbook {playbook}. Next:")
    out.print(f"  cd {destination} && camino test")


def find_local_repo() -> Path | None:
    from camino.playbook import find_repo

    return find_repo(Path.cwd())


@app.command()
@handle_errors
def submit(
    folder: Annotated[Path, typer.Argument(help="The model folder.")] = Path("."),
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Git URL of the competition (default: where camino init "
            "fetched the folder from, or CAMINO_REPO).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")
    ] = False,
) -> None:
    """Open or update the pull request that submits this model folder.

    Needs GITHUB_TOKEN (or GH_TOKEN). Pushes to the competition repository
    if you may, else to your fork; data/ is never committed.
    """
    from camino.action.submit import submit as run_submit

    plan, url = run_submit(folder, os.environ, to, dry_run)
    where = f"your fork {plan.push_to}" if plan.uses_fork else plan.push_to
    prefix = "would push" if dry_run else "pushed"
    out.print(f"{prefix} {len(plan.files)} files as {plan.folder}/")
    out.print(f"  branch {plan.branch} on {where}")
    for name in plan.files:
        out.print(f"  {name}", markup=False, highlight=False)
    if dry_run:
        action = "update" if plan.existing_pull else "open"
        out.print(f"would {action} a pull request on {plan.upstream}")
        return
    out.print(f"pull request: {url}")


@app.command()
@handle_errors
def test(
    folder: Annotated[Path, typer.Argument(help="The model folder.")] = Path("."),
    repo: RepoOption = None,
) -> None:
    """Train on data/train.csv, score on data/validate.csv, print the metrics."""
    import pandas as pd

    from camino.commands.test import test_model

    with err.status("training and predicting in a separate process..."):
        report = test_model(folder, repo)
    table = Table(title=f"{report.playbook.title}: public validation set")
    table.add_column("metric")
    table.add_column("value", justify="right")
    arrows = {"higher": " ↑", "lower": " ↓", "": ""}
    for name, row in report.to_frame().iterrows():
        if not row["better"]:  # a timing, in seconds
            shown = f"{row['value']:.2f}"
        elif pd.isna(row["value"]):
            shown = f"n/a: {row['note']}"
        else:
            shown = f"{row['value']:.4f}"
        table.add_row(f"{name}{arrows[row['better']]}", shown)
    table.add_row("validation rows", str(report.assessment.rows))
    out.print(table)
    if state["verbose"] and report.assessment.log.strip():
        out.print(report.assessment.log, markup=False, highlight=False)


@app.command()
@handle_errors
def evaluate(
    folder: Annotated[
        Path | None,
        typer.Argument(help="submissions/<playbook>/<author>/<model>"),
    ] = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every live submission and baseline (with --playbook: "
            "of that playbook).",
        ),
    ] = False,
    playbook: Annotated[
        str | None, typer.Option("--playbook", "-p", help="With --all: one playbook.")
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(help="With --all: K/N, evaluate only the K-th of N shares."),
    ] = None,
    repo: RepoOption = None,
    force: Annotated[bool, typer.Option(help="Evaluate again even if scored.")] = False,
    unsafe_no_sandbox: UnsafeOption = False,
) -> None:
    """Score a submission (or --all) on the internal data, record it, re-render
    the board.

    Submissions run in a sandbox, first on the public data (its log is shown
    when it fails there), then on the internal data (its log is kept private,
    under .camino/artifacts/).
    """
    from camino.board import write_boards
    from camino.evaluator.pipeline import evaluate as evaluate_submission
    from camino.playbook import all_playbooks

    root = resolve_repo(repo)
    _check_evaluate_options(folder, all_, playbook, shard)
    if all_:
        _evaluate_all(root, playbook, shard, force, unsafe_no_sandbox)
        return

    assert folder is not None
    with err.status(f"evaluating {folder}..."):
        record, is_new = evaluate_submission(
            root, folder, force=force, unsafe_no_sandbox=unsafe_no_sandbox
        )
    write_boards(root, all_playbooks(root))
    _print_record(record, is_new)
    _note_unranked(root, record)
    if not record.scored:
        _print_smoke_log(root, record)
        raise typer.Exit(3)


def _note_unranked(root: Path, record: Any) -> None:
    """Say so when the board will not show this run: it ranks other data."""
    from camino.evaluator.results import board_version

    shown = board_version(root, record.playbook)
    if shown is not None and record.data_version != shown:
        _note(
            f"{record.playbook}: this run used internal data version "
            f"{record.data_version}, the board ranks {shown}; camino rescore "
            "moves the board and everyone on it to the new data"
        )


def _check_evaluate_options(
    folder: Path | None, all_: bool, playbook: str | None, shard: str | None
) -> None:
    from camino.errors import SpecError

    if folder is not None and all_:
        raise SpecError("camino evaluate: give a FOLDER or --all, not both")
    if not all_ and (playbook is not None or shard is not None):
        raise SpecError("camino evaluate: --playbook and --shard go with --all")
    if folder is None and not all_:
        raise SpecError(
            "camino evaluate: give a FOLDER (submissions/<playbook>/<author>/"
            "<model>) or --all"
        )


def _evaluate_all(
    root: Path, playbook: str | None, shard: str | None, force: bool, unsafe: bool
) -> None:
    from camino.board import write_boards
    from camino.commands.batch import (
        Shard,
        choose_playbooks,
        evaluate_all,
        parse_shard,
        unknown_playbook_folders,
    )
    from camino.playbook import all_playbooks

    playbooks = choose_playbooks(root, playbook)
    part = parse_shard(shard) if shard is not None else Shard()
    with _steps("evaluate") as on_step:
        summary = evaluate_all(
            root, playbooks, part, on_step, force=force, unsafe_no_sandbox=unsafe
        )
    write_boards(root, all_playbooks(root))
    if playbook is None:
        summary.skipped += unknown_playbook_folders(root)

    for record in summary.records:
        _print_record(record, record in summary.new)
    _print_skipped(summary.skipped)
    out.print(
        f"{len(summary.new)} evaluated, {len(summary.reused)} already evaluated, "
        f"{len(summary.failed)} failed, {len(summary.skipped)} skipped"
    )
    if summary.skipped:
        raise typer.Exit(2)
    if summary.failed:
        raise typer.Exit(3)


@contextmanager
def _steps(first: str) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar for long work, told (what, done, total) per step."""
    columns = [TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(first, total=None)

        def on_step(what: str, done: int, total: int) -> None:
            progress.update(task, description=what, completed=done, total=total)

        yield on_step


def _print_skipped(skipped: list[tuple[Path, str]]) -> None:
    for _, reason in skipped:
        err.print("[red]skipped:[/] ", end="")
        err.print(reason, markup=False, highlight=False)


def _print_record(record: Any, is_new: bool) -> None:
    from camino.board import format_score, format_seconds

    prefix = "" if is_new else "(already evaluated) "
    if not record.scored:
        stage = f", {record.stage} stage" if record.stage else ""
        where = escape(record.path)
        category = record.error["category"]
        err.print(f"[red]{prefix}{where}: failed ({category}{stage}):[/] ", end="")
        err.print(record.error["message"], markup=False, highlight=False)
        return
    scores = ", ".join(
        f"{metric['display']} {format_score(record.scores.get(metric['name']))}"
        for metric in record.metrics
    )
    seconds = format_seconds(record.train_seconds)
    out.print(f"{prefix}{record.path}: {scores}; train {seconds} s")


def _print_smoke_log(repo: Path, record: Any) -> None:
    """The model's output on the public data: safe to show, and where most
    mistakes can be read. The internal stage's log is never printed."""
    from camino.evaluator.pipeline import SMOKE_LOG, artifact_dir

    if record.stage != "smoke":
        return
    log = artifact_dir(repo, record) / SMOKE_LOG
    if log.is_file():
        text = log.read_text(encoding="utf-8", errors="replace")
        err.print("\n[dim]log of the run on the public data (last lines):[/]")
        err.print(_last_lines(text), markup=False, highlight=False)


@app.command()
@handle_errors
def leaderboard(
    playbook: Annotated[
        str | None, typer.Option("--playbook", "-p", help="Only this playbook.")
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(help="Rank by this metric instead (needs --playbook)."),
    ] = None,
    output: Annotated[
        BoardFormat, typer.Option("--format", help="How to print the board.")
    ] = BoardFormat.TABLE,
    reveal: Annotated[
        bool,
        typer.Option(
            help="After the deadline: publish the final ranking on the private "
            "rows, with each model's change of rank."
        ),
    ] = False,
    repo: RepoOption = None,
) -> None:
    """Re-render leaderboard/ and print the board (a table, CSV or JSON)."""
    from camino.commands import leaderboard as board_command

    root = resolve_repo(repo)
    written, boards = board_command.leaderboard(root, playbook, metric, reveal)
    for path in written:
        err.print(f"rendered {path.relative_to(root)}", highlight=False)
    if output == BoardFormat.JSON:
        out.print(board_command.to_json(boards), end="", markup=False, highlight=False)
    elif output == BoardFormat.CSV:
        out.print(board_command.to_csv(boards), end="", markup=False, highlight=False)
    else:
        for board in boards:
            out.print(board_command.to_table(board))


@app.command(name="round")
@handle_errors
def round_(repo: RepoOption = None, unsafe_no_sandbox: UnsafeOption = False) -> None:
    """Split every playbook, evaluate every submission, render the board."""
    from camino.commands.round import run_round

    root = resolve_repo(repo)
    with _steps("round") as on_step:
        summary = run_round(root, on_step, unsafe_no_sandbox=unsafe_no_sandbox)
    for record in summary.records + summary.ensembles:
        _print_record(record, record in summary.new + summary.new_ensembles)
    for note in summary.notes:
        _note(note)
    _print_skipped(summary.skipped)
    _print_rescored(root, summary.rescored)
    out.print(
        f"{len(summary.new)} evaluated, {len(summary.reused)} already evaluated, "
        f"{len(summary.failed)} failed, {len(summary.skipped)} skipped, "
        f"{len(summary.ensembles)} ensembles; board: leaderboard/README.md"
    )
    if summary.skipped:
        raise typer.Exit(2)


@app.command()
@handle_errors
def rescore(
    playbook: Annotated[
        str | None,
        typer.Option("--playbook", "-p", help="One playbook (default: all)."),
    ] = None,
    changes: Annotated[
        Path | None,
        typer.Option(help="Also write the rank-change table (Markdown) here."),
    ] = None,
    repo: RepoOption = None,
    unsafe_no_sandbox: UnsafeOption = False,
) -> None:
    """Move boards whose internal data changed to the new data, everyone at
    once: evaluate every live submission again, then switch the board."""
    from camino.commands.batch import choose_playbooks
    from camino.commands.rescore import rescore as run_rescore

    root = resolve_repo(repo)
    playbooks = choose_playbooks(root, playbook)
    if changes is not None:
        _check_writable(changes, "--changes")
    with _steps("rescore") as on_step:
        summary = run_rescore(
            root, playbooks, on_step, unsafe_no_sandbox=unsafe_no_sandbox
        )
    for record in summary.batch.records:
        _print_record(record, record in summary.batch.new)
    _print_skipped(summary.batch.skipped)
    text = _print_rescored(root, summary)
    if changes is not None:
        changes.write_text(text, encoding="utf-8")
    if summary.unchanged:
        out.print(
            f"already on the current internal data: {', '.join(summary.unchanged)}"
        )
    if summary.held or summary.batch.skipped:
        raise typer.Exit(3 if summary.held else 2)


def _check_writable(path: Path, option: str) -> None:
    """Refuse a file that cannot be written before the work, not after it."""
    from camino.errors import SpecError

    if path.is_dir():
        raise SpecError(f"{option} {path}: a folder; expected a file name")
    if not path.parent.is_dir():
        raise SpecError(f"{option} {path}: the folder {path.parent} does not exist")


def _print_rescored(root: Path, summary: Any) -> str:
    """Print the rank changes of the boards that moved, and those held back;
    returns the Markdown of the table."""
    from camino.rank_changes import render_changes

    for name, reason in summary.held:
        err.print(f"[red]{name}: board not moved:[/] ", end="")
        err.print(reason, markup=False, highlight=False)
    if not summary.tables:
        return ""
    text = render_changes(root, summary.tables)
    out.print(text, markup=False, highlight=False)
    return text


@app.command(name="compile")
@handle_errors
def compile_(
    playbook: Annotated[
        list[str] | None,
        typer.Option("--playbook", "-p", help="Playbook name (default: all)."),
    ] = None,
    top: Annotated[int, typer.Option(help="Best models taken per metric.")] = 5,
    voting: Annotated[
        str, typer.Option(help="hard, soft, or auto (soft when every member can).")
    ] = "hard",
    weighted: Annotated[
        bool, typer.Option(help="Weight members by their ranking score.")
    ] = False,
    refit: Annotated[
        bool, typer.Option(help="Retrain members instead of reusing them.")
    ] = False,
    repo: RepoOption = None,
    unsafe_no_sandbox: UnsafeOption = False,
) -> None:
    """Build a voting ensemble of each playbook's best submissions.

    Each member runs its saved model in its own environment and the sandbox.
    """
    from camino.board import write_boards
    from camino.evaluator.compile import Options, compile_playbook
    from camino.playbook import all_playbooks

    root = resolve_repo(repo)
    options = Options(top=top, voting=voting, weighted=weighted, refit=refit)
    playbooks = all_playbooks(root)
    unknown = set(playbook or []) - {p.name for p in playbooks}
    if unknown:
        raise CaminoError(
            f"unknown playbook {', '.join(sorted(unknown))}; the playbooks are: "
            f"{', '.join(p.name for p in playbooks)}"
        )

    for spec in [p for p in playbooks if not playbook or p.name in playbook]:
        with err.status(f"compiling {spec.name}..."):
            outcome = compile_playbook(
                root, spec, options, note=_note, unsafe_no_sandbox=unsafe_no_sandbox
            )
        if outcome.record is not None:
            _print_record(outcome.record, outcome.is_new)
    write_boards(root, playbooks)


def _note(text: str) -> None:
    err.print(f"[dim]note:[/] {text}", highlight=False)


@playbook_app.command("new")
@handle_errors
def playbook_new(
    name: Annotated[str, typer.Argument(help="Name of the new playbook.")],
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="The full data: a CSV file you own (PATH or csv:PATH; keep it "
            "out of the repository) or sklearn:NAME.",
        ),
    ],
    task: Annotated[Task, typer.Option(help="What is predicted.")],
    target: Annotated[str, typer.Option(help="The column to predict.")],
    metrics: Annotated[
        list[str] | None,
        typer.Option(
            help="A metric; repeat it or separate with commas. The first "
            "ranks the board. Default: f1, accuracy / rmse, mae, r2."
        ),
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option("--id", help="A row ID column: read as text, no feature."),
    ] = None,
    sep: Annotated[
        str, typer.Option(help="The CSV's separator: ',', ';', tab or '|'.")
    ] = ",",
    decimal: Annotated[
        str, typer.Option(help="The CSV's decimal mark: '.' or ','.")
    ] = ".",
    title: Annotated[str | None, typer.Option(help="Title on the board.")] = None,
    repo: RepoOption = None,
) -> None:
    """Scaffold playbooks/NAME/ from a CSV: playbook.yml, a template that
    trains, the public data; the internal part goes to .camino/internal/NAME."""
    from camino.commands.new import Request, new_playbook

    request = Request(
        name=name,
        source=source,
        task=task.value,
        target=target,
        metrics=[m.strip() for item in metrics or [] for m in item.split(",") if m],
        id=id_column,
        sep="\t" if sep.lower() in ("tab", "\\t") else sep,
        decimal=decimal,
        title=title,
    )
    made = new_playbook(resolve_repo(repo), request)
    out.print(f"Created playbooks/{name}/: playbook.yml, template/, data/")
    _print_split(made.split)
    out.print(f"Next: camino playbook check {name}")


@playbook_app.command("split")
@handle_errors
def playbook_split(
    name: Annotated[str, typer.Argument(help="Playbook name.")],
    repo: RepoOption = None,
) -> None:
    """Build the public data and the internal part from the playbook's source."""
    from camino.commands.split import split_playbook

    _print_split(split_playbook(resolve_repo(repo), name))


def _print_split(summary: Any) -> None:
    sizes = ", ".join(f"{label} {rows}" for label, rows in summary.sizes.items())
    out.print(f"{summary.playbook}: {sizes} rows")
    if summary.duplicates:
        out.print(
            f"dropped {summary.duplicates} duplicate row(s) before the split, so "
            "no row is both public and internal"
        )
    out.print(f"internal part: {summary.internal_dir} (never commit it)")
    if summary.upload_to:
        out.print(
            f"the evaluation reads {summary.upload_to}: send it with "
            f"camino playbook upload {summary.playbook}"
        )


@playbook_app.command("upload")
@handle_errors
def playbook_upload(
    name: Annotated[str, typer.Argument(help="Playbook name.")],
    store: Annotated[
        str | None,
        typer.Option(
            help="Store URL (s3://BUCKET/PREFIX, file://PATH, a folder); the "
            "playbook's name is appended. Default: $CAMINO_INTERNAL_STORE, "
            "else the playbook's internal:."
        ),
    ] = None,
    repo: RepoOption = None,
) -> None:
    """Send the internal part made by split to the internal store."""
    from camino.commands.upload import upload_playbook

    summary = upload_playbook(resolve_repo(repo), name, store)
    out.print(f"{name}: sent {', '.join(summary.keys)} to {summary.destination}")


@playbook_app.command("check")
@handle_errors
def playbook_check(
    names: Annotated[list[str], typer.Argument(help="Playbook names.")],
    markdown: Annotated[
        bool, typer.Option(help="Print Markdown (for a job summary or comment).")
    ] = False,
    repo: RepoOption = None,
) -> None:
    """Validate playbooks: schema, metrics, data, template, overlap, git.
    Exits 2 if a check fails."""
    from camino.commands.check import check_playbook, to_markdown

    root = resolve_repo(repo)
    failed = False
    for name in names:
        report = check_playbook(root, name)
        failed = failed or not report.passed
        if markdown:
            out.print(to_markdown(report), markup=False, highlight=False)
        else:
            _print_check(report)
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


def _print_check(report: Any) -> None:
    verdict = "passed" if report.passed else "[red]FAILED[/]"
    table = Table(title=f"playbook {report.playbook}: {verdict}")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    colours = {"pass": "green", "fail": "red", "skip": "yellow"}
    for finding in report.findings:
        status = f"[{colours[finding.status]}]{finding.status}[/]"
        table.add_row(finding.check, status, escape(finding.detail))
    out.print(table)


def main() -> None:
    # --verbose is global, but people type it after the command too.
    arguments = sys.argv[1:]
    flags = [a for a in arguments if a in ("--verbose", "-v")]
    rest = [a for a in arguments if a not in ("--verbose", "-v")]
    app(args=flags[:1] + rest)
