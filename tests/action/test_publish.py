"""The publish job's checks of the outcome file, which the job that ran the
submission wrote: fields that go into the comment and the committed record
must be what camino writes there."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from support import iris_record

from camino.action.outcome import Outcome
from camino.action.publish import validate
from camino.action.run import Job
from camino.errors import CaminoError
from camino.evaluator.results import write_record

HEAD = "b" * 40
JOB = Job(7, HEAD, "alice")


def outcome_with(**fields: object) -> Outcome:
    record = asdict(iris_record("alice", 0.9))
    record.update(fields)
    return Outcome(
        "scored", 7, HEAD, "alice", "submissions/iris/alice/knn", record=record
    )


def test_an_outcome_with_provenance_passes(competition: Path) -> None:
    outcome = outcome_with(
        submission_commit=HEAD,
        environment_lock="0123456789abcdef",
        runner={"name": "camino-x7k2p", "cpus": 2.0},
    )

    validate(outcome, JOB, competition)


def test_an_outcome_from_before_provenance_passes(competition: Path) -> None:
    validate(outcome_with(), JOB, competition)


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("submission_commit", "main; rm -rf /", "submission_commit"),
        ("environment_lock", ["not", "text"], "environment_lock"),
        ("data_version", "`injected`", "data_version"),
        ("runner", "camino-x7k2p", "runner 'camino-x7k2p'; expected a mapping"),
    ],
    ids=["commit", "lock", "data", "runner"],
)
def test_a_malformed_provenance_field_is_refused(
    competition: Path, field: str, value: object, said: str
) -> None:
    with pytest.raises(CaminoError) as caught:
        validate(outcome_with(**{field: value}), JOB, competition)

    assert "outcome.json" in str(caught.value) and said in str(caught.value)


ENSEMBLE = {
    "voting": "hard",
    "refit": False,
    "members": ["[pwn](https://evil.example)"],
    "member_scores": [1.0],
    "weights": None,
    "best_member": 1.0,
    "gain": 0.5,
    "without": [None],
    "agreement": [[1.0]],
}
MARKUP = "f1 <img src=https://evil.example/x.png> [click](https://evil.example)"
TAMPERED: list[tuple[dict[str, Any], str]] = [
    # Outside every daily window: the run would count for nothing.
    ({"evaluated_at": "2000-01-01T00:00:00+00:00"}, "evaluated_at"),
    ({"evaluated_at": "not a time"}, "evaluated_at"),
    (
        {"metrics": [{"name": "f1", "display": MARKUP, "greater_is_better": True}]},
        "metrics entry 'f1'",
    ),
    ({"kind": "ensemble", "details": ENSEMBLE}, "kind 'ensemble' by 'alice'"),
    ({"details": ENSEMBLE}, "details"),
    ({"submission_commit": "c" * 40}, "submission_commit"),
    ({"schema": 99}, "schema 99; expected 2"),
    ({"scores": {"f1": float("inf")}}, "scores['f1']"),
    ({"rows": "45 rows)\n\n# Injected"}, "rows"),
]


@pytest.mark.parametrize(("fields", "said"), TAMPERED, ids=[s for _, s in TAMPERED])
def test_a_tampered_record_in_the_outcome_is_refused(
    competition: Path, fields: dict[str, Any], said: str
) -> None:
    outcome = outcome_with(**fields)

    with pytest.raises(CaminoError) as caught:
        validate(outcome, JOB, competition)

    assert str(caught.value).startswith("outcome.json")
    assert said in str(caught.value)


def test_a_record_the_branch_holds_is_shown_again_whatever_its_age(
    competition: Path,
) -> None:
    """Files evaluated before, in an earlier commit: the evaluate job returns
    the committed record, stamped then, and the publish job finds it."""
    earlier = {
        "evaluated_at": "2026-01-02T03:04:05+00:00",
        "submission_commit": "c" * 40,
    }
    outcome = outcome_with(**earlier)
    record = outcome.record_object()
    assert record is not None
    write_record(competition, record)

    validate(outcome, JOB, competition)


def test_an_outcome_cannot_rewrite_a_committed_record(competition: Path) -> None:
    committed = outcome_with().record_object()
    assert committed is not None
    write_record(competition, committed)

    with pytest.raises(CaminoError, match="is on the branch already with other"):
        validate(outcome_with(scores={"f1": 0.1}), JOB, competition)


def refused(*refusals: object) -> Outcome:
    return Outcome("refused", 7, HEAD, "alice", refusals=list(refusals))


def test_a_refused_outcome_of_the_policys_rules_passes(competition: Path) -> None:
    refusal = {"path": ".github/workflows/x.yml", "rule": "workflow", "detail": ""}

    validate(refused(refusal), JOB, competition)


@pytest.mark.parametrize(
    ("refusal", "said"),
    [
        ({"path": "a.py", "rule": "nope", "detail": ""}, "refusals[0].rule 'nope'"),
        ({"path": "a.py", "rule": "outside", "detail": ["x"]}, "refusals[0] "),
        ({"path": "a.py", "rule": "outside"}, "refusals[0] "),
        ("a.py", "refusals[0] 'a.py'"),
    ],
    ids=["unknown rule", "detail not text", "no detail", "not a mapping"],
)
def test_a_refusal_the_policy_would_not_write_is_refused(
    competition: Path, refusal: object, said: str
) -> None:
    with pytest.raises(CaminoError) as caught:
        validate(refused(refusal), JOB, competition)

    assert str(caught.value).startswith(f"outcome.json: {said}")
