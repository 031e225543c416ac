"""What a record needs besides its content hashes to say where its number
came from: the submission's git commit and the machine it ran on.

``describe_runner`` returns a dict whose keys are stable (records keep them
and the pull-request comment reads them); a value that is not known is ""
(or None for a number), never a missing key:

``name``, ``os``, ``arch``, ``environment``
    GitHub Actions' ``RUNNER_NAME``, ``RUNNER_OS``, ``RUNNER_ARCH`` and
    ``RUNNER_ENVIRONMENT`` ("self-hosted" or "github-hosted"); "" outside
    Actions.
``labels``
    ``CAMINO_RUNNER_LABELS`` split at commas. Actions exposes no variable
    with a runner's labels, so the runner's deployment sets it (deploy/).
``machine_type``
    ``CAMINO_MACHINE_TYPE``, e.g. the EC2 instance type the deployment
    writes. camino never asks an instance metadata service for it.
``cpus``
    CPUs this process may use, measured on the spot: its CPU affinity,
    lowered to the cgroup v2 quota (``cpu.max``) when one is set. A float,
    since a quota may be fractional (1.5).
``memory_mb``
    ``MemTotal`` of ``/proc/meminfo``, lowered to the cgroup v2
    ``memory.max`` when one is set; None where neither can be read.
``machine``, ``python``
    ``platform.machine()`` (x86_64, aarch64...) and the Python version.

Every function takes what it reads as arguments (an environ mapping, the
paths of the cgroup and proc files), so tests hand in their own files.
"""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git

log = logging.getLogger(__name__)

LABELS_VARIABLE = "CAMINO_RUNNER_LABELS"
MACHINE_TYPE_VARIABLE = "CAMINO_MACHINE_TYPE"
# Record key -> the GitHub Actions variable it is read from.
ACTIONS_VARIABLES = {
    "name": "RUNNER_NAME",
    "os": "RUNNER_OS",
    "arch": "RUNNER_ARCH",
    "environment": "RUNNER_ENVIRONMENT",
}


@dataclass(frozen=True)
class Host:
    """Where the machine's size is read from."""

    cgroup_root: Path = Path("/sys/fs/cgroup")
    # Names the process's own cgroup below cgroup_root ("0::/path").
    own_cgroup: Path = Path("/proc/self/cgroup")
    meminfo: Path = Path("/proc/meminfo")


def describe_runner(
    environ: Mapping[str, str] = os.environ,
    host: Host | None = None,
    affinity: int | None = None,
) -> dict[str, Any]:
    """Where this evaluation runs; the keys are described in the module's
    docstring. ``affinity`` defaults to the CPUs this process may run on."""
    host = host or Host()
    if affinity is None:
        affinity = available_cpus()
    folders = cgroup_folders(host.cgroup_root, host.own_cgroup)

    described: dict[str, Any] = {
        key: environ.get(variable, "") for key, variable in ACTIONS_VARIABLES.items()
    }
    described["labels"] = runner_labels(environ)
    described["machine_type"] = environ.get(MACHINE_TYPE_VARIABLE, "").strip()
    described["cpus"] = usable_cpus(affinity, folders)
    described["memory_mb"] = usable_memory_mb(host.meminfo, folders)
    described["machine"] = platform.machine()
    described["python"] = platform.python_version()
    return described


def runner_labels(environ: Mapping[str, str]) -> list[str]:
    text = environ.get(LABELS_VARIABLE, "")
    return [label.strip() for label in text.split(",") if label.strip()]


def available_cpus() -> int:
    # sched_getaffinity is Linux's; elsewhere the machine's count is the
    # best there is.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cgroup_folders(root: Path, own_cgroup: Path) -> list[Path]:
    """The process's cgroup v2 folder and its ancestors up to ``root``: a
    limit set on any of them applies. Just ``root`` when the process's
    cgroup is unknown; in a container with its own cgroup namespace the
    process's cgroup is the root.

    TODO(when a runner on cgroup v1 needs it): v1 keeps its limits in other
    files (cpu.cfs_quota_us, memory.limit_in_bytes); there only the affinity
    and MemTotal count.
    """
    path = _unified_path(own_cgroup)
    if path is None or ".." in path.split("/"):
        return [root]
    folders = [root / path.strip("/")]
    while folders[-1] != root:
        folders.append(folders[-1].parent)
    return folders


def _unified_path(own_cgroup: Path) -> str | None:
    try:
        lines = own_cgroup.read_text().splitlines()
    except OSError:
        return None
    # cgroup v2 has one line, "0::<path>"; v1 hierarchies have other numbers.
    paths = [line[3:] for line in lines if line.startswith("0::")]
    return paths[0] if paths else None


def usable_cpus(affinity: int, folders: list[Path]) -> float:
    quotas = [_cpu_quota(folder / "cpu.max") for folder in folders]
    limits = [quota for quota in quotas if quota is not None]
    return round(min([float(affinity), *limits]), 2)


def _cpu_quota(path: Path) -> float | None:
    """``cpu.max``'s "QUOTA PERIOD" as CPUs; None for "max" (no quota)."""
    try:
        quota, period = path.read_text().split()
        return int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def usable_memory_mb(meminfo: Path, folders: list[Path]) -> int | None:
    limits = [_memory_max_mb(folder / "memory.max") for folder in folders]
    known = [mb for mb in [_meminfo_total_mb(meminfo), *limits] if mb is not None]
    return min(known) if known else None


def _meminfo_total_mb(path: Path) -> int | None:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(":")
        words = value.split()
        if name == "MemTotal" and words and words[0].isdigit():
            return int(words[0]) // 1024  # in kB
    return None


def _memory_max_mb(path: Path) -> int | None:
    """``memory.max`` in MB; None for "max" (no limit) or no file."""
    try:
        return int(path.read_text().strip()) // 2**20
    except (OSError, ValueError):
        return None


def submission_commit(folder: Path, skipped: Collection[str] = ()) -> str:
    """The last commit that touched ``folder``, or "" when that commit would
    not reproduce the files: the folder lies in no git repository, was never
    committed, or holds changes (staged, unstaged, untracked or ignored
    files). Files and folders named in ``skipped`` (what the evaluation
    ignores, such as ``__pycache__``) do not count as changes.

    Two git calls: a status of the folder and a log of it.
    """
    folder = folder.resolve()
    try:
        with git.Repo(folder, search_parent_directories=True) as repo:
            if _has_changes(repo, folder, skipped):
                return ""
            return repo.git.log("-1", "--format=%H", "--", str(folder)).strip()
    except git.GitError as error:
        # Not a repository, no commit yet, or git refused it (ownership).
        log.debug("no commit for %s: %s", folder, error)
        return ""


def _has_changes(repo: git.Repo, folder: Path, skipped: Collection[str]) -> bool:
    status = repo.git.status(
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        # Ignored files count too: the evaluation reads them and the commit
        # lacks them. "matching" names an ignored folder once, not its files.
        "--ignored=matching",
        "--",
        str(folder),
    )
    root = Path(repo.working_tree_dir or folder).resolve()
    fields = iter(status.split("\0"))
    for entry in fields:
        if not entry:
            continue
        if entry[0] in "RC":
            next(fields, None)  # a rename or copy: the next field is its source
        if not _skipped(root / entry[3:], folder, skipped):
            return True
    return False


def _skipped(path: Path, folder: Path, skipped: Collection[str]) -> bool:
    try:
        inside = path.relative_to(folder).parts
    except ValueError:
        return False  # git named a path outside the folder: count it
    return bool(set(inside) & set(skipped))
