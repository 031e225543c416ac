"""``competition.yml`` at the repository root: how the competition runs on
GitHub. Every key is optional; without the file the defaults below apply.

    merge: auto          # auto: merge a scored submission; manual: leave it
    approval: first-time # first-time: new contributors wait for a maintainer;
                         # external: everyone who is not a maintainer waits
    branch: main         # the branch that holds the board
    limits:
      file_mb: 5         # largest file of a submission
      total_mb: 20       # all files of a submission together
      files: 200         # number of files of a submission
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from camino.yamlfile import parse

FILE = "competition.yml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubmissionLimits(Strict):
    file_mb: float = Field(5, gt=0)
    total_mb: float = Field(20, gt=0)
    files: int = Field(200, gt=0)


class Competition(Strict):
    merge: Literal["auto", "manual"] = "auto"
    approval: Literal["first-time", "external"] = "first-time"
    branch: StrictStr = "main"
    limits: SubmissionLimits = SubmissionLimits()


def load_competition(repo: Path) -> Competition:
    path = repo / FILE
    if not path.is_file():
        return Competition()
    return parse(Competition, path, FILE)
