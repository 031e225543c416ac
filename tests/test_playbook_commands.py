"""camino playbook new / split / upload / check, as a maintainer runs them.

Each test works in a copy of the competition that is a real git repository,
with the maintainer's CSV beside it (outside the repo, where it belongs).
Commands run through typer's CliRunner; templates train in real processes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import BUCKET, S3, commit_all, git
from typer.testing import CliRunner, Result

from camino.app import app
from camino.commands.check import check_playbook, row_hashes, to_markdown

HEADER = "patient,age,chol,sex,disease\n"


def camino(*args: object) -> Result:
    return CliRunner().invoke(app, [str(arg) for arg in args])


@pytest.fixture
def repo(competition: Path) -> Path:
    """The split competition, committed to git, internal data ignored."""
    (competition / ".gitignore").write_text(".camino/\n")
    commit_all(competition, "competition")
    return competition


@pytest.fixture
def private(repo: Path) -> Path:
    folder = repo.parent / "private"
    folder.mkdir()
    return folder


def heart_rows(count: int = 120) -> list[str]:
    """Rows a model can learn: older patients have the disease."""
    rows = []
    for n in range(count):
        age = 25 + (n * 37) % 55
        chol = 150 + (n * 13) % 90 + 0.5
        sex = "mf"[n % 2]
        disease = "yes" if age + (n % 7) > 52 else "no"
        rows.append(f"{n:04d},{age},{chol},{sex},{disease}\n")
    return rows


def write_csv(folder: Path, text: str, name: str = "heart.csv") -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return path


def new(repo: Path, csv: Path, *options: str) -> Result:
    return camino(
        "playbook", "new", "heart", "--from", csv, "--task", "classification",
        "--target", "disease", "--repo", repo, *options,
    )  # fmt: skip


def public(repo: Path, name: str = "heart") -> pd.DataFrame:
    data = repo / "playbooks" / name / "data"
    frames = [pd.read_csv(data / f, dtype=str) for f in ("train.csv", "validate.csv")]
    return pd.concat(frames, ignore_index=True)


def internal(repo: Path, name: str = "heart") -> pd.DataFrame:
    data = repo / ".camino" / "internal" / name
    frames = [pd.read_csv(data / f, dtype=str) for f in ("train.csv", "validate.csv")]
    return pd.concat(frames, ignore_index=True)


def statuses(result: Result) -> dict[str, str]:
    """check name -> pass/fail/skip, from the --markdown output."""
    rows = [line.split("|") for line in result.stdout.splitlines()]
    cells = [[cell.strip() for cell in row[1:3]] for row in rows if len(row) == 5]
    return {check: status for check, status in cells if status not in ("result", "---")}


# --- new: from a CSV to a playbook that passes its checks ------------------------


def test_new_makes_a_playbook_that_passes_check_and_keeps_the_csv_out(
    repo: Path, private: Path
) -> None:
    csv = write_csv(private, HEADER + "".join(heart_rows()))

    made = new(repo, csv, "--id", "patient")
    checked = camino("playbook", "check", "heart", "--markdown", "--repo", repo)

    assert made.exit_code == 0, made.output
    assert checked.exit_code == 0, checked.output
    assert set(statuses(checked).values()) == {"pass"}, checked.stdout
    spec = yaml.safe_load((repo / "playbooks/heart/playbook.yml").read_text())
    assert spec["source"] == "csv:../private/heart.csv"
    assert spec["id"] == "patient" and spec["metrics"] == ["f1", "accuracy"]
    for name in ("model.py", "meta.yml", "requirements.txt"):
        assert (repo / "playbooks/heart/template" / name).is_file()
    # Every row is public or internal, none both, and the CSV itself is not
    # copied into the playbook.
    shown, hidden = public(repo), internal(repo)
    assert len(shown) + len(hidden) == 120
    assert not set(shown["patient"]) & set(hidden["patient"])
    assert sorted(p.name for p in (repo / "playbooks/heart").rglob("*.csv")) == [
        "train.csv",
        "validate.csv",
    ]


def test_ids_that_look_like_numbers_stay_text(repo: Path, private: Path) -> None:
    csv = write_csv(private, HEADER + "".join(heart_rows()))

    made = new(repo, csv, "--id", "patient")

    assert made.exit_code == 0, made.output
    written = (repo / "playbooks/heart/data/train.csv").read_text().splitlines()
    assert all(len(line.split(",")[0]) == 4 for line in written[1:])
    assert "0007" in set(public(repo)["patient"]) | set(internal(repo)["patient"])


def test_c13_a_byte_order_mark_is_read_as_if_absent(repo: Path, private: Path) -> None:
    csv = write_csv(private, "\ufeff" + HEADER + "".join(heart_rows()))

    made = new(repo, csv)

    assert made.exit_code == 0, made.output
    header = (repo / "playbooks/heart/data/train.csv").read_bytes().split(b"\n")[0]
    assert header == HEADER.strip().encode()


def test_c16_a_european_export_needs_its_separator_and_decimal_mark(
    repo: Path, private: Path
) -> None:
    rows = [row.replace(",", ";").replace(".5", ",5") for row in heart_rows()]
    csv = write_csv(private, HEADER.replace(",", ";") + "".join(rows))

    plain = new(repo, csv)
    separator_only = new(repo, csv, "--sep", ";")
    both = new(repo, csv, "--sep", ";", "--decimal", ",")

    assert plain.exit_code == 2 and "--sep ';'" in plain.output
    assert separator_only.exit_code == 2
    assert "decimal comma" in separator_only.output
    assert "--decimal ','" in separator_only.output
    assert both.exit_code == 0, both.output
    chol = pd.read_csv(repo / "playbooks/heart/data/train.csv")["chol"]
    assert chol.dtype == float and chol.iloc[0] % 1 == 0.5
    spec = yaml.safe_load((repo / "playbooks/heart/playbook.yml").read_text())
    assert spec["source"] == {"csv": "../private/heart.csv", "sep": ";", "decimal": ","}


def test_a_tab_separated_file_reads_with_sep_tab(repo: Path, private: Path) -> None:
    rows = [row.replace(",", "\t") for row in heart_rows()]
    csv = write_csv(private, HEADER.replace(",", "\t") + "".join(rows))

    plain = new(repo, csv)
    tabbed = new(repo, csv, "--sep", "tab")

    assert plain.exit_code == 2 and "--sep tab" in plain.output
    assert tabbed.exit_code == 0, tabbed.output
    spec = yaml.safe_load((repo / "playbooks/heart/playbook.yml").read_text())
    assert spec["source"]["sep"] == "\t"


def test_an_impossible_separator_is_refused(repo: Path, private: Path) -> None:
    csv = write_csv(private, HEADER + "".join(heart_rows()))

    made = new(repo, csv, "--decimal", ",")

    assert made.exit_code == 2, made.output
    assert "they differ" in made.output


def test_new_from_a_scikit_learn_data_set(repo: Path) -> None:
    made = camino(
        "playbook", "new", "flowers", "--from", "sklearn:iris", "--task",
        "classification", "--target", "kind", "--metrics", "accuracy,f1",
        "--repo", repo,
    )  # fmt: skip

    assert made.exit_code == 0, made.output
    assert "Created playbooks/flowers/" in made.output
    spec = yaml.safe_load((repo / "playbooks/flowers/playbook.yml").read_text())
    assert spec["source"] == "sklearn:iris"
    assert spec["metrics"] == ["accuracy", "f1"]
    assert "kind" in public(repo, "flowers").columns


def test_duplicate_rows_are_dropped_before_the_split_and_counted(
    repo: Path, private: Path
) -> None:
    rows = heart_rows()
    without_id = [row.split(",", 1)[1] for row in rows]
    csv = write_csv(
        private, HEADER.split(",", 1)[1] + "".join(without_id + without_id[:5])
    )

    made = new(repo, csv)

    assert made.exit_code == 0, made.output
    assert "dropped 5 duplicate row(s)" in made.output
    shown, hidden = public(repo), internal(repo)
    assert len(shown) + len(hidden) == 120
    columns = list(shown.columns)
    assert not set(row_hashes(shown, columns)) & set(row_hashes(hidden, columns))


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("yes", "has one class only ('yes')"),
        ("", "is empty on 120 row(s)"),
    ],
)
def test_a_target_that_cannot_be_learned_is_refused(
    repo: Path, private: Path, target: str, expected: str
) -> None:
    rows = [row.rsplit(",", 1)[0] + f",{target}\n" for row in heart_rows()]
    csv = write_csv(private, HEADER + "".join(rows))

    made = new(repo, csv)

    assert made.exit_code == 2
    assert expected in made.output
    assert not (repo / "playbooks" / "heart").exists()


def test_a_csv_inside_the_repo_must_be_git_ignored(repo: Path) -> None:
    csv = write_csv(repo, HEADER + "".join(heart_rows()))

    refused = new(repo, csv)
    (repo / ".gitignore").write_text(".camino/\nheart.csv\n")
    accepted = new(repo, csv)

    assert refused.exit_code == 2
    assert "must never be committed" in refused.output
    assert accepted.exit_code == 0, accepted.output


def test_an_existing_playbook_is_not_overwritten(repo: Path, private: Path) -> None:
    csv = write_csv(private, HEADER + "".join(heart_rows()))
    before = (repo / "playbooks/iris/playbook.yml").read_bytes()

    made = camino(
        "playbook", "new", "iris", "--from", csv, "--task", "classification",
        "--target", "disease", "--repo", repo,
    )  # fmt: skip

    assert made.exit_code == 2 and "exists already" in made.output
    assert (repo / "playbooks/iris/playbook.yml").read_bytes() == before


# --- check: what a reviewer should not have to look for ---------------------------


def test_the_bundled_playbooks_pass_every_check(repo: Path) -> None:
    names = ["iris", "wine", "breast-cancer", "diabetes"]

    checked = camino("playbook", "check", *names, "--markdown", "--repo", repo)

    assert checked.exit_code == 0, checked.output
    assert checked.stdout.count(": passed") == 4
    assert "| fail |" not in checked.stdout and "| skip |" not in checked.stdout


def _leak_a_row(repo: Path) -> None:
    train = repo / "playbooks/iris/data/train.csv"
    hidden = (repo / ".camino/internal/iris/validate.csv").read_text().splitlines()
    train.write_text(train.read_text() + hidden[1] + "\n")


def _misfit_metric(repo: Path) -> None:
    spec = repo / "playbooks/iris/playbook.yml"
    text = spec.read_text().replace("  - accuracy\n", "  - rmse\n")
    spec.write_text(text)


def _drop_target(repo: Path) -> None:
    for name in ("train.csv", "validate.csv"):
        path = repo / "playbooks/iris/data" / name
        frame = pd.read_csv(path).rename(columns={"species": "kind"})
        frame.to_csv(path, index=False)


def _one_class(repo: Path) -> None:
    path = repo / "playbooks/iris/data/train.csv"
    frame = pd.read_csv(path).assign(species="setosa")
    frame.to_csv(path, index=False)


def _track_internal(repo: Path) -> None:
    git(repo, "add", "-f", ".camino/internal/iris/validate.csv")


def _break_template(repo: Path) -> None:
    model = repo / "playbooks/iris/template/model.py"
    model.write_text(
        model.read_text().replace(
            "    def train(self):\n",
            "    def train(self):\n        raise ValueError('boom')\n",
        )
    )


@pytest.mark.parametrize(
    ("breakage", "failing", "expected"),
    [
        (_leak_a_row, "overlap", "1 public row(s) are also internal rows"),
        (_misfit_metric, "metrics", "rmse"),
        (_drop_target, "target", "column 'species' is not in the public data"),
        (_one_class, "classes", "has 1 class (setosa)"),
        (_track_internal, "git", ".camino/internal/iris/validate.csv"),
        (_break_template, "template", "failed at train"),
    ],
)
def test_check_fails_with_exit_2_and_names_the_problem(
    repo: Path, breakage: object, failing: str, expected: str
) -> None:
    assert callable(breakage)
    breakage(repo)

    checked = camino("playbook", "check", "iris", "--markdown", "--repo", repo)

    assert checked.exit_code == 2, checked.output
    assert statuses(checked)[failing] == "fail", checked.stdout
    row = next(line for line in checked.stdout.splitlines() if f"| {failing} |" in line)
    assert expected in row


def test_check_prints_a_table_without_markdown(repo: Path) -> None:
    _track_internal(repo)

    checked = camino("playbook", "check", "iris", "--repo", repo)

    assert checked.exit_code == 2
    assert "playbook iris: FAILED" in checked.stdout
    assert "git" in checked.stdout and "fail" in checked.stdout


def test_markdown_escapes_pipes_in_details(repo: Path) -> None:
    report = check_playbook(repo, "iris")
    report.add("extra", "fail", "a | b\nc")

    text = to_markdown(report)

    assert "| extra | fail | a \\| b c |" in text
    assert "FAILED" in text.splitlines()[0]


# --- upload: the internal part to S3, and check reading it back -------------------


def test_upload_sends_the_internal_part_and_check_reads_it_from_s3(
    repo: Path, s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = camino(
        "playbook", "upload", "iris", "--store", f"s3://{BUCKET}/comp", "--repo", repo
    )
    shutil.rmtree(repo / ".camino" / "internal" / "iris")
    monkeypatch.setenv("CAMINO_INTERNAL_STORE", f"s3://{BUCKET}/comp")
    checked = camino("playbook", "check", "iris", "--markdown", "--repo", repo)

    assert sent.exit_code == 0, sent.output
    assert s3.keys() == ["comp/iris/train.csv", "comp/iris/validate.csv"]
    assert checked.exit_code == 0, checked.output
    assert statuses(checked)["overlap"] == "pass"


def test_upload_defaults_to_camino_internal_store(
    repo: Path, s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMINO_INTERNAL_STORE", f"s3://{BUCKET}/secret-prefix")

    sent = camino("playbook", "upload", "wine", "--repo", repo)

    assert sent.exit_code == 0, sent.output
    assert s3.keys() == [
        "secret-prefix/wine/train.csv",
        "secret-prefix/wine/validate.csv",
    ]
    assert "secret-prefix" not in sent.output
    assert "CAMINO_INTERNAL_STORE" in sent.output


def test_upload_without_a_split_names_the_command(repo: Path, s3: S3) -> None:
    shutil.rmtree(repo / ".camino" / "internal" / "iris")

    sent = camino(
        "playbook", "upload", "iris", "--store", f"s3://{BUCKET}/c", "--repo", repo
    )

    assert sent.exit_code == 2
    assert "camino playbook split iris" in sent.output
    assert s3.keys() == []


def test_without_credentials_check_skips_the_overlap_and_says_why(
    repo: Path, s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fork's pull request: the store is configured, the secrets are not.
    monkeypatch.setenv("CAMINO_INTERNAL_STORE", f"s3://{BUCKET}/comp")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    report = check_playbook(repo, "wine")

    overlap = next(f for f in report.findings if f.check == "overlap")
    assert overlap.status == "skip" and "no AWS credentials" in overlap.detail
    assert report.passed


def test_split_of_a_playbook_read_from_s3_says_to_upload(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMINO_INTERNAL_STORE", f"s3://{BUCKET}/comp")

    split = camino("playbook", "split", "iris", "--repo", repo)

    assert split.exit_code == 0, split.output
    assert "camino playbook upload iris" in split.output
    assert os.path.isfile(repo / ".camino/internal/iris/train.csv")
