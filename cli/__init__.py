"""camino: machine-learning challenges in a Git repository that scores itself."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("camino")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
