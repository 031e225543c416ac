"""The Actions protocol: outputs, job summary and annotations, read from and
written to the files and stream the runner provides."""

from __future__ import annotations

import io
import json
from pathlib import Path

from support import read_outputs
from typer.testing import CliRunner

from camino.action.workflow import (
    annotate,
    read_runner,
    report_error,
    set_outputs,
)
from camino.app import app


def runner_files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "out").touch()
    (tmp_path / "summary").touch()
    return {
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }


def test_outputs_survive_newlines_and_equals_signs(tmp_path: Path) -> None:
    runner = read_runner(runner_files(tmp_path))

    set_outputs(runner, {"run": "true", "message": "a=b\nsecond line"})

    values = read_outputs((tmp_path / "out").read_text())
    assert values == {"run": "true", "message": "a=b\nsecond line"}


def test_an_error_is_one_annotation_and_a_summary_paragraph(tmp_path: Path) -> None:
    runner = read_runner(runner_files(tmp_path))
    stream = io.StringIO()

    report_error(runner, "line one\nline two 100%\n::warning::injected", stream)

    [line] = stream.getvalue().splitlines()
    assert line.startswith("::error title=camino::line one%0Aline two 100%25")
    assert "%0A::warning::injected" in line
    assert (
        "### camino failed\n\nline one\nline two" in (tmp_path / "summary").read_text()
    )


def test_annotation_title_cannot_break_the_command() -> None:
    stream = io.StringIO()

    annotate("notice", "ok", title="a,b:c", stream=stream)

    assert stream.getvalue() == "::notice title=a%2Cb%3Ac::ok\n"


def test_a_step_outside_actions_fails_with_an_annotation(tmp_path: Path) -> None:
    env = runner_files(tmp_path)

    result = CliRunner().invoke(app, ["action", "publish"], env=env)

    assert result.exit_code == 2
    assert "::error title=camino::GITHUB_REPOSITORY" in result.stdout
    assert "GitHub Actions step" in (tmp_path / "summary").read_text()


def test_a_crashed_evaluate_step_still_leaves_an_error_outcome(tmp_path: Path) -> None:
    env = {
        **runner_files(tmp_path),
        "CAMINO_PR": "7",
        "CAMINO_HEAD_SHA": "0" * 40,
        "CAMINO_AUTHOR": "alice",
        "CAMINO_OUTCOME": str(tmp_path / "outcome"),
    }
    not_a_checkout = tmp_path / "empty"
    not_a_checkout.mkdir()

    result = CliRunner().invoke(
        app, ["action", "evaluate", "--root", str(not_a_checkout)], env=env
    )

    assert result.exit_code == 1
    assert "camino itself failed" in result.stdout
    outcome = json.loads((tmp_path / "outcome" / "outcome.json").read_text())
    assert (outcome["status"], outcome["pr"]) == ("error", 7)
