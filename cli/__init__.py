"""camino: machine-learning challenges in a Git repository that scores itself."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("camino")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"


# The Python API (camino.init, camino.test, ...) is imported on first use, so
# that `camino --help` does not pay for pandas and scikit-learn.
_API = {"init", "test", "evaluate", "leaderboard", "export", "submit"}


def __getattr__(name: str) -> object:
    if name in _API:
        from camino import api

        return getattr(api, name)
    raise AttributeError(f"module 'camino' has no attribute {name!r}")
