"""``camino submit``: a model folder becomes a pull request.

The folder's files (without ``data/`` and other local artifacts) are
committed as ``submissions/<playbook>/<login>/<model>/`` on a branch of their
own, on top of the competition's default branch, and pushed to the
competition repository when the user may push there, else to the user's
fork. The pull request is opened, or found and thereby updated.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import git
from github.Repository import Repository
from tenacity import Retrying, stop_after_attempt, wait_fixed

from camino.action.board_commit import FAILED_PUSH, Target, auth_environment
from camino.action.github_api import connect
from camino.action.remote import (
    api_url_for,
    competition_url,
    copy_tree,
    recorded_origin,
    repository_name,
    sparse_clone,
)
from camino.errors import CaminoError
from camino.evaluator.runner import SKIPPED
from camino.playbook import load_meta


@dataclass(frozen=True)
class Plan:
    """What submit does; ``--dry-run`` prints it and stops."""

    upstream: str  # owner/name of the competition repository
    push_to: str  # owner/name of the repository that gets the branch
    login: str
    branch: str
    folder: str  # submissions/<playbook>/<login>/<model>
    files: list[str]
    existing_pull: str | None  # the open pull request's URL, if one exists

    @property
    def uses_fork(self) -> bool:
        return self.push_to != self.upstream


def submit(
    model_dir: Path, environ: Mapping[str, str], to: str | None, dry_run: bool
) -> tuple[Plan, str | None]:
    """The plan, and the pull request's URL (None on a dry run)."""
    meta = load_meta(model_dir)
    url = competition_url(to or recorded_origin(model_dir), environ)
    token = environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN") or ""
    if not token:
        raise CaminoError(
            "set GITHUB_TOKEN (or GH_TOKEN) to a token that may open pull "
            "requests, e.g. GITHUB_TOKEN=$(gh auth token) camino submit"
        )
    github = connect(api_url_for(url, environ), token, environ)
    upstream = github.get_repo(repository_name(url))
    login = github.get_user().login
    plan = _plan(model_dir, upstream, login, meta.playbook, meta.name)
    if dry_run:
        return plan, None

    target = upstream if upstream.permissions.push else upstream.create_fork()
    _push(model_dir, plan, upstream, target, token)
    return plan, plan.existing_pull or _open_pull(upstream, plan)


def _plan(
    model_dir: Path, upstream: Repository, login: str, playbook: str, model: str
) -> Plan:
    branch = f"camino/{playbook}/{model}"
    owner = login if not upstream.permissions.push else upstream.owner.login
    push_to = f"{owner}/{upstream.name}"
    files = sorted(
        str(p.relative_to(model_dir))
        for p in model_dir.rglob("*")
        if p.is_file() and not set(p.relative_to(model_dir).parts) & SKIPPED
    )
    if "model.py" not in files:
        raise CaminoError(f"{model_dir}: no model.py to submit")
    pulls = upstream.get_pulls(state="open", head=f"{owner}:{branch}")
    existing = next(iter(pulls), None)
    return Plan(
        upstream.full_name,
        push_to,
        login,
        branch,
        f"submissions/{playbook}/{login}/{model}",
        files,
        existing.html_url if existing else None,
    )


def _push(
    model_dir: Path, plan: Plan, upstream: Repository, target: Repository, token: str
) -> None:
    """One commit on the default branch's tip, force-pushed to the branch: the
    pull request always shows exactly the folder as it is now."""
    with sparse_clone(upstream.clone_url, [f"{plan.folder}/"], shallow=False) as repo:
        root = Path(repo.working_tree_dir or ".")
        folder = root / plan.folder
        shutil.rmtree(folder, ignore_errors=True)
        copy_tree(model_dir, folder, SKIPPED)
        repo.git.checkout("-B", plan.branch)
        repo.git.add("--all", "--sparse", plan.folder)
        with repo.git.custom_environment(**_identity(plan.login)):
            repo.git.commit("--allow-empty", "-m", f"Submission {plan.folder}")

        repo.create_remote("target", target.clone_url)
        credentials = auth_environment(repo, Target("target", token=token))
        with repo.git.custom_environment(**credentials):
            for attempt in Retrying(stop=stop_after_attempt(3), wait=wait_fixed(2)):
                with attempt:
                    _push_once(repo, plan)


def _push_once(repo: git.Repo, plan: Plan) -> None:
    # A fork GitHub has just created may not accept pushes for a few seconds,
    # hence the caller's retries.
    infos = repo.remote("target").push(f"+HEAD:refs/heads/{plan.branch}")
    if not infos or any(info.flags & FAILED_PUSH for info in infos):
        summary = infos[0].summary.strip() if infos else "no answer"
        raise CaminoError(f"push to {plan.push_to} failed: {summary}")


def _identity(login: str) -> dict[str, str]:
    email = f"{login}@users.noreply.github.com"
    return {
        "GIT_AUTHOR_NAME": login,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": login,
        "GIT_COMMITTER_EMAIL": email,
    }


def _open_pull(upstream: Repository, plan: Plan) -> str:
    owner = plan.push_to.split("/")[0]
    pull = upstream.create_pull(
        title=f"Submission: {plan.folder.removeprefix('submissions/')}",
        body=(
            f"Adds `{plan.folder}/`, made with `camino submit`. camino evaluates "
            "it and answers in a comment."
        ),
        head=f"{owner}:{plan.branch}",
        base=upstream.default_branch,
    )
    return pull.html_url
