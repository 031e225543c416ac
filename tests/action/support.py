"""Helpers for the GitHub-side tests: a competition in a bare git remote,
the runner's environment as Actions sets it, and the stand-in server.

Nothing here talks to anything but 127.0.0.1 and local folders: the API URL
is always the stand-in's, and remotes are ``file://`` URLs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from github_fixtures import BOT_TOKEN as BOT_TOKEN  # re-exported for the tests
from github_standin import GitHubStandIn, git

from camino.evaluator.results import Record, now

IDENTITY = ["-c", "user.name=tester", "-c", "user.email=tester@example.invalid"]


def make_remote(source: Path, remotes: Path, full_name: str = "org/comp") -> Path:
    """A bare repository holding ``source``'s files (internal data excluded)
    as one commit on main, serving partial clones like GitHub does."""
    bare = remotes / f"{full_name}.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", bare)
    git("-C", bare, "config", "uploadpack.allowFilter", "true")
    work = remotes / "seed"
    shutil.copytree(source, work, ignore=shutil.ignore_patterns(".camino"))
    (work / ".gitignore").write_text(".camino/\n")
    git("init", "--quiet", "--initial-branch=main", work)
    git("-C", work, "add", "--all")
    git("-C", work, *IDENTITY, "commit", "--quiet", "-m", "competition")
    git("-C", work, "push", "--quiet", bare.as_uri(), "main")
    shutil.rmtree(work)
    return bare


def clone(bare: Path, destination: Path, internal_from: Path | None = None) -> Path:
    """What actions/checkout leaves: a clone of main, no credentials; plus
    the runner's internal data when given."""
    git("clone", "--quiet", bare.as_uri(), destination)
    if internal_from is not None:
        shutil.copytree(internal_from / ".camino", destination / ".camino")
    return destination


def commit_files(
    work: Path, files: dict[str, str], message: str, *, branch: str | None = None
) -> str:
    if branch:
        git("-C", work, "checkout", "--quiet", "-B", branch)
    for name, text in files.items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git("-C", work, "add", "--all")
    git("-C", work, *IDENTITY, "commit", "--quiet", "-m", message)
    return git("-C", work, "rev-parse", "HEAD")


class Runner:
    """The files and variables Actions gives a step, in a temporary folder."""

    def __init__(self, folder: Path, standin: GitHubStandIn, repository: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.standin = standin
        self.repository = repository
        self.output = folder / "output"
        self.summary = folder / "summary.md"
        self.output.touch()
        self.summary.touch()

    def environ(
        self, event_name: str, payload: dict[str, Any], token: str | None, **extra: str
    ) -> dict[str, str]:
        event = self.folder / f"event-{event_name}.json"
        event.write_text(json.dumps(payload))
        self.output.write_text("")
        environ = {
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_API_URL": self.standin.base_url,
            "GITHUB_SERVER_URL": f"{self.standin.base_url}/web",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "CAMINO_GITHUB_PACING": "0",
            **extra,
        }
        if token is not None:
            environ["GITHUB_TOKEN"] = token
        return environ

    def outputs(self) -> dict[str, str]:
        return read_outputs(self.output.read_text())


def read_outputs(text: str) -> dict[str, str]:
    """Parse GITHUB_OUTPUT's ``name<<DELIMITER`` blocks as the runner does."""
    values = {}
    for match in re.finditer(r"^(\S+?)<<(\S+)\n(.*?)\n\2$", text, re.M | re.S):
        values[match[1]] = match[3]
    return values


def remote_files(bare: Path, branch: str = "main") -> list[str]:
    return git("-C", bare, "ls-tree", "-r", "--name-only", branch).splitlines()


def remote_text(bare: Path, path: str, branch: str = "main") -> str:
    done = subprocess.run(
        ["git", "-C", str(bare), "show", f"{branch}:{path}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def fork_pull(
    standin: GitHubStandIn,
    bare: Path,
    work: Path,
    author: str,
    files: dict[str, str],
    association: str = "FIRST_TIME_CONTRIBUTOR",
) -> int:
    """``author`` forks org/comp, commits ``files`` on a branch, opens a PR
    (what GitHub's web interface would do); returns its number."""
    if "org/comp" not in standin.repos:
        standin.add_repo("org/comp", bare, {"github-actions[bot]", "bob"})
        standin.add_user("bob", "bob-token", association="MEMBER")
    standin.add_user(author, f"{author}-token", association=association)
    fork = standin.fork(standin.repos["org/comp"], author)
    clone(fork.path, work)
    commit_files(work, files, "my model", branch="model")
    git("-C", work, "push", "--quiet", "origin", "model")
    return standin.open_pull(
        "org/comp", fork.full_name, "model", author, "model"
    ).number


def pull_event(standin: GitHubStandIn, number: int) -> dict[str, Any]:
    pull = standin.pull_json(standin.pulls[("org/comp", number)], "github-actions[bot]")
    return {"action": "opened", "number": number, "pull_request": pull}


def comment_event(
    standin: GitHubStandIn, number: int, author: str, body: str
) -> dict[str, Any]:
    """Post a comment on the stand-in and return the issue_comment payload."""
    item = standin.add_comment("org/comp", number, author, body)
    pull = standin.pulls[("org/comp", number)]
    return {
        "action": "created",
        "issue": {
            "number": number,
            "pull_request": {
                "url": f"{standin.base_url}/repos/org/comp/pulls/{number}"
            },
            "user": {"login": pull.author},
            "author_association": pull.association,
        },
        "comment": standin.comment_json(item),
    }


def iris_record(author: str, f1: float) -> Record:
    return Record(
        playbook="iris",
        author=author,
        model="knn",
        path=f"submissions/iris/{author}/knn",
        key=f"{abs(hash(author)) % 16**12:012x}",
        status="scored",
        metrics=[{"name": "f1", "display": "f1 (macro)", "greater_is_better": True}],
        scores={"f1": f1, "accuracy": f1, "balanced_accuracy": f1},
        train_seconds=0.1,
        predict_seconds=0.01,
        rows=45,
        # Now: the publish jobs refuse a record stamped far from their clock.
        evaluated_at=now(),
    )
