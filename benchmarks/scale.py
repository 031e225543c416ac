"""Many evaluations, K runners, one board: where does the time go?

A simulation on one machine: the example submissions are evaluated N times
by K parallel workers. Each worker is a separate clone of one bare remote
(as each ephemeral runner has its own checkout); it evaluates a submission,
then commits the record and the re-rendered board with the same retrying
push the publish job uses. Prints, for K = 1, 2, 4: evaluations per minute,
the share of the time spent in the board commit, push attempts, and the
records lost (must be 0). A run's numbers are only comparable with each
other: the ratio against K = 1 is the figure to read.

Run: .venv/bin/python benchmarks/scale.py [N]
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from camino.action.board_commit import Target, commit_board  # noqa: E402
from camino.commands.split import split_playbook  # noqa: E402
from camino.evaluator.pipeline import evaluate  # noqa: E402
from camino.evaluator.results import record_path  # noqa: E402

PLAYBOOKS = ["iris", "wine", "breast-cancer", "diabetes"]
WORKERS = (1, 2, 4)


@dataclass
class Tally:
    evaluate_seconds: float = 0.0
    commit_seconds: float = 0.0
    records: int = 0


def git(*args: object) -> None:
    subprocess.run(["git", *map(str, args)], check=True, capture_output=True)


def competition(folder: Path) -> Path:
    """A bare remote holding the playbooks, templates and example submissions
    with no records yet; the internal data stays beside it, as on a runner."""
    seed = folder / "seed"
    for part in ("playbooks", "submissions", "leaderboard/templates"):
        shutil.copytree(ROOT / part, seed / part)
    (seed / ".gitignore").write_text(".camino/\n")
    for name in PLAYBOOKS:
        split_playbook(seed, name)
    bare = folder / "remote.git"
    git("init", "-q", "--bare", "--initial-branch=main", bare)
    git("-C", seed, "init", "-q", "--initial-branch=main")
    git("-C", seed, "add", "--all")
    git("-C", seed, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "c")
    git("-C", seed, "push", "-q", bare.as_uri(), "main")
    return seed


def worker_clone(seed: Path, bare: Path, destination: Path) -> Path:
    git("clone", "-q", bare.as_uri(), destination)
    shutil.copytree(seed / ".camino", destination / ".camino")
    return destination


def run(seed: Path, bare: Path, jobs: list[Path], workers: int, folder: Path):
    clones = [worker_clone(seed, bare, folder / f"w{i}") for i in range(workers)]
    tallies = [Tally() for _ in clones]

    def work(index: int) -> None:
        root, tally = clones[index], tallies[index]
        for number, job in enumerate(jobs[index::workers]):
            started = time.perf_counter()
            record, _ = evaluate(root, root / job.relative_to(seed), force=True)
            # Each evaluation is its own record, as each pull request's is:
            # the same example evaluated again gets a key of its own.
            record_path(root, record).unlink()
            record = replace(record, key=f"{index:02d}{number:04d}{record.key[:6]}")
            middle = time.perf_counter()
            commit_board(root, record, Target())
            tally.evaluate_seconds += middle - started
            tally.commit_seconds += time.perf_counter() - middle
            tally.records += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(work, range(workers)))
    return time.perf_counter() - started, tallies


def landed(bare: Path, folder: Path) -> int:
    check = folder / "check"
    git("clone", "-q", bare.as_uri(), check)
    return len(list(check.glob("leaderboard/results/*/*.json")))


def main() -> None:
    # GitPython logs every rejected push; the retries are the point here.
    logging.getLogger("git").setLevel(logging.CRITICAL)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    base = None
    for workers in WORKERS:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            seed = competition(folder)
            examples = sorted(seed.glob("submissions/*/*/*"))
            jobs = [examples[i % len(examples)] for i in range(count)]
            seconds, tallies = run(seed, folder / "remote.git", jobs, workers, folder)
            lost = count - landed(folder / "remote.git", folder)

        per_minute = count / seconds * 60
        base = base or per_minute
        commit = sum(t.commit_seconds for t in tallies)
        total = commit + sum(t.evaluate_seconds for t in tallies)
        print(
            f"K={workers}: {per_minute:6.1f} evaluations/min "
            f"({per_minute / base:4.2f}x K=1), commit share {commit / total:5.1%}, "
            f"lost records {lost}"
        )


if __name__ == "__main__":
    main()
