"""``mediahub``: the command-line client. It speaks only the public HTTP API and imports no Django."""

from importlib import metadata

try:
    __version__ = metadata.version("mediahub")
except metadata.PackageNotFoundError:  # run from a source tree that is not installed
    __version__ = "0"
