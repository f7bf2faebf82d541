"""Single source of the package version (read by ``ovmer --version``)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ovmer")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
