"""The re-score workflow's steps (rescore.yml): find the boards whose
internal data changed, and turn their new evaluations into one pull request.

``detect_job`` runs on the camino runner (it reads the internal store to
hash it) with a read-only token and runs no submission code; the evaluation
is the batch workflow's (one matrix job per shard); ``publish_rescore`` runs
on a GitHub-hosted runner with the write token and never runs submission
code.

The pull request comes from a branch named after the versions it moves
(``camino/rescore-<digest>``): while it exists, the daily run evaluates
nothing again; it only rebuilds the branch on the newest default branch,
with the records the branch already holds, so the pull request stays
mergeable while it waits. Deleting the branch makes the next run evaluate
everything anew. When the data changes again while it waits, the newer
pull request closes the older ones it replaces.

Known shortcoming:

- TODO(re-score retry): after a held-back board, the only retry is to
  delete the branch, and the next run evaluates every folder again: the
  evaluate jobs check out the default branch, where the branch's records
  are not. Checking the re-score branch out there would evaluate only
  what is missing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import git
from github.PullRequest import PullRequest
from github.Repository import Repository

from camino.action.batch import MATRIX_LIMIT, plan_shards
from camino.action.board_commit import BOT_IDENTITY, Target, auth_environment
from camino.action.config import load_competition
from camino.action.github_api import connect, pulls_from, upsert_pull
from camino.action.handover import (
    Kind,
    check_records,
    read_handed_over,
)
from camino.action.workflow import (
    Runner,
    add_summary,
    read_runner,
    require,
    set_outputs,
)
from camino.board import write_boards
from camino.commands.batch import BatchSummary, admit, choose_named, live_folders
from camino.commands.rescore import RescoreSummary, Stale, move_boards, stale_boards
from camino.errors import CaminoError
from camino.evaluator.pipeline import check_internal_stores
from camino.evaluator.results import (
    FAULT_PLATFORM,
    RESULTS,
    Record,
    hash_folder,
    load_records,
    parse_record,
    pin_if_unset,
    write_record,
)
from camino.evaluator.runner import SKIPPED
from camino.playbook import Playbook, all_playbooks, load_playbook, playbook_dir
from camino.rank_changes import render_changes

BRANCH_PREFIX = "camino/rescore-"
MARKER = "<!-- camino:rescore -->"
# Names the playbooks a re-score pull request moves, so that a newer one can
# tell which older ones it replaces.
MOVES = re.compile(r"<!-- camino:moves ([a-z0-9._, -]*) -->")
VERSION = re.compile(r"[0-9a-f]{6,64}")
# GitHub refuses a body over 65,536 characters; the tables of a large
# competition can pass that, and then go to the job summary only.
BODY_LIMIT = 60_000


@dataclass(frozen=True)
class Move:
    """A board's data version now (None: nothing ranked yet) and the
    version of the internal data in the store."""

    old: str | None
    new: str


@dataclass(frozen=True)
class Request:
    """What the detect job decided, handed to publish in its environment."""

    moves: dict[str, Move]
    branch: str

    @property
    def playbooks(self) -> list[str]:
        return sorted(self.moves)


def branch_name(moves: Mapping[str, Move]) -> str:
    """One branch per set of moves: a second run for the same new data
    finds the branch and the pull request of the first."""
    text = json.dumps(versions_json(moves), sort_keys=True)
    return BRANCH_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:12]


def versions_json(moves: Mapping[str, Move]) -> dict[str, dict[str, str | None]]:
    return {name: {"old": move.old, "new": move.new} for name, move in moves.items()}


# --- detect -------------------------------------------------------------------


@dataclass
class Detection:
    moves: dict[str, Move] = field(default_factory=dict)
    shards: list[str] = field(default_factory=list)
    branch: str = ""
    branch_exists: bool = False


def detect_job(
    environ: Mapping[str, str],
    root: Path,
    playbooks: Sequence[str] = (),
    max_jobs: int = MATRIX_LIMIT,
    remote: str = "origin",
) -> Detection:
    """Compare each board's data version with the internal store's and
    write the step outputs ``playbooks``, ``versions``, ``shards``, ``branch``."""
    runner = read_runner(environ)
    chosen = choose_named(root, playbooks)
    check_internal_stores(root, chosen)
    stale = stale_boards(root, chosen)

    detection = Detection()
    if stale:
        detection.moves = {
            entry.playbook.name: Move(entry.shown or None, entry.current)
            for entry in stale
        }
        detection.branch = branch_name(detection.moves)
        target = Target(remote, token=runner.token)
        detection.branch_exists = remote_branch_exists(root, detection.branch, target)
    if stale and not detection.branch_exists:
        folders = live_folders(root, [entry.playbook for entry in stale])
        detection.shards = plan_shards(len(folders), max_jobs)

    set_outputs(runner, detection_outputs(detection))
    add_summary(runner, detection_summary(detection))
    return detection


def detection_outputs(detection: Detection) -> dict[str, str]:
    return {
        "playbooks": " ".join(sorted(detection.moves)),
        "versions": json.dumps(versions_json(detection.moves), sort_keys=True),
        "shards": json.dumps(detection.shards),
        "branch": detection.branch,
    }


def detection_summary(detection: Detection) -> str:
    if not detection.moves:
        return "### camino re-score\n\nEvery board ranks the current internal data."
    lines = ["### camino re-score", ""]
    for name, move in sorted(detection.moves.items()):
        lines.append(
            f"- {name}: board on `{move.old or 'nothing'}`, store `{move.new}`"
        )
    if detection.branch_exists:
        lines += [
            "",
            f"The branch `{detection.branch}` exists: a re-score pull request for "
            "exactly these versions is open or was made, so nothing is evaluated "
            "again (the publish job keeps it on the newest default branch). Delete "
            "the branch to re-score from scratch.",
        ]
    else:
        lines += [
            "",
            f"{len(detection.shards)} evaluation jobs, branch `{detection.branch}`.",
        ]
    return "\n".join(lines)


def remote_branch_exists(root: Path, branch: str, target: Target) -> bool:
    """Whether ``branch`` is on the remote; the token goes to git in its
    environment, as for the board's pushes, never into the URL."""
    repo = git.Repo(root)
    with repo.git.custom_environment(**auth_environment(repo, target)):
        return _listed(repo, target.remote, branch)


def _listed(repo: git.Repo, remote: str, branch: str) -> bool:
    try:
        listed = repo.git.ls_remote("--heads", remote, f"refs/heads/{branch}")
    except git.GitCommandError as error:
        raise CaminoError(
            f"cannot list the branches of {remote}: {_stderr(error)}"
        ) from None
    return bool(listed.strip())


def _stderr(error: git.GitCommandError) -> str:
    return str(error.stderr).strip() or str(error)


# --- publish ------------------------------------------------------------------


def read_request(environ: Mapping[str, str], root: Path) -> Request:
    """CAMINO_VERSIONS, CAMINO_PLAYBOOKS and CAMINO_BRANCH, as the detect job
    wrote them; anything else is refused (the branch is force-pushed)."""
    moves = _read_moves(environ.get("CAMINO_VERSIONS", ""), root)
    names = sorted((environ.get("CAMINO_PLAYBOOKS") or "").split())
    if names != sorted(moves):
        raise CaminoError(
            f"CAMINO_PLAYBOOKS {' '.join(names)!r} and the playbooks of "
            f"CAMINO_VERSIONS ({' '.join(sorted(moves))}) differ"
        )
    branch = environ.get("CAMINO_BRANCH", "")
    if branch != branch_name(moves):
        raise CaminoError(
            f"CAMINO_BRANCH {branch!r} is not the re-score branch of "
            f"CAMINO_VERSIONS (expected {branch_name(moves)})"
        )
    return Request(moves, branch)


def _read_moves(text: str, root: Path) -> dict[str, Move]:
    problem = "CAMINO_VERSIONS: expected the detect job's versions output"
    try:
        data = json.loads(text)
    except ValueError:
        raise CaminoError(f"{problem}, a JSON object; got {text[:80]!r}") from None
    if not isinstance(data, dict) or not data:
        raise CaminoError(f"{problem}, a non-empty JSON object")

    known = {playbook.name for playbook in all_playbooks(root)}
    moves = {}
    for name, versions in data.items():
        if name not in known:
            raise CaminoError(f"{problem}: unknown playbook {name!r}")
        old = versions.get("old") if isinstance(versions, dict) else None
        new = versions.get("new") if isinstance(versions, dict) else None
        if not isinstance(new, str) or not VERSION.fullmatch(new):
            raise CaminoError(f"{problem}: {name!r} has no valid new version")
        if old is not None and not (isinstance(old, str) and VERSION.fullmatch(old)):
            raise CaminoError(f"{problem}: {name!r} has an invalid old version")
        moves[name] = Move(old, new)
    return moves


def check_versions(records: Sequence[Record], request: Request) -> None:
    """Every handed-over record is on the new data of a playbook being moved."""
    for record in records:
        move = request.moves.get(record.playbook)
        if move is None:
            raise CaminoError(
                f"{record.file_name}: playbook {record.playbook!r} is not being "
                f"re-scored ({', '.join(request.playbooks)})"
            )
        if record.data_version != move.new:
            raise CaminoError(
                f"{record.file_name}: data version {record.data_version!r}, but "
                f"the re-score of {record.playbook} is to {move.new!r}"
            )


@dataclass
class Counts:
    """Per playbook: live folders, and where their records on the new data
    came from."""

    live: int = 0
    evaluated: int = 0  # in this run (the handed-over records)
    carried: int = 0  # by an earlier run of this re-score (on its branch)


@dataclass
class Rebuilt:
    summary: RescoreSummary = field(default_factory=RescoreSummary)
    counts: dict[str, Counts] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def publish_rescore(
    environ: Mapping[str, str], root: Path, out: Path, remote: str = "origin"
) -> str | None:
    """Build the re-score branch on the newest default branch, push it,
    and open or edit its pull request; the pull request's address, or None
    when there was nothing to propose."""
    runner = read_runner(environ)
    require(runner, "repository", "token", "api_url")
    request = read_request(environ, root)
    handed = read_handed_over(out)
    check_records(handed, root, Kind.SUBMISSION)
    check_versions(handed, request)

    competition = load_competition(root)
    repository = connect(runner.api_url, runner.token, environ).get_repo(
        runner.repository
    )
    branch = RescoreBranch(
        git.Repo(root), Target(remote, competition.branch, runner.token), request.branch
    )
    with branch.authenticated():
        existed = branch.start()
        closed = _closed_pull(repository, request.branch) if existed else None
        if closed is not None:
            add_summary(runner, _closed_summary(request, closed))
            return None
        carried = branch.carried(root, request) if existed else []
        rebuilt = rebuild(root, request, handed, carried)
        if not branch.commit(commit_message(request, rebuilt)):
            add_summary(runner, _nothing_summary(request, rebuilt))
            return None
        branch.push()

    body = pull_body(root, request, rebuilt, runner)
    if len(body) > BODY_LIMIT:
        body = pull_body(root, request, rebuilt, runner, tables=False)
    title = pull_title(request)
    pull = upsert_pull(repository, request.branch, competition.branch, title, body)
    superseded = close_superseded(repository, request, pull)
    # The summary has room for the tables a long body leaves out.
    add_summary(runner, pull_body(root, request, rebuilt, runner))
    if superseded:
        numbers = ", ".join(f"#{number}" for number in superseded)
        add_summary(runner, f"Closed the re-scores it replaces: {numbers}.")
    return pull.html_url


def close_superseded(
    repository: Repository, request: Request, pull: PullRequest
) -> list[int]:
    """Close the open re-score pull requests that this one replaces: those
    of older data for no playbook beyond this one's. Merged after this one,
    they would move a board back to older data."""
    closed = []
    for older in repository.get_pulls(state="open"):
        if older.number == pull.number or not older.head.ref.startswith(BRANCH_PREFIX):
            continue
        moves = MOVES.search(older.body or "")
        playbooks = set(moves[1].split(",")) if moves else None
        if playbooks is None or not playbooks <= set(request.playbooks):
            continue
        older.create_issue_comment(
            f"Superseded by #{pull.number}: the internal data changed again, "
            "and that pull request re-scores these boards on the newest data."
        )
        older.edit(state="closed")
        closed.append(older.number)
    return closed


class RescoreBranch:
    """The re-score branch in the publish job's checkout."""

    def __init__(self, repo: git.Repo, target: Target, name: str) -> None:
        self.repo = repo
        self.target = target
        self.name = name
        self.remote_ref = f"refs/remotes/{target.remote}/{name}"

    @contextmanager
    def authenticated(self) -> Iterator[None]:
        with self.repo.git.custom_environment(
            **auth_environment(self.repo, self.target)
        ):
            yield

    def start(self) -> bool:
        """Check the branch out at the newest default branch; whether it
        already exists on the remote (then it is fetched too)."""
        try:
            return self._start()
        except git.GitCommandError as error:
            raise CaminoError(
                f"cannot fetch {self.target.branch} and {self.name} from "
                f"{self.target.remote}: {_stderr(error)}"
            ) from None

    def _start(self) -> bool:
        remote, default = self.target.remote, self.target.branch
        self.repo.git.fetch(
            "--quiet", remote, f"+refs/heads/{default}:refs/remotes/{remote}/{default}"
        )
        existed = _listed(self.repo, remote, self.name)
        if existed:
            self.repo.git.fetch(
                "--quiet", remote, f"+refs/heads/{self.name}:{self.remote_ref}"
            )
        else:  # a ref left from a branch since deleted is no branch
            self.repo.git.update_ref("-d", self.remote_ref)
        self.repo.git.checkout(
            "--quiet",
            "--force",
            "--no-track",
            "-B",
            self.name,
            f"refs/remotes/{remote}/{default}",
        )
        return existed

    def carried(self, root: Path, request: Request) -> list[Record]:
        """The records an earlier run put on the branch: on the new data of
        a moved playbook, of a folder that is still live."""
        paths = [f"{RESULTS.as_posix()}/{name}" for name in request.playbooks]
        listed = self.repo.git.ls_tree(
            "-r", "--name-only", self.remote_ref, "--", *paths
        )
        names = [
            n
            for n in listed.splitlines()
            if n.endswith(".json") and not (root / n).exists()
        ]
        live = {
            f.relative_to(root).as_posix()
            for f in live_folders(root, _playbooks(root, request))
        }
        records = []
        for name in names:
            record = _parse(name, self.repo.git.show(f"{self.remote_ref}:{name}"))
            move = request.moves.get(record.playbook)
            if move and record.data_version == move.new and record.path in live:
                records.append(record)
        check_records(records, root, Kind.SUBMISSION, fresh=False)
        return records

    def commit(self, message: str) -> bool:
        """Commit the re-score; False when it would change nothing on the
        default branch. An unchanged tree reuses the branch's commit."""
        self.repo.git.add("--all", "leaderboard")
        if not self.repo.git.diff("--cached", "--name-only"):
            return False
        with self.repo.git.custom_environment(**BOT_IDENTITY):
            self.repo.git.commit("--quiet", "--no-verify", "-m", message)
        return True

    def push(self) -> None:
        """Force-push: the branch is the workflow's own, rebuilt each run.
        Nothing is pushed when the branch already holds this tree."""
        if self._same_tree():
            return
        try:
            self.repo.git.push(
                "--quiet", "--force", self.target.remote, f"HEAD:refs/heads/{self.name}"
            )
        except git.GitCommandError as error:
            raise CaminoError(
                f"push of {self.name} refused: {_stderr(error)}"
            ) from None

    def _same_tree(self) -> bool:
        try:
            theirs = self.repo.git.rev_parse(f"{self.remote_ref}^{{tree}}")
        except git.GitCommandError:
            return False
        return theirs == self.repo.git.rev_parse("HEAD^{tree}")


def _parse(name: str, text: str) -> Record:
    try:
        record = parse_record(text)
    except (ValueError, TypeError, AttributeError) as error:
        raise CaminoError(
            f"{name} on the re-score branch: not a camino record ({error})"
        ) from None
    if Path(name).name != record.file_name:
        raise CaminoError(
            f"{name} on the re-score branch: a record of {record.path} is "
            f"named {record.file_name}"
        )
    return record


def _playbooks(root: Path, request: Request) -> list[Playbook]:
    return [load_playbook(playbook_dir(root, name)) for name in request.playbooks]


def rebuild(
    root: Path, request: Request, handed: Sequence[Record], carried: Sequence[Record]
) -> Rebuilt:
    """Write the records, move each board whose every live folder has a
    record on the new data, hold the others; re-render the boards."""
    for record in [*handed, *carried]:
        write_record(root, record)

    rebuilt = Rebuilt()
    complete: list[Stale] = []
    evaluated: list[Record] = []
    for playbook in _playbooks(root, request):
        move = request.moves[playbook.name]
        entry = Stale(playbook, move.old, move.new)
        found = _on_new_data(root, entry)
        rebuilt.skipped += found.skipped
        rebuilt.counts[playbook.name] = Counts(
            live=found.live,
            evaluated=sum(1 for r in handed if r.playbook == playbook.name),
            carried=sum(1 for r in carried if r.playbook == playbook.name),
        )
        if found.missing:
            reason = _missing_reason(found.missing, request)
            rebuilt.summary.held.append((playbook.name, reason))
            pin_if_unset(root, playbook.name, move.old or "")
            continue
        complete.append(entry)
        evaluated += found.records

    move_boards(root, complete, evaluated, rebuilt.summary)
    write_boards(root, all_playbooks(root))
    return rebuilt


@dataclass
class NewData:
    """A playbook's live folders against its records on the new data."""

    live: int = 0
    records: list[Record] = field(default_factory=list)  # one per folder
    missing: list[str] = field(default_factory=list)  # folders without
    skipped: list[str] = field(default_factory=list)  # folders not admitted


def _on_new_data(root: Path, entry: Stale) -> NewData:
    """For each live folder of the playbook, its record on the new data of
    exactly its current files; and the folders that have none."""
    batch = BatchSummary()
    folders = admit(root, live_folders(root, [entry.playbook]), batch)
    found = NewData(live=len(folders), skipped=[r for _, r in batch.skipped])
    records = [
        record
        for record in load_records(root, entry.playbook.name)
        if record.data_version == entry.current
    ]

    for folder in folders:
        path = folder.relative_to(root).as_posix()
        files = hash_folder(folder, SKIPPED)[:16]
        mine = [r for r in records if r.path == path and r.submission_hash == files]
        if not mine:
            found.missing.append(path)
            continue
        # A platform failure is outweighed by a later run that got through.
        fine = [r for r in mine if r.fault != FAULT_PLATFORM]
        found.records.append(max(fine or mine, key=lambda r: (r.evaluated_at, r.key)))
    return found


def _missing_reason(missing: Sequence[str], request: Request) -> str:
    shown = ", ".join(missing[:3]) + (
        f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    )
    return (
        f"no evaluation on the new data of {shown} (an evaluate job failed, or "
        f"the folder changed since the re-score started); delete the branch "
        f"{request.branch} and run the re-score workflow again"
    )


def commit_message(request: Request, rebuilt: Rebuilt) -> str:
    moved = [table.playbook.name for table in rebuilt.summary.tables]
    lines = [f"Re-score {', '.join(moved) or 'nothing'} on new internal data", ""]
    for name in request.playbooks:
        move = request.moves[name]
        state = "held back" if name not in moved else "moved"
        lines.append(f"- {name}: {move.old or 'nothing'} -> {move.new} ({state})")
    return "\n".join(lines)


def pull_title(request: Request) -> str:
    return f"Re-score {', '.join(request.playbooks)} on new internal data"


def pull_body(
    root: Path, request: Request, rebuilt: Rebuilt, runner: Runner, tables: bool = True
) -> str:
    """The pull request's description; without the rank-change tables when
    they would make it longer than GitHub takes."""
    summary = rebuilt.summary
    lines = [
        MARKER,
        f"<!-- camino:moves {','.join(request.playbooks)} -->",
        "The internal data changed. Every live model folder of these playbooks "
        "was evaluated on the new data; this pull request adds those records, "
        "moves each board's pinned version "
        "(`leaderboard/results/<playbook>/DATA_VERSION`) and re-renders the "
        "boards.",
        "",
        "| playbook | data version | model folders | evaluated in this run | "
        "by an earlier run | board |",
        "|---|---|---:|---:|---:|---|",
    ]
    held = dict(summary.held)
    for name in request.playbooks:
        move, counts = request.moves[name], rebuilt.counts[name]
        state = "held back" if name in held else "moves"
        lines.append(
            f"| {name} | `{move.old or '—'}` → `{move.new}` | {counts.live} | "
            f"{counts.evaluated} | {counts.carried} | {state} |"
        )
    lines.append("")
    if summary.tables and tables:
        lines += [render_changes(root, summary.tables).strip(), ""]
    elif summary.tables:
        lines += [
            "The rank-change tables are too long for a pull request: read them "
            f"in the summary of [the run]({runner.run_url}).",
            "",
        ]
    if held:
        lines += ["### Held back", ""]
        lines += [f"- **{name}**: {reason}" for name, reason in summary.held]
        lines += [
            "",
            f"To evaluate them again, delete the branch `{request.branch}` and "
            "run the re-score workflow by hand.",
            "",
        ]
    if rebuilt.skipped:
        lines += ["### Not evaluated (fix the folder)", ""]
        lines += [f"- {reason}" for reason in rebuilt.skipped]
        lines.append("")
    lines += [
        "**Merging** switches the moved boards to the new data at once: every "
        "row is then scored on it. Until then they rank the old data; "
        "submissions scored meanwhile are recorded on the new data and join "
        "the board when it moves. Held-back boards stay on their old data.",
        "",
        f"Made by [this run]({runner.run_url}); the daily run keeps the branch "
        "on the newest default branch. Opened with the workflow's token, so no "
        "workflow runs on this pull request.",
    ]
    return "\n".join(lines)


def _closed_pull(repository: Repository, branch: str) -> PullRequest | None:
    """The newest pull request from ``branch`` if every one is closed."""
    pulls = pulls_from(repository, branch, "all")
    if not pulls or any(pull.state == "open" for pull in pulls):
        return None
    return max(pulls, key=lambda pull: pull.number)


def _closed_summary(request: Request, pull: PullRequest) -> str:
    return (
        f"### camino re-score\n\nThe re-score pull request #{pull.number} from "
        f"`{request.branch}` was closed; nothing is proposed again for these "
        "versions. Delete the branch to re-score them anew."
    )


def _nothing_summary(request: Request, rebuilt: Rebuilt) -> str:
    """Nothing changes on the default branch: it moved already, or every
    board is held back without a single new record."""
    if not rebuilt.summary.held:
        return (
            "### camino re-score\n\nNothing to propose: the default branch "
            f"already has these records and pins ({', '.join(request.playbooks)})."
        )
    held = "\n".join(f"- {name}: {reason}" for name, reason in rebuilt.summary.held)
    return f"### camino re-score\n\nNo board can move, nothing to propose:\n\n{held}"
