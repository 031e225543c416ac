"""A participant's two commands against a remote competition: ``camino init``
fetches one playbook by a partial, sparse, shallow clone; ``camino submit``
pushes the folder to a fork and opens (then updates) the pull request."""

from __future__ import annotations

from pathlib import Path

import pytest
from github_standin import GitHubStandIn, git
from support import make_remote, remote_files
from typer.testing import CliRunner, Result

from camino.action.remote import sparse_clone
from camino.app import app


@pytest.fixture
def bare(with_examples: Path, tmp_path: Path) -> Path:
    return make_remote(with_examples, tmp_path / "remotes")


def camino(*args: object, cwd: Path, env: dict[str, str] | None = None) -> Result:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        return CliRunner().invoke(app, [str(a) for a in args], env=env)


def test_init_from_a_remote_fetches_only_the_playbook(
    bare: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    result = camino(
        "init", "--playbook", "iris", "mine", "--from", bare.as_uri(), cwd=outside
    )

    assert result.exit_code == 0, result.output
    folder = outside / "mine"
    for name in ("model.py", "meta.yml", "data/train.csv", ".camino/playbook.yml"):
        assert (folder / name).is_file(), name
    assert (folder / ".camino" / "origin").read_text().strip() == bare.as_uri()


def test_the_clone_is_partial_sparse_and_shallow(bare: Path) -> None:
    with sparse_clone(bare.as_uri(), ["playbooks/iris/"], shallow=True) as repo:
        root = Path(repo.working_tree_dir)
        checked_out = {
            p.relative_to(root).parts[:2]
            for p in root.rglob("*")
            if p.is_file() and ".git" not in p.parts
        }
        missing = repo.git.rev_list("--objects", "--missing=print", "HEAD").splitlines()
        commits = repo.git.rev_list("--count", "HEAD")
        promisor = repo.git.config("remote.origin.promisor")

    assert checked_out == {("playbooks", "iris")}
    assert sum(line.startswith("?") for line in missing) > 20  # other files' blobs
    assert (commits, promisor) == ("1", "true")


def test_init_names_the_remote_playbooks_when_one_is_unknown(
    bare: Path, tmp_path: Path
) -> None:
    result = camino("init", "-p", "iriss", "m", "--from", bare.as_uri(), cwd=tmp_path)

    assert result.exit_code == 2
    assert "unknown playbook 'iriss'" in result.stderr
    assert "breast-cancer, diabetes, iris, wine" in result.stderr


def test_submit_pushes_to_a_fork_and_updates_the_same_pull_request(
    standin: GitHubStandIn, bare: Path, tmp_path: Path
) -> None:
    standin.add_repo("org/comp", bare, {"bob"})
    standin.add_user("alice", "alice-token")
    made = camino("init", "-p", "iris", "mine", "--from", bare.as_uri(), cwd=tmp_path)
    assert made.exit_code == 0, made.output
    folder = tmp_path / "mine"
    env = {
        "GITHUB_TOKEN": "alice-token",
        "GITHUB_API_URL": standin.base_url,
        "CAMINO_GITHUB_PACING": "0",
    }

    dry = camino("submit", folder, "--dry-run", cwd=tmp_path, env=env)
    assert dry.exit_code == 0, dry.output
    assert "would push 3 files as submissions/iris/alice/mine/" in dry.stdout
    assert "your fork alice/comp" in dry.stdout and "data/" not in dry.stdout
    assert not [m for m, _ in standin.requests if m != "GET"]

    first = camino("submit", folder, cwd=tmp_path, env=env)
    assert first.exit_code == 0, first.output
    [pull] = standin.pulls.values()
    assert f"/web/org/comp/pull/{pull.number}" in first.stdout
    assert (pull.head, pull.head_ref) == ("alice/comp", "camino/iris/mine")
    fork = standin.repos["alice/comp"].path
    first_head = git("-C", fork, "rev-parse", "camino/iris/mine")

    (folder / "model.py").write_text("# better\n" + (folder / "model.py").read_text())
    (folder / "notes.txt").write_text("tried k=5\n")
    second = camino("submit", folder, cwd=tmp_path, env=env)
    assert second.exit_code == 0, second.output
    assert len(standin.pulls) == 1
    files = remote_files(fork, "camino/iris/mine")
    assert "submissions/iris/alice/mine/notes.txt" in files
    assert not [f for f in files if "/mine/data/" in f or "/.camino/" in f]
    head = standin.pull_json(pull, "alice")["head"]["sha"]
    assert head == git("-C", fork, "rev-parse", "camino/iris/mine") != first_head


def test_submit_without_a_token_says_how_to_get_one(bare: Path, tmp_path: Path) -> None:
    camino("init", "-p", "iris", "mine", "--from", bare.as_uri(), cwd=tmp_path)

    result = camino(
        "submit",
        tmp_path / "mine",
        cwd=tmp_path,
        env={"GITHUB_API_URL": "http://127.0.0.1:9"},
    )

    assert result.exit_code == 2
    assert "set GITHUB_TOKEN" in result.stderr


def test_a_notebook_submits_through_the_api(
    standin: GitHubStandIn, bare: Path, tmp_path: Path
) -> None:
    import camino as api

    standin.add_repo("org/comp", bare, {"bob"})
    standin.add_user("alice", "alice-token")
    camino("init", "-p", "iris", "mine", "--from", bare.as_uri(), cwd=tmp_path)
    env = {
        "GITHUB_TOKEN": "alice-token",
        "GITHUB_API_URL": standin.base_url,
        "CAMINO_GITHUB_PACING": "0",
    }

    assert api.submit(tmp_path / "mine", dry_run=True, environ=env) is None
    url = api.submit(tmp_path / "mine", environ=env)

    [pull] = standin.pulls.values()
    assert url is not None and url.endswith(f"/pull/{pull.number}")
