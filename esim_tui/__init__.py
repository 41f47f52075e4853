"""esim-tui: sell travel eSIMs at the counter and look after them at the support desk."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("esim-tui")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
