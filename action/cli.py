"""``camino action ...``: the steps of camino's workflows (evaluate, compile,
evaluate-all, rescore). Typer wiring only; each step's logic lives in its own
module and takes the environment as a mapping."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from camino.errors import EXIT_BUG, CaminoError

if TYPE_CHECKING:
    from camino.commands.batch import BatchSummary

action_app = typer.Typer(
    help="Steps of camino's workflows (run inside GitHub Actions).",
    no_args_is_help=True,
)
Result = TypeVar("Result")
RECORDS = Path("camino-records")

RootOption = Annotated[
    Path, typer.Option("--root", help="The checkout of the competition's base branch.")
]
OutOption = Annotated[
    Path,
    typer.Option(
        "--out",
        envvar="CAMINO_OUTCOME",
        help="The folder one job hands to the next as an artifact: "
        "outcome.json (evaluate) or records (compile, evaluate-shard).",
    ),
]

PlaybooksOption = Annotated[
    list[str] | None,
    typer.Option(
        "--playbook",
        "-p",
        envvar="CAMINO_PLAYBOOKS",
        help="Only this playbook (repeatable; default: every playbook).",
    ),
]
MaxJobsOption = Annotated[
    int,
    typer.Option(
        envvar="CAMINO_MAX_JOBS",
        help="Most matrix jobs (GitHub's limit is 256); past it, a job "
        "evaluates several folders.",
    ),
]


def _step(body: Callable[[], Result]) -> Result:
    """Run a step; report a failure as an annotation and in the job summary."""
    from camino.action.workflow import read_runner, report_error

    runner = read_runner(os.environ)
    try:
        return body()
    except CaminoError as error:
        report_error(runner, str(error))
        raise typer.Exit(error.exit_code) from None
    except Exception:
        report_error(
            runner, "camino itself failed; this is a bug:\n" + traceback.format_exc()
        )
        raise typer.Exit(EXIT_BUG) from None


@action_app.command()
def gate(root: RootOption = Path(".")) -> None:
    """Decide whether the pull request runs now or waits; post the first comment."""
    from camino.action.gate import gate as run_gate

    decision = _step(lambda: run_gate(os.environ, root))
    typer.echo(f"run={str(decision.run).lower()} environment={decision.environment}")


@action_app.command()
def fetch(root: RootOption = Path(".")) -> None:
    """Fetch the pull request's head commit as data (nothing is checked out)."""
    from camino.action.run import fetch_head, read_job

    def body() -> None:
        fetch_head(root, read_job(os.environ), os.environ.get("GITHUB_TOKEN", ""))

    _step(body)


@action_app.command()
def evaluate(
    root: RootOption = Path("."), out: OutOption = Path("camino-outcome")
) -> None:
    """Check the policy and the daily limit, evaluate, write outcome.json."""
    from camino.action.run import evaluate_job

    outcome = _step(lambda: evaluate_job(os.environ, root.resolve(), out))
    typer.echo(f"outcome: {outcome.status}")


@action_app.command()
def publish(
    root: RootOption = Path("."), out: OutOption = Path("camino-outcome")
) -> None:
    """Commit the board, update the pull request's comment, merge if scored."""
    from camino.action.publish import publish_job

    _step(lambda: publish_job(os.environ, root.resolve(), out))


@action_app.command(name="compile")
def compile_(
    root: RootOption = Path("."), out: OutOption = Path("camino-outcome")
) -> None:
    """Build each playbook's ensemble; hand new records to publish-compiled."""
    from camino.action.compiled import compile_job

    made = _step(lambda: compile_job(os.environ, root.resolve(), out))
    typer.echo(f"ensembles: {len(made)} new")


@action_app.command(name="publish-compiled")
def publish_compiled(
    root: RootOption = Path("."), out: OutOption = Path("camino-outcome")
) -> None:
    """Commit the compile job's ensemble records and the board."""
    from camino.action.compiled import publish_compiled as publish

    commit = _step(lambda: publish(os.environ, root.resolve(), out))
    typer.echo(f"commit: {commit or 'none (nothing new)'}")


@action_app.command()
def plan(
    playbook: PlaybooksOption = None,
    max_jobs: MaxJobsOption = 256,
    root: RootOption = Path("."),
) -> None:
    """Count the live model folders; write the matrix of shards (outputs
    shards and count)."""
    from camino.action.batch import plan_job

    shards = _step(
        lambda: plan_job(os.environ, root.resolve(), playbook or [], max_jobs)
    )
    typer.echo(f"shards: {len(shards)}")


@action_app.command(name="evaluate-shard")
def evaluate_shard(
    shard: Annotated[
        str | None,
        typer.Option(envvar="CAMINO_SHARD", help="K/N: the K-th of N shares."),
    ] = None,
    playbook: PlaybooksOption = None,
    root: RootOption = Path("."),
    out: OutOption = RECORDS,
) -> None:
    """Evaluate one shard of the live folders; hand the new records over."""
    from camino.action.batch import evaluate_shard_job

    def body() -> BatchSummary:
        if not shard:
            raise CaminoError("--shard (CAMINO_SHARD) is missing: give K/N, e.g. 3/10")
        return evaluate_shard_job(
            os.environ, root.resolve(), shard, out, playbook or []
        )

    summary = _step(body)
    typer.echo(f"{len(summary.new)} evaluated, {len(summary.reused)} already evaluated")


@action_app.command(name="publish-records")
def publish_records(root: RootOption = Path("."), out: OutOption = RECORDS) -> None:
    """Commit the batch's records and the boards in one commit."""
    from camino.action.batch import publish_records as publish

    commit = _step(lambda: publish(os.environ, root.resolve(), out))
    typer.echo(f"commit: {commit or 'none (nothing new)'}")


@action_app.command()
def detect(
    playbook: PlaybooksOption = None,
    max_jobs: MaxJobsOption = 256,
    root: RootOption = Path("."),
) -> None:
    """Find the boards whose internal data changed (outputs playbooks,
    versions, shards, branch)."""
    from camino.action.rescore import detect_job

    found = _step(
        lambda: detect_job(os.environ, root.resolve(), playbook or [], max_jobs)
    )
    typer.echo(f"stale: {' '.join(sorted(found.moves)) or 'none'}")


@action_app.command(name="publish-rescore")
def publish_rescore(root: RootOption = Path("."), out: OutOption = RECORDS) -> None:
    """Push the re-score branch and open or update its pull request."""
    from camino.action.rescore import publish_rescore as publish

    url = _step(lambda: publish(os.environ, root.resolve(), out))
    typer.echo(f"pull request: {url or 'none'}")
