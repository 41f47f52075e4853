"""What can go wrong with the order file, worded for the person at the counter."""

from __future__ import annotations

from pathlib import Path

from esim_tui.domain.errors import EsimTuiError


class StoreError(EsimTuiError):
    """Base class of the order store's errors."""


class StoreInUse(StoreError):
    """Another esim-tui holds the store's lock: only one program may write the order file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"The order file {path} is in use: another esim-tui is using it (another window or terminal tab).",
            "Switch to that esim-tui, or close it, then start again. Looking up orders with "
            "'esim-tui orders ...' works meanwhile.",
        )


class StoreCorrupt(StoreError):
    """An order file cannot be read, or is not what esim-tui wrote. Nothing was changed."""

    def __init__(self, path: Path, detail: str, backup: Path | None = None) -> None:
        self.path = path
        self.detail = detail
        self.backup = backup
        if backup is not None:
            keep = f"The last good copy is {backup}."
            todo = (
                f"Do not sell until this is fixed, and delete nothing. Ask support to check {path}; "
                f"they can restore it from {backup.name} and then look up, at the provider, the orders "
                "placed since that copy."
            )
        else:
            keep = "There is no earlier good copy of it."
            todo = f"Do not sell until this is fixed, and delete nothing. Ask support to check {path}."
        super().__init__(f"The order file {path} cannot be read ({detail}). {keep}", todo)


class StoreWriteFailed(StoreError):
    """Writing an order file failed (disk full, permissions, I/O error). The file is not damaged.

    It holds the earlier content, or (when only the final folder sync failed) the new one.
    """

    def __init__(self, path: Path, cause: OSError) -> None:
        self.path = path
        self.cause = cause
        reason = cause.strerror or type(cause).__name__
        super().__init__(
            f"The order could not be saved for sure to {path}: {reason}. The file is not damaged.",
            "Free some disk space (or fix the folder's permissions), then try again. Do not hand over an "
            "activation code that was not saved.",
        )


class StoreReadOnly(StoreError):
    """The store was opened read-only (for looking orders up while the app runs)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"The order file {path} was opened for reading only.", "Nothing was changed.")


class ActivationCodeKept(StoreError):
    """A save would drop or replace the activation code on file: refused, the stored code stays.

    A second guard besides ``Order.merge``: the provider shows a code only until the eSIM is
    installed, so the copy on file may be the only one left.
    """

    def __init__(self, path: Path, order_id: str, replaced: bool) -> None:
        self.path = path
        self.order_id = order_id
        self.replaced = replaced
        change = "a different activation code" if replaced else "no activation code"
        # Never the code itself: messages reach logs and screens.
        super().__init__(
            f"Order {order_id} was not saved: this copy of it has {change}, but the record in {path} "
            "has one, and a stored activation code is never dropped or replaced.",
            "Nothing was lost. Open the order again (its saved record has the code) and repeat what you were doing.",
        )
