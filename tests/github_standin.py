"""A small stand-in of the GitHub REST API for the real PyGithub to talk to.

It binds 127.0.0.1 on a free port and keeps users, repositories (each one a
real bare git repository on disk), pull requests and comments in memory. It
checks the token on every request, generates every ``url`` in its payloads
from its own address (PyGithub follows them), pages lists with ``Link``
headers, and logs each request so tests can assert what went over the wire.
Pull-request refs (``refs/pull/N/head``) and squash merges are real git
operations on the bare repositories. Like GitHub, it refuses a second open
pull request from the same head branch, and the workflow token's new pull
requests while the repository setting for them is off.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse


@dataclass
class Repository:
    full_name: str
    path: Path
    writers: set[str] = field(default_factory=set)
    default_branch: str = "main"
    fork_of: str | None = None

    @property
    def owner(self) -> str:
        return self.full_name.split("/")[0]


@dataclass
class Pull:
    number: int
    base: str
    head: str  # full name of the repository holding the head branch
    head_ref: str
    author: str
    association: str
    title: str
    body: str = ""
    state: str = "open"
    merged: bool = False


@dataclass
class Comment:
    id: int
    repo: str
    number: int
    author: str
    association: str
    body: str


def git(*args: str | Path) -> str:
    done = subprocess.run(
        ["git", *map(str, args)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


class GitHubStandIn:
    """Start with ``start()``; ``base_url`` is what PyGithub gets."""

    def __init__(self) -> None:
        self.tokens: dict[str, tuple[str, str]] = {}  # token -> (login, type)
        self.associations: dict[str, str] = {}  # login -> author_association
        self.repos: dict[str, Repository] = {}
        self.pulls: dict[tuple[str, int], Pull] = {}
        self.comments: list[Comment] = []
        self.requests: list[tuple[str, str]] = []
        # The repository setting "Allow GitHub Actions to create and approve
        # pull requests"; off, GitHub refuses the workflow token's new PRs.
        self.actions_open_pulls = True
        self.lock = threading.RLock()
        self._ids = itertools.count(1001)
        self._numbers = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    # --- set-up helpers used by tests (what GitHub's web UI would do) ------------

    def start(self) -> GitHubStandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_user(
        self, login: str, token: str, *, association: str = "NONE", bot: bool = False
    ) -> None:
        self.tokens[token] = (login, "Bot" if bot else "User")
        self.associations[login] = association

    def add_repo(self, full_name: str, path: Path, writers: set[str]) -> Repository:
        repo = Repository(full_name, path, set(writers))
        self.repos[full_name] = repo
        return repo

    def open_pull(
        self, base: str, head: str, head_ref: str, author: str, title: str
    ) -> Pull:
        with self.lock:
            pull = Pull(
                next(self._numbers),
                base,
                head,
                head_ref,
                author,
                self.associations.get(author, "NONE"),
                title,
            )
            self.pulls[(base, pull.number)] = pull
            self.head_sha(pull)
            return pull

    def add_comment(self, repo: str, number: int, author: str, body: str) -> Comment:
        with self.lock:
            association = self.associations.get(author, "NONE")
            item = Comment(next(self._ids), repo, number, author, association, body)
            self.comments.append(item)
            return item

    def comments_on(self, repo: str, number: int) -> list[Comment]:
        return [c for c in self.comments if (c.repo, c.number) == (repo, number)]

    def head_sha(self, pull: Pull) -> str:
        """The head branch's commit; like GitHub, keep refs/pull/N/head on it."""
        head = self.repos[pull.head]
        sha = git("-C", head.path, "rev-parse", f"refs/heads/{pull.head_ref}")
        base = self.repos[pull.base].path
        ref = f"+refs/heads/{pull.head_ref}:refs/pull/{pull.number}/head"
        git("-C", base, "fetch", "--quiet", head.path, ref)
        return sha

    # --- payloads -------------------------------------------------------------------

    def repo_json(self, repo: Repository, login: str) -> dict[str, Any]:
        url = f"{self.base_url}/repos/{repo.full_name}"
        push = login in repo.writers or login == repo.owner
        return {
            "id": abs(hash(repo.full_name)) % 10**8,
            "name": repo.full_name.split("/")[1],
            "full_name": repo.full_name,
            "owner": {"login": repo.owner, "type": "User"},
            "url": url,
            "html_url": f"{self.base_url}/web/{repo.full_name}",
            "clone_url": repo.path.as_uri(),
            "default_branch": repo.default_branch,
            "fork": repo.fork_of is not None,
            "permissions": {"admin": push, "push": push, "pull": True},
        }

    def pull_json(self, pull: Pull, login: str) -> dict[str, Any]:
        base = self.repos[pull.base]
        url = f"{self.base_url}/repos/{pull.base}"
        sha = self.head_sha(pull)
        base_sha = git(
            "-C", base.path, "rev-parse", f"refs/heads/{base.default_branch}"
        )
        return {
            "number": pull.number,
            "url": f"{url}/pulls/{pull.number}",
            "issue_url": f"{url}/issues/{pull.number}",
            "comments_url": f"{url}/issues/{pull.number}/comments",
            "html_url": f"{self.base_url}/web/{pull.base}/pull/{pull.number}",
            "state": pull.state,
            "merged": pull.merged,
            "title": pull.title,
            "body": pull.body,
            "user": {"login": pull.author, "type": "User"},
            "author_association": pull.association,
            "head": {
                "sha": sha,
                "ref": pull.head_ref,
                "label": f"{self.repos[pull.head].owner}:{pull.head_ref}",
                "repo": self.repo_json(self.repos[pull.head], login),
            },
            "base": {
                "sha": base_sha,
                "ref": base.default_branch,
                "repo": self.repo_json(base, login),
            },
        }

    def comment_json(self, item: Comment) -> dict[str, Any]:
        url = f"{self.base_url}/repos/{item.repo}/issues"
        _, kind = next(
            ((lg, ty) for lg, ty in self.tokens.values() if lg == item.author),
            (item.author, "User"),
        )
        return {
            "id": item.id,
            "url": f"{url}/comments/{item.id}",
            "issue_url": f"{url}/{item.number}",
            "html_url": f"{self.base_url}/web/{item.repo}/pull/{item.number}",
            "body": item.body,
            "user": {"login": item.author, "type": kind},
            "author_association": item.association,
        }

    # --- operations -----------------------------------------------------------------

    def merge(self, pull: Pull, sha: str | None, title: str) -> tuple[int, Any]:
        head = self.head_sha(pull)
        if sha and sha != head:
            return 409, {
                "message": "Head branch was modified. Review and try the merge again."
            }
        base = self.repos[pull.base]
        with tempfile.TemporaryDirectory(prefix="standin-merge-") as work:
            for _ in range(20):  # the board may be pushed at the same moment
                if _squash(base, pull, work, title):
                    pull.state, pull.merged = "closed", True
                    return 200, {
                        "merged": True,
                        "message": "Pull Request successfully merged",
                    }
        return 405, {
            "message": "Base branch was modified. Review and try the merge again."
        }

    def fork(self, source: Repository, login: str) -> Repository:
        full_name = f"{login}/{source.full_name.split('/')[1]}"
        if full_name not in self.repos:
            path = source.path.parent.parent / login / source.path.name
            path.parent.mkdir(parents=True, exist_ok=True)
            git("clone", "--quiet", "--bare", source.path, path)
            repo = self.add_repo(full_name, path, {login})
            repo.fork_of = source.full_name
        return self.repos[full_name]


def _squash(base: Repository, pull: Pull, work: str, title: str) -> bool:
    clone = Path(work) / f"c{pull.number}"
    subprocess.run(["rm", "-rf", str(clone)], check=True)
    git("clone", "--quiet", base.path, clone)
    git("-C", clone, "fetch", "--quiet", "origin", f"refs/pull/{pull.number}/head")
    git("-C", clone, "merge", "--squash", "FETCH_HEAD")
    git(
        "-C",
        clone,
        "-c",
        "user.name=standin",
        "-c",
        "user.email=s@example.invalid",
        "commit",
        "--quiet",
        "-m",
        title,
    )
    pushed = subprocess.run(
        [
            "git",
            "-C",
            str(clone),
            "push",
            "--quiet",
            "origin",
            f"HEAD:{base.default_branch}",
        ],
        capture_output=True,
    )
    return pushed.returncode == 0


# GitHub's answer to a long body. Reports disagree on how it counts, so the
# stand-in refuses whatever any of them would: 65,536 characters, 65,536
# UTF-16 units, or 262,144 UTF-8 bytes.
TOO_LONG = {
    "message": "Validation Failed",
    "errors": [{"message": "Body is too long (maximum is 65536 characters)"}],
}


def too_long(text: str) -> bool:
    units = len(text.encode("utf-16-le")) // 2
    return max(len(text), units) > 65_536 or len(text.encode()) > 262_144


ROUTES = [
    ("GET", r"/user", "get_user"),
    ("GET", r"/repos/(?P<repo>[^/]+/[^/]+)", "get_repo"),
    ("POST", r"/repos/(?P<repo>[^/]+/[^/]+)/forks", "post_fork"),
    ("GET", r"/repos/(?P<repo>[^/]+/[^/]+)/pulls", "list_pulls"),
    ("POST", r"/repos/(?P<repo>[^/]+/[^/]+)/pulls", "post_pull"),
    ("GET", r"/repos/(?P<repo>[^/]+/[^/]+)/pulls/(?P<n>\d+)", "get_pull"),
    ("PATCH", r"/repos/(?P<repo>[^/]+/[^/]+)/pulls/(?P<n>\d+)", "patch_pull"),
    ("PUT", r"/repos/(?P<repo>[^/]+/[^/]+)/pulls/(?P<n>\d+)/merge", "put_merge"),
    (
        "GET",
        r"/repos/(?P<repo>[^/]+/[^/]+)/issues/(?P<n>\d+)/comments",
        "list_comments",
    ),
    (
        "POST",
        r"/repos/(?P<repo>[^/]+/[^/]+)/issues/(?P<n>\d+)/comments",
        "post_comment",
    ),
    (
        "PATCH",
        r"/repos/(?P<repo>[^/]+/[^/]+)/issues/comments/(?P<id>\d+)",
        "patch_comment",
    ),
]


def _handler(state: GitHubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; without this each request
        # waits ~40 ms for the client's delayed ACK (RIG.md section 3).
        disable_nagle_algorithm = True

        def log_message(self, *_: object) -> None:
            pass

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_PATCH(self) -> None:
            self._dispatch("PATCH")

        def do_PUT(self) -> None:
            self._dispatch("PUT")

        def _dispatch(self, method: str) -> None:
            parsed = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            with state.lock:
                state.requests.append((method, self.path))
            user = self._user()
            if user is None:
                return self._send(401, {"message": "Bad credentials"})
            for verb, pattern, name in ROUTES:
                match = re.fullmatch(pattern, parsed.path)
                if verb == method and match:
                    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
                    with state.lock:
                        status, payload, *link = getattr(self, name)(
                            user, match.groupdict(), query, body
                        )
                    return self._send(status, payload, *link)
            return self._send(404, {"message": "Not Found"})

        def _user(self) -> str | None:
            header = self.headers.get("Authorization", "")
            token = header.removeprefix("token ").removeprefix("Bearer ")
            entry = state.tokens.get(token)
            return entry[0] if entry else None

        def _send(self, status: int, payload: Any, link: str = "") -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if link:
                self.send_header("Link", link)
            self.end_headers()
            self.wfile.write(data)

        def _repo(self, args: dict[str, str]) -> Repository | None:
            return state.repos.get(args["repo"])

        # --- routes -------------------------------------------------------------

        def get_user(self, user: str, *_: Any) -> tuple[int, Any]:
            kind = next(ty for lg, ty in state.tokens.values() if lg == user)
            return 200, {"login": user, "type": kind, "url": f"{state.base_url}/user"}

        def get_repo(self, user: str, args: dict[str, str], *_: Any) -> tuple[int, Any]:
            repo = self._repo(args)
            if repo is None:
                return 404, {"message": "Not Found"}
            return 200, state.repo_json(repo, user)

        def post_fork(
            self, user: str, args: dict[str, str], *_: Any
        ) -> tuple[int, Any]:
            source = self._repo(args)
            if source is None:
                return 404, {"message": "Not Found"}
            return 202, state.repo_json(state.fork(source, user), user)

        def list_pulls(
            self, user: str, args: dict[str, str], query: dict[str, str], _: Any
        ) -> tuple[int, Any]:
            pulls = [
                state.pull_json(p, user)
                for (repo, _n), p in sorted(state.pulls.items())
                if repo == args["repo"]
                and query.get("state", "open") in (p.state, "all")
                and (
                    "head" not in query
                    or query["head"] == f"{state.repos[p.head].owner}:{p.head_ref}"
                )
            ]
            return 200, pulls

        def post_pull(
            self, user: str, args: dict[str, str], _: Any, body: dict[str, Any]
        ) -> tuple[int, Any]:
            owner, _, ref = body["head"].rpartition(":")
            head = next(
                (
                    r
                    for r in state.repos.values()
                    if r.owner == (owner or user)
                    and r.full_name.split("/")[1] == args["repo"].split("/")[1]
                ),
                None,
            )
            if head is None:
                return 422, {
                    "message": "Validation Failed",
                    "errors": [{"field": "head"}],
                }
            if too_long(body.get("body") or ""):
                return 422, TOO_LONG
            if user == "github-actions[bot]" and not state.actions_open_pulls:
                return 403, {
                    "message": "GitHub Actions is not permitted to create or "
                    "approve pull requests."
                }
            if any(
                p.state == "open" and (p.head, p.head_ref) == (head.full_name, ref)
                for (repo, _n), p in state.pulls.items()
                if repo == args["repo"]
            ):
                return 422, {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "message": "A pull request already exists for "
                            f"{head.owner}:{ref}."
                        }
                    ],
                }
            pull = state.open_pull(
                args["repo"], head.full_name, ref, user, body["title"]
            )
            pull.body = body.get("body") or ""
            return 201, state.pull_json(pull, user)

        def get_pull(self, user: str, args: dict[str, str], *_: Any) -> tuple[int, Any]:
            pull = state.pulls.get((args["repo"], int(args["n"])))
            if pull is None:
                return 404, {"message": "Not Found"}
            return 200, state.pull_json(pull, user)

        def patch_pull(
            self, user: str, args: dict[str, str], _: Any, body: dict[str, Any]
        ) -> tuple[int, Any]:
            pull = state.pulls.get((args["repo"], int(args["n"])))
            repo = self._repo(args)
            if pull is None or repo is None:
                return 404, {"message": "Not Found"}
            if user not in repo.writers and user != pull.author:
                return 403, {"message": "Resource not accessible by integration"}
            if too_long(body.get("body") or ""):
                return 422, TOO_LONG
            pull.title = body.get("title", pull.title)
            pull.body = body.get("body", pull.body)
            pull.state = body.get("state", pull.state)
            return 200, state.pull_json(pull, user)

        def put_merge(
            self, user: str, args: dict[str, str], _: Any, body: dict[str, Any]
        ) -> tuple[int, Any]:
            pull = state.pulls.get((args["repo"], int(args["n"])))
            repo = self._repo(args)
            if pull is None or repo is None:
                return 404, {"message": "Not Found"}
            if user not in repo.writers:
                return 403, {"message": "Resource not accessible by integration"}
            return state.merge(pull, body.get("sha"), body.get("commit_title") or "")

        def list_comments(
            self, user: str, args: dict[str, str], query: dict[str, str], _: Any
        ) -> tuple[Any, ...]:
            items = state.comments_on(args["repo"], int(args["n"]))
            per_page = int(query.get("per_page", 30))
            page = int(query.get("page", 1))
            chunk = items[(page - 1) * per_page : page * per_page]
            last = max(1, -(-len(items) // per_page))
            url = f"{state.base_url}{urlparse(self.path).path}"
            links = []
            if page < last:
                for rel, number in (("next", page + 1), ("last", last)):
                    query_text = urlencode({"per_page": per_page, "page": number})
                    links.append(f'<{url}?{query_text}>; rel="{rel}"')
            return 200, [state.comment_json(c) for c in chunk], ", ".join(links)

        def post_comment(
            self, user: str, args: dict[str, str], _: Any, body: dict[str, Any]
        ) -> tuple[int, Any]:
            if too_long(body["body"]):
                return 422, TOO_LONG
            item = state.add_comment(args["repo"], int(args["n"]), user, body["body"])
            return 201, state.comment_json(item)

        def patch_comment(
            self, user: str, args: dict[str, str], _: Any, body: dict[str, Any]
        ) -> tuple[int, Any]:
            item = next((c for c in state.comments if c.id == int(args["id"])), None)
            if item is None:
                return 404, {"message": "Not Found"}
            if item.author != user:
                return 403, {"message": "Must have admin rights to Repository."}
            if too_long(body["body"]):
                return 422, TOO_LONG
            item.body = body["body"]
            return 200, state.comment_json(item)

    return Handler
