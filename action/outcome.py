"""What the evaluate job hands to the publish job: one JSON file.

The job that runs the submission holds no write token, so it writes this file
into an artifact and the publish job (which never runs submission code) reads
it back. The publish job treats it as untrusted input: it re-validates every
field it uses against the event it received itself (see publish.validate).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from camino.action.policy import Refusal
from camino.action.quota import Quota
from camino.errors import CaminoError
from camino.evaluator.results import Record

FILE = "outcome.json"

# scored, failed (the model's code), refused (policy), invalid (meta.yml or
# layout), limited (daily limit), error (the platform; counts for nothing).
STATUSES = ("scored", "failed", "refused", "invalid", "limited", "error")


@dataclass
class Outcome:
    status: str
    pr: int
    head_sha: str
    author: str
    folder: str | None = None
    record: dict[str, Any] | None = None
    new: bool = False
    refusals: list[dict[str, str]] = field(default_factory=list)
    message: str = ""
    quota: dict[str, Any] | None = None

    def record_object(self) -> Record | None:
        return None if self.record is None else record_from_data(self.record)

    def refusal_objects(self) -> list[Refusal]:
        return [Refusal(**item) for item in self.refusals]

    def quota_object(self) -> Quota | None:
        if self.quota is None:
            return None
        slot = self.quota.get("next_slot")
        moment = dt.datetime.fromisoformat(slot) if slot else None
        return Quota(int(self.quota["limit"]), int(self.quota["used"]), moment)


def record_from_data(data: dict[str, Any]) -> Record:
    """A Record from its JSON form; unknown keys (a newer schema) are dropped
    and missing ones fail loudly, naming the key."""
    known = {
        key: value for key, value in data.items() if key in Record.__dataclass_fields__
    }
    try:
        return Record(**known)
    except TypeError as error:
        raise CaminoError(f"record in {FILE} is incomplete: {error}") from None


def quota_data(quota: Quota) -> dict[str, Any]:
    slot = quota.next_slot.isoformat() if quota.next_slot else None
    return {"limit": quota.limit, "used": quota.used, "next_slot": slot}


def write_outcome(folder: Path, outcome: Outcome) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE
    path.write_text(json.dumps(asdict(outcome), indent=2) + "\n", encoding="utf-8")
    return path


def read_outcome(folder: Path) -> Outcome | None:
    """The outcome in ``folder``, or None when the evaluate job left none
    (it crashed or was stopped: a platform failure)."""
    path = folder / FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("status") not in STATUSES:
        raise CaminoError(f"{path}: not an outcome written by camino")
    known = Outcome.__dataclass_fields__
    return Outcome(**{key: value for key, value in data.items() if key in known})
