"""Board commits against one bare remote: twenty finish at once, all land.

Each publisher has its own clone (as each publish job has its own checkout)
and pushes a record of its own; the board is re-rendered from all records,
so no row is lost when a push is rejected and retried (CASES C20). A second
publish of the same state makes no commit (CASES C22).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import git as gitpython
import pytest
from github_standin import git
from support import clone, iris_record, make_remote, remote_files, remote_text

from camino.action.board_commit import PushRejected, Target, commit_board

PUBLISHERS = 20


@pytest.fixture
def remote(competition: Path, tmp_path: Path) -> Path:
    return make_remote(competition, tmp_path / "remotes")


def test_twenty_concurrent_board_commits_all_land(remote: Path, tmp_path: Path) -> None:
    authors = [f"user{index:02d}" for index in range(PUBLISHERS)]
    records = [iris_record(a, 0.5 + i / 100) for i, a in enumerate(authors)]
    roots = [clone(remote, tmp_path / a) for a in authors]
    start = threading.Barrier(PUBLISHERS)

    def publish(index: int) -> str | None:
        start.wait()  # every publisher fetches the same base, then races
        return commit_board(roots[index], records[index], Target())

    with ThreadPoolExecutor(PUBLISHERS) as pool:
        commits = list(pool.map(publish, range(PUBLISHERS)))

    assert all(commits), commits
    files = remote_files(remote)
    for record in records:
        assert f"leaderboard/results/iris/{record.file_name}" in files
    board = remote_text(remote, "leaderboard/iris.md")
    rows = [line for line in board.splitlines() if "| knn |" in line or "[knn]" in line]
    assert len(rows) == PUBLISHERS, board
    # Ranked best first: user19 has the highest f1.
    assert rows[0].startswith("| 1 |") and "user19" in rows[0]
    assert rows[-1].startswith(f"| {PUBLISHERS} |") and "user00" in rows[-1]
    history = git("-C", remote, "rev-list", "--count", "main")
    assert int(history) == 1 + PUBLISHERS


def test_second_publish_of_the_same_state_makes_no_commit(
    remote: Path, tmp_path: Path
) -> None:
    root = clone(remote, tmp_path / "publisher")
    record = iris_record("alice", 0.9)

    first = commit_board(root, record, Target())
    again = commit_board(clone(remote, tmp_path / "rerun"), record, Target())

    assert first is not None and again is None
    assert int(git("-C", remote, "rev-list", "--count", "main")) == 2


def test_a_push_that_stays_rejected_fails_after_its_attempts(
    remote: Path, tmp_path: Path
) -> None:
    # A server-side hook refuses every push, as a protected branch would.
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    root = clone(remote, tmp_path / "publisher")

    with pytest.raises(PushRejected, match="rejected"):
        commit_board(root, iris_record("alice", 0.9), Target(), attempts=2)

    assert int(git("-C", remote, "rev-list", "--count", "main")) == 1
    assert gitpython.Repo(root).head.commit.message.startswith("Board:")
