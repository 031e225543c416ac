"""The two files that configure a challenge: playbook.yml and meta.yml.

``playbooks/<name>/playbook.yml`` is the maintainer's: task, target, the
metrics that rank the board (the first one ranks), limits and where the
internal data lives. ``meta.yml`` in a model folder is the participant's: which
playbook it answers and the model's name. The playbook decides what is scored.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    field_validator,
    model_validator,
)

from camino.errors import MetricError, SpecError
from camino.metrics import Metric, get_metric
from camino.stores import internal_location
from camino.yamlfile import parse

SLUG_RULE = (
    "must be lower-case letters, digits, '.', '_' or '-' (up to 64, starting "
    "with a letter or digit), e.g. my-model"
)


# A playbook's or a model's name: it is also a folder and part of a URL.
SLUG = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def _slug(value: str) -> str:
    if not SLUG.fullmatch(value):
        raise ValueError(SLUG_RULE)
    return value


Slug = Annotated[StrictStr, AfterValidator(_slug)]
MetricEntry = StrictStr | dict[str, Any]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(Strict):
    train_seconds: float = Field(600, gt=0)
    predict_seconds: float = Field(120, gt=0)
    memory_mb: int = Field(2048, gt=0)
    submissions_per_day: int = Field(5, gt=0)


class CsvSource(Strict):
    """A CSV the maintainer owns, kept out of the repository: the path is
    relative to the competition repo (``../private/heart.csv``) or absolute.
    ``source: csv:PATH`` is the short form for a comma-separated file."""

    csv: StrictStr
    sep: Literal[",", ";", "\t", "|"] = ","
    decimal: Literal[".", ","] = "."

    @model_validator(mode="after")
    def _sep_is_not_decimal(self) -> CsvSource:
        if self.sep == self.decimal:
            raise ValueError(f"sep and decimal are both {self.sep!r}; they must differ")
        return self


class Split(Strict):
    """How ``camino playbook split`` cuts the source data, deterministically."""

    seed: int = 0
    public_fraction: float = Field(0.5, gt=0, lt=1)
    validate_fraction: float = Field(0.3, gt=0, lt=1)


class Column(Strict):
    """How the board shows one metric."""

    # Four decimals at most: each further decimal makes a probe of the hidden
    # labels (one changed prediction per submission) more informative (C29).
    decimals: int = Field(4, ge=0, le=4)
    # Scored and recorded, but neither shown nor used to break ties, so the
    # order never depends on a value nobody can see (C36).
    hidden: bool = False


DEFAULT_COLUMN = Column()


class BoardSpec(Strict):
    """How the internal validation rows are scored and the board is shown."""

    # Share of the internal validation rows held back for the final ranking;
    # 0 puts every row on the public board.
    private_fraction: float = Field(0.5, ge=0, lt=1)
    # Fixes the public/private cut and the bootstrap resamples.
    seed: int = 0
    columns: dict[str, Column] = {}
    average_rank: bool = True


class Ranking(Strict):
    # best: each model folder's best result; latest: its latest scored one.
    policy: Literal["best", "latest"] = "best"


# Settings that never change a score: editing them (a deadline, a column's
# decimals) must not make every submission look new and be evaluated again.
NOT_SCORED: dict[str, Any] = {
    "title": True,
    "description": True,
    "deadline": True,
    "ranking": True,
    "board": {"columns", "average_rank"},
}


class Playbook(Strict):
    name: Slug
    title: StrictStr
    description: StrictStr = ""
    task: Literal["classification", "regression"]
    target: StrictStr
    id: StrictStr | None = None
    metrics: list[MetricEntry]
    source: StrictStr | CsvSource | None = None
    split: Split = Split()
    limits: Limits = Limits()
    internal: StrictStr | None = None
    deadline: dt.date | None = None
    board: BoardSpec = BoardSpec()
    ranking: Ranking = Ranking()

    model_config = ConfigDict(
        extra="forbid", frozen=True, ignored_types=(cached_property,)
    )

    @field_validator("metrics", mode="before")
    @classmethod
    def _metrics_is_a_list(cls, value: Any) -> Any:
        return _require_metric_list(value)

    @model_validator(mode="after")
    def _metrics_are_known(self) -> Playbook:
        for index, entry in enumerate(self.metrics):
            try:
                get_metric(entry, self.task, where=f"metrics[{index}]")
            except MetricError as error:
                # pydantic only turns ValueError into a located schema error.
                raise ValueError(str(error)) from None
        names = [metric.name for metric in self.metric_objects]
        if len(set(names)) != len(names):
            raise ValueError(f"metrics are listed twice: {names}")
        _check_columns(self.board.columns, names)
        return self

    @cached_property
    def metric_objects(self) -> list[Metric]:
        return [get_metric(entry, self.task) for entry in self.metrics]

    @property
    def ranking_metric(self) -> Metric:
        return self.metric_objects[0]

    @property
    def shown_metrics(self) -> list[Metric]:
        """The metrics on the board, in order; hidden ones are left out."""
        columns = self.board.columns
        return [
            metric
            for metric in self.metric_objects
            if not (metric.name in columns and columns[metric.name].hidden)
        ]

    def column(self, metric: Metric) -> Column:
        return self.board.columns.get(metric.name, DEFAULT_COLUMN)

    def scoring_json(self) -> str:
        """The settings that decide the scores, for the evaluation key."""
        return self.model_dump_json(exclude=NOT_SCORED)

    def internal_location(self, repo: Path) -> str:
        """Where the evaluation reads the internal data: a store URL or a
        folder (``CAMINO_INTERNAL_STORE`` applies; see camino.stores)."""
        return internal_location(self.name, self.internal, repo).url


class Meta(Strict):
    """meta.yml of a model folder."""

    playbook: Slug
    name: Slug
    description: StrictStr = ""
    metrics: list[MetricEntry] | None = None

    @field_validator("metrics", mode="before")
    @classmethod
    def _metrics_is_a_list(cls, value: Any) -> Any:
        return None if value is None else _require_metric_list(value)


def _check_columns(columns: dict[str, Column], names: list[str]) -> None:
    unknown = sorted(set(columns) - set(names))
    if unknown:
        raise ValueError(
            f"board.columns names {', '.join(unknown)}, which the playbook does "
            f"not score; the metrics are: {', '.join(names)}"
        )
    first = names[0]
    if first in columns and columns[first].hidden:
        raise ValueError(
            f"board.columns: {first} ranks the board (it is the first metric), "
            "so it cannot be hidden"
        )


def _require_metric_list(value: Any) -> Any:
    # `metrics: f1` would otherwise iterate as the metrics "f" and "1".
    if isinstance(value, str):
        raise ValueError(f"must be a list, e.g. [{value}, accuracy]")
    if isinstance(value, list) and not value:
        raise ValueError("needs at least one metric")
    return value


def load_playbook(folder: Path) -> Playbook:
    """Read ``folder/playbook.yml``; the folder's name must match ``name``."""
    path = folder / "playbook.yml"
    display = _display(path)
    playbook = parse(Playbook, path, display)
    if playbook.name != folder.name:
        raise SpecError(
            f"{display}: name is {playbook.name!r} but the folder is "
            f"{folder.name!r}; they must match"
        )
    return playbook


def load_meta(model_dir: Path, name: str = "meta.yml") -> Meta:
    return parse(Meta, model_dir / "meta.yml", name)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def find_repo(start: Path) -> Path | None:
    """The competition repository holding ``start``: the nearest parent with
    a ``playbooks/`` folder."""
    for folder in [start.resolve(), *start.resolve().parents]:
        if (folder / "playbooks").is_dir():
            return folder
    return None


def playbook_dir(repo: Path, name: str) -> Path:
    folder = repo / "playbooks" / name
    if not (folder / "playbook.yml").is_file():
        known = sorted(p.parent.name for p in repo.glob("playbooks/*/playbook.yml"))
        raise SpecError(
            f"unknown playbook {name!r}; the playbooks in {repo} are: "
            f"{', '.join(known) or '(none)'}"
        )
    return folder


def all_playbooks(repo: Path) -> list[Playbook]:
    """Every playbook of the competition in ``repo``, by name."""
    folders = sorted(path.parent for path in repo.glob("playbooks/*/playbook.yml"))
    return [load_playbook(folder) for folder in folders]
