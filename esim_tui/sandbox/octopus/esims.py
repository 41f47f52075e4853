"""The control hooks that play the customer's phone: install the eSIM, use data."""

from __future__ import annotations

from typing import Any

from esim_tui.sandbox.octopus.base import OctopusBase
from esim_tui.sandbox.octopus.world import ts


class EsimHooks(OctopusBase):
    """Install and data use."""

    def knows(self, iccid: str) -> bool:
        with self._lock:
            return iccid in self._by_iccid

    def install(self, iccid: str) -> dict[str, Any]:
        with self._lock:
            order = self._by(iccid)
            self.state.touch()
            if order.installed_at is None:  # installing again changes nothing
                order.installed_at = self.now
            return {"iccid": iccid, "is_installed": True, "installed_at": ts(order.installed_at)}

    def use_data(self, iccid: str, used_bytes: int) -> dict[str, Any]:
        """The phone uses ``used_bytes`` more. A phone cannot use an eSIM it has not installed, so
        data use installs it first; the first use activates it; an expired eSIM carries no data."""
        with self._lock:
            order = self._by(iccid)
            self.state.touch()
            if order.installed_at is None:
                order.installed_at = self.now
            if used_bytes > 0 and self._activation_status(order) != "EXPIRED":
                order.used_bytes += used_bytes
                if order.activated_at is None:
                    order.activated_at = self.now
            return {"iccid": iccid, "used_bytes": order.used_bytes, "activation_status": self._activation_status(order)}
