"""camino playbook upload: send a playbook's internal part to its store.

``camino playbook split`` leaves the internal part in the playbook's local
internal folder; this command puts its ``train.csv`` and ``validate.csv``
under ``<store>/<playbook>/`` and then reads the store back the way the
evaluation will (the same preflight), so a key that may write but not read
is found now.

Where to: ``--store URL`` (the same form as ``CAMINO_INTERNAL_STORE``: the
playbook's name is appended), else ``CAMINO_INTERNAL_STORE``, else the
playbook's own ``internal:``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from camino.commands.split import local_internal_folder
from camino.errors import SpecError
from camino.playbook import Playbook, load_playbook, playbook_dir
from camino.stores import (
    INTERNAL_FILES,
    Location,
    cache_root,
    internal_location,
    is_local,
    local_folder,
    open_store,
)


@dataclass(frozen=True)
class UploadSummary:
    playbook: str
    destination: str
    keys: list[str]


def upload_playbook(
    repo: Path,
    name: str,
    store_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> UploadSummary:
    playbook = load_playbook(playbook_dir(repo, name))
    source = local_internal_folder(repo, playbook)
    missing = [file for file in INTERNAL_FILES if not (source / file).is_file()]
    if missing:
        raise SpecError(
            f"{source} has no {', '.join(missing)}: there is no internal part to "
            f"send; make it first with: camino playbook split {name}"
        )

    where = _destination(repo, playbook, source, store_url, environ)
    store = open_store(
        where.url,
        cache=cache_root(repo, environ),
        label=where.label,
        secret=where.secret,
        environ=environ,
    )
    keys = []
    for file in INTERNAL_FILES:
        store.put_file(source / file, file)
        keys.append(file)

    store.check(INTERNAL_FILES)
    return UploadSummary(name, where.label, keys)


def _destination(
    repo: Path,
    playbook: Playbook,
    source: Path,
    store_url: str | None,
    environ: Mapping[str, str] | None,
) -> Location:
    if store_url:
        # Typed by the maintainer, so it may be shown.
        url = f"{store_url.rstrip('/')}/{playbook.name}"
        return Location(url, url)

    where = internal_location(playbook.name, playbook.internal, repo, environ)
    local = is_local(where.url)
    if local and local_folder(where.url).resolve() == source.resolve():
        raise SpecError(
            f"the internal data of {playbook.name!r} is read from {source} "
            "itself: there is nothing to upload; name a store with --store "
            "s3://BUCKET/PREFIX, or set CAMINO_INTERNAL_STORE"
        )
    return where
