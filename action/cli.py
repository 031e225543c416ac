"""``camino action ...``: the steps of the evaluate workflow. Typer wiring
only; each step's logic lives in its own module and takes the environment as
a mapping."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from camino.errors import EXIT_BUG, CaminoError

action_app = typer.Typer(
    help="Steps of the evaluate workflow (run inside GitHub Actions).",
    no_args_is_help=True,
)
Result = TypeVar("Result")

RootOption = Annotated[
    Path, typer.Option("--root", help="The checkout of the competition's base branch.")
]
OutOption = Annotated[
    Path,
    typer.Option(
        "--out",
        envvar="CAMINO_OUTCOME",
        help="Folder of outcome.json, the artifact from evaluate to publish.",
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
