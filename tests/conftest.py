"""Shared fixtures: a small competition repository made from the real one,
and a real S3 API on 127.0.0.1.

``competition`` copies this repository's playbooks and board templates into a
temporary folder and splits them once per test session (real scikit-learn
data sets, real files); each test gets its own copy, so tests may break it.

``s3`` is moto's S3 server (one per test session, started on 127.0.0.1 with a
free port), emptied before each test, with one bucket; boto3 talks to it
unchanged. No test can reach AWS: ``no_real_aws`` gives every test, and every
process a test starts, dummy credentials, no profile, no instance metadata
and a default endpoint on 127.0.0.1 where nothing listens.

Submissions' environments are real uv environments under one folder per test
run, shared by the xdist workers: the first evaluation builds the common one
(scikit-learn, pandas) and every other test reuses it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import tarfile
import textwrap
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from s3proxy import S3Proxy

from camino.commands.split import split_playbook
from camino.evaluator.environments import ROOT_VARIABLE
from camino.stores import staging_folder

# The GitHub side's fixtures: the REST stand-in, and no GITHUB_* variable of
# the machine leaking into a test.
pytest_plugins = ["github_fixtures"]

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOKS = ["iris", "wine", "breast-cancer", "diabetes"]
BUCKET = "camino-internal"
# Nothing listens on port 1: a client that misses the moto endpoint fails at
# once instead of reaching out.
NOWHERE = "http://127.0.0.1:1"


@pytest.fixture(scope="session", autouse=True)
def no_real_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("AWS_", "CAMINO_")):
                patch.delenv(name)
        settings = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_ENDPOINT_URL": NOWHERE,
        }
        for name, value in settings.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    # werkzeug logs every request on stderr; failures say enough.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class S3:
    """The moto server of the session, as one test sees it."""

    endpoint: str
    bucket: str
    client: Any

    def keys(self, prefix: str = "") -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def user(self, *actions: str) -> tuple[str, str]:
        """An IAM user allowed ``actions`` (e.g. "s3:ListBucket"); returns its
        access key id and secret."""
        iam = _client("iam", self.endpoint)
        # A name never used before: moto may keep state of an earlier test's
        # user of the same name (seen once: a policy that did not apply).
        name = f"user-{uuid.uuid4().hex[:12]}"
        iam.create_user(UserName=name)
        if actions:
            allow = {"Effect": "Allow", "Action": list(actions), "Resource": "*"}
            document = {"Version": "2012-10-17", "Statement": [allow]}
            iam.put_user_policy(
                UserName=name, PolicyName="p", PolicyDocument=json.dumps(document)
            )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def require_auth(self) -> None:
        """From now on moto checks signatures and IAM policies, as AWS does;
        by default it accepts any credentials."""
        _moto_api(self.endpoint, "reset-auth", b"0")


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    _moto_api(moto_endpoint, "reset-auth", b"inf")
    _moto_api(moto_endpoint, "reset", b"")
    monkeypatch.setenv("CAMINO_S3_ENDPOINT", moto_endpoint)
    client = _client("s3", moto_endpoint)
    client.create_bucket(Bucket=BUCKET)
    yield S3(moto_endpoint, BUCKET, client)
    _moto_api(moto_endpoint, "reset-auth", b"inf")


@pytest.fixture
def s3_proxy(s3: S3, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Proxy]:
    """camino's S3 traffic, seen and optionally cut on its way to moto."""
    proxy = S3Proxy(s3.endpoint).start()
    monkeypatch.setenv("CAMINO_S3_ENDPOINT", proxy.url)
    yield proxy
    proxy.stop()


def _client(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _moto_api(endpoint: str, action: str, body: bytes) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/{action}",
        data=body,
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


@pytest.fixture(scope="session", autouse=True)
def environment_root(
    tmp_path_factory: pytest.TempPathFactory, no_real_aws: None
) -> Iterator[Path]:
    """CAMINO_ENV_ROOT for the whole run, also seen by the CLI's processes.

    Asks for ``no_real_aws`` so that it runs after it: that fixture clears
    every CAMINO_* variable, and without the shared root each test would
    build its own environments.
    """
    base = tmp_path_factory.getbasetemp()
    # xdist workers' temp folders are siblings under the run's own folder.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    root = (base.parent if worker else base) / "environments"
    previous = os.environ.get(ROOT_VARIABLE)
    os.environ[ROOT_VARIABLE] = str(root)
    yield root
    if previous is None:
        del os.environ[ROOT_VARIABLE]
    else:
        os.environ[ROOT_VARIABLE] = previous


@pytest.fixture(scope="session")
def split_competition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("competition") / "repo"
    shutil.copytree(ROOT / "playbooks", repo / "playbooks")
    shutil.copytree(
        ROOT / "leaderboard" / "templates", repo / "leaderboard" / "templates"
    )
    for name in PLAYBOOKS:
        split_playbook(repo, name)
    return repo


@pytest.fixture
def competition(split_competition: Path, tmp_path: Path) -> Path:
    """A split competition repo with no submissions, private to the test."""
    repo = tmp_path / "repo"
    shutil.copytree(split_competition, repo)
    return repo


@pytest.fixture
def with_examples(competition: Path) -> Path:
    """The competition with this repository's example submissions."""
    shutil.copytree(ROOT / "submissions", competition / "submissions")
    return competition


def refresh_internal_data(repo: Path, playbook: str = "iris") -> None:
    """What a maintainer's new internal data does: other validation rows
    (in the local internal store, which the evaluation reads)."""
    import pandas as pd

    path = staging_folder(repo, playbook) / "validate.csv"
    rows = pd.read_csv(path)
    rows.iloc[: len(rows) * 2 // 3].to_csv(path, index=False)


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo), *args],
        check=True,
        capture_output=True,
    )


def commit_all(repo: Path, message: str) -> None:
    """Commit everything in ``repo`` (made a repository if it is none)."""
    if not (repo / ".git").exists():
        git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def write_model(
    repo: Path,
    code: str,
    *,
    playbook: str = "iris",
    author: str = "tester",
    name: str = "probe",
    meta: str | None = None,
) -> Path:
    """A submission folder whose model.py is ``code`` (dedented)."""
    folder = repo / "submissions" / playbook / author / name
    folder.mkdir(parents=True)
    (folder / "model.py").write_text(textwrap.dedent(code))
    meta_text = meta if meta is not None else f"playbook: {playbook}\nname: {name}\n"
    (folder / "meta.yml").write_text(meta_text)
    (folder / "requirements.txt").write_text("scikit-learn\npandas\n")
    return folder


# A correct iris model the bad-input tests start from.
GOOD_IRIS = """
    import pandas as pd
    from sklearn.neighbors import KNeighborsClassifier

    class Model:
        def __init__(self):
            self.data = pd.read_csv("data/train.csv")
            self.y = "species"
            self.X = [c for c in self.data.columns if c != self.y]

        def train(self):
            self.clf = KNeighborsClassifier(3).fit(self.data[self.X], self.data[self.y])

        def predict(self, items):
            return list(self.clf.predict(items[self.X]))
"""


# A source distribution whose setup.py writes a file when it is built.
MALICIOUS_SETUP = """
from pathlib import Path
Path({marker!r}).write_text("setup.py ran on the evaluator")
from setuptools import setup
setup(name="camino-sdist-probe", version="0.1")
"""


def write_sdist(folder: Path, marker: Path) -> Path:
    """camino_sdist_probe-0.1.tar.gz in ``folder``; no wheel of it exists."""
    folder.mkdir()
    files = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: camino-sdist-probe\nVersion: 0.1\n",
        "setup.py": MALICIOUS_SETUP.format(marker=str(marker)),
    }
    archive = folder / "camino_sdist_probe-0.1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"camino_sdist_probe-0.1/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive
