"""The public/private cut of the internal validation rows, the private file,
and what a record says about who caused a failure."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import GOOD_IRIS, ROOT, S3, write_model

from camino.errors import CaminoError, PlatformFailed, SpecError
from camino.evaluator import holdout, pipeline, process
from camino.evaluator.pipeline import (
    artifact_dir,
    evaluate,
    keep_private,
    load_internal,
)
from camino.evaluator.results import (
    BASELINE_AUTHOR,
    FAULT_MODEL,
    FAULT_PLATFORM,
    Record,
    counted_evaluations,
)
from camino.playbook import Playbook, load_playbook

SETOSA_ONLY = """
    import pandas as pd

    class Model:
        def __init__(self):
            self.y = "species"
            self.X = ["sepal_length"]

        def train(self):
            pass

        def predict(self, items):
            return ["setosa"] * len(items)
"""


def iris(repo: Path) -> Playbook:
    return load_playbook(repo / "playbooks" / "iris")


def with_board(playbook: Playbook, **settings: object) -> Playbook:
    return playbook.model_copy(
        update={"board": playbook.board.model_copy(update=settings)}
    )


# --- the cut ------------------------------------------------------------------


def test_the_cut_is_the_same_every_time_and_stratified(competition: Path) -> None:
    playbook = iris(competition)
    _, validate = load_internal(competition, playbook)
    truth = validate[playbook.target]

    first = holdout.private_rows(truth, playbook)
    again = holdout.private_rows(truth.copy(), playbook)

    assert np.array_equal(first, again)
    assert first.sum() == len(truth) - len(truth) // 2
    per_class = truth[first].value_counts() - truth[~first].value_counts()
    assert per_class.abs().max() <= 1, per_class


def test_another_seed_or_fraction_cuts_other_rows() -> None:
    playbook = load_playbook(ROOT / "playbooks" / "iris")
    truth = pd.Series(["a", "b", "c"] * 20)

    base = holdout.private_rows(truth, playbook)
    reseeded = holdout.private_rows(truth, with_board(playbook, seed=99))
    quarter = holdout.private_rows(truth, with_board(playbook, private_fraction=0.25))
    none = holdout.private_rows(truth, with_board(playbook, private_fraction=0))

    assert not np.array_equal(base, reseeded)
    assert quarter.sum() == 15
    assert not none.any()


def test_a_class_too_small_to_stratify_still_cuts_deterministically() -> None:
    playbook = load_playbook(ROOT / "playbooks" / "iris")
    truth = pd.Series(["a"] * 9 + ["rare"])

    first = holdout.private_rows(truth, playbook)

    assert first.sum() == 5
    assert np.array_equal(first, holdout.private_rows(truth, playbook))


# --- what is recorded where ---------------------------------------------------


def test_the_record_holds_public_scores_and_the_private_ones_stay_apart(
    competition: Path,
) -> None:
    # Always answering "setosa" scores its share of the rows: a number this
    # test can compute from the internal data and the cut alone.
    playbook = iris(competition)
    _, validate = load_internal(competition, playbook)
    truth = validate[playbook.target]
    private = holdout.private_rows(truth, playbook)
    folder = write_model(competition, SETOSA_ONLY)

    record, _ = evaluate(competition, folder)

    part = holdout.read_private(competition, record)
    assert part is not None
    assert record.rows == (~private).sum() and part.rows == private.sum()
    assert record.scores["accuracy"] == pytest.approx(
        (truth[~private] == "setosa").mean()
    )
    assert part.scores["accuracy"] == pytest.approx((truth[private] == "setosa").mean())
    low, high = record.intervals["accuracy"]
    assert low < record.scores["accuracy"] < high

    committed = (competition / "leaderboard").rglob("*")
    assert not any("private" in path.name for path in committed)
    stored = json.loads(holdout.private_path(competition, record).read_text())
    assert stored["scores"]["accuracy"] == part.scores["accuracy"]


def test_a_private_store_keeps_scores_and_artifacts_past_the_runner(
    competition: Path, s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMINO_PRIVATE_STORE", f"s3://{s3.bucket}/kept")
    folder = write_model(competition, SETOSA_ONLY)

    record, _ = evaluate(competition, folder)

    name = record.file_name.removesuffix(".json")
    assert s3.keys("kept/") == [
        f"kept/artifacts/iris/{name}/internal.log",
        f"kept/artifacts/iris/{name}/model.pkl",
        f"kept/artifacts/iris/{name}/smoke.log",
        f"kept/private/iris/{record.file_name}",
    ]
    # Another machine (the runner is gone with its disk) finds the scores.
    kept = holdout.read_private(competition, record)
    shutil.rmtree(competition / holdout.PRIVATE)
    assert holdout.fetch_private(competition, "iris") == 1
    assert holdout.read_private(competition, record) == kept


def test_git_ignores_the_private_scores() -> None:
    path = holdout.PRIVATE / "iris" / "ada--knn--0123456789ab.json"

    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", str(path)], cwd=ROOT
    )

    assert ignored.returncode == 0, f"{path} would be committed"


def test_display_settings_do_not_change_what_is_scored() -> None:
    playbook = load_playbook(ROOT / "playbooks" / "iris")
    shown = playbook.model_copy(
        update={"deadline": dt.date(2030, 1, 1), "title": "Other"}
    )
    reseeded = with_board(playbook, seed=123)

    assert shown.scoring_json() == playbook.scoring_json()
    assert reseeded.scoring_json() != playbook.scoring_json()


# --- the baseline ---------------------------------------------------------------


def test_the_template_is_evaluated_as_the_baseline(competition: Path) -> None:
    template = competition / "playbooks" / "iris" / "template"

    record, _ = evaluate(competition, template)

    assert record.scored, record.error
    assert record.author == BASELINE_AUTHOR and record.is_baseline
    assert record.path == "playbooks/iris/template"


def test_no_participant_can_take_the_baseline_name(competition: Path) -> None:
    folder = write_model(competition, GOOD_IRIS, author=BASELINE_AUTHOR)

    with pytest.raises(SpecError, match="reserved"):
        evaluate(competition, folder)


# --- who caused a failure, and the daily count ----------------------------------


def broken_sandbox(
    argv: list[str], workdir: Path, limits: process.Limits
) -> process.Outcome:
    # Stands in for issue 3's sandbox failing before the model could start.
    raise PlatformFailed("sandbox", "bubblewrap could not create a namespace")


def test_a_platform_failure_is_recorded_as_such(competition: Path) -> None:
    folder = write_model(competition, GOOD_IRIS)

    record, _ = evaluate(competition, folder, launcher=broken_sandbox)

    assert record.status == "failed" and record.fault == FAULT_PLATFORM
    assert record.error == {
        "category": "sandbox",
        "message": "bubblewrap could not create a namespace",
    }
    assert not record.counts_against_limit

    # The same files on the same data: a platform failure is run again.
    again, is_new = evaluate(competition, folder)
    assert is_new and again.scored and again.file_name == record.file_name


FORGED_FAILURE = """
    import json, os
    import pandas as pd

    class Model:
        def __init__(self):
            self.data = pd.read_csv("data/train.csv")
            self.y = "species"
            self.X = [c for c in self.data.columns if c != self.y]

        def train(self):
            # The harness's failure file, written by the model itself, with
            # rows of the training data as the "step" and a format field.
            os.makedirs(".camino/out", exist_ok=True)
            step = self.data.head(3).to_csv() + "{boom}"
            with open(".camino/out/failure.json", "w") as out:
                json.dump({"step": step, "message": "x"}, out)
            os._exit(1)
"""


def test_a_model_cannot_name_its_own_failure_category(competition: Path) -> None:
    folder = write_model(competition, FORGED_FAILURE)

    record, _ = evaluate(competition, folder)

    assert record.status == "failed" and record.fault == FAULT_MODEL
    assert record.error["category"] == "output"
    assert "sepal" not in json.dumps(record.error)
    assert "does not know" in record.error["message"]


FORGED_RESULT = (
    FORGED_FAILURE.replace(
        'json.dump({"step": step, "message": "x"}, out)', 'json.dump({"x": step}, out)'
    )
    .replace("failure.json", "result.json")
    .replace("os._exit(1)", "os._exit(0)")
)


def test_a_result_the_model_forged_is_its_own_failure(competition: Path) -> None:
    folder = write_model(competition, FORGED_RESULT)

    record, _ = evaluate(competition, folder)

    assert record.status == "failed" and record.fault == FAULT_MODEL
    assert record.error["category"] == "output"
    assert "cannot read" in record.error["message"]


@pytest.mark.parametrize(
    ("reported", "limit", "kept"),
    [(0.123456, 5, 0.12), (1e9, 120, 120), (float("nan"), 60, 60), (-1, 5, 0.0)],
)
def test_self_reported_numbers_are_kept_coarse_and_within_limits(
    reported: float, limit: float, kept: float
) -> None:
    assert pipeline._coarse(reported, limit) == kept


def test_a_model_failure_is_the_models(competition: Path) -> None:
    folder = write_model(competition, "raise SystemExit('no')\n")

    record, _ = evaluate(competition, folder)

    assert record.status == "failed" and record.fault == FAULT_MODEL
    assert record.counts_against_limit


def made(
    author: str, when: str, status: str = "scored", fault: str | None = None
) -> Record:
    return Record(
        playbook="iris",
        author=author,
        model="m",
        path=f"submissions/iris/{author}/m",
        key=when[-8:],
        status=status,
        metrics=[],
        fault=fault,
        evaluated_at=when,
    )


def test_the_daily_count_skips_platform_failures_and_older_runs() -> None:
    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    records = [
        made("carol", "2026-12-01T11:59:59+00:00"),  # 24 h and a second ago
        made("carol", "2026-12-01T12:00:00+00:00"),  # exactly 24 h ago
        made("carol", "2026-12-01T12:00:01+00:00"),
        made("carol", "2026-12-02T09:00:00+00:00", "failed", FAULT_MODEL),
        made("carol", "2026-12-02T10:00:00+00:00", "failed", FAULT_PLATFORM),
        made("dave", "2026-12-02T11:00:00+00:00"),
        made("carol", "2026-12-02T11:30:00"),  # no zone: read as UTC
        made("carol", "2026-12-02T12:00:01+00:00"),  # a clock ahead of ours
        made("Carol", "2026-12-02T11:45:00+00:00"),  # logins ignore case
    ]

    counted = counted_evaluations(reversed(records), "carol", now)

    assert [r.evaluated_at for r in counted] == [
        "2026-12-01T12:00:01+00:00",
        "2026-12-02T09:00:00+00:00",
        "2026-12-02T11:30:00",
        "2026-12-02T11:45:00+00:00",
        "2026-12-02T12:00:01+00:00",
    ]


# --- record fields become folder and file names ------------------------------


def scored(**changes: object) -> Record:
    record = Record(
        playbook="iris",
        author="ada",
        model="knn",
        path="submissions/iris/ada/knn",
        key="0123456789ab",
        status="scored",
        metrics=[],
    )
    return replace(record, **changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"playbook": "../../.."},
        {"playbook": ".."},
        {"author": "../../x"},
        {"model": "x/../../../../../x"},
        {"key": "x/../../../../../x"},
        {"key": ""},
    ],
    ids=str,
)
def test_record_fields_that_would_leave_the_private_folders_are_refused(
    tmp_path: Path, changes: dict[str, str]
) -> None:
    forged = scored(**changes)

    with pytest.raises(CaminoError, match="cannot be part of a file name"):
        holdout.private_path(tmp_path, forged)
    with pytest.raises(CaminoError, match="cannot be part of a file name"):
        artifact_dir(tmp_path, forged)
    with pytest.raises(CaminoError, match="cannot be part of a file name"):
        keep_private(tmp_path / "repo", forged, {"smoke.log": "hi"})

    assert not list(tmp_path.rglob("smoke.log"))


def test_a_dot_pair_inside_a_model_name_stays_in_its_folder(tmp_path: Path) -> None:
    record = scored(model="v1..2")

    folder = artifact_dir(tmp_path, record)

    assert folder.parent == tmp_path / ".camino" / "artifacts" / "iris"


# --- the private store: every evaluating runner writes to it ----------------

PART = holdout.Part(50, {"f1": 0.8}, {}, {"f1": [0.7, 0.9]})


@pytest.fixture
def private_s3(s3: S3, monkeypatch: pytest.MonkeyPatch) -> S3:
    monkeypatch.setenv("CAMINO_PRIVATE_STORE", f"s3://{s3.bucket}/kept")
    return s3


def test_a_reveal_before_any_private_score_was_kept_fetches_none(
    private_s3: S3, tmp_path: Path
) -> None:
    assert holdout.fetch_private(tmp_path / "repo", "iris") == 0


def private_data(key: str, **changes: object) -> bytes:
    data = {"key": key, "rows": 50, "scores": {"f1": 0.1}, "score_problems": {}}
    return json.dumps({"intervals": {}, **data, **changes}).encode()


ODD = {
    "../../../x.json": b"{}",
    "dir.json/x": b"{}",
    "notes.txt": b"hello",
    "bo--knn--0123456789ab.json": b"not json",
    "cy--knn--0123456789ab.json": b"[1, 2]",
    # Another record's scores, copied under this name.
    "dee--knn--0123456789ab.json": private_data("ffffffffffff"),
    "eve--knn--0123456789ab.json": private_data("0123456789ab", scores="high"),
    "fay--knn--0123456789ab.json": private_data("0123456789ab", rows=-1),
}


def test_odd_objects_in_the_private_store_are_skipped_and_the_rest_fetched(
    private_s3: S3, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = scored()
    holdout.write_private(tmp_path / "other-runner", good, PART)
    for name, body in ODD.items():
        key = f"kept/private/iris/{name}"
        private_s3.client.put_object(Bucket=private_s3.bucket, Key=key, Body=body)
    repo = tmp_path / "repo"

    with caplog.at_level(logging.WARNING, logger="camino.evaluator.holdout"):
        assert holdout.fetch_private(repo, "iris") == 1

    assert holdout.read_private(repo, good) == PART
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == len(ODD)
    assert any("is not the file name's '0123456789ab'" in line for line in skipped)
    assert sorted(p.name for p in (repo / holdout.PRIVATE / "iris").iterdir()) == [
        good.file_name
    ]


def test_private_scores_of_another_key_are_not_read(tmp_path: Path) -> None:
    record = scored()
    path = holdout.write_private(tmp_path, record, PART)
    path.write_text(private_data("ffffffffffff").decode())

    assert holdout.read_private(tmp_path, record) is None
