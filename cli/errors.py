"""The errors camino raises, and the exit code each one maps to.

Exit codes, as documented in ``camino --help``:

* 0 - success
* 1 - a fault in camino itself (a bug: please report it with the log)
* 2 - bad input: a file, field or option the user can fix
* 3 - the submission's own code failed (import, train, predict, timeout, ...)
"""

from __future__ import annotations

EXIT_BUG = 1
EXIT_BAD_INPUT = 2
EXIT_SUBMISSION_FAILED = 3


class CaminoError(Exception):
    """Base of every error a user can cause; the message is shown as it is."""

    exit_code = EXIT_BAD_INPUT


class SpecError(CaminoError):
    """playbook.yml or meta.yml is missing, malformed or names unknown things."""


class DataError(CaminoError):
    """A CSV file cannot be read the way camino reads every table."""


class MetricError(CaminoError):
    """A metric is unknown, does not fit the task, or cannot be computed."""


class SandboxUnavailable(CaminoError):
    """Submissions cannot be isolated here: bubblewrap is missing or fails."""


class SubmissionFailed(CaminoError):
    """The submission's code failed; ``category`` says at which step.

    Categories: admission, install, import, init, train, save, predict,
    output, timeout, memory, data.
    """

    exit_code = EXIT_SUBMISSION_FAILED
    # Recorded with the failure: the model's own fault counts against the
    # author's daily limit.
    fault = "model"

    def __init__(
        self, category: str, message: str, log_tail: str = "", trace: str = ""
    ) -> None:
        super().__init__(message)
        self.category = category
        self.log_tail = log_tail
        self.trace = trace


class PlatformFailed(SubmissionFailed):
    """The evaluation could not run for a reason that is not the submission's
    (the sandbox, the runner or a store broke). It is recorded as a failure
    of the platform, which does not count against the author's daily limit."""

    exit_code = EXIT_BUG
    fault = "platform"
