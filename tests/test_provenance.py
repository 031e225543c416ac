"""Provenance: the machine an evaluation ran on (read from hand-made cgroup
and proc files), the submission's commit (from real git repositories), and
a real evaluation whose record carries all of it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import GOOD_IRIS, ROOT, commit_all, git, write_model

from camino import __version__
from camino.evaluator import environments, provenance, runner
from camino.evaluator.pipeline import evaluate
from camino.evaluator.results import load_records, read_record

GIB = 2**30
# 8 GiB in /proc/meminfo's kB.
MEMINFO = "MemTotal:        8388608 kB\nMemFree:         1024 kB\n"
KEYS = {
    "name",
    "os",
    "arch",
    "environment",
    "labels",
    "machine_type",
    "cpus",
    "memory_mb",
    "machine",
    "python",
}


def make_host(
    folder: Path,
    cpu_max: str | None = None,
    memory_max: str | None = None,
    own: str = "0::/\n",
) -> provenance.Host:
    """A cgroup v2 root and /proc files, as a container sees them."""
    root = folder / "cgroup"
    root.mkdir(parents=True)
    if cpu_max is not None:
        (root / "cpu.max").write_text(cpu_max + "\n")
    if memory_max is not None:
        (root / "memory.max").write_text(memory_max + "\n")
    (folder / "cgroup-of-self").write_text(own)
    (folder / "meminfo").write_text(MEMINFO)
    return provenance.Host(root, folder / "cgroup-of-self", folder / "meminfo")


# --- the machine --------------------------------------------------------------


def test_a_cpu_quota_narrows_the_affinity(tmp_path: Path) -> None:
    host = make_host(tmp_path, cpu_max="200000 100000")

    described = provenance.describe_runner({}, host, affinity=8)

    assert described["cpus"] == 2


def test_a_fractional_quota_is_kept(tmp_path: Path) -> None:
    host = make_host(tmp_path, cpu_max="150000 100000")

    assert provenance.describe_runner({}, host, affinity=4)["cpus"] == 1.5


def test_without_a_quota_the_affinity_counts(tmp_path: Path) -> None:
    host = make_host(tmp_path, cpu_max="max 100000")

    described = provenance.describe_runner({}, host)

    assert described["cpus"] == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("memory_max", "expected"),
    [("max", 8192), (str(2 * GIB), 2048), (str(16 * GIB), 8192), (None, 8192)],
    ids=["no-limit", "limit-below-memtotal", "limit-above-memtotal", "no-file"],
)
def test_memory_is_memtotal_narrowed_by_the_cgroup_limit(
    tmp_path: Path, memory_max: str | None, expected: int
) -> None:
    host = make_host(tmp_path, memory_max=memory_max)

    assert provenance.describe_runner({}, host)["memory_mb"] == expected


def test_a_limit_on_a_parent_cgroup_applies(tmp_path: Path) -> None:
    # A runner service on a host without its own cgroup namespace: the
    # process sits deep in the tree, the limits on its slice.
    host = make_host(tmp_path, own="0::/runner.slice/job.scope\n")
    slice_ = host.cgroup_root / "runner.slice"
    (slice_ / "job.scope").mkdir(parents=True)
    (slice_ / "cpu.max").write_text("100000 100000\n")
    (slice_ / "memory.max").write_text(f"{GIB}\n")
    (slice_ / "job.scope" / "memory.max").write_text("max\n")

    described = provenance.describe_runner({}, host, affinity=4)

    assert (described["cpus"], described["memory_mb"]) == (1, 1024)


def test_unreadable_files_leave_the_affinity_and_no_memory(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    host = provenance.Host(missing, missing / "cgroup", missing / "meminfo")

    described = provenance.describe_runner({}, host, affinity=3)

    assert (described["cpus"], described["memory_mb"]) == (3, None)


def test_cgroup_v1_is_read_as_no_limit(tmp_path: Path) -> None:
    host = make_host(tmp_path, own="4:memory:/limited\n1:cpu:/\n")
    (host.cgroup_root / "limited").mkdir()
    (host.cgroup_root / "limited" / "memory.max").write_text(f"{GIB}\n")

    assert provenance.describe_runner({}, host)["memory_mb"] == 8192


def test_the_actions_variables_and_the_deployment_s_are_recorded(
    tmp_path: Path,
) -> None:
    environ = {
        "RUNNER_NAME": "camino-x7k2p",
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
        "RUNNER_ENVIRONMENT": "self-hosted",
        "CAMINO_RUNNER_LABELS": " self-hosted, camino,,x64 ",
        "CAMINO_MACHINE_TYPE": "c6a.large",
    }

    described = provenance.describe_runner(environ, make_host(tmp_path))

    assert set(described) == KEYS
    assert described["name"] == "camino-x7k2p"
    assert (described["os"], described["arch"]) == ("Linux", "X64")
    assert described["environment"] == "self-hosted"
    assert described["labels"] == ["self-hosted", "camino", "x64"]
    assert described["machine_type"] == "c6a.large"
    assert described["machine"] and described["python"].count(".") == 2


def test_outside_actions_every_key_is_there_and_empty(tmp_path: Path) -> None:
    described = provenance.describe_runner({}, make_host(tmp_path))

    assert set(described) == KEYS
    assert described["name"] == described["machine_type"] == ""
    assert described["labels"] == []
    json.dumps(described)  # it goes into a JSON record as it is


# --- the commit ---------------------------------------------------------------


def head(repo: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture
def committed(tmp_path: Path) -> tuple[Path, str]:
    """A repository whose model folder was committed, then something else."""
    repo = tmp_path / "repo"
    folder = write_model(repo, GOOD_IRIS)
    (repo / ".gitignore").write_text("*.log\n__pycache__/\n")
    commit_all(repo, "the model")
    sha = head(repo)
    (repo / "README.md").write_text("later\n")
    commit_all(repo, "something else")
    return folder, sha


def test_the_commit_is_the_last_one_that_touched_the_folder(
    committed: tuple[Path, str],
) -> None:
    folder, sha = committed

    assert provenance.submission_commit(folder, runner.SKIPPED) == sha
    assert head(folder) != sha


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("model.py", "class Model: ...\n"),  # a change to a committed file
        ("notes.txt", "untracked\n"),  # a file never added
        ("train.log", "ignored\n"),  # ignored by .gitignore, read all the same
    ],
    ids=["modified", "untracked", "ignored"],
)
def test_a_folder_that_differs_from_its_commit_has_none(
    committed: tuple[Path, str], name: str, text: str
) -> None:
    folder, _ = committed
    (folder / name).write_text(text)

    assert provenance.submission_commit(folder, runner.SKIPPED) == ""


def test_a_staged_change_counts_too(committed: tuple[Path, str]) -> None:
    folder, _ = committed
    (folder / "model.py").write_text("class Model: ...\n")
    git(folder, "add", "model.py")

    assert provenance.submission_commit(folder, runner.SKIPPED) == ""


def test_what_the_evaluation_skips_is_no_change(committed: tuple[Path, str]) -> None:
    folder, sha = committed
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0")
    (folder / "model.pkl").write_bytes(b"\0")

    assert provenance.submission_commit(folder, runner.SKIPPED) == sha


def test_outside_a_repository_there_is_no_commit(tmp_path: Path) -> None:
    folder = write_model(tmp_path, GOOD_IRIS)

    assert provenance.submission_commit(folder, runner.SKIPPED) == ""


def test_a_repository_without_commits_has_none(tmp_path: Path) -> None:
    folder = write_model(tmp_path, GOOD_IRIS)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")

    assert provenance.submission_commit(folder, runner.SKIPPED) == ""


# --- the record ---------------------------------------------------------------


def test_an_evaluation_records_its_provenance(
    competition: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_model(competition, GOOD_IRIS, author="ada", name="knn")
    (competition / ".gitignore").write_text(".camino/\n")
    commit_all(competition, "ada's model")
    monkeypatch.setenv("RUNNER_NAME", "camino-x7k2p")
    monkeypatch.setenv("CAMINO_RUNNER_LABELS", "camino")
    monkeypatch.setenv("CAMINO_MACHINE_TYPE", "c6a.large")

    record, new = evaluate(competition, folder)

    assert new and record.scored, record.error
    assert record.submission_commit == head(competition)
    assert len(record.submission_hash) == len(record.data_version) == 16
    environment = environments.prepare_folder(
        folder, environments.environment_root(competition)
    )
    assert record.environment_lock == environment.lock != ""
    assert record.camino_version == __version__
    assert record.runner["name"] == "camino-x7k2p"
    assert record.runner["labels"] == ["camino"]
    assert record.runner["machine_type"] == "c6a.large"
    assert record.runner["cpus"] >= 1 and record.runner["memory_mb"] > 0
    [stored] = load_records(competition, "iris")
    assert stored == record


def test_records_written_before_provenance_still_load(tmp_path: Path) -> None:
    committed = sorted((ROOT / "leaderboard" / "results").glob("*/*.json"))
    assert committed and all(read_record(path) for path in committed)
    # As one written before these fields existed: without them.
    data = json.loads(committed[0].read_text())
    for name in ("submission_commit", "environment_lock", "runner"):
        data.pop(name, None)
    old = tmp_path / committed[0].name
    old.write_text(json.dumps(data))

    record = read_record(old)

    assert record.submission_commit == record.environment_lock == ""
    assert record.runner == {}
