"""camino test: train on the public data, score on the public validation set.

Runs the model exactly as the server does (its own process, save and reload,
the same checks) but on the data in the model folder, so most mistakes show up
here with their logs, before a pull request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from camino.data import check_same_columns, read_table
from camino.errors import SpecError
from camino.evaluator.pipeline import Assessment, assess
from camino.metrics import Metric, get_metric
from camino.playbook import (
    Meta,
    Playbook,
    find_repo,
    load_meta,
    load_playbook,
    playbook_dir,
)
from camino.yamlfile import parse

PLAYBOOK_COPY = Path(".camino") / "playbook.yml"


@dataclass(frozen=True)
class TestReport:
    playbook: Playbook
    metrics: list[Metric]
    assessment: Assessment

    def to_frame(self) -> pd.DataFrame:
        """One row per metric, then the timings; ``note`` says why a metric
        has no value."""
        scores = self.assessment.scores
        rows = [
            {
                "value": scores.values.get(metric.name),
                "better": "higher" if metric.greater_is_better else "lower",
                "note": scores.problems.get(metric.name, ""),
            }
            for metric in self.metrics
        ]
        rows += [
            {"value": self.assessment.train_seconds, "better": "", "note": ""},
            {"value": self.assessment.predict_seconds, "better": "", "note": ""},
        ]
        index = [m.display for m in self.metrics] + ["train seconds", "predict seconds"]
        frame = pd.DataFrame(rows, index=pd.Index(index, name="metric"))
        frame.attrs.update(playbook=self.playbook.name, rows=self.assessment.rows)
        return frame


def test_model(model_dir: Path, repo: Path | None = None) -> TestReport:
    check_model_folder(model_dir)
    meta = load_meta(model_dir)
    playbook = find_playbook(model_dir, meta.playbook, repo)
    metrics = chosen_metrics(playbook, meta)

    target = [playbook.target]
    train = read_table(
        model_dir / "data" / "train.csv", name="data/train.csv", required=target
    )
    validate = read_table(
        model_dir / "data" / "validate.csv", name="data/validate.csv", required=target
    )
    check_same_columns(train, validate, "data/train.csv", "data/validate.csv")

    assessment = assess(model_dir, playbook, train, validate, metrics)
    return TestReport(playbook, metrics, assessment)


def check_model_folder(model_dir: Path) -> None:
    if not model_dir.is_dir():
        raise SpecError(f"{model_dir}: folder not found")
    if not (model_dir / "meta.yml").is_file():
        raise SpecError(
            f"{model_dir.resolve()} has no meta.yml, so it is not a model folder; "
            "create one with: camino init --playbook NAME FOLDER"
        )


def find_playbook(model_dir: Path, name: str, repo: Path | None) -> Playbook:
    """The playbook from the competition repo, else the copy made by init."""
    repo = repo or find_repo(model_dir)
    if repo is not None and (repo / "playbooks" / name).is_dir():
        return load_playbook(playbook_dir(repo, name))
    copy = model_dir / PLAYBOOK_COPY
    if copy.is_file():
        playbook = parse(Playbook, copy, str(PLAYBOOK_COPY))
        if playbook.name != name:
            raise SpecError(
                f"meta.yml: playbook is {name!r}, but this folder was made for "
                f"{playbook.name!r} ({PLAYBOOK_COPY}); fix meta.yml, or run "
                "camino test inside the competition repository"
            )
        return playbook
    raise SpecError(
        f"meta.yml: playbook {name!r} not found: this folder is not inside a "
        "competition repository and has no .camino/playbook.yml (create model "
        "folders with camino init, or pass --repo)"
    )


def chosen_metrics(playbook: Playbook, meta: Meta) -> list[Metric]:
    """meta.yml may narrow the metrics shown; the playbook decides the rest."""
    if not meta.metrics:
        return playbook.metric_objects
    known = {metric.name: metric for metric in playbook.metric_objects}
    chosen = []
    for index, entry in enumerate(meta.metrics):
        name = get_metric(entry, playbook.task, where=f"meta.yml metrics[{index}]").name
        if name not in known:
            raise SpecError(
                f"meta.yml: metrics[{index}] is {name!r}, which playbook "
                f"{playbook.name!r} does not score; choose from {', '.join(known)}"
            )
        if known[name] not in chosen:
            chosen.append(known[name])
    return chosen
