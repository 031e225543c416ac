"""Attacks from a submission, each through the real pipeline or the real sandbox.

A submission folder goes through ``evaluate`` (admission, uv environment,
smoke and internal stages in bubblewrap) exactly as on the runner; a few cases
drive the ``Sandbox`` launcher directly. Most attacking models still answer
correctly: they try their attack in ``train()``, print what they learnt (which
lands in the stage logs) and raise only when the attack worked, so a leak
shows up as a failed record quoting what leaked. Every test checks what the
attack must not have reached on the host, and that nothing of it is on the
board.

The network tests listen on 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import os
import resource
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from conftest import GOOD_IRIS, ROOT, write_model, write_sdist
from typer.testing import CliRunner

from camino.app import app
from camino.evaluator import environments, process, sandbox
from camino.evaluator.compile import Options, compile_playbook
from camino.evaluator.pipeline import (
    INTERNAL_LOG,
    SMOKE_LOG,
    artifact_dir,
    assess,
    evaluate,
    load_internal,
)
from camino.evaluator.results import Record
from camino.playbook import load_playbook, playbook_dir

# An iris model that needs only pandas; ATTACK() runs at the end of train().
ATTACKER = """
import pandas as pd

{attack}

class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = "species"
        self.X = [c for c in self.data.columns if c != self.y]

    def train(self):
        self.guess = self.data[self.y].mode()[0]
        ATTACK(self)

    def predict(self, items):
        return [self.guess] * len(items)
"""


def attacker(attack: str) -> str:
    return ATTACKER.format(attack=textwrap.dedent(attack).strip())


def evaluated(repo: Path, code: str, name: str = "probe") -> Record:
    folder = write_model(repo, code, name=name)
    record, is_new = evaluate(repo, folder)
    assert is_new and record.sandboxed
    return record


def private_log(repo: Path, record: Record, name: str) -> str:
    return (artifact_dir(repo, record) / name).read_text()


def repository_text(repo: Path) -> str:
    """Every record, board page and private log of the repo, as one text."""
    paths = [*repo.glob("leaderboard/**/*"), *repo.glob(".camino/artifacts/**/*")]
    return "\n".join(
        path.read_text(errors="replace") for path in paths if path.is_file()
    )


def short_limits(repo: Path, train: int = 1, predict: int = 1) -> None:
    spec = repo / "playbooks" / "iris" / "playbook.yml"
    text = spec.read_text()
    text = text.replace("train_seconds: 120", f"train_seconds: {train}")
    spec.write_text(text.replace("predict_seconds: 60", f"predict_seconds: {predict}"))


# --- network (C31) -------------------------------------------------------------


@dataclass
class Listener:
    """A TCP, a UDP and two unix sockets on the host, counting what arrives."""

    folder: Path
    arrivals: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind(str(self.folder / "host.sock"))
        self.abstract = socket.socket(socket.AF_UNIX)
        self.abstract.bind(f"\0camino-test-{os.getpid()}")
        for server in (self.tcp, self.unix, self.abstract):
            server.listen()
        self.sockets = [self.tcp, self.udp, self.unix, self.abstract]
        for server in self.sockets:
            server.settimeout(0.2)
            threading.Thread(target=self._watch, args=(server,), daemon=True).start()

    @property
    def addresses(self) -> dict[str, object]:
        return {
            "tcp": self.tcp.getsockname(),
            "udp": self.udp.getsockname(),
            "unix": str(self.folder / "host.sock"),
            "abstract": f"\0camino-test-{os.getpid()}",
        }

    def _watch(self, server: socket.socket) -> None:
        while server.fileno() != -1:
            try:
                if server.type == socket.SOCK_DGRAM:
                    self.arrivals.append(repr(server.recv(100)))
                else:
                    connection, _ = server.accept()
                    self.arrivals.append(repr(connection.recv(100)))
            except (TimeoutError, OSError):
                continue

    def close(self) -> None:
        for server in self.sockets:
            server.close()


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    server = Listener(tmp_path)
    yield server
    server.close()


NETWORK = """
import socket

ADDRESSES = {addresses!r}

def ATTACK(model):
    results = {{}}
    for name, address in ADDRESSES.items():
        family = socket.AF_INET if name in ("tcp", "udp") else socket.AF_UNIX
        kind = socket.SOCK_DGRAM if name == "udp" else socket.SOCK_STREAM
        try:
            with socket.socket(family, kind) as client:
                client.settimeout(2)
                client.connect(tuple(address) if family == socket.AF_INET else address)
                client.sendall(b"internal rows")
                results[name] = "sent"
        except OSError as error:
            results[name] = type(error).__name__
    print("network probe:", results)
    reached = [name for name, result in results.items() if result == "sent"]
    # UDP has no answer to wait for: only the host's socket can tell.
    if [name for name in reached if name != "udp"]:
        raise RuntimeError(f"reached the host: {{results}}")
"""


def test_c31_no_socket_reaches_the_host(competition: Path, listener: Listener) -> None:
    code = attacker(NETWORK.format(addresses=listener.addresses))

    record = evaluated(competition, code)
    time.sleep(0.3)

    assert record.scored, record.error
    assert listener.arrivals == []
    log = private_log(competition, record, INTERNAL_LOG)
    assert "network probe:" in log
    assert "'tcp': 'ConnectionRefusedError'" in log
    assert "'unix': 'FileNotFoundError'" in log
    assert "'abstract': 'ConnectionRefusedError'" in log


# --- the hidden labels ------------------------------------------------------------

HIDDEN = """
import hashlib
import os

SIZE, DIGEST = {size}, {digest!r}
PLACES = {places!r}

def ATTACK(model):
    opened = {{}}
    for place in PLACES:
        try:
            with open(place, "rb") as stream:
                stream.read()
            opened[place] = "read"
        except OSError as error:
            opened[place] = type(error).__name__
    found, scanned = [], 0
    for folder, folders, files in os.walk("/"):
        if folder in ("/proc", "/sys", "/dev"):
            folders[:] = []
            continue
        for name in files:
            path = os.path.join(folder, name)
            scanned += 1
            try:
                if os.path.getsize(path) != SIZE:
                    continue
                with open(path, "rb") as stream:
                    if hashlib.sha256(stream.read()).hexdigest() == DIGEST:
                        found.append(path)
            except OSError:
                pass
    print("label probe:", opened, "scanned", scanned, "files, found", found)
    if found or "read" in opened.values():
        raise RuntimeError(f"hidden labels: {{found}} {{opened}}")
"""


def test_the_hidden_labels_are_nowhere_in_the_sandbox(
    competition: Path, environment_root: Path
) -> None:
    hidden = competition / ".camino" / "internal" / "iris" / "validate.csv"
    data = hidden.read_bytes()
    places = [
        str(hidden),
        str(competition / ".camino" / "internal" / "iris" / "train.csv"),
        str(ROOT / ".camino" / "internal" / "iris" / "validate.csv"),
        str(competition / "leaderboard" / "templates" / "board.md.j2"),
        str(ROOT / "pyproject.toml"),
        "/etc/passwd",
        "/root/.bash_history",
    ]
    code = attacker(
        HIDDEN.format(
            size=len(data), digest=hashlib.sha256(data).hexdigest(), places=places
        )
    )

    record = evaluated(competition, code)

    assert record.scored, record.error
    log = private_log(competition, record, INTERNAL_LOG)
    assert "found []" in log
    scanned = int(log.split("scanned ")[1].split()[0])
    assert scanned > 1000, log  # the walk did see the system's files


# --- secrets ------------------------------------------------------------------

SECRETS = """
import os

CANARIES = {canaries!r}

def ATTACK(model):
    pairs = [f"{{k}}={{v}}" for k, v in os.environ.items()]
    sources = {{"os.environ": "\\n".join(pairs)}}
    for pid in ["self", str(os.getppid()), "1"] + os.listdir("/proc"):
        for kind in ("environ", "cmdline"):
            try:
                with open(f"/proc/{{pid}}/{{kind}}", "rb") as stream:
                    sources[f"/proc/{{pid}}/{{kind}}"] = stream.read().decode("latin-1")
            except (OSError, NotADirectoryError):
                pass
    leaked = [name for name, text in sources.items()
              if any(canary in text for canary in CANARIES)]
    print("secret probe: read", len(sources), "sources; variables:",
          sorted(os.environ))
    if leaked:
        raise RuntimeError(f"secrets in {{leaked}}: {{[sources[n] for n in leaked]}}")
"""


def test_tokens_of_the_evaluator_do_not_reach_the_model(
    competition: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canaries = [f"ghp_canary{os.getpid()}", f"aws-canary-{os.getpid()}"]
    monkeypatch.setenv("GITHUB_TOKEN", canaries[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", canaries[1])

    record = evaluated(competition, attacker(SECRETS.format(canaries=canaries)))

    assert record.scored, record.error
    log = private_log(competition, record, INTERNAL_LOG)
    assert "secret probe: read" in log
    assert "GITHUB_TOKEN" not in log and "AWS_" not in log
    assert not [c for c in canaries if c in repository_text(competition)]


# --- writing outside the work dir ------------------------------------------------

WRITES = """
TARGETS = {targets!r}

def ATTACK(model):
    for target in TARGETS:
        try:
            with open(target, "w") as stream:
                stream.write("written by a submission")
            print("write", target, "done")
        except OSError as error:
            print("write", target, type(error).__name__)
"""


def test_nothing_outside_the_work_dir_can_be_written(
    competition: Path, environment_root: Path, tmp_path: Path
) -> None:
    common = environments.prepare("scikit-learn\npandas\n", environment_root)
    site = next(common.path.glob("lib/python*/site-packages"))
    marker = f"camino-attack-{os.getpid()}"
    targets = [
        competition / "leaderboard" / "results" / f"{marker}.json",
        competition / ".camino" / marker,
        competition / "submissions" / marker,
        environment_root / marker,
        site / f"{marker}.pth",
        Path.home() / ".cache" / marker,
        Path("/tmp") / marker,
        tmp_path / marker,
    ]
    code = attacker(WRITES.format(targets=[str(target) for target in targets]))

    record = evaluated(competition, code)

    assert record.scored, record.error
    assert [target for target in targets if target.exists()] == []
    log = private_log(competition, record, INTERNAL_LOG)
    # Only the sandbox's own /tmp takes the file, and it is gone with it.
    assert log.count(" done") == 1 and f"write /tmp/{marker} done" in log
    assert "Read-only file system" in log or "OSError" in log or "Error" in log


# --- resources (C34 and friends) ---------------------------------------------------


def tasks_of_sandbox_user() -> int:
    user = sandbox.NOBODY if os.geteuid() == 0 else os.getuid()
    return sandbox._tasks_of(user)


class Sampler:
    """The most tasks of the sandbox's user seen while a block runs."""

    def __init__(self) -> None:
        self.peak = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()

    def _sample(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, tasks_of_sandbox_user())


# Every process forks as fast as it can. One that cannot fork waits instead
# of retrying at once: 256 processes spinning on a 2-core CI machine would
# starve the harness's own alarm (the wall clock then ends it after 34 s).
FORK_BOMB = """
import os
import time

def ATTACK(model):
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.5)
"""


def test_a_fork_bomb_is_bounded_and_ends_with_its_time(competition: Path) -> None:
    short_limits(competition, train=2, predict=1)
    before = tasks_of_sandbox_user()

    with Sampler() as sampler:
        record = evaluated(competition, attacker(FORK_BOMB))

    assert record.error["category"] == "timeout", record.error
    assert record.stage == "smoke"
    assert sampler.peak - before <= process.Limits().processes + 16, sampler.peak
    assert sampler.peak - before > 50  # it did fork, up to the limit
    assert wait_for(lambda: tasks_of_sandbox_user() <= before + 8)
    assert_runner_still_scores(competition)


def assert_runner_still_scores(repo: Path) -> None:
    """After an attack, the next honest submission is evaluated as usual."""
    spec = repo / "playbooks" / "iris" / "playbook.yml"
    spec.write_text((ROOT / "playbooks" / "iris" / "playbook.yml").read_text())
    record = evaluated(repo, GOOD_IRIS, name="honest")
    assert record.scored, record.error


def wait_for(condition: object, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(
    "allocation",
    [
        "import numpy; numpy.ones(100 * 2**30, dtype=numpy.uint8)",
        "bytearray(100 * 2**30)",
    ],
    ids=["numpy", "bytearray"],
)
def test_allocating_100_gib_fails_as_memory(competition: Path, allocation: str) -> None:
    code = attacker(f"def ATTACK(model):\n    {allocation}")

    record = evaluated(competition, code)

    assert record.error["category"] == "memory", record.error
    assert record.stage == "smoke"
    assert "limit 2048 MB" in record.error["message"]


def test_sleeping_forever_times_out(competition: Path) -> None:
    short_limits(competition)
    code = attacker("import time\n\ndef ATTACK(model):\n    time.sleep(10**6)")

    started = time.monotonic()
    record = evaluated(competition, code)

    assert time.monotonic() - started < 60
    assert record.error["category"] == "timeout", record.error
    assert "exceeded its time limit of 1 s" in record.error["message"]


NOISE = """
import sys

def ATTACK(model):
    line = "x" * (1 << 20) + "\\n"
    for _ in range(200):
        sys.stdout.write(line)
    print("end of the noise")
"""


def test_200_mb_of_output_is_capped_and_the_evaluator_is_fine(
    competition: Path,
) -> None:
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    record = evaluated(competition, attacker(NOISE))

    assert record.scored, record.error
    for name in (SMOKE_LOG, INTERNAL_LOG):
        log = private_log(competition, record, name)
        assert len(log.encode()) <= process.OUTPUT_LIMIT + 1
        assert log.startswith("[earlier output cut")
        assert log.rstrip().endswith("end of the noise")
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kb < 64 * 1024, grown_kb
    board = "".join(p.read_text() for p in competition.glob("leaderboard/**/*.json"))
    assert "x" * 100 not in board
    assert_runner_still_scores(competition)


LEFT_BEHIND = """
import os
import subprocess
import sys
import time

MARKER = {marker!r}

def ATTACK(model):
    subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(300)", MARKER],
        start_new_session=True,
    )
    if os.fork() == 0:  # a daemon: double fork, new session
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c",
                     "import time; time.sleep(300)", MARKER])
        os._exit(0)
    time.sleep(0.5)
"""


def test_no_process_outlives_the_run(competition: Path) -> None:
    marker = f"camino-left-behind-{os.getpid()}"

    record = evaluated(competition, attacker(LEFT_BEHIND.format(marker=marker)))

    assert record.scored, record.error
    assert wait_for(lambda: not processes_named(marker), seconds=5)


def processes_named(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and marker.encode() in (entry / "cmdline").read_bytes()
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_an_honest_model_is_recorded_with_its_resources(competition: Path) -> None:
    record = evaluated(competition, GOOD_IRIS)

    assert record.scored, record.error
    assert record.stage is None
    # scikit-learn and pandas alone take more than 50 MB.
    assert record.peak_memory_mb is not None and record.peak_memory_mb > 50
    assert isinstance(record.environment_cached, bool)
    assert record.environment_seconds is not None
    assert record.environment_seconds >= 0


def test_without_a_sandbox_the_evaluator_refuses_and_says_why(
    competition: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = write_model(competition, GOOD_IRIS)
    # A bubblewrap that cannot start anything.
    broken = tmp_path / "bwrap"
    broken.write_text("#!/bin/sh\necho 'bwrap: no permission to create namespaces'\n")
    broken.chmod(0o755)
    monkeypatch.setenv(sandbox.BWRAP_VARIABLE, str(broken))
    sandbox.available.cache_clear()
    try:
        refused = CliRunner().invoke(
            app, ["evaluate", str(folder), "--repo", str(competition)]
        )
        unsafe = CliRunner().invoke(
            app,
            [
                "evaluate",
                str(folder),
                "--repo",
                str(competition),
                "--unsafe-no-sandbox",
            ],
        )
    finally:
        sandbox.available.cache_clear()

    assert refused.exit_code == 2, refused.output
    assert "no permission to create namespaces" in refused.stderr
    assert "--unsafe-no-sandbox" in refused.stderr
    assert unsafe.exit_code == 0, unsafe.output
    (record_file,) = (competition / "leaderboard" / "results" / "iris").glob("*.json")
    assert '"sandboxed": false' in record_file.read_text()


# --- requirements.txt ----------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    ["./vendor/evil", "https://example.invalid/evil-1.0-py3-none-any.whl"],
    ids=["local-path", "url"],
)
def test_requirements_naming_a_path_or_url_are_refused(
    competition: Path, line: str
) -> None:
    folder = write_model(competition, GOOD_IRIS)
    (folder / "requirements.txt").write_text(f"scikit-learn\n{line}\n")

    record, _ = evaluate(competition, folder)

    assert record.error["category"] == "install", record.error
    assert record.stage == "environment"
    assert f"line 2: {line!r}" in record.error["message"]


def test_a_source_distribution_with_a_malicious_setup_py_is_never_built(
    competition: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "setup-py-ran"
    write_sdist(tmp_path / "links", marker)
    monkeypatch.setenv("UV_FIND_LINKS", str(tmp_path / "links"))
    folder = write_model(competition, GOOD_IRIS)
    (folder / "requirements.txt").write_text("scikit-learn\ncamino-sdist-probe\n")

    record, _ = evaluate(competition, folder)

    assert record.error["category"] == "install", record.error
    assert "camino-sdist-probe" in record.error["message"]
    assert not marker.exists()


# --- symbolic links and pickles ---------------------------------------------------


def test_a_submission_with_symbolic_links_is_refused_at_admission(
    competition: Path,
) -> None:
    folder = write_model(competition, GOOD_IRIS)
    hidden = competition / ".camino" / "internal" / "iris" / "validate.csv"
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    (folder / "hidden.csv").symlink_to(hidden)

    record, _ = evaluate(competition, folder)

    assert record.error["category"] == "admission", record.error
    assert record.stage == "admission"
    assert "hidden.csv is a symbolic link" in record.error["message"]
    assert "root:" not in repository_text(competition)
    assert hidden.read_text().splitlines()[1] not in repository_text(competition)


def test_links_in_the_work_dir_lead_nowhere_in_the_sandbox(
    competition: Path, environment_root: Path, tmp_path: Path
) -> None:
    hidden = competition / ".camino" / "internal" / "iris" / "validate.csv"
    work = tmp_path / "work"
    work.mkdir()
    (work / "passwd").symlink_to("/etc/passwd")
    (work / "hidden.csv").symlink_to(hidden)
    common = environments.prepare("scikit-learn\npandas\n", environment_root)
    read = "for n in ('passwd', 'hidden.csv'):\n try: print(open(n).read())\n"
    read += " except OSError as e: print(n, type(e).__name__)"

    outcome = sandbox.Sandbox(common.path)(
        [str(common.python), "-c", read], work, process.Limits(wall_seconds=60)
    )

    assert outcome.returncode == 0, outcome.output
    # /etc holds ld.so.cache alone; /work's links point at nothing.
    assert "passwd FileNotFoundError" in outcome.output
    assert "hidden.csv FileNotFoundError" in outcome.output
    assert "root:" not in outcome.output and "species" not in outcome.output


PICKLE_BOMB = """
import pickle

import pandas as pd

MARKER = {marker!r}


def rebuild(state):
    # Runs wherever model.pkl is loaded.
    try:
        with open(MARKER, "w") as stream:
            stream.write("model.pkl ran code here")
    except OSError:
        pass
    model = Model.__new__(Model)
    model.__dict__.update(state)
    return model


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = "species"
        self.X = [c for c in self.data.columns if c != self.y]

    def train(self):
        self.guess = self.data[self.y].mode()[0]

    def predict(self, items):
        return [self.guess] * len(items)

    def __reduce__(self):
        return rebuild, (self.__dict__,)

    def save(self):
        with open("model.pkl", "wb") as stream:
            pickle.dump(self, stream)
"""


def test_a_pickle_that_runs_code_is_only_loaded_in_the_sandbox(
    competition: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pickle-ran-here"

    record = evaluated(competition, PICKLE_BOMB.format(marker=str(marker)))

    assert record.scored, record.error
    assert (artifact_dir(competition, record) / "model.pkl").is_file()
    assert not marker.exists()


def test_compile_loads_the_members_pickles_only_in_the_sandbox(
    competition: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pickle-ran-here"
    bomb = evaluated(competition, PICKLE_BOMB.format(marker=str(marker)))
    honest = evaluated(competition, GOOD_IRIS, name="honest")
    assert bomb.scored and honest.scored

    outcome = compile_playbook(
        competition,
        load_playbook(playbook_dir(competition, "iris")),
        Options(duplicate_agreement=1.01),
    )

    assert outcome.record is not None and outcome.record.scored
    assert len(outcome.record.details["members"]) == 2
    assert not marker.exists()


# --- the internal stage's privacy -------------------------------------------------

INTERNAL_ONLY = """
import pandas as pd

PUBLIC_FIRST_ROW = {first_row!r}


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = "species"
        self.X = [c for c in self.data.columns if c != self.y]

    def train(self):
        if self.data.iloc[0].astype(str).tolist() != PUBLIC_FIRST_ROW:
            raise ValueError("internal rows:\\n" + self.data.head(3).to_csv())
        self.guess = self.data[self.y].mode()[0]

    def predict(self, items):
        return [self.guess] * len(items)
"""


def test_an_internal_failure_is_reported_without_the_models_words(
    competition: Path,
) -> None:
    public = pd.read_csv(competition / "playbooks" / "iris" / "data" / "train.csv")
    code = INTERNAL_ONLY.format(first_row=public.iloc[0].astype(str).tolist())
    folder = write_model(competition, code)

    result = CliRunner().invoke(
        app, ["evaluate", str(folder), "--repo", str(competition)]
    )

    assert result.exit_code == 3, result.output
    internal, _ = load_internal(
        competition, load_playbook(playbook_dir(competition, "iris"))
    )
    row = ",".join(str(value) for value in internal.iloc[0].tolist())
    shown = result.stdout + result.stderr + repository_text(competition)
    (record_file,) = (competition / "leaderboard" / "results" / "iris").glob("*.json")
    record = record_file.read_text()
    assert "train() failed on the internal data" in record
    assert '"stage": "internal"' in record
    assert "ValueError" not in record and "internal rows" not in result.stderr
    assert "train() failed on the internal data" in result.stderr
    private = (competition / ".camino" / "artifacts").rglob(INTERNAL_LOG)
    (log,) = list(private)
    assert row in log.read_text() and "ValueError: internal rows" in log.read_text()
    assert row not in shown.replace(log.read_text(), "")


# --- honest models -------------------------------------------------------------------


@pytest.mark.parametrize(
    "example",
    [
        "iris/grace/random-forest",
        "wine/ada/svc-rbf",
        "breast-cancer/hedy/gradient-boosting",
        "diabetes/linus/nearest-neighbours",
    ],
)
def test_an_honest_model_scores_the_same_in_the_sandbox(
    split_competition: Path, environment_root: Path, example: str
) -> None:
    folder = ROOT / "submissions" / example
    playbook = load_playbook(playbook_dir(split_competition, example.split("/")[0]))
    train, validate = load_internal(split_competition, playbook)
    environment = environments.prepare_folder(folder, environment_root)
    python = str(environment.python)

    plain = assess(folder, playbook, train, validate, python=python)
    boxed = assess(
        folder,
        playbook,
        train,
        validate,
        python=python,
        launcher=sandbox.Sandbox(environment.path),
    )

    assert boxed.scores == plain.scores
    assert boxed.rows == plain.rows == len(validate)
