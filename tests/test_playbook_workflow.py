"""The playbook workflow, checked offline: GitHub's workflow schema (the one
check-jsonschema vendors), the rules it must keep, and its check step's
script run for real on a git repository, the way a runner runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, commit_all

WORKFLOW = ROOT / ".github" / "workflows" / "playbook.yml"
BIN = Path(sys.executable).parent
PINNED = re.compile(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}")


def workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(job: str) -> list[dict[str, Any]]:
    return workflow()["jobs"][job]["steps"]


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_workflow_matches_githubs_schema() -> None:
    checked = validate(WORKFLOW)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok -- validation done" in checked.stdout


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "playbook.yml"
    text = WORKFLOW.read_text().replace("timeout-minutes: 30", "timeout-minutes: soon")
    broken.write_text(text)

    checked = validate(broken)

    assert checked.returncode == 1
    assert "soon" in checked.stdout


def test_it_runs_on_pull_requests_under_playbooks_with_least_privilege() -> None:
    spec = workflow()
    jobs = spec["jobs"]

    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    assert spec[True] == {"pull_request": {"paths": ["playbooks/**"]}}
    assert spec["permissions"] == {}
    assert jobs["check"]["permissions"] == {"contents": "read"}
    assert jobs["comment"]["permissions"] == {"pull-requests": "write"}
    # The job that may write runs none of the pull request's code.
    assert all("run" not in step for step in steps("comment"))
    assert not any("checkout" in step.get("uses", "") for step in steps("comment"))
    checkout = next(s for s in steps("check") if "checkout" in s.get("uses", ""))
    assert checkout["with"]["persist-credentials"] is False


def test_every_action_is_pinned_to_a_full_commit_sha() -> None:
    used = [s["uses"] for job in workflow()["jobs"] for s in steps(job) if "uses" in s]

    assert used
    assert [name for name in used if not PINNED.fullmatch(name)] == []


def test_no_expression_is_pasted_into_a_script() -> None:
    # ${{ }} in run: is pasted into the script before bash sees it: a
    # branch or file name could become a command. Values go through env:.
    jobs = workflow()["jobs"]
    scripts = [s["run"] for job in jobs for s in steps(job) if "run" in s]

    assert scripts
    assert [script for script in scripts if "${{" in script] == []


# --- the check step, run as a runner runs it ---------------------------------------


def run_check_step(repo: Path, tmp_path: Path) -> tuple[int, str, str]:
    """Run the step's script with bash as Actions does, secrets empty (a
    fork's pull request); returns the exit code, summary and output file."""
    step = next(s for s in steps("check") if s.get("id") == "check")
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    environ = {name: "" for name in step["env"]}
    environ |= {
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
    }

    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=repo,
        env={**os.environ, **environ},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, summary.read_text(), output.read_text()


@pytest.fixture
def pull_request(competition: Path) -> Path:
    """The competition as a base commit, ready for a pull request's commit."""
    (competition / ".gitignore").write_text(".camino/\n")
    commit_all(competition, "base")
    return competition


def test_the_check_step_checks_only_the_changed_playbook(
    pull_request: Path, tmp_path: Path
) -> None:
    spec = pull_request / "playbooks" / "iris" / "playbook.yml"
    spec.write_text(spec.read_text().replace("title: Iris species", "title: Irises"))
    commit_all(pull_request, "retitle iris")

    status, summary, output = run_check_step(pull_request, tmp_path)

    assert status == 0, summary
    assert "camino playbook check iris: passed" in summary
    assert "wine" not in summary
    assert output.startswith("report<<CAMINO_REPORT_END\n")
    assert "check iris: passed" in output


def test_the_check_step_fails_the_job_on_a_broken_playbook(
    pull_request: Path, tmp_path: Path
) -> None:
    (pull_request / "playbooks" / "wine" / "template" / "model.py").unlink()
    commit_all(pull_request, "lose the wine template")

    status, summary, output = run_check_step(pull_request, tmp_path)

    assert status == 2
    assert "camino playbook check wine: FAILED" in summary
    assert "| template | fail | template/model.py is missing |" in summary
    assert "FAILED" in output
