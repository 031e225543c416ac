"""The pull-request policy on real git commits: each refusal names the path
and the rule it broke, and everything a submission may do is admitted."""

from __future__ import annotations

import os
from pathlib import Path

import git as gitpython
import pytest
from github_standin import git
from support import IDENTITY, commit_files

from camino.action.config import SubmissionLimits
from camino.action.policy import RULES, Verdict, changes_between, check

OWN = "submissions/iris/alice/knn"
LIMITS = SubmissionLimits(file_mb=0.01, total_mb=0.02, files=5)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A base branch with one submission of bob's and one of alice's."""
    work = tmp_path / "repo"
    git("init", "--quiet", "--initial-branch=main", work)
    commit_files(
        work,
        {
            "README.md": "competition\n",
            "playbooks/iris/playbook.yml": "name: iris\n",
            "submissions/iris/bob/tree/model.py": "class Model: ...\n",
            f"{OWN}/old.py": "old\n",
        },
        "base",
    )
    git("-C", work, "checkout", "--quiet", "-b", "pr")
    return work


def verdict_after(repo: Path, change: dict[str, str | None]) -> Verdict:
    """Commit ``change`` (None deletes a path) on the PR branch, then check."""
    for name, text in change.items():
        path = repo / name
        if text is None:
            path.unlink()
        elif text.startswith("->"):
            path.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(text[2:], path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    git("-C", repo, "add", "--all")
    git("-C", repo, *IDENTITY, "commit", "--quiet", "--allow-empty", "-m", "pr")
    changes = changes_between(gitpython.Repo(repo), "main", "HEAD")
    return check(changes, "alice", LIMITS)


@pytest.mark.parametrize(
    ("change", "path", "rule"),
    [
        (
            {".github/workflows/evaluate.yml": "on: push\n"},
            ".github/workflows/evaluate.yml",
            "workflow",
        ),
        (
            {"playbooks/iris/playbook.yml": "name: x\n"},
            "playbooks/iris/playbook.yml",
            "playbook",
        ),
        ({"README.md": "mine\n"}, "README.md", "outside"),
        (
            {"submissions/iris/alice/model.py": "x\n"},
            "submissions/iris/alice/model.py",
            "layout",
        ),
        (
            {"submissions/iris/bob/knn/model.py": "x\n"},
            "submissions/iris/bob/knn/model.py",
            "author",
        ),
        (
            {"submissions/iris/bob/tree/model.py": None},
            "submissions/iris/bob/tree/model.py",
            "deletion",
        ),
        ({f"{OWN}/link.py": "->/etc/passwd"}, f"{OWN}/link.py", "symlink"),
        ({f"{OWN}/data/train.csv": "a,b\n"}, f"{OWN}/data/train.csv", "data"),
        ({f"{OWN}/big.bin": "x" * 20_000}, f"{OWN}/big.bin", "file-size"),
        (
            {f"{OWN}/a.py": "x", "submissions/wine/alice/knn/a.py": "x"},
            "submissions/wine/alice/knn/",
            "one-folder",
        ),
        ({f"{OWN}/{n}.py": "x" for n in range(6)}, "(all files)", "file-count"),
        (
            {f"{OWN}/{n}.bin": "x" * 9_000 for n in range(3)},
            "(all files)",
            "total-size",
        ),
        ({}, "(none)", "outside"),
    ],
)
def test_each_refusal_names_the_path_and_the_rule(
    repo: Path, change: dict[str, str | None], path: str, rule: str
) -> None:
    verdict = verdict_after(repo, change)

    assert not verdict.admitted
    assert (path, rule) in [(r.path, r.rule) for r in verdict.refusals], verdict
    refusal = next(r for r in verdict.refusals if r.rule == rule)
    assert refusal.message.startswith(RULES[rule])


def test_own_folder_changes_and_deletions_are_admitted(repo: Path) -> None:
    verdict = verdict_after(
        repo,
        {
            f"{OWN}/model.py": "class Model: ...\n",
            f"{OWN}/meta.yml": "playbook: iris\nname: knn\n",
            f"{OWN}/old.py": None,
        },
    )

    assert verdict.admitted, verdict.refusals
    assert verdict.folder == OWN


def test_login_case_does_not_matter_but_another_login_does(repo: Path) -> None:
    verdict = verdict_after(repo, {"submissions/iris/Alice/knn/model.py": "x\n"})
    assert verdict.admitted

    other = verdict_after(repo, {"submissions/iris/alice2/knn/model.py": "x\n"})
    assert [r.rule for r in other.refusals] == ["author", "one-folder"]


def test_changes_that_landed_on_main_later_are_not_the_authors(repo: Path) -> None:
    verdict_after(repo, {f"{OWN}/model.py": "x\n"})
    git("-C", repo, "checkout", "--quiet", "main")
    commit_files(repo, {"README.md": "changed by a maintainer\n"}, "later")
    git("-C", repo, "checkout", "--quiet", "pr")

    changes = changes_between(gitpython.Repo(repo), "main", "pr")

    assert [c.path for c in changes] == [f"{OWN}/model.py"]
