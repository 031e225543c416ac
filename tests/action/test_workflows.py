"""Static checks over .github/workflows and the action (CASES C18).

The rule that matters: in a workflow started by pull_request_target,
issue_comment or workflow_run, no job that runs pull-request code (checks
out its head, or runs camino's evaluate step) holds a write permission or a
token, and the jobs that write never run pull-request code. Plus the
hygiene zizmor also checks: actions pinned by commit, no persisted
credentials, no event text expanded into a shell script.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PRIVILEGED_TRIGGERS = {"pull_request_target", "issue_comment", "workflow_run"}
PR_REF = re.compile(r"head|merge|refs/pull|github\.event\.pull_request", re.I)
PINNED = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
EVENT_IN_SCRIPT = re.compile(r"\$\{\{[^}]*github\.event\.", re.I)


def triggers(workflow: dict[str, Any]) -> set[str]:
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on}
    return set(on or {})


def writes(permissions: Any) -> bool:
    if permissions in ("write-all", None):
        return permissions == "write-all"
    if isinstance(permissions, str):
        return False
    return any(level == "write" for level in permissions.values())


def runs_pull_request_code(job: dict[str, Any]) -> list[str]:
    reasons = []
    for step in job.get("steps", []):
        uses = str(step.get("uses", ""))
        inputs = step.get("with") or {}
        if uses.startswith("actions/checkout") and PR_REF.search(
            str(inputs.get("ref", ""))
        ):
            reasons.append(f"checks out {inputs['ref']}")
        if inputs.get("command") == "evaluate" or "camino action evaluate" in str(
            step.get("run", "")
        ):
            reasons.append("runs camino's evaluate step")
    return reasons


def problems(text: str, name: str) -> list[str]:
    """Every broken rule in one workflow, as 'name: job: what'."""
    workflow = yaml.safe_load(text)
    privileged = bool(triggers(workflow) & PRIVILEGED_TRIGGERS)
    default = workflow.get("permissions")
    found = []
    for job_name, job in workflow.get("jobs", {}).items():
        where = f"{name}: {job_name}"
        found += [f"{where}: {p}" for p in _hygiene(job)]
        untrusted = runs_pull_request_code(job) if privileged else []
        if not untrusted:
            continue
        if writes(job.get("permissions", default)):
            found.append(
                f"{where}: runs PR code ({untrusted[0]}) with write permission"
            )
        for step in job.get("steps", []):
            if (
                "token" in (step.get("with") or {})
                and step["with"].get("command") == "evaluate"
            ):
                found.append(f"{where}: passes a token to the step that runs PR code")
        if "secrets." in str(job) and "environment" not in job:
            found.append(f"{where}: runs PR code with secrets outside an environment")
    return found


def _hygiene(job: dict[str, Any]) -> list[str]:
    found = []
    for step in job.get("steps", []):
        uses = str(step.get("uses", ""))
        if uses and not uses.startswith("./") and not PINNED.match(uses):
            found.append(f"{uses} is not pinned to a full commit SHA")
        inputs = step.get("with") or {}
        if (
            uses.startswith("actions/checkout")
            and inputs.get("persist-credentials") is not False
        ):
            found.append("checkout without persist-credentials: false")
        if EVENT_IN_SCRIPT.search(str(step.get("run", ""))):
            found.append("event text expanded inside a run: script")
    return found


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_keeps_pull_request_code_away_from_write_tokens(path: Path) -> None:
    assert problems(path.read_text(), path.name) == []


def test_evaluate_workflow_has_the_three_jobs_and_runner_labels() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/evaluate.yml").read_text())
    jobs = workflow["jobs"]

    assert triggers(workflow) == {"pull_request_target", "issue_comment"}
    assert workflow["on" if "on" in workflow else True]["pull_request_target"][
        "paths"
    ] == ["submissions/**"]
    assert workflow["permissions"] == {}
    assert jobs["evaluate"]["runs-on"] == "camino"
    assert jobs["evaluate"]["permissions"] == {"contents": "read"}
    assert runs_pull_request_code(jobs["evaluate"])
    assert not runs_pull_request_code(jobs["publish"])
    assert not runs_pull_request_code(jobs["gate"])
    assert "cancel-in-progress" in jobs["evaluate"]["concurrency"]


PWN_REQUEST = """
on: pull_request_target
permissions:
  contents: write
jobs:
  score:
    runs-on: [self-hosted, camino]
    env:
      KEY: ${{ secrets.CAMINO_STORE_SECRET }}
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}" && python model.py
"""


def test_the_check_catches_a_pwn_request() -> None:
    found = problems(PWN_REQUEST, "bad.yml")

    assert any("with write permission" in p for p in found), found
    assert any("secrets outside an environment" in p for p in found), found
    assert any("not pinned" in p for p in found), found
    assert any("persist-credentials" in p for p in found), found
    assert any("event text expanded" in p for p in found), found


def test_offline_workflow_tools_accept_the_workflows() -> None:
    bin_dir = ROOT / ".venv" / "bin"
    files = [str(p) for p in WORKFLOWS]
    schema = subprocess.run(
        [
            bin_dir / "check-jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            *files,
        ],
        capture_output=True,
        text=True,
    )
    audit = subprocess.run(
        [bin_dir / "zizmor", "--offline", *files, str(ROOT / "action" / "action.yml")],
        capture_output=True,
        text=True,
    )

    assert schema.returncode == 0, schema.stdout + schema.stderr
    assert audit.returncode == 0, audit.stdout + audit.stderr
