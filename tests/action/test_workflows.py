"""Static checks over .github/workflows and the action (CASES C18).

The rule that matters: in a workflow started by pull_request_target,
issue_comment or workflow_run, no job that runs pull-request code (checks
out its head, or runs camino's evaluate step) holds a write permission or a
token, and the jobs that write never run pull-request code. In every
workflow, a job that runs submissions (evaluate, evaluate-shard, compile)
writes nothing and its step gets no token; a job that may write runs on a
GitHub-hosted runner, never on the camino runners that run submissions;
a matrix is bounded. Plus the hygiene zizmor also checks: actions pinned by
commit, no persisted credentials, no event text expanded into a shell
script, no secrets inherited whole by a called workflow.
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
# camino action commands that run submissions' code (in the sandbox).
RUNS_SUBMISSIONS = {"evaluate", "evaluate-shard", "compile"}
# Commands that commit or post with the write token.
PUBLISHES = {"publish", "publish-compiled", "publish-records", "publish-rescore"}
TOKEN = re.compile(r"github\.token|secrets\.GITHUB_TOKEN", re.I)
HOSTED = re.compile(r"^(ubuntu|windows|macos)-")
MAX_PARALLEL = 20


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


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


def commands(job: dict[str, Any]) -> list[str]:
    """The camino action commands the job's steps run."""
    found = []
    for step in job.get("steps", []):
        command = (step.get("with") or {}).get("command")
        if command:
            found.append(str(command))
        found += re.findall(r"camino action ([a-z-]+)", str(step.get("run", "")))
    return found


def submission_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        step
        for step in job.get("steps", [])
        if set(commands({"steps": [step]})) & RUNS_SUBMISSIONS
    ]


def _separation(job: dict[str, Any], default: Any) -> list[str]:
    """Who runs submissions writes nothing; who writes runs where no
    submission ever ran."""
    found = []
    permissions = job.get("permissions", default)
    if submission_steps(job) and writes(permissions):
        found.append("runs submissions with a write permission")
    for step in submission_steps(job):
        if "token" in (step.get("with") or {}) or TOKEN.search(str(step)):
            found.append("passes a token to the step that runs submissions")
    runs_on = str(job.get("runs-on", ""))
    if writes(permissions) and "uses" not in job and not HOSTED.match(runs_on):
        found.append(f"holds a write permission on {runs_on or 'no runner'}")
    if set(commands(job)) & PUBLISHES and not HOSTED.match(runs_on):
        found.append(f"publishes from {runs_on}, not a GitHub-hosted runner")
    if job.get("secrets") == "inherit":
        found.append("hands every secret to a called workflow (secrets: inherit)")
    return found


def _bounded(job: dict[str, Any]) -> list[str]:
    strategy = job.get("strategy") or {}
    if "matrix" not in strategy:
        return []
    limit = strategy.get("max-parallel")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PARALLEL:
        return [f"matrix without a max-parallel of 1 to {MAX_PARALLEL}"]
    return []


def problems(text: str, name: str) -> list[str]:
    """Every broken rule in one workflow, as 'name: job: what'."""
    workflow = yaml.safe_load(text)
    privileged = bool(triggers(workflow) & PRIVILEGED_TRIGGERS)
    default = workflow.get("permissions")
    found = []
    for job_name, job in workflow.get("jobs", {}).items():
        where = f"{name}: {job_name}"
        found += [f"{where}: {p}" for p in _hygiene(job)]
        found += [f"{where}: {p}" for p in _separation(job, default)]
        found += [f"{where}: {p}" for p in _bounded(job)]
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
    workflow = load("evaluate.yml")
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


def test_a_batch_plans_on_a_hosted_runner_and_commits_once() -> None:
    workflow = load("evaluate-all.yml")
    jobs = workflow["jobs"]

    assert triggers(workflow) == {"workflow_dispatch"}
    assert workflow["permissions"] == {}
    assert commands(jobs["plan"]) == ["plan"]
    assert jobs["plan"]["permissions"] == {"contents": "read"}
    _calls_the_shards(jobs["evaluate"], "plan")
    assert commands(jobs["publish"]) == ["publish-records"]
    assert jobs["publish"]["permissions"] == {"contents": "write"}
    _publishes_every_shard(jobs["publish"])


def test_a_rescore_detects_on_the_runner_and_proposes_one_pull_request() -> None:
    workflow = load("rescore.yml")
    jobs = workflow["jobs"]

    assert triggers(workflow) == {"schedule", "workflow_dispatch"}
    assert workflow["permissions"] == {}
    assert jobs["detect"]["runs-on"] == "camino"
    assert jobs["detect"]["permissions"] == {"contents": "read"}
    assert commands(jobs["detect"]) == ["detect"]
    assert set(jobs["detect"]["outputs"]) == {
        "playbooks",
        "versions",
        "shards",
        "branch",
    }
    _calls_the_shards(jobs["evaluate"], "detect")
    assert commands(jobs["publish"]) == ["publish-rescore"]
    assert jobs["publish"]["permissions"] == {
        "contents": "write",
        "pull-requests": "write",
    }
    (step,) = [s for s in jobs["publish"]["steps"] if "command" in s.get("with", {})]
    assert {"playbooks", "versions", "branch"} <= set(step["with"])
    _publishes_every_shard(jobs["publish"])


def test_the_shards_run_on_the_camino_runners_read_only_and_bounded() -> None:
    workflow = load("evaluate-shards.yml")
    (job,) = workflow["jobs"].values()
    called = workflow["on" if "on" in workflow else True]["workflow_call"]
    step = submission_steps(job)[0]

    assert set(called["inputs"]) == {"shards", "playbooks"}
    assert job["runs-on"] == "camino"
    assert job["permissions"] == {"contents": "read"}
    assert job["strategy"]["matrix"]["shard"] == "${{ fromJSON(inputs.shards) }}"
    assert job["strategy"]["fail-fast"] is False
    assert step["with"]["command"] == "evaluate-shard"
    assert step["env"]["CAMINO_RUNNER_LABELS"] == "camino"
    upload = job["steps"][-1]
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["name"] == "camino-records-${{ strategy.job-index }}"
    assert upload["if"] == "always()"


def _calls_the_shards(job: dict[str, Any], planner: str) -> None:
    """The job calls evaluate-shards.yml with the planner's shards, naming
    each secret it passes, and is skipped on an empty matrix."""
    assert job["uses"] == "./.github/workflows/evaluate-shards.yml"
    assert job["with"]["shards"] == f"${{{{ needs.{planner}.outputs.shards }}}}"
    assert f"needs.{planner}.outputs.shards != '[]'" in job["if"]
    assert job["permissions"] == {"contents": "read"}
    assert isinstance(job["secrets"], dict) and "CAMINO_STORE_SECRET" in job["secrets"]


def _publishes_every_shard(job: dict[str, Any]) -> None:
    """Hosted, after the shards (also when some failed), with all their
    records."""
    download = job["steps"][1]
    assert HOSTED.match(job["runs-on"])
    assert "always()" in job["if"] and "cancelled" in job["if"]
    assert download["uses"].startswith("actions/download-artifact@")
    assert download["with"]["pattern"] == "camino-records-*"
    assert download["with"]["merge-multiple"] is True


def test_the_separation_check_catches_a_runner_that_publishes() -> None:
    found = problems(SHARDS_THAT_WRITE, "bad.yml")

    assert any("runs submissions with a write permission" in p for p in found)
    assert any("passes a token to the step that runs submissions" in p for p in found)
    assert any("holds a write permission on camino" in p for p in found)
    assert any("publishes from camino" in p for p in found)
    assert any("matrix without a max-parallel" in p for p in found)
    assert any("secrets: inherit" in p for p in found)


SHARDS_THAT_WRITE = """
on: workflow_dispatch
permissions: {}
jobs:
  shard:
    runs-on: camino
    permissions:
      contents: write
    strategy:
      matrix:
        shard: ["1/2", "2/2"]
    steps:
      - uses: ./action
        with:
          command: evaluate-shard
          token: ${{ github.token }}
      - uses: ./action
        with:
          command: publish-records
  call:
    uses: ./.github/workflows/evaluate-shards.yml
    secrets: inherit
"""


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
