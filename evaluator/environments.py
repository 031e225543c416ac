"""One virtual environment per distinct requirements set, built with uv.

A submission's ``requirements.txt`` is read line by line and normalised
(comments, order, case and spelling of names do not matter); the packages the
harness imports are added when missing. The environment's name is a hash of
the normalised lines, the interpreter (version, architecture, prefix) and the
harness version, so every submission with the same requirements shares one
environment, built once.

Building is safe when two evaluations want the same environment at once: a
file lock per environment, a build in a temporary folder and an atomic rename
to publish it; a reader only ever sees a finished environment. Environments
are never changed after that and are mounted read-only in the sandbox, so a
submission cannot poison the next one.

The key hashes the requirements as written, not a resolved lock: an unpinned
``scikit-learn`` gets the newest version when its environment is first built
and keeps it until the environment folder is deleted. That keeps scores
reproducible within a competition; participants pin to choose. What was
actually installed is written at build time into the environment's
``camino-lock.txt`` (uv's freeze, sorted, and the interpreter), and its hash
goes into every record scored with it.

Only binary wheels from the package index are installed (``--only-binary
:all:``): a source distribution runs its ``setup.py`` at install time, on the
evaluation machine, outside the sandbox. Lines that point anywhere else (local
paths, URLs, editable installs, included files, index options) are refused
before uv runs. Bytecode is compiled once at build time because the sandbox
cannot write ``__pycache__`` later, and start-up dominates small models.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from camino.errors import SpecError, SubmissionFailed
from camino.evaluator import harness

ROOT_VARIABLE = "CAMINO_ENV_ROOT"
DEFAULT_ROOT = Path(".camino") / "envs"
REQUIREMENTS = "requirements.txt"
# Raise when the way environments are built changes (flags, layout).
# 2: camino-lock.txt. Environments of layout 1 have none; raising the layout
# gives them other keys, so they are never reused, and none needs a lock
# written into it after it was published (and shared, and mounted).
LAYOUT = 2
LOCK = "camino-lock.txt"
# A stuck index must not hold an evaluation forever.
INSTALL_SECONDS = 600
# What of uv's error output reaches the participant.
MESSAGE_LINES = 8

# The variables uv may see: the operator's uv settings (index, cache, find
# links) and what TLS and proxies need. Never the evaluator's tokens.
PASSED_VARIABLES = (
    "HOME",
    "PATH",
    "XDG_CACHE_HOME",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)

ARCHIVE_SUFFIXES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
REFUSED_OPTIONS = {
    ("-e", "--editable"): "an editable install of a local folder",
    ("-r", "--requirement", "-c", "--constraint"): "an include of another file",
}


@dataclass(frozen=True)
class Environment:
    path: Path
    key: str
    build_seconds: float
    cached: bool
    # sha256 (16 hex) of LOCK: what is installed, not what was asked for.
    lock: str = ""

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


def environment_root(repo: Path, environ: Mapping[str, str] = os.environ) -> Path:
    """``$CAMINO_ENV_ROOT``, else ``.camino/envs`` in the repository."""
    configured = environ.get(ROOT_VARIABLE)
    return Path(configured) if configured else repo / DEFAULT_ROOT


def prepare_folder(model_dir: Path, root: Path) -> Environment:
    """The environment for a model folder's ``requirements.txt``."""
    path = model_dir / REQUIREMENTS
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    return prepare(text, root)


def prepare(requirements: str, root: Path, python: str = sys.executable) -> Environment:
    """Return the environment for ``requirements``, building it if needed.

    Raises SubmissionFailed("install") for a refused line or a set that uv
    cannot install.
    """
    started = time.perf_counter()
    lines = normalise(requirements)
    key = environment_key(lines, python)
    target = root / key
    if _ready(target):
        seconds = time.perf_counter() - started
        return Environment(target, key, seconds, cached=True, lock=lock_hash(target))

    _make_root(root)
    with FileLock(root / f".{key}.lock"):
        # Another evaluation may have built it while this one waited.
        cached = _ready(target)
        if not cached:
            # Left by hand or by a crash outside the lock: not a published one.
            shutil.rmtree(target, ignore_errors=True)
            _build(target, lines, python)
    seconds = time.perf_counter() - started
    return Environment(target, key, seconds, cached, lock_hash(target))


def lock_hash(path: Path) -> str:
    """sha256 (16 hex digits) of the lock the environment at ``path`` was
    built with; "" for one without a lock, which only a folder made by hand
    can be (LAYOUT 2 keys name no environment built before locks)."""
    lock = path / LOCK
    if not lock.is_file():
        return ""
    return hashlib.sha256(lock.read_bytes()).hexdigest()[:16]


def _make_root(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SpecError(
            f"{root}: cannot hold the submissions' environments "
            f"({error.strerror}); set {ROOT_VARIABLE} to a folder camino may "
            f"write, or leave it unset for {DEFAULT_ROOT} in the repository"
        ) from None


def normalise(requirements: str) -> list[str]:
    """Sorted, canonical requirement lines, with the harness's needs added."""
    text = requirements.replace("\\\n", "")
    lines: set[str] = set()
    names: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if not line:
            continue
        requirement = _parse(line, number)
        lines.add(_canonical(requirement))
        names.add(canonicalize_name(requirement.name))

    lines.update(need for need in harness.NEEDS if canonicalize_name(need) not in names)
    return sorted(lines)


def environment_key(lines: list[str], python: str = sys.executable) -> str:
    text = "\n".join(key_parts(lines, python))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def key_parts(lines: list[str], python: str = sys.executable) -> list[str]:
    """What an environment depends on besides its packages."""
    return [
        *lines,
        f"python {_interpreter(python)}",
        f"harness {harness.VERSION}",
        f"layout {LAYOUT}",
    ]


def _strip_comment(raw: str) -> str:
    # As pip reads it: a # at the start or after a space starts a comment.
    return re.sub(r"(^|\s)#.*$", "", raw).strip()


def _parse(line: str, number: int) -> Requirement:
    def refuse(why: str) -> SubmissionFailed:
        return SubmissionFailed(
            "install",
            f"{REQUIREMENTS} line {number}: {line!r} is {why}; camino installs "
            "packages by name from the package index only (for example "
            "scikit-learn==1.5.2)",
        )

    if line.startswith("-"):
        option = line.split()[0].split("=")[0]
        for names, what in REFUSED_OPTIONS.items():
            if option in names:
                raise refuse(what)
        raise refuse("an installer option (indexes and flags are set by camino)")
    if "$" in line:
        raise refuse("an environment variable reference")
    if "://" in line or line.startswith(("/", ".", "~")) or "\\" in line:
        raise refuse("a local path or URL")
    if line.lower().endswith(ARCHIVE_SUFFIXES) or "/" in line.split(";")[0]:
        raise refuse("a local path or URL")

    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        raise refuse("not a requirement") from None
    if requirement.url:
        raise refuse("a direct reference to a URL")
    return requirement


def _canonical(requirement: Requirement) -> str:
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    marker = f"; {requirement.marker}" if requirement.marker else ""
    specifier = ",".join(sorted(str(spec) for spec in requirement.specifier))
    return f"{canonicalize_name(requirement.name)}{extras}{specifier}{marker}"


def _interpreter(python: str) -> str:
    """Version, architecture and prefix of ``python``'s base interpreter."""
    version, prefix = _version_and_prefix(python)
    return f"{version} {platform.machine()} {prefix}"


def _version_and_prefix(python: str) -> tuple[str, Path]:
    if Path(python).resolve() == Path(sys.executable).resolve():
        version = platform.python_version()
        prefix = sys.base_prefix
    else:
        script = "import platform,sys;print(platform.python_version(),sys.base_prefix)"
        answer = subprocess.run(
            [python, "-c", script], capture_output=True, text=True, check=True
        )
        version, prefix = answer.stdout.split(maxsplit=1)
    return version, Path(prefix.strip()).resolve()


def _ready(target: Path) -> bool:
    # A published environment is complete: the rename happens after the build.
    return (target / "bin" / "python").exists()


def _build(target: Path, lines: list[str], python: str) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        venv = staging / target.name
        requirements = staging / REQUIREMENTS
        requirements.write_text("\n".join(lines) + "\n")
        _uv(["venv", "--quiet", "--relocatable", "--python", python, str(venv)])
        _uv(
            [
                "pip",
                "install",
                "--python",
                str(venv / "bin" / "python"),
                "--only-binary",
                ":all:",
                "--compile-bytecode",
                "--requirement",
                str(requirements),
            ],
            hide=[str(requirements), str(venv)],
        )
        # Kept beside the packages: which lines this environment was built from,
        # and what they resolved to. Written before the rename publishes it.
        shutil.copyfile(requirements, venv / "camino-requirements.txt")
        (venv / LOCK).write_text(_lock_text(venv, python), encoding="utf-8")
        os.rename(venv, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _lock_text(venv: Path, python: str) -> str:
    """What is installed in ``venv``: uv's freeze, one ``name==version`` a
    line, sorted, after the interpreter the packages were chosen for."""
    # A failure would read as an install error of requirements.txt; uv has
    # just installed into this venv, so none is expected.
    frozen = _uv(
        ["pip", "freeze", "--python", str(venv / "bin" / "python")], hide=[str(venv)]
    )
    packages = sorted({line.strip() for line in frozen.splitlines() if line.strip()})
    version, _ = _version_and_prefix(python)
    return "\n".join([f"# python {version} {platform.machine()}", *packages]) + "\n"


def _uv(arguments: list[str], hide: list[str] | None = None) -> str:
    """Run uv; returns its output."""
    import uv

    command = [uv.find_uv_bin(), *arguments, "--no-config", "--color", "never"]
    try:
        answer = subprocess.run(
            command,
            env=_uv_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=INSTALL_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise SubmissionFailed(
            "install",
            f"installing {REQUIREMENTS} took longer than {INSTALL_SECONDS} s",
        ) from None
    if answer.returncode != 0:
        raise SubmissionFailed(
            "install",
            f"{REQUIREMENTS} could not be installed (camino installs binary "
            f"wheels only): {trim_message(answer.stderr, hide or [])}",
            answer.stderr,
        )
    return answer.stdout


def _uv_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    # Not PYTHONDONTWRITEBYTECODE either (set on some machines): uv compiles
    # the bytecode with the environment's own Python.
    passed = {
        name: value
        for name, value in environ.items()
        if name in PASSED_VARIABLES or name.startswith("UV_")
    }
    return passed | {"NO_COLOR": "1"}


def trim_message(stderr: str, hide: list[str]) -> str:
    """uv's error without progress lines and local paths, in a few lines."""
    for path in hide:
        stderr = stderr.replace(path, Path(path).name)
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    start = next(
        (i for i, line in enumerate(lines) if line.startswith(("error", "×"))), 0
    )
    kept = [line.removeprefix("error: ") for line in lines[start:]]
    if len(kept) > MESSAGE_LINES:
        kept = [*kept[:MESSAGE_LINES], "..."]
    return " ".join(kept)
