"""The pull-request policy: what a submission pull request may change.

Checked before anything of the pull request runs, from git's own view of the
change (paths, file modes, blob sizes), never from files written by the
pull request. Every refusal names the path and the rule it broke, so the
comment can say exactly what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import git

from camino.action.config import SubmissionLimits

SUBMISSIONS = "submissions"
SYMLINK_MODE = "120000"
SUBMODULE_MODE = "160000"
MB = 1024 * 1024

# One sentence per rule: what the participant reads next to the path.
RULES = {
    "workflow": "workflows and actions cannot change in a submission",
    "playbook": "playbooks change through their own pull request, by a maintainer",
    "outside": "a submission only adds files under submissions/",
    "layout": "files go in submissions/<playbook>/<your-login>/<model>/",
    "author": "the folder's login must be the pull request author's",
    "one-folder": "one pull request holds one model folder",
    "deletion": "a submission cannot delete another participant's files",
    "symlink": "symbolic links are not accepted",
    "submodule": "git submodules are not accepted",
    "data": "data/ is supplied by camino at evaluation; leave it out",
    "file-size": "a file is larger than the limit",
    "total-size": "the submission is larger than the limit",
    "file-count": "the submission has more files than the limit",
}


@dataclass(frozen=True)
class Change:
    """One changed path of the pull request, as git records it."""

    path: str
    status: str  # A, M, D, T (git diff --raw letters; renames are split)
    mode: str  # the new mode; the old one for a deletion
    size: int  # bytes of the new blob; 0 for a deletion


@dataclass(frozen=True)
class Refusal:
    path: str
    rule: str
    detail: str = ""

    @property
    def message(self) -> str:
        text = RULES[self.rule]
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True)
class Verdict:
    """Either the one folder the pull request submits, or why it cannot."""

    folder: str | None
    refusals: list[Refusal]

    @property
    def admitted(self) -> bool:
        return not self.refusals and self.folder is not None


def changes_between(repo: git.Repo, base: str, head: str) -> list[Change]:
    """What ``head`` changes relative to its merge base with ``base``.

    The merge base, not ``base`` itself: files that landed on the default
    branch after the pull request was opened are not the author's changes.
    """
    merge_base = repo.git.merge_base(base, head).strip()
    raw = repo.git.diff("--raw", "-z", "--no-renames", "--no-abbrev", merge_base, head)
    return [
        Change(path, status, mode, _blob_size(repo, status, mode, blob))
        for path, status, mode, blob in _parse_raw(raw)
    ]


def _parse_raw(raw: str) -> Iterable[tuple[str, str, str, str]]:
    # -z output: ":oldmode newmode oldsha newsha STATUS\0path\0" per file.
    fields = raw.split("\0")
    for header, path in zip(fields[0::2], fields[1::2], strict=False):
        if not header.startswith(":"):
            continue
        old_mode, new_mode, _, new_blob, status = header[1:].split(" ")
        mode = old_mode if status == "D" else new_mode
        yield path, status[0], mode, new_blob


def _blob_size(repo: git.Repo, status: str, mode: str, blob: str) -> int:
    # A deletion has no new blob; a submodule entry is a commit id, not a blob.
    if status == "D" or mode == SUBMODULE_MODE:
        return 0
    return int(repo.git.cat_file("-s", blob))


def check(changes: Sequence[Change], author: str, limits: SubmissionLimits) -> Verdict:
    """Apply every rule; all refusals are reported at once, not the first."""
    if not changes:
        return Verdict(None, [Refusal("(none)", "outside", "no file changed")])
    refusals = [r for change in changes for r in _path_rules(change, author)]
    folders = sorted({_folder(c.path) for c in changes if _folder(c.path)})
    if len(folders) > 1:
        refusals += [Refusal(folder + "/", "one-folder") for folder in folders[1:]]
    refusals += _size_rules(changes, limits)
    return Verdict(folders[0] if len(folders) == 1 else None, refusals)


def _path_rules(change: Change, author: str) -> list[Refusal]:
    parts = change.path.split("/")
    top = parts[0]
    if top in (".github", "action"):
        return [Refusal(change.path, "workflow")]
    if top == "playbooks":
        return [Refusal(change.path, "playbook")]
    if top != SUBMISSIONS:
        return [Refusal(change.path, "outside")]
    if len(parts) < 5:
        return [Refusal(change.path, "layout")]
    if parts[2].lower() != author.lower():
        rule = "deletion" if change.status == "D" else "author"
        return [Refusal(change.path, rule, f"folder {parts[2]!r}, author {author!r}")]
    return _content_rules(change, parts)


def _content_rules(change: Change, parts: list[str]) -> list[Refusal]:
    if change.status == "D":
        return []  # removing your own file is fine
    if change.mode == SYMLINK_MODE:
        return [Refusal(change.path, "symlink")]
    if change.mode == SUBMODULE_MODE:
        return [Refusal(change.path, "submodule")]
    if parts[4] == "data":
        return [Refusal(change.path, "data")]
    return []


def _size_rules(changes: Sequence[Change], limits: SubmissionLimits) -> list[Refusal]:
    added = [c for c in changes if c.status != "D"]
    refusals = [
        Refusal(c.path, "file-size", f"{_mb(c.size)}, limit {limits.file_mb:g} MB")
        for c in added
        if c.size > limits.file_mb * MB
    ]
    total = sum(c.size for c in added)
    if total > limits.total_mb * MB:
        detail = f"{_mb(total)}, limit {limits.total_mb:g} MB"
        refusals.append(Refusal("(all files)", "total-size", detail))
    if len(added) > limits.files:
        detail = f"{len(added)} files, limit {limits.files}"
        refusals.append(Refusal("(all files)", "file-count", detail))
    return refusals


def _folder(path: str) -> str:
    parts = path.split("/")
    if parts[0] != SUBMISSIONS or len(parts) < 5:
        return ""
    return "/".join(parts[:4])


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"
