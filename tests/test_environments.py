"""Submission environments: what requirements.txt may say, and real uv builds.

The builds are real: uv installs from the package index into folders under
the run's environment root (or a test's own), with its usual cache. Nothing
of camino's is mocked. A requirement that is refused must be refused before
uv runs, so those cases need no network.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import write_sdist

from camino.errors import SpecError, SubmissionFailed
from camino.evaluator import environments, harness

COMMON = "scikit-learn\npandas\n"

# (id, requirements.txt, the refused line, what the message says it is)
REFUSED = [
    ("relative-path", "pandas\n./my-package\n", 2, "local path"),
    ("absolute-path", "/srv/packages/evil\n", 1, "local path"),
    ("home-path", "~/evil\n", 1, "local path"),
    ("wheel-file", "pandas\nevil-1.0-py3-none-any.whl\n", 2, "local path"),
    ("sdist-file", "evil-1.0.tar.gz\n", 1, "local path"),
    ("url", "https://example.invalid/evil-1.0.tar.gz\n", 1, "URL"),
    ("file-url", "file:///srv/evil\n", 1, "URL"),
    ("direct-reference", "evil @ https://example.invalid/evil.whl\n", 1, "URL"),
    ("git-url", "git+https://example.invalid/evil.git\n", 1, "URL"),
    ("editable", "-e .\n", 1, "editable install"),
    ("editable-long", "--editable=./src\n", 1, "editable install"),
    ("include", "pandas\n-r other.txt\n", 2, "include of another file"),
    ("constraint", "--constraint c.txt\n", 1, "include of another file"),
    ("index-url", "--index-url http://127.0.0.1:9/simple\n", 1, "installer option"),
    ("short-index", "-i http://127.0.0.1:9/simple\n", 1, "installer option"),
    ("extra-index", "--extra-index-url http://127.0.0.1:9/\n", 1, "installer option"),
    ("find-links", "-f /tmp/wheels\n", 1, "installer option"),
    ("trusted-host", "--trusted-host 127.0.0.1\n", 1, "installer option"),
    ("variable", "pandas==${GITHUB_TOKEN}\n", 1, "environment variable"),
    ("garbage", "pandas\nnot a requirement!\n", 2, "not a requirement"),
]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_requirements_that_point_elsewhere_are_refused(
    tmp_path: Path, text: str, line: int, what: str
) -> None:
    with pytest.raises(SubmissionFailed) as caught:
        environments.prepare(text, tmp_path / "envs")

    failure = caught.value
    assert failure.category == "install"
    refused = text.splitlines()[line - 1].strip()
    assert f"requirements.txt line {line}: {refused!r}" in str(failure)
    assert what in str(failure)
    # Refused before anything was built or locked.
    assert not (tmp_path / "envs").exists()


def test_the_same_requirements_in_another_spelling_are_one_environment() -> None:
    plain = environments.normalise("scikit-learn\npandas\n")
    messy = environments.normalise(
        "# the model's packages\n\n  Pandas  # tables\nscikit_learn\\\n\npandas\n"
    )

    assert plain == messy == ["numpy", "pandas", "scikit-learn"]
    assert environments.environment_key(plain) == environments.environment_key(messy)


def test_the_harness_needs_are_added_once() -> None:
    assert environments.normalise("") == sorted(harness.NEEDS)
    pinned = environments.normalise("NumPy==2.1.0\npandas[performance]>=2,<4\n")
    assert pinned == ["numpy==2.1.0", "pandas[performance]<4,>=2"]


@pytest.mark.parametrize(
    "other",
    ["scikit-learn==1.5.2\npandas\n", "scikit-learn\npandas\nscipy\n"],
    ids=["pinned", "one-more"],
)
def test_different_requirements_are_different_environments(other: str) -> None:
    key = environments.environment_key(environments.normalise(COMMON))
    assert environments.environment_key(environments.normalise(other)) != key


def test_the_key_names_the_interpreter_and_the_harness_version() -> None:
    lines = environments.normalise(COMMON)
    parts = environments.key_parts(lines)

    assert parts[: len(lines)] == lines
    interpreter = f"{platform.python_version()} {platform.machine()}"
    assert f"python {interpreter} {Path(sys.base_prefix).resolve()}" in parts
    assert f"harness {harness.VERSION}" in parts
    # Debian's own interpreter, where there is one: another prefix, another key.
    system = Path("/usr/bin/python3")
    if system.exists() and system.resolve() != Path(sys.executable).resolve():
        other = environments.environment_key(lines, str(system))
        assert other != environments.environment_key(lines)


def test_uv_sees_no_secret_of_the_evaluator() -> None:
    environ = {
        "GITHUB_TOKEN": "ghp_x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "PYTHONDONTWRITEBYTECODE": "1",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
        "UV_INDEX_URL": "https://127.0.0.1:9/simple",
        "PATH": "/usr/bin",
    }

    passed = environments._uv_environment(environ)

    assert passed == {
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
        "UV_INDEX_URL": "https://127.0.0.1:9/simple",
        "PATH": "/usr/bin",
        "NO_COLOR": "1",
    }


def test_the_common_environment_is_built_once_with_bytecode_and_reused(
    environment_root: Path,
) -> None:
    first = environments.prepare(COMMON, environment_root)
    again = environments.prepare("# same\npandas\nscikit_learn\n", environment_root)

    assert again.path == first.path and again.cached
    site = next(first.path.glob("lib/python*/site-packages"))
    assert list((site / "sklearn" / "__pycache__").glob("__init__.*.pyc"))
    assert (first.path / "camino-requirements.txt").read_text() == (
        "numpy\npandas\nscikit-learn\n"
    )
    answer = subprocess.run(
        [str(first.python), "-c", "import sklearn, pandas, numpy; print('ok')"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert answer.stdout == "ok\n"
    # Nothing half-built is left beside the published environment. Other
    # xdist workers share the root and may be building theirs right now.
    staging = environment_root.glob(f".{first.path.name}.*")
    assert not [p for p in staging if p.is_dir()]


def test_the_environment_names_what_it_has_installed(environment_root: Path) -> None:
    import uv

    first = environments.prepare(COMMON, environment_root)
    again = environments.prepare(COMMON, environment_root)

    lock = (first.path / environments.LOCK).read_bytes()
    assert again.cached and first.lock == again.lock != ""
    assert first.lock == hashlib.sha256(lock).hexdigest()[:16]
    interpreter, *packages = lock.decode().splitlines()
    assert interpreter == f"# python {platform.python_version()} {platform.machine()}"
    assert {"numpy", "pandas", "scikit-learn"} <= {p.split("==")[0] for p in packages}
    # The lock says what uv finds installed, not what was asked for.
    frozen = subprocess.run(
        [uv.find_uv_bin(), "pip", "freeze", "--python", str(first.python)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert packages == sorted(frozen.stdout.split())


BUILD = """
    import json, sys
    from pathlib import Path
    from camino.evaluator.environments import prepare
    environment = prepare("numpy\\npandas\\n", Path(sys.argv[1]))
    print(json.dumps([str(environment.path), environment.cached]))
"""


def test_two_evaluations_building_one_environment_at_once_share_it(
    tmp_path: Path,
) -> None:
    root = tmp_path / "envs"
    script = textwrap.dedent(BUILD)
    builders = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(root)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    answers = [json.loads(builder.communicate(timeout=300)[0]) for builder in builders]

    assert all(builder.returncode == 0 for builder in builders)
    paths = {path for path, _ in answers}
    assert len(paths) == 1
    assert sorted(cached for _, cached in answers) == [False, True]
    published = [p for p in root.iterdir() if p.is_dir()]
    assert [p.name for p in published] == [Path(paths.pop()).name]


def test_a_requirement_that_does_not_exist_is_an_install_error(tmp_path: Path) -> None:
    with pytest.raises(SubmissionFailed) as caught:
        environments.prepare("camino-no-such-package-for-tests==1.0\n", tmp_path)

    message = str(caught.value)
    assert caught.value.category == "install"
    assert "camino-no-such-package-for-tests" in message
    assert "not found in the package registry" in message
    assert str(tmp_path) not in message
    assert "Using Python" not in message
    assert len(message) < 600
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]


def test_a_package_with_only_a_source_distribution_is_refused_unbuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "setup-py-ran"
    links = tmp_path / "links"
    write_sdist(links, marker)
    # The operator's uv settings reach uv (here: one more place to look for
    # packages); the submission's requirements.txt could not say this.
    monkeypatch.setenv("UV_FIND_LINKS", str(links))

    with pytest.raises(SubmissionFailed) as caught:
        environments.prepare("camino-sdist-probe\n", tmp_path / "envs")

    assert caught.value.category == "install"
    assert "camino-sdist-probe" in str(caught.value)
    assert "wheel" in str(caught.value)
    assert not marker.exists()


def test_a_root_that_cannot_hold_environments_is_named(tmp_path: Path) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("")

    with pytest.raises(SpecError, match=r"a-file: cannot hold .*CAMINO_ENV_ROOT"):
        environments.prepare("pandas\n", taken)
