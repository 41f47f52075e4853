"""esim-tui: sell travel eSIMs at the counter and look after them at the support desk."""

from functools import cache


@cache
def _version() -> str:
    # importlib.metadata costs ~25 ms to import: looked up only when asked (--version, User-Agent).
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("esim-tui")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+source"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'esim_tui' has no attribute {name!r}")
