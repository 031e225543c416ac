"""Where internal data and artifacts live: a store addressed by a URL.

* a plain path or ``file://PATH`` - a local folder. The embedded default is
  ``.camino/internal/<playbook>`` in the competition repo (git-ignored), so a
  whole round runs offline.
* ``s3://BUCKET/PREFIX`` - an S3 bucket, or any S3-compatible store (MinIO,
  ...), through boto3.

A store can put a file or a folder, list, tell whether a key exists, fetch a
folder to the local disk, and :meth:`~Store.check` itself before any work
starts. An S3 fetch goes through a cache (``.camino/cache`` unless told
otherwise): every object is kept under a name made of its ETag and size, so a
runner that evaluates many submissions downloads a data set once, and a new
upload of the data is a new name. A download is written to a temporary file,
its size checked, and only then renamed into place; a fetched folder is built
aside and renamed whole. So a cut download never looks complete.

Settings, read from the environment when a store is opened:

* ``CAMINO_INTERNAL_STORE`` - a store URL that overrides every playbook's
  ``internal:``; the playbook's name is appended (``s3://b/comp`` holds
  ``s3://b/comp/iris/train.csv``).
* ``CAMINO_PRIVATE_STORE`` - a store URL where evaluations also keep what
  must outlive an ephemeral runner but never be published: the private
  scores (``private/<playbook>/``) and each evaluation's logs and trained
  model (``artifacts/<playbook>/``). Unset, they stay in ``.camino/`` on the
  machine that evaluated.
* ``CAMINO_S3_ENDPOINT`` (or ``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL``) -
  the S3 API's address, for S3-compatible stores; such an endpoint is
  addressed path-style, as MinIO expects.
* ``CAMINO_S3_REGION`` - the region (else boto3's ``AWS_DEFAULT_REGION``).
* ``CAMINO_CACHE`` - the cache folder.
* Credentials are boto3's own: ``AWS_ACCESS_KEY_ID`` /
  ``AWS_SECRET_ACCESS_KEY`` (/ ``AWS_SESSION_TOKEN``), a profile, or the
  runner's instance role. camino never prints them: every S3 error is
  turned into a message of its own that names the variable or the permission
  at fault, never a value.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from camino.errors import CaminoError, SpecError

# boto3 generates its client classes at run time: there is no type to name.
S3Client = Any

INTERNAL_FILES = ("train.csv", "validate.csv")
DEFAULT_CACHE = Path(".camino") / "cache"
PRIVATE_STORE_VARIABLE = "CAMINO_PRIVATE_STORE"
ENDPOINT_VARIABLES = ("CAMINO_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
# Values that must never appear in a message, even inside a server's words.
SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID")
_CHUNK = 1024 * 1024


class StoreError(CaminoError):
    """A store is misconfigured, unreachable, refuses access or lacks data."""


class MissingData(StoreError):
    """The store answers, but a file that should be there is not."""


class NoCredentials(StoreError):
    """No AWS credentials at all: not set here (a fork's pull request gets no
    secrets), as opposed to wrong ones."""


@dataclass(frozen=True)
class Location:
    """Where a playbook's internal data is read, how messages call that
    place, and whether the URL came from a secret: then messages show
    neither the URL nor its bucket and keys."""

    url: str
    label: str
    secret: bool = False


@dataclass(frozen=True)
class Entry:
    """One object of a store: its key below the store's prefix, size, version."""

    key: str
    size: int
    etag: str


class Store(ABC):
    """A folder of files addressed by keys (``a/b.csv``) below one URL."""

    url: str
    label: str

    @abstractmethod
    def put_file(self, source: Path, key: str) -> None: ...

    @abstractmethod
    def list(self, prefix: str = "") -> list[Entry]: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def fetch(self, prefix: str = "", required: Sequence[str] = ()) -> Path:
        """A local folder holding the files under ``prefix``; each of
        ``required`` must be among them."""

    @abstractmethod
    def fetch_entry(self, entry: Entry) -> Path:
        """A local file holding one listed object's bytes."""

    @abstractmethod
    def check(self, required: Sequence[str] = ()) -> None:
        """Fail now, with the missing setting or permission named, unless the
        store can be reached and read and holds ``required``."""

    def put_folder(self, source: Path, prefix: str = "") -> list[str]:
        """Put every file under ``source``; returns the keys written."""
        if not source.is_dir():
            raise StoreError(f"{source}: no such folder to send to {self.label}")
        keys = []
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            key = _join(prefix, path.relative_to(source).as_posix())
            self.put_file(path, key)
            keys.append(key)
        return keys


def open_store(
    url: str,
    *,
    cache: Path | None = None,
    environ: Mapping[str, str] | None = None,
    label: str | None = None,
    secret: bool = False,
) -> Store:
    """The store at ``url``; ``label`` is how messages call it (default: url).

    ``cache`` is where S3 downloads are kept (default ``$CAMINO_CACHE`` or
    ``.camino/cache``); ``environ`` defaults to the process environment.
    ``secret``: the URL came from a secret; messages hide its bucket and keys.
    """
    env = os.environ if environ is None else environ
    parsed = urlparse(url)
    shown = label or ("the store" if secret else url)
    if parsed.scheme in ("", "file"):
        return LocalStore(Path(parsed.path if parsed.scheme else url), shown, secret)
    if parsed.scheme == "s3":
        return _open_s3(url, cache, env, shown, secret)
    raise SpecError(
        f"{shown}: the scheme {parsed.scheme!r} is not supported; "
        "use s3://BUCKET/PREFIX, file://PATH or a folder"
    )


def local_folder(location: str) -> Path:
    """The folder a local store URL points at; other schemes are refused."""
    store = open_store(location)
    if not isinstance(store, LocalStore):
        raise SpecError(
            f"store {location!r} is not a local folder; use a folder or "
            "file://PATH here"
        )
    return store.root


def is_local(location: str) -> bool:
    return urlparse(location).scheme in ("", "file")


def internal_location(
    playbook: str,
    internal: str | None,
    repo: Path,
    environ: Mapping[str, str] | None = None,
) -> Location:
    """Where the evaluation reads a playbook's internal data:
    ``CAMINO_INTERNAL_STORE``/<playbook>, else the playbook's ``internal:``,
    else the local default."""
    env = os.environ if environ is None else environ
    override = env.get("CAMINO_INTERNAL_STORE", "").strip()
    if override:
        # The URL comes from a secret: messages name the variable, not it.
        url = _join_url(override, playbook)
        return Location(url, "the store in CAMINO_INTERNAL_STORE", secret=True)
    if internal:
        shown = f"the internal store of playbooks/{playbook}/playbook.yml"
        if is_local(internal):
            return Location(str(repo / local_folder(internal)), shown)
        return Location(internal, shown)
    return Location(str(staging_folder(repo, playbook)), "the local internal folder")


def staging_folder(repo: Path, playbook: str) -> Path:
    """Where ``camino playbook split`` leaves an internal part that is to be
    uploaded, and the default internal store of a playbook."""
    return repo / ".camino" / "internal" / playbook


def private_store(repo: Path, environ: Mapping[str, str] | None = None) -> Store | None:
    """The store of ``CAMINO_PRIVATE_STORE``, or None when it is not set."""
    env = os.environ if environ is None else environ
    url = env.get(PRIVATE_STORE_VARIABLE, "").strip()
    if not url:
        return None
    # The URL comes from a secret: messages name the variable, not it.
    label = f"the store in {PRIVATE_STORE_VARIABLE}"
    return open_store(
        url, cache=cache_root(repo, env), environ=env, label=label, secret=True
    )


def cache_root(repo: Path, environ: Mapping[str, str] | None = None) -> Path:
    """``$CAMINO_CACHE``, else ``.camino/cache`` in the competition repo; a
    self-hosted runner that wipes its checkout keeps the cache elsewhere."""
    env = os.environ if environ is None else environ
    chosen = env.get("CAMINO_CACHE")
    return Path(chosen) if chosen else repo / DEFAULT_CACHE


def internal_data(
    location: str | Location,
    playbook: str,
    *,
    cache: Path | None = None,
    label: str | None = None,
) -> Path:
    """The local folder holding ``train.csv`` and ``validate.csv`` of the
    internal part of ``playbook``, downloaded first if the store is remote;
    fails with the command that creates or sends the data."""
    store = _open_location(location, cache, label)
    with _hint_for_missing(store, playbook):
        return store.fetch(required=INTERNAL_FILES)


def check_internal_data(
    location: str | Location,
    playbook: str,
    *,
    cache: Path | None = None,
    label: str | None = None,
) -> None:
    """The preflight: the store answers, the credentials may read it, and it
    holds the internal files of ``playbook``; nothing is downloaded."""
    store = _open_location(location, cache, label)
    with _hint_for_missing(store, playbook):
        store.check(INTERNAL_FILES)


def _open_location(
    location: str | Location, cache: Path | None, label: str | None
) -> Store:
    if isinstance(location, str):
        return open_store(location, cache=cache, label=label)
    return open_store(
        location.url, cache=cache, label=location.label, secret=location.secret
    )


@contextlib.contextmanager
def _hint_for_missing(store: Store, playbook: str) -> Iterator[None]:
    try:
        yield
    except MissingData as error:
        verb = "split" if isinstance(store, LocalStore) else "upload"
        raise MissingData(
            f"internal data of playbook {playbook!r} not found: {error}; "
            f"create it with: camino playbook {verb} {playbook}"
        ) from None


# --- local folders ----------------------------------------------------------


class LocalStore(Store):
    def __init__(
        self, root: Path, label: str | None = None, secret: bool = False
    ) -> None:
        self.root = root
        self.url = str(root)
        self.label = label or str(root)
        self.secret = secret

    def put_file(self, source: Path, key: str) -> None:
        target = self.root / _safe_key(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = _temp_name(target)
        try:
            shutil.copyfile(source, temp)
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def list(self, prefix: str = "") -> list[Entry]:
        base = self.root / _safe_key(prefix) if prefix else self.root
        if not base.is_dir():
            return []
        return [
            Entry(_join(prefix, path.relative_to(base).as_posix()), size, "")
            for path in sorted(base.rglob("*"))
            if path.is_file() and not _is_temp(path)
            for size in [path.stat().st_size]
        ]

    def exists(self, key: str) -> bool:
        return (self.root / _safe_key(key)).is_file()

    def fetch(self, prefix: str = "", required: Sequence[str] = ()) -> Path:
        # A local folder is already on the disk: it is its own cache.
        folder = self.root / _safe_key(prefix) if prefix else self.root
        missing = [name for name in required if not (folder / name).is_file()]
        if missing:
            where = self.label if self.secret else str(folder)
            raise MissingData(f"{where} has no {', '.join(missing)}")
        return folder

    def fetch_entry(self, entry: Entry) -> Path:
        return self.root / _safe_key(entry.key)

    def check(self, required: Sequence[str] = ()) -> None:
        self.fetch(required=required)


# --- S3 ---------------------------------------------------------------------


class S3Store(Store):
    def __init__(
        self,
        bucket: str,
        prefix: str,
        session: Any,
        client: S3Client,
        cache: Path,
        label: str,
        environ: Mapping[str, str],
        secret: bool = False,
    ) -> None:
        self.secret = secret
        self.bucket = bucket
        self.session = session
        self.prefix = prefix.strip("/")
        self.client = client
        self.cache = cache
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.label = label
        self.environ = environ

    def put_file(self, source: Path, key: str) -> None:
        # One PUT: objects up to 5 GB, far above a data set or a pickle here.
        # TODO(#5): switch to upload_file (multipart) if an artifact nears it.
        full = self._key(key)
        try:
            with source.open("rb") as body:
                self.client.put_object(Bucket=self.bucket, Key=full, Body=body)
        except Exception as error:
            raise self._explain(error, "write", full) from None

    def list(self, prefix: str = "") -> list[Entry]:
        return list(self._list(prefix))

    def exists(self, key: str) -> bool:
        full = self._key(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=full)
        except Exception as error:
            if _status(error) == 404:
                return False
            raise self._explain(error, "read", full) from None
        return True

    def fetch(self, prefix: str = "", required: Sequence[str] = ()) -> Path:
        entries = self.list(prefix)
        _require(entries, prefix, required, self.label)

        view = self._view_path(prefix, entries)
        if not _view_is_whole(view, entries, prefix):
            blobs = {entry.key: self._blob(entry) for entry in entries}
            _publish_view(view, blobs, prefix)
        return view

    def fetch_entry(self, entry: Entry) -> Path:
        return self._blob(entry)

    def check(self, required: Sequence[str] = ()) -> None:
        self._require_credentials()

        entries = self.list()
        _require(entries, "", required, self.label)

        # Listing needs s3:ListBucket; reading needs s3:GetObject, which a
        # HEAD of each required object proves without a download.
        for name in required:
            self.exists(name)

    def _key(self, key: str) -> str:
        return _join(self.prefix, _safe_key(key).as_posix())

    def _list(self, prefix: str) -> Iterator[Entry]:
        # S3 keys are literal ("a/../b" names no other prefix); refused all
        # the same, as a local store refuses them.
        below = _join(self.prefix, _safe_key(prefix).as_posix() if prefix else "")
        start = f"{below}/" if below else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    if item["Key"].endswith("/"):
                        continue  # a "folder" marker some consoles create
                    yield Entry(
                        _join(prefix, item["Key"][len(start) :]),
                        int(item["Size"]),
                        item["ETag"].strip('"'),
                    )
        except Exception as error:
            raise self._explain(error, "list") from None

    def _view_path(self, prefix: str, entries: list[Entry]) -> Path:
        version = "\n".join(f"{e.key}\t{e.etag}\t{e.size}" for e in entries)
        name = _digest(self._origin(), _join(self.prefix, prefix), version)
        return self.cache / "views" / name

    def _origin(self) -> str:
        return f"{self.client.meta.endpoint_url}\n{self.bucket}"

    def _blob(self, entry: Entry) -> Path:
        """The cached copy of one object, downloaded unless already whole."""
        key = self._key(entry.key)
        version = f"{entry.etag}\t{entry.size}"
        blob = self.cache / "objects" / _digest(self._origin(), key, version)
        # The size is what is checked: the ETag is an MD5 of the bytes only
        # for single-part, unencrypted uploads, so it cannot be verified in
        # general. TODO(#5): nothing evicts old objects, views or the .part
        # files of killed downloads; sweep by age once a runner's disk fills
        # (deleting .camino/cache is always safe meanwhile).
        if blob.is_file() and blob.stat().st_size == entry.size:
            return blob

        blob.parent.mkdir(parents=True, exist_ok=True)
        temp = _temp_name(blob)
        try:
            written = self._download(key, entry.etag, temp)
            if written != entry.size:
                raise StoreError(
                    f"{self.label}: the download of {entry.key} was cut short "
                    f"({written} of {entry.size} bytes); run again"
                )
            os.replace(temp, blob)
        finally:
            temp.unlink(missing_ok=True)
        return blob

    def _download(self, key: str, etag: str, temp: Path) -> int:
        # IfMatch: the bytes must be the version that was listed, or the
        # cache would file new bytes under the old version's name.
        written = 0
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=key, IfMatch=f'"{etag}"'
            )
            with temp.open("wb") as file:
                for chunk in response["Body"].iter_chunks(_CHUNK):
                    file.write(chunk)
                    written += len(chunk)
                file.flush()
                os.fsync(file.fileno())
        except Exception as error:
            raise self._explain(error, "read", key) from None
        return written

    def _require_credentials(self) -> None:
        # Without credentials boto3 would fail on the first request with a
        # generic error; asking the session first gives the clear message.
        if self.session.get_credentials() is None:
            raise NoCredentials(f"{self.label}: {NO_CREDENTIALS}")

    def _explain(
        self, error: Exception, action: str, key: str | None = None
    ) -> StoreError:
        """Our error for a boto3 one; anything else (a bug, Ctrl-C's cousins,
        a full disk) goes up as it is."""
        if not _is_s3_error(error):
            raise error
        key = key or _join(self.prefix, "*")
        bucket = self.bucket
        if self.secret:
            # Placeholders the maintainer fills in from the secret's value.
            key = _join("PREFIX", key[len(self.prefix) :]) if self.prefix else key
            bucket = "BUCKET"
        message = explain_s3_error(
            error,
            action,
            bucket=bucket,
            key=key,
            endpoint=self.client.meta.endpoint_url,
        )
        kind = NoCredentials if message == NO_CREDENTIALS else StoreError
        return kind(redact(f"{self.label}: {message}", self.environ))


NO_CREDENTIALS = (
    "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    "(in a workflow, from its secrets), or run where an instance role or "
    "profile provides them"
)
# What each refused action needs, for the message.
_PERMISSIONS = {
    "list": "s3:ListBucket on arn:aws:s3:::{bucket}",
    "read": "s3:GetObject on arn:aws:s3:::{bucket}/{key}",
    "write": "s3:PutObject on arn:aws:s3:::{bucket}/{key}",
}


def explain_s3_error(
    error: Exception, action: str, *, bucket: str, key: str, endpoint: str
) -> str:
    """One sentence for a boto3/botocore error that names what to fix.

    Built from the error's code only: a server's own text could quote a
    header, so it is shown only for codes this function does not know.
    """
    from botocore import exceptions as bx

    if isinstance(error, bx.NoCredentialsError | bx.PartialCredentialsError):
        return NO_CREDENTIALS
    if isinstance(error, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return (
            f"cannot reach the S3 endpoint {endpoint}; check CAMINO_S3_ENDPOINT "
            "or AWS_ENDPOINT_URL (unset both for AWS itself) and the network"
        )
    if isinstance(
        error,
        bx.IncompleteReadError | bx.ResponseStreamingError | bx.ReadTimeoutError,
    ):
        return (
            f"the download of {key} broke off before its last byte; nothing "
            "of it was kept, run again"
        )
    if not isinstance(error, bx.ClientError):
        return f"{type(error).__name__} while trying to {action} ({error})"
    return _explain_code(error, action, bucket, key)


def _explain_code(error: Any, action: str, bucket: str, key: str) -> str:
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    status = _status(error)
    if code == "NoSuchBucket" or (status == 404 and action == "list"):
        return (
            f"the bucket {bucket!r} does not exist (or not in this region / at "
            "this endpoint); create it or fix the store URL"
        )
    if code == "InvalidAccessKeyId":
        return (
            "the access key in AWS_ACCESS_KEY_ID is not known to the store: the "
            "credentials are wrong or were deleted"
        )
    if code == "SignatureDoesNotMatch":
        return (
            "the secret in AWS_SECRET_ACCESS_KEY does not belong to the access "
            "key in AWS_ACCESS_KEY_ID"
        )
    if code in ("ExpiredToken", "InvalidToken", "TokenRefreshRequired"):
        return "the session token (AWS_SESSION_TOKEN) is expired or invalid"
    if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
        permission = _PERMISSIONS[action].format(bucket=bucket, key=key)
        return (
            f"access denied: the credentials may not {action} here; grant {permission}"
        )
    if code in ("NoSuchKey", "404"):
        return f"{key} does not exist"
    if code == "PreconditionFailed":
        return f"{key} changed while it was being fetched; run again"
    return f"S3 refused to {action} ({code or status}: {details.get('Message', '')})"


def _is_s3_error(error: Exception) -> bool:
    # botocore is imported when a store is opened, not with camino: the
    # classes are looked up here instead of in the except clauses.
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(error, BotoCoreError | ClientError)


def _status(error: Exception) -> int | None:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    return response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def redact(text: str, environ: Mapping[str, str]) -> str:
    """``text`` with the value of every secret variable replaced by ``***``."""
    for name in SECRET_VARIABLES:
        value = environ.get(name, "")
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text


def s3_settings(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The endpoint and region the environment asks for (None: boto3's own)."""
    endpoint = next(
        (environ[name] for name in ENDPOINT_VARIABLES if environ.get(name)), None
    )
    return endpoint, environ.get("CAMINO_S3_REGION") or None


def _open_s3(
    url: str,
    cache: Path | None,
    environ: Mapping[str, str],
    label: str,
    secret: bool,
) -> S3Store:
    parsed = urlparse(url)
    if not parsed.netloc:
        raise SpecError(f"{label}: name a bucket, s3://BUCKET/PREFIX")
    root = cache or Path(environ.get("CAMINO_CACHE") or DEFAULT_CACHE)
    session, client = _client(environ)
    return S3Store(
        parsed.netloc,
        parsed.path,
        session,
        client,
        root,
        label,
        environ,
        secret,
    )


def _client(environ: Mapping[str, str]) -> tuple[Any, S3Client]:
    import boto3
    import botocore.session
    from botocore.config import Config

    endpoint, region = s3_settings(environ)
    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        # S3-compatible servers are addressed by path (MinIO's default);
        # virtual hosts would need a DNS name per bucket.
        s3={"addressing_style": "path"} if endpoint else None,
    )
    # A fresh session per store reads the credentials anew; the shared loader
    # keeps botocore from parsing its S3 model again (0.2 s per store).
    core = botocore.session.Session()
    core.register_component("data_loader", _shared_loader())
    session = boto3.session.Session(botocore_session=core, region_name=region)
    return session, session.client("s3", endpoint_url=endpoint, config=config)


@functools.cache
def _shared_loader() -> Any:
    from botocore.loaders import create_loader

    return create_loader()


# --- the cache --------------------------------------------------------------


def _require(
    entries: list[Entry], prefix: str, required: Sequence[str], label: str
) -> None:
    present = {entry.key for entry in entries}
    missing = [name for name in required if _join(prefix, name) not in present]
    if missing:
        where = f"{label}/{prefix}" if prefix else label
        raise MissingData(f"{where} has no {', '.join(missing)}")


def _view_is_whole(view: Path, entries: list[Entry], prefix: str) -> bool:
    if not view.is_dir():
        return False
    for entry in entries:
        path = view / _relative(entry.key, prefix)
        if not path.is_file() or path.stat().st_size != entry.size:
            return False
    return True


def _publish_view(view: Path, blobs: dict[str, Path], prefix: str) -> None:
    """Link the blobs into a folder built aside, then rename it into place."""
    view.parent.mkdir(parents=True, exist_ok=True)
    staging = _temp_name(view)
    # Made here, not by the first blob: a prefix with nothing under it yet
    # is an empty folder, not a missing one.
    staging.mkdir()
    try:
        for key, blob in blobs.items():
            path = staging / _relative(key, prefix)
            path.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(blob, path)
        if view.exists():
            # A stale or broken view (sizes differ): replace it.
            shutil.rmtree(view)
        try:
            staging.rename(view)
        except OSError:
            # Another evaluation published the same view first: same bytes.
            if not view.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _relative(key: str, prefix: str) -> Path:
    inside = key[len(prefix) + 1 :] if prefix else key
    return _safe_key(inside)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]


def _temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")


def _is_temp(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(".part")


def _join(*parts: str) -> str:
    return "/".join(part.strip("/") for part in parts if part.strip("/"))


def _join_url(url: str, name: str) -> str:
    return f"{url.rstrip('/')}/{name}"


def _safe_key(key: str) -> Path:
    """``key`` as a relative path; no absolute path, no ``..``."""
    path = PurePosixPath(key.strip("/"))
    if path.is_absolute() or ".." in path.parts:
        raise StoreError(f"key {key!r} leaves the store; use a relative key")
    return Path(*path.parts) if path.parts else Path()
