"""Where internal data and artifacts live, addressed by a URL or a path.

Only local folders (a plain path or ``file://``) are supported so far; they
are the embedded default (``.camino/`` in the competition repo, git-ignored).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from camino.errors import SpecError


def local_folder(location: str) -> Path:
    """The folder a local store URL points at; other schemes are refused."""
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        return Path(parsed.path if parsed.scheme else location)
    raise SpecError(
        f"store {location!r}: the scheme {parsed.scheme!r} is not supported; "
        "use a local folder or file://PATH"
    )


def internal_data(location: str, playbook: str) -> Path:
    """The folder holding ``train.csv`` and ``validate.csv`` of the internal
    part of ``playbook``; fails with the command that creates it."""
    folder = local_folder(location)
    if not (folder / "train.csv").is_file():
        raise SpecError(
            f"internal data of playbook {playbook!r} not found at {folder}; "
            f"create it with: camino playbook split {playbook}"
        )
    return folder
