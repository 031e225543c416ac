"""Start a child process with limits, and report how it ended.

This is the plain launcher: a separate process with a clean environment,
rlimits, a wall-clock timeout that kills the whole process group, and bounded
output. It does not hide the file system or the network; the sandbox module
wraps the same call in bubblewrap for that.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

OUTPUT_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 600
    memory_mb: int = 2048
    processes: int = 256
    file_mb: int = 1024


@dataclass(frozen=True)
class Outcome:
    returncode: int
    output: str
    seconds: float
    timed_out: bool = False
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def killed_by_memory(self) -> bool:
        return "MemoryError" in self.output or self.returncode == -signal.SIGKILL


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The only variables a model sees: no tokens, no AWS keys, no proxies."""
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        # One thread per library keeps memory and CPU use predictable.
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    environment.update(extra or {})
    return environment


def run(
    argv: Sequence[str],
    workdir: Path,
    limits: Limits,
    environment: Mapping[str, str] | None = None,
) -> Outcome:
    """Run ``argv`` in ``workdir``; stdout and stderr are merged and capped."""
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        child = subprocess.Popen(
            list(argv),
            cwd=workdir,
            env=dict(environment or clean_environment()),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_limit_resources(limits),
        )
        timed_out = _wait(child, limits.wall_seconds)
        seconds = time.perf_counter() - started
        _end_group(child.pid)
        output, truncated = _tail(log)
    return Outcome(child.returncode, output, seconds, timed_out, truncated)


def _limit_resources(limits: Limits):
    def apply() -> None:
        memory = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        files = limits.file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (files, files))
        cpu = int(limits.wall_seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))

    return apply


def _wait(child: subprocess.Popen, seconds: float) -> bool:
    try:
        child.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        # The model may have started workers of its own: end the whole group.
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        return True


def _end_group(group: int) -> None:
    """Whatever the model started in the background ends with it."""
    with contextlib.suppress(ProcessLookupError):  # the group is already empty
        os.killpg(group, signal.SIGKILL)


def _tail(log) -> tuple[str, bool]:
    size = log.seek(0, os.SEEK_END)
    truncated = size > OUTPUT_LIMIT
    log.seek(max(0, size - OUTPUT_LIMIT))
    text = log.read().decode("utf-8", errors="replace")
    return text, truncated
