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
import select
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# What is kept of a child's merged stdout and stderr: the last 64 KiB. The
# rest is read and dropped as it comes, so a model that prints gigabytes
# costs neither memory nor disk here.
OUTPUT_LIMIT = 64 * 1024
CHUNK = 64 * 1024
# How often the parent looks at the child while it has nothing to read.
POLL_SECONDS = 0.05
# Once the child has ended, what is still in the pipe is read up to this much;
# a process it left behind may hold the pipe open and keep writing.
DRAIN_LIMIT = 4 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 600
    memory_mb: int = 2048
    processes: int = 256
    file_mb: int = 1024
    # Private /tmp and /dev/shm of the sandbox: tmpfs lives in memory that
    # RLIMIT_AS does not count, so it gets a size of its own.
    tmp_mb: int = 256


@dataclass(frozen=True)
class Outcome:
    returncode: int
    output: str
    seconds: float
    timed_out: bool = False
    truncated: bool = False
    notes: list[str] = field(default_factory=list)
    peak_memory_mb: float | None = None

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
    *,
    max_processes: int | None = None,
    pass_fds: Sequence[int] = (),
) -> Outcome:
    """Run ``argv`` in ``workdir``; stdout and stderr are merged and capped.

    ``max_processes`` sets RLIMIT_NPROC; it counts every process of the
    child's user, so callers add what that user already runs.
    """
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    try:
        child = subprocess.Popen(
            list(argv),
            cwd=workdir,
            env=dict(environment or clean_environment()),
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=tuple(pass_fds),
            preexec_fn=_limit_resources(limits, max_processes),
        )
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)

    with os.fdopen(read_end, "rb", buffering=0) as stream:
        watch = _Watch(child, stream.fileno(), limits.wall_seconds)
        status, usage = watch.until_done()
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return Outcome(
        child.returncode,
        watch.output(),
        seconds,
        watch.timed_out,
        watch.total > OUTPUT_LIMIT,
        peak_memory_mb=round(usage.ru_maxrss / 1024, 1),
    )


def _limit_resources(limits: Limits, max_processes: int | None) -> Callable[[], None]:
    def apply() -> None:
        memory = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        files = limits.file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (files, files))
        cpu = int(limits.wall_seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        # A core dump of a model could hold its data; nobody reads it anyway.
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if max_processes is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (max_processes, max_processes))

    return apply


class _Watch:
    """Read the child's output while waiting for it, up to a deadline.

    ``os.wait4`` instead of ``Popen.wait``: it also returns the child's
    resource use, whose ``ru_maxrss`` is the peak memory of the child and of
    the descendants it waited for.
    """

    def __init__(self, child: subprocess.Popen, stream: int, seconds: float) -> None:
        self.child = child
        self.stream: int | None = stream
        self.deadline = time.monotonic() + seconds
        self.tail = bytearray()
        self.total = 0
        self.timed_out = False

    def until_done(self) -> tuple[int, resource.struct_rusage]:
        while True:
            pid, status, usage = os.wait4(self.child.pid, os.WNOHANG)
            if pid:
                _end_group(self.child.pid)
                self._drain()
                return status, usage

            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                return self._kill()

            self._read_for(min(remaining, POLL_SECONDS))

    def output(self) -> str:
        return bytes(self.tail).decode("utf-8", errors="replace")

    def _read_for(self, seconds: float) -> None:
        if self.stream is None:
            time.sleep(seconds)
            return
        ready, _, _ = select.select([self.stream], [], [], seconds)
        if ready:
            self._keep(os.read(self.stream, CHUNK))

    def _keep(self, data: bytes) -> None:
        if not data:
            self.stream = None  # end of output; the child may still run
            return
        self.total += len(data)
        self.tail += data
        del self.tail[:-OUTPUT_LIMIT]

    def _kill(self) -> tuple[int, resource.struct_rusage]:
        # The model may have started workers of its own: end the whole group.
        os.killpg(self.child.pid, signal.SIGKILL)
        _, status, usage = os.wait4(self.child.pid, 0)
        self.timed_out = True
        self._drain()
        return status, usage

    def _drain(self) -> None:
        drained = 0
        while self.stream is not None and drained < DRAIN_LIMIT:
            ready, _, _ = select.select([self.stream], [], [], 0)
            if not ready:
                return
            data = os.read(self.stream, CHUNK)
            drained += len(data)
            self._keep(data)


def _end_group(group: int) -> None:
    """Whatever the model started in the background ends with it."""
    with contextlib.suppress(ProcessLookupError):  # the group is already empty
        os.killpg(group, signal.SIGKILL)
