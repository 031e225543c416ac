"""What the sandbox and the per-submission environments cost, as ratios.

    .venv/bin/python benchmarks/sandbox.py [--runs 5]

(after ``./dev test`` or ``./dev round`` has made ``.venv``). Machines are
noisy, so every figure is compared with a baseline measured in the same run,
interleaved where it is cheap to repeat. Targets from issue 3:

* the iris template evaluated in the sandbox vs the same train and predict in
  a plain child process, warm environment: ratio <= 1.3;
* reusing a warm environment <= 0.5 s, and a new environment of
  scikit-learn + pandas from a warm uv cache <= 10 s with bytecode, both
  printed against ``python -m venv`` + ``pip install`` of the same
  requirements.

Nothing here asserts: it prints, and exits 1 only when something failed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from camino.evaluator import environments, sandbox
from camino.evaluator.pipeline import Assessment, assess, load_public
from camino.playbook import load_playbook, playbook_dir

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = "iris"


def main() -> int:
    options = _options()
    reason = sandbox.available()
    if reason is not None:
        print(f"no sandbox here: {reason}", file=sys.stderr)
        return 1

    template = ROOT / "playbooks" / PLAYBOOK / "template"
    requirements = (template / "requirements.txt").read_text()
    with tempfile.TemporaryDirectory(prefix="camino-bench-") as folder:
        scratch = Path(folder)
        environment, built, reused = _environment_figures(requirements, scratch)
        baseline = _venv_and_pip(template / "requirements.txt", scratch / "pip")
        plain, boxed = _overhead(template, environment, options.runs)

    print(f"environments ({requirements.strip().replace(chr(10), ' + ')}):")
    _row("new env, warm uv cache, bytecode", built, baseline, 10)
    _row("warm env reused", reused, baseline, 0.5)
    print(f"  python -m venv + pip install: {baseline:.2f} s (the baseline)")
    print(f"sandbox overhead, {PLAYBOOK} template, median of {options.runs}:")
    print(f"  plain child process: {plain:.3f} s")
    print(f"  sandboxed:           {boxed:.3f} s")
    print(f"  ratio sandboxed / plain: {boxed / plain:.2f} (target <= 1.3)")
    return 0


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per launcher")
    return parser.parse_args()


def _environment_figures(
    requirements: str, scratch: Path
) -> tuple[environments.Environment, float, float]:
    """Seconds for a new environment from a warm uv cache, then its reuse."""
    # A first build warms uv's cache with exactly these packages.
    environments.prepare(requirements, scratch / "warm-up")

    built = environments.prepare(requirements, scratch / "envs")
    reuses = [
        _seconds(lambda: environments.prepare(requirements, scratch / "envs"))
        for _ in range(5)
    ]
    return built, built.build_seconds, statistics.median(reuses)


def _venv_and_pip(requirements: Path, target: Path) -> float:
    """The usual way, with this machine's pip settings (and pip's cache)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    # pip's warnings about this machine's index settings are noise here.
    answer = subprocess.run([*pip, "-r", str(requirements)], capture_output=True)
    if answer.returncode != 0:
        sys.stderr.buffer.write(answer.stderr)
        raise SystemExit("pip install failed: no baseline")
    return time.perf_counter() - started


def _overhead(
    template: Path, environment: environments.Environment, runs: int
) -> tuple[float, float]:
    """Median seconds of one evaluation of the template, plain and sandboxed."""
    playbook = load_playbook(playbook_dir(ROOT, PLAYBOOK))
    train, validate = load_public(ROOT, playbook)
    box = sandbox.Sandbox(environment.path)
    python = str(environment.python)

    def once(launcher: sandbox.Sandbox | None) -> Assessment:
        return assess(
            template, playbook, train, validate, python=python, launcher=launcher
        )

    once(box)  # the first start reads the files from disk for both
    plain, boxed = [], []
    for _ in range(runs):
        plain.append(_seconds(lambda: once(None)))
        boxed.append(_seconds(lambda: once(box)))
    return statistics.median(plain), statistics.median(boxed)


def _seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _row(label: str, seconds: float, baseline: float, target: float) -> None:
    ratio = seconds / baseline
    print(
        f"  {label}: {seconds:.3f} s (target <= {target:g} s), {ratio:.3f} x venv + pip"
    )


if __name__ == "__main__":
    sys.exit(main())
