"""camino playbook new: a playbook from a CSV the maintainer owns.

Writes ``playbooks/<name>/`` - playbook.yml, a template that trains as it is
(model.py, meta.yml, requirements.txt) - then runs the split, which writes the
public data next to it and the internal part to the local internal folder
(``.camino/internal/<name>``, git-ignored), ready for ``camino playbook
upload``. playbook.yml keeps a reference to the CSV (``source: csv:PATH``,
relative to the repo), never the CSV itself: it holds the internal rows, so
a CSV inside the repository must be git-ignored (or under ``.camino/``).

What a real-world CSV brings, and what happens:

* a UTF-8 byte-order mark (Excel's "CSV UTF-8") - read as if absent;
* ``;`` as separator and ``,`` as decimal mark (European Excel) - refused
  with the options to pass, ``--sep ";" --decimal ","``, which playbook.yml
  then records; numbers written with a decimal comma that would be read as
  text are refused the same way;
* duplicate rows - dropped before the split (the first is kept), so one copy
  cannot be public and the other internal; the count is reported;
* a classification target with one class, or empty target cells - refused;
* IDs that look like numbers (``007``) - the ``--id`` column is read as text
  everywhere camino reads it, and the template keeps it out of the features.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from camino.commands.split import SplitSummary, check_target, split_playbook
from camino.errors import DataError, SpecError
from camino.metrics import get_metric
from camino.playbook import CsvSource, Playbook
from camino.sources import as_csv_source, csv_path, load_source

DEFAULT_METRICS = {
    "classification": ["f1", "accuracy"],
    "regression": ["rmse", "mae", "r2"],
}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# A number written with a decimal comma: 5,1 or -0,25.
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


@dataclass(frozen=True)
class NewPlaybook:
    folder: Path
    source: str | dict[str, str]
    split: SplitSummary


@dataclass(frozen=True)
class Request:
    """What the maintainer asked for on the command line."""

    name: str
    source: str
    task: str
    target: str
    metrics: Sequence[str] = ()
    id: str | None = None
    sep: str = ","
    decimal: str = "."
    title: str | None = None


def new_playbook(
    repo: Path, request: Request, environ: Mapping[str, str] | None = None
) -> NewPlaybook:
    folder = repo / "playbooks" / request.name
    _check_name(request.name, folder)
    source = _source_reference(repo, request)
    playbook = _playbook(request, source)
    _check_data(repo, playbook)

    _write_folder(folder, playbook)
    try:
        summary = split_playbook(repo, request.name, environ)
    except BaseException:
        # A half-made playbook would make the next try fail on "exists".
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return NewPlaybook(folder, _dumped_source(playbook), summary)


def _check_name(name: str, folder: Path) -> None:
    if not _SLUG.match(name):
        raise SpecError(
            f"playbook name {name!r}: use lower-case letters, digits, '.', '_' "
            "and '-', starting with a letter or digit"
        )
    if folder.exists():
        raise SpecError(
            f"playbooks/{name} exists already; pick another name or edit its "
            "playbook.yml"
        )


def _source_reference(repo: Path, request: Request) -> str | CsvSource:
    """``sklearn:NAME``, or the CSV as a path relative to the repo."""
    if request.source.startswith("sklearn:"):
        return request.source

    csv = as_csv_source(request.source)
    path = csv_path(csv, Path.cwd()) if csv else Path(request.source).resolve()
    if not path.is_file():
        raise SpecError(f"--from {request.source}: no such file")
    _check_kept_out(path, repo)
    _check_separator(path, request)

    reference = Path(os.path.relpath(path, repo.resolve())).as_posix()
    if request.sep == "," and request.decimal == ".":
        return f"csv:{reference}"
    try:
        return CsvSource(csv=reference, sep=request.sep, decimal=request.decimal)
    except ValueError:
        raise SpecError(
            f"--sep {request.sep!r} --decimal {request.decimal!r}: the separator "
            "is one of ',', ';', tab, '|' and the decimal mark '.' or ',', and "
            "they differ"
        ) from None


def _check_kept_out(path: Path, repo: Path) -> None:
    """The CSV holds the internal rows: inside the repo it must be ignored."""
    root = repo.resolve()
    if not path.is_relative_to(root) or path.is_relative_to(root / ".camino"):
        return
    if _git_ignores(root, path):
        return
    raise SpecError(
        f"{path} lies inside the competition repository and git does not "
        "ignore it; it holds the internal data and must never be committed: "
        "move it out of the repository (e.g. ../private/) or under .camino/"
    )


def _git_ignores(repo: Path, path: Path) -> bool:
    try:
        found = subprocess.run(
            ["git", "-C", str(repo), "check-ignore", "-q", str(path)],
            capture_output=True,
            timeout=60,
        )
    except FileNotFoundError:
        return False
    return found.returncode == 0


def _check_separator(path: Path, request: Request) -> None:
    # read_table would refuse the file too; here the message can name the
    # options of this command.
    with path.open(encoding="utf-8-sig", errors="replace") as file:
        header = file.readline()
    if request.sep != "," or "," in header:
        return
    if ";" in header:
        raise SpecError(
            f"{path}: the header is separated by ';', not ','; run again with "
            "--sep ';' (and --decimal ',' if numbers are written like 5,1)"
        )
    if "\t" in header:
        raise SpecError(
            f"{path}: the header is separated by tabs, not ','; run again "
            "with --sep tab"
        )


def _playbook(request: Request, source: str | CsvSource) -> Playbook:
    metrics = list(request.metrics) or DEFAULT_METRICS.get(request.task, [])
    for index, entry in enumerate(metrics):
        get_metric(entry, request.task, where=f"--metrics[{index}]")
    title = request.title or request.name.replace("-", " ").capitalize()
    try:
        return Playbook(
            name=request.name,
            title=title,
            task=request.task,  # type: ignore[arg-type]
            target=request.target,
            id=request.id,
            metrics=metrics,  # type: ignore[arg-type]
            source=source,
        )
    except ValueError as error:
        raise SpecError(f"playbook {request.name!r}: {error}") from None


def _check_data(repo: Path, playbook: Playbook) -> None:
    """Read the source as the split will, and refuse what cannot work."""
    assert playbook.source is not None
    ids = [playbook.id] if playbook.id else []
    frame = load_source(playbook.source, playbook.target, "--from", repo=repo, text=ids)
    if playbook.id and playbook.id not in frame.columns:
        raise DataError(
            f"--id {playbook.id!r} is not a column of the data; the columns "
            f"are: {', '.join(map(str, frame.columns))}"
        )
    _check_decimal_commas(frame, ids)
    check_target(frame, playbook, "--from")


def _check_decimal_commas(frame: pd.DataFrame, skipped: list[str]) -> None:
    for column in frame.columns:
        if column in skipped or frame[column].dtype.kind in "biuf":
            continue
        values = frame[column].dropna().astype(str)
        if len(values) and values.map(lambda v: bool(_DECIMAL_COMMA.match(v))).all():
            raise DataError(
                f"column {column!r} holds numbers written with a decimal comma "
                f"(e.g. {values.iloc[0]!r}), which would be read as text; run "
                "again with --decimal ',' (and --sep ';' for a ';' file)"
            )


def _write_folder(folder: Path, playbook: Playbook) -> None:
    """playbook.yml and template/, built aside and renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        (staging / "playbook.yml").write_text(_playbook_yaml(playbook))
        template = staging / "template"
        template.mkdir()
        (template / "model.py").write_text(model_source(playbook))
        (template / "meta.yml").write_text(
            f"playbook: {playbook.name}\nname: my-model        # the model's "
            "name, used in the submission path\n"
        )
        (template / "requirements.txt").write_text("scikit-learn\npandas\n")
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _playbook_yaml(playbook: Playbook) -> str:
    data: dict[str, Any] = {
        "name": playbook.name,
        "title": playbook.title,
        "task": playbook.task,
        "target": playbook.target,
    }
    if playbook.id:
        data["id"] = playbook.id
    data["metrics"] = list(playbook.metrics)
    data["source"] = _dumped_source(playbook)
    data["split"] = {"seed": 0, "public_fraction": 0.5, "validate_fraction": 0.3}
    header = (
        "# Made by camino playbook new. The source CSV holds the internal rows:\n"
        "# it stays out of the repository. See camino playbook --help.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _dumped_source(playbook: Playbook) -> str | dict[str, str]:
    source = playbook.source
    if isinstance(source, CsvSource):
        return source.model_dump()
    return str(source)


def model_source(playbook: Playbook) -> str:
    """A template model.py that trains on any mix of number and text columns."""
    classify = playbook.task == "classification"
    estimator = "LogisticRegression(max_iter=1000)" if classify else "Ridge()"
    import_line = (
        "from sklearn.linear_model import LogisticRegression"
        if classify
        else "from sklearn.linear_model import Ridge"
    )
    proba = _PROBA if classify else ""
    code = _MODEL.format(
        name=playbook.name,
        answer="one label" if classify else "one number",
        target=playbook.target,
        id=playbook.id,
        estimator=estimator,
        import_line=import_line,
        proba=proba,
    )
    return textwrap.dedent(code).lstrip()


_MODEL = '''
    """Starting model for the {name} playbook: predict {target!r}.

    camino uses the ``Model`` class below, always from inside this folder:

    1. ``Model()`` reads ``data/train.csv`` and names the feature columns
       (``self.X``) and the target column (``self.y``).
    2. ``train()`` fits the model on those rows.
    3. ``save()`` writes ``model.pkl``; camino reloads it and predicts with the
       reloaded object, so keep everything on ``self`` picklable.
    4. ``predict(items)`` gets a pandas DataFrame with the ``self.X`` columns
       and returns {answer} per row, in the same order.

    Run ``camino test`` here to train on ``data/train.csv`` and see your scores
    on ``data/validate.csv``. Then improve it.
    """

    import pickle

    import pandas as pd
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.impute import SimpleImputer
    {import_line}
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    TARGET = {target!r}
    # The row ID is no feature; it is read as text so 007 keeps its zeros.
    ID = {id!r}


    class Model:
        def __init__(self):
            self.data = pd.read_csv("data/train.csv", dtype={{ID: str}} if ID else None)
            self.y = TARGET
            self.X = [c for c in self.data.columns if c not in (TARGET, ID)]

            # Numbers: fill gaps with the median, then scale. Text: fill gaps
            # with the most frequent value, then one column per value.
            numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
            text = make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore"),
            )
            features = make_column_transformer(
                (numbers, make_column_selector(dtype_include="number")),
                (text, make_column_selector(dtype_exclude="number")),
            )
            self.model = make_pipeline(features, {estimator})

        def train(self):
            self.model.fit(self.data[self.X], self.data[self.y])

        def predict(self, items):
            return self.model.predict(items[self.X])
    {proba}
        def save(self):
            with open("model.pkl", "wb") as file:
                pickle.dump(self, file)
'''

_PROBA = """
        def predict_proba(self, items):
            return pd.DataFrame(
                self.model.predict_proba(items[self.X]),
                columns=self.model.classes_,
                index=items.index,
            )
"""
