"""The competition repository over git, for participants' machines.

``camino init`` and ``camino submit`` need only a sliver of the competition
repository: a partial clone (no file contents until needed) with a sparse
checkout of one folder transfers kilobytes instead of every submission and
record. Over ``file://`` this needs ``uploadpack.allowFilter`` on the
serving repository (GitHub has it); a plain path is turned into a
``file://`` URL because git ignores filters for plain local paths.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from urllib.parse import urlparse

import git

from camino.commands.init import init_model
from camino.errors import CaminoError, SpecError

# Written by init into the model folder, read by submit: where it came from.
ORIGIN = Path(".camino") / "origin"


def competition_url(explicit: str | None, environ: Mapping[str, str]) -> str:
    """``--from``/``--to``, else ``CAMINO_REPO``, else the repository camino
    was installed from; a local path becomes a ``file://`` URL."""
    url = explicit or environ.get("CAMINO_REPO") or installed_from()
    if not url:
        raise CaminoError(
            "which competition? Pass --from URL (or --to for submit), or set "
            "CAMINO_REPO to the competition repository's git URL"
        )
    return as_url(url)


def as_url(location: str) -> str:
    if "://" in location or location.startswith("git@"):
        return location
    return Path(location).expanduser().resolve().as_uri()


def installed_from() -> str | None:
    """The URL pip recorded for this installation (PEP 610), if any: a
    ``pip install git+URL`` of the competition repository names it."""
    try:
        text = distribution("camino").read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    if not text:
        return None
    return json.loads(text).get("url")


@contextmanager
def sparse_clone(url: str, paths: list[str], *, shallow: bool) -> Iterator[git.Repo]:
    """A temporary partial clone of ``url`` with only ``paths`` checked out."""
    options = ["--filter=blob:none", "--sparse", "--no-tags", "--single-branch"]
    if shallow:
        options.append("--depth=1")
    with tempfile.TemporaryDirectory(prefix="camino-clone-") as folder:
        try:
            repo = git.Repo.clone_from(
                url, Path(folder) / "repo", multi_options=options
            )
            repo.git.sparse_checkout("set", "--no-cone", *paths)
        except git.GitCommandError as error:
            raise CaminoError(f"could not clone {url}: {_last_line(error)}") from None
        yield repo


def init_from_remote(url: str, playbook: str, destination: Path) -> Path:
    """``camino init`` away from the competition repository: fetch only
    ``playbooks/NAME`` (shallow, partial, sparse) and build the folder."""
    with sparse_clone(url, [f"playbooks/{playbook}/"], shallow=True) as repo:
        root = Path(repo.working_tree_dir or ".")
        if not (root / "playbooks" / playbook / "playbook.yml").is_file():
            known = repo.git.ls_tree("-d", "--name-only", "HEAD", "playbooks/")
            names = [line.split("/")[-1] for line in known.splitlines()]
            raise SpecError(
                f"unknown playbook {playbook!r}; the playbooks in {url} are: "
                f"{', '.join(names) or '(none)'}"
            )
        init_model(root, playbook, destination)
    origin = destination / ORIGIN
    origin.write_text(url + "\n", encoding="utf-8")
    return destination


def recorded_origin(model_dir: Path) -> str | None:
    path = model_dir / ORIGIN
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def repository_name(url: str) -> str:
    """``owner/name`` from a git URL's last two path parts."""
    path = urlparse(url).path if "://" in url else url.split(":", 1)[-1]
    parts = [part for part in path.removesuffix("/").split("/") if part]
    if len(parts) < 2:
        raise CaminoError(f"{url}: cannot tell the repository's owner/name from it")
    return f"{parts[-2]}/{parts[-1].removesuffix('.git')}"


def api_url_for(url: str, environ: Mapping[str, str]) -> str:
    """``GITHUB_API_URL`` if set, else the API of the host serving ``url``."""
    if environ.get("GITHUB_API_URL"):
        return environ["GITHUB_API_URL"]
    host = urlparse(url).hostname if "://" in url else url.split("@")[-1].split(":")[0]
    if not host:
        raise CaminoError(
            f"{url} is not on a GitHub server: set GITHUB_API_URL to its API address"
        )
    return (
        "https://api.github.com" if host == "github.com" else f"https://{host}/api/v3"
    )


def copy_tree(source: Path, destination: Path, skipped: set[str]) -> list[Path]:
    """Copy regular files, leaving out ``skipped`` names; refuse links."""
    copied = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if set(relative.parts) & skipped:
            continue
        if path.is_symlink():
            raise CaminoError(f"{path}: symbolic links cannot be submitted")
        if path.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            copied.append(relative)
    return copied


def _last_line(error: git.GitCommandError) -> str:
    """git's own reason: its first "fatal:" line, else its last words.
    GitPython wraps stderr as ``stderr: '...'``, quotes included."""
    text = str(error.stderr or error).strip().removeprefix("stderr:").strip()
    lines = [line.strip() for line in text.strip("'").splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith("fatal:")]
    if fatal:
        return fatal[0].removeprefix("fatal:").strip()
    return lines[-1] if lines else str(error)
