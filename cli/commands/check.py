"""camino playbook check: everything a reviewer of a playbook should not have to.

Each check gives one finding: pass, fail or skip (it cannot run here, e.g. the
internal data is not on this machine, or the folder is no git work tree).

* schema - playbook.yml reads and validates;
* metrics - every metric is known and fits the task;
* public data - data/train.csv and data/validate.csv read by camino's reader
  and have the same columns;
* target - the target (and the id, if declared) is a column of both;
* classes - a classification target has at least two classes, a regression
  target holds numbers;
* template - the template trains and scores on the public data, the way
  ``camino test`` runs a model;
* overlap - no public row is also an internal row (rows hashed without the
  id column); needs the internal data, from wherever the evaluation reads it;
* git - no internal file and no data file other than the public two is
  tracked by git.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from camino.commands.split import id_columns, local_internal_folder
from camino.commands.test import test_model
from camino.data import read_table
from camino.errors import CaminoError, SubmissionFailed
from camino.metrics import get_metric
from camino.playbook import Playbook, load_meta, load_playbook, playbook_dir
from camino.sources import as_csv_source, csv_path
from camino.stores import (
    MissingData,
    NoCredentials,
    cache_root,
    internal_data,
    internal_location,
    is_local,
)
from camino.yamlfile import load_yaml

Status = Literal["pass", "fail", "skip"]
PUBLIC_FILES = ("data/train.csv", "data/validate.csv")


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str


@dataclass
class CheckReport:
    playbook: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(finding.status != "fail" for finding in self.findings)

    def add(self, check: str, status: Status, detail: str) -> None:
        self.findings.append(Finding(check, status, detail))


@dataclass(frozen=True)
class _Public:
    train: pd.DataFrame
    validate: pd.DataFrame


def check_playbook(
    repo: Path, name: str, environ: Mapping[str, str] | None = None
) -> CheckReport:
    """Run every check on ``playbooks/<name>``; never raises for a finding."""
    report = CheckReport(name)
    folder = playbook_dir(repo, name)
    playbook = _schema(folder, report)
    _metrics(folder, report)
    if playbook is None:
        _skip_rest(report, "needs a valid playbook.yml", also=("git",))
        return report

    public = _public_data(folder, playbook, report)
    if public is None:
        _skip_rest(report, "needs the public data")
    else:
        _target(public, playbook, report)
        _classes(public, playbook, report)
        _template(repo, folder, report)
        _overlap(repo, public, playbook, report, environ)
    _git(repo, folder, playbook, report)
    return report


def to_markdown(report: CheckReport) -> str:
    """The report as a Markdown table, for a job summary or a PR comment."""
    verdict = "passed" if report.passed else "FAILED"
    lines = [
        f"### camino playbook check {report.playbook}: {verdict}",
        "",
        "| check | result | detail |",
        "| --- | --- | --- |",
    ]
    for finding in report.findings:
        detail = finding.detail.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {finding.check} | {finding.status} | {detail} |")
    return "\n".join(lines) + "\n"


# --- the checks, in the order of the table ----------------------------------


def _schema(folder: Path, report: CheckReport) -> Playbook | None:
    try:
        playbook = load_playbook(folder)
    except CaminoError as error:
        report.add("schema", "fail", str(error))
        return None
    report.add("schema", "pass", "playbook.yml is valid")
    return playbook


def _metrics(folder: Path, report: CheckReport) -> None:
    # Read on their own, so a bad metric is named here even when the schema
    # fails for another reason.
    try:
        data, _ = load_yaml(folder / "playbook.yml", "playbook.yml")
    except CaminoError:
        report.add("metrics", "skip", "playbook.yml cannot be read")
        return
    task = data.get("task") if isinstance(data, dict) else None
    entries = data.get("metrics") if isinstance(data, dict) else None
    if task not in ("classification", "regression") or not isinstance(entries, list):
        report.add("metrics", "skip", "needs a task and a list of metrics")
        return

    problems, names = [], []
    for index, entry in enumerate(entries):
        try:
            names.append(get_metric(entry, task, where=f"metrics[{index}]").display)
        except CaminoError as error:
            problems.append(str(error))
    if problems:
        report.add("metrics", "fail", "; ".join(problems))
    else:
        report.add("metrics", "pass", f"{', '.join(names)} (fit {task})")


def _public_data(
    folder: Path, playbook: Playbook, report: CheckReport
) -> _Public | None:
    frames = []
    for file in PUBLIC_FILES:
        try:
            frames.append(
                read_table(
                    folder / file,
                    name=f"playbooks/{playbook.name}/{file}",
                    text=id_columns(playbook),
                )
            )
        except CaminoError as error:
            hint = f"; make it with: camino playbook split {playbook.name}"
            report.add("public data", "fail", f"{error}{hint}")
            return None

    train, validate = frames
    if set(train.columns) != set(validate.columns):
        report.add(
            "public data",
            "fail",
            "train.csv and validate.csv have different columns: "
            f"{_names(train)} vs {_names(validate)}",
        )
        return None
    sizes = f"{len(train)} train and {len(validate)} validate rows"
    report.add("public data", "pass", sizes)
    return _Public(train, validate)


def _target(public: _Public, playbook: Playbook, report: CheckReport) -> None:
    wanted = [playbook.target, *id_columns(playbook)]
    missing = [column for column in wanted if column not in public.train.columns]
    if missing:
        report.add(
            "target",
            "fail",
            f"column {', '.join(map(repr, missing))} is not in the public data; "
            f"the columns are: {', '.join(map(str, public.train.columns))}",
        )
        return
    report.add("target", "pass", f"{', '.join(map(repr, wanted))} present")


def _classes(public: _Public, playbook: Playbook, report: CheckReport) -> None:
    if playbook.target not in public.train.columns:
        report.add("classes", "skip", "needs the target column")
        return
    target = public.train[playbook.target].dropna()
    if playbook.task == "regression":
        if pd.api.types.is_numeric_dtype(target):
            report.add("classes", "pass", "the regression target holds numbers")
        else:
            report.add("classes", "fail", "the regression target holds text")
        return

    classes = sorted(map(str, target.unique()))
    if len(classes) < 2:
        report.add(
            "classes",
            "fail",
            f"the public train data has {len(classes)} class ({', '.join(classes)}); "
            "a classification needs at least two",
        )
        return
    report.add("classes", "pass", f"{len(classes)} classes: {', '.join(classes[:10])}")


def _template(repo: Path, folder: Path, report: CheckReport) -> None:
    problem = _template_problem(folder)
    if problem:
        report.add("template", "fail", problem)
        return
    with tempfile.TemporaryDirectory(prefix="camino-check-") as scratch:
        model = Path(scratch) / "model"
        shutil.copytree(folder / "template", model)
        shutil.copytree(folder / "data", model / "data")
        try:
            tested = test_model(model, repo)
        except SubmissionFailed as failure:
            detail = f"failed at {failure.category}: {failure}"
            report.add("template", "fail", detail)
            return
        except CaminoError as error:
            report.add("template", "fail", str(error))
            return

    metric = tested.metrics[0]
    value = tested.assessment.scores.values.get(metric.name)
    shown = "n/a" if value is None else f"{value:.4f}"
    report.add(
        "template",
        "pass",
        f"trains and scores: {metric.display} {shown} on "
        f"{tested.assessment.rows} public validation rows",
    )


def _template_problem(folder: Path) -> str | None:
    """Why the template cannot be a participant's start, before running it."""
    if not (folder / "template" / "model.py").is_file():
        return "template/model.py is missing"
    try:
        meta = load_meta(folder / "template", "template/meta.yml")
    except CaminoError as error:
        return str(error)
    if meta.playbook != folder.name:
        # camino test would score it against that other playbook.
        return (
            f"template/meta.yml names playbook {meta.playbook!r}; it must name "
            f"{folder.name!r}"
        )
    return None


def _overlap(
    repo: Path,
    public: _Public,
    playbook: Playbook,
    report: CheckReport,
    environ: Mapping[str, str] | None,
) -> None:
    internal = _internal_frames(repo, playbook, report, environ)
    if internal is None:
        return

    ignore = id_columns(playbook)
    shared = sorted(set(public.train.columns) & set(internal.columns) - set(ignore))
    if set(public.train.columns) != set(internal.columns):
        report.add(
            "overlap",
            "fail",
            "the public and the internal data have different columns: "
            f"{_names(public.train)} vs {_names(internal)}",
        )
        return

    rows = pd.concat([public.train, public.validate], ignore_index=True)
    common = set(row_hashes(rows, shared)) & set(row_hashes(internal, shared))
    if common:
        report.add(
            "overlap",
            "fail",
            f"{len(common)} public row(s) are also internal rows (compared "
            "without the id); re-split, which drops duplicates first",
        )
        return
    report.add(
        "overlap",
        "pass",
        f"{len(rows)} public and {len(internal)} internal rows, none shared",
    )


def _internal_frames(
    repo: Path,
    playbook: Playbook,
    report: CheckReport,
    environ: Mapping[str, str] | None,
) -> pd.DataFrame | None:
    location = internal_location(playbook.name, playbook.internal, repo, environ)
    try:
        folder = internal_data(location, playbook.name, cache=cache_root(repo, environ))
        text = id_columns(playbook)
        parts = [
            read_table(folder / file, name=f"internal {file}", text=text)
            for file in ("train.csv", "validate.csv")
        ]
    except (NoCredentials, MissingData) as error:
        # Not here (a fork's pull request has no secrets, a fresh checkout no
        # local internal folder): say so, and let the maintainer run it.
        if isinstance(error, NoCredentials) or is_local(location.url):
            report.add("overlap", "skip", f"the internal data is not here: {error}")
            return None
        report.add("overlap", "fail", str(error))
        return None
    except CaminoError as error:
        report.add("overlap", "fail", str(error))
        return None
    return pd.concat(parts, ignore_index=True)


def row_hashes(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One hash per row over ``columns``, by value: 5 and 5.0 hash alike, so
    a column read as int in one file and float in another still matches."""
    canonical = frame[columns].apply(_canonical)
    return pd.util.hash_pandas_object(canonical, index=False)


def _canonical(column: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(column):
        return column.astype(str)
    if pd.api.types.is_numeric_dtype(column):
        return column.astype("float64")
    return column.astype(str)


def _git(repo: Path, folder: Path, playbook: Playbook, report: CheckReport) -> None:
    tracked = _tracked_files(repo)
    if tracked is None:
        report.add("git", "skip", f"{repo} is not a git work tree")
        return

    leaks = [path for path in tracked if _is_internal(path, repo, folder, playbook)]
    if leaks:
        report.add(
            "git",
            "fail",
            f"tracked by git but must never be committed: {', '.join(leaks[:10])}; "
            "remove them with git rm --cached and rewrite the history if they "
            "were pushed",
        )
        return
    report.add("git", "pass", "no internal file is tracked")


def _tracked_files(repo: Path) -> list[str] | None:
    try:
        listed = subprocess.run(
            ["git", "-C", str(repo), "ls-files", "-z", "--full-name"],
            capture_output=True,
            check=True,
            timeout=60,
        )
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    return [name for name in listed.stdout.decode().split("\0") if name]


def _is_internal(path: str, repo: Path, folder: Path, playbook: Playbook) -> bool:
    """Whether a tracked file (relative to repo) holds or may hold internal
    rows: anything in the internal folder or .camino/, the CSV source, or a
    data file of the playbook that is not one of the two public files."""
    absolute = (repo / path).resolve()
    internal = local_internal_folder(repo, playbook).resolve()
    suspects: list[Callable[[], bool]] = [
        lambda: path.startswith(".camino/"),
        lambda: absolute.is_relative_to(internal),
        lambda: absolute == _source_path(repo, playbook),
        lambda: _is_extra_data(absolute, folder),
    ]
    return any(suspect() for suspect in suspects)


def _source_path(repo: Path, playbook: Playbook) -> Path | None:
    csv = as_csv_source(playbook.source) if playbook.source else None
    return csv_path(csv, repo) if csv else None


def _is_extra_data(path: Path, folder: Path) -> bool:
    inside = folder.resolve()
    if not path.is_relative_to(inside) or path.suffix.lower() not in (".csv", ".tsv"):
        return False
    relative = path.relative_to(inside).as_posix()
    return relative not in PUBLIC_FILES and not relative.startswith("template/")


def _skip_rest(report: CheckReport, reason: str, also: tuple[str, ...] = ()) -> None:
    done = {finding.check for finding in report.findings}
    for check in ("public data", "target", "classes", "template", "overlap", *also):
        if check not in done:
            report.add(check, "skip", reason)


def _names(frame: pd.DataFrame) -> list[str]:
    return sorted(map(str, frame.columns))
