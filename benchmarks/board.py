"""How long the board takes to render at scale.

Writes synthetic records for one playbook (iris, every record its own model
folder: the longest page) into a temporary competition made of this
repository's playbook and templates, then times ``write_boards``: read every
record, rank, render the Markdown pages, draw the history plot, write what
changed. Prints the time for 10,000 records and two baselines measured in the
same run: the same render for 100 records, and only reading the 10,000 JSON
files, with the ratio against each.

    .venv/bin/python benchmarks/board.py [--records 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from camino.board import write_boards
from camino.evaluator.results import Record, results_dir, write_record
from camino.playbook import load_playbook

ROOT = Path(__file__).resolve().parents[1]
BUDGET_SECONDS = 2.0


def competition(folder: Path, records: int) -> Path:
    repo = folder / f"repo-{records}"
    shutil.copytree(ROOT / "playbooks" / "iris", repo / "playbooks" / "iris")
    shutil.copytree(
        ROOT / "leaderboard" / "templates", repo / "leaderboard" / "templates"
    )
    rng = random.Random(records)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for index in range(records):
        write_record(repo, synthetic(index, rng, start))
    return repo


def synthetic(index: int, rng: random.Random, start: dt.datetime) -> Record:
    when = start + dt.timedelta(minutes=rng.randrange(60 * 24 * 60))
    scores = {
        name: round(rng.uniform(0.6, 1.0), 6)
        for name in ("f1", "accuracy", "balanced_accuracy")
    }
    failed = rng.random() < 0.05
    return Record(
        playbook="iris",
        author=f"user{index:05d}",
        model="model",
        path=f"submissions/iris/user{index:05d}/model",
        key=f"{index:012x}",
        status="failed" if failed else "scored",
        metrics=[],
        scores={} if failed else scores,
        intervals={}
        if failed
        else {n: [v - 0.05, min(v + 0.05, 1.0)] for n, v in scores.items()},
        train_seconds=round(rng.uniform(0.01, 2), 4),
        predict_seconds=round(rng.uniform(0.001, 0.1), 4),
        rows=32,
        evaluated_at=when.isoformat(),
    )


def best_of(repeat: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def render_time(repo: Path, repeat: int) -> float:
    playbook = load_playbook(repo / "playbooks" / "iris")

    def render() -> None:
        # Remove the outputs so every run renders and writes in full.
        for page in ("iris.md", "README.md", "plots/iris.svg"):
            (repo / "leaderboard" / page).unlink(missing_ok=True)
        write_boards(repo, [playbook])

    return best_of(repeat, render)


def load_time(repo: Path, repeat: int) -> float:
    def load() -> None:
        for path in sorted(results_dir(repo, "iris").glob("*.json")):
            json.loads(path.read_text(encoding="utf-8"))

    return best_of(repeat, load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="camino-bench-") as folder:
        large = competition(Path(folder), args.records)
        small = competition(Path(folder), 100)
        big = render_time(large, args.repeat)
        little = render_time(small, args.repeat)
        reading = load_time(large, args.repeat)
        page = (large / "leaderboard" / "iris.md").stat().st_size
        index = (large / "leaderboard" / "README.md").stat().st_size

    verdict = "within" if big < BUDGET_SECONDS else "OVER"
    count = f"{args.records:,}"
    print(f"render {count} records: {big:.3f} s ({verdict} {BUDGET_SECONDS:.0f} s)")
    print(f"render 100 records: {little:.3f} s; ratio {big / little:.1f}x")
    print(f"json-load {count} records: {reading:.3f} s; ratio {big / reading:.1f}x")
    print(f"page {page / 1024:.0f} KiB, index {index / 1024:.1f} KiB")
    load = os.getloadavg()[0]
    print(f"(each the best of {args.repeat} runs; load average {load:.1f})")


if __name__ == "__main__":
    main()
