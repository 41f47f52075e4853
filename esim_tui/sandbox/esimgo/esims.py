"""The eSIMs and their bundles: GET /esims/{iccid}, its bundles, compatibility and history; and the
control hooks that play the customer's phone (install, data use)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from esim_tui.sandbox.core import (
    JSONResponse,
    Refused,
)
from esim_tui.sandbox.esimgo.base import EsimGoBase
from esim_tui.sandbox.esimgo.params import bool_param, int_param
from esim_tui.sandbox.esimgo.world import (
    DEFAULT_BUNDLES_LIMIT,
    DEPLETED,
    EXPIRED,
    LAPSE_AFTER,
    LAPSED,
    MAX_BUNDLES_LIMIT,
    REVOKED,
    SMDP_ADDRESS,
    Assignment,
    epoch_ms,
    rfc3339,
)


class EsimEndpoints(EsimGoBase):
    """eSIMs and bundles."""

    async def _get_esim(self, request: Request) -> Response:
        extras = {f.strip() for f in request.query_params.get("additionalFields", "").split(",")}
        with self._lock:
            self._settle()
            esim = self._esim(request.path_params["iccid"])
            out: dict[str, Any] = {
                "iccid": esim.iccid,
                "pin": esim.pin,
                "puk": esim.puk,
                "matchingId": esim.matching_id,
                "smdpAddress": SMDP_ADDRESS,
                "profileStatus": "Installed" if esim.installed_at else "Released",
                # Epoch milliseconds here (A.0 deviation 3); 0 while never installed.
                "firstInstalledDateTime": epoch_ms(esim.installed_at) if esim.installed_at else 0,
                "customerRef": esim.customer_ref,
            }
            if extras & {"appleInstallUrl", "installUrl"}:
                out["appleInstallUrl"] = esim.activation.apple_install_url
        return JSONResponse(out)

    def _assignment_json(self, a: Assignment, now: datetime) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": a.id,
            "callTypeGroup": "data",
            "initialQuantity": a.initial_bytes,
            "remainingQuantity": a.remaining_bytes,
            "assignmentDateTime": rfc3339(a.assigned_at),
            "assignmentReference": a.reference,
            "bundleState": a.state(now),
            "unlimited": a.bundle.unlimited,
        }
        if a.started_at is not None:
            # v2.5 fields, sent once the validity has started (it runs from first use).
            out["startTime"] = rfc3339(a.started_at)
            out["endTime"] = rfc3339(a.ends_at or a.started_at)
        return out

    async def _esim_bundles(self, request: Request) -> Response:
        include_used = bool_param(request, "includeUsed", True)
        limit = int_param(request, "limit", DEFAULT_BUNDLES_LIMIT, 1, MAX_BUNDLES_LIMIT)
        with self._lock:
            self._settle()
            esim = self._esim(request.path_params["iccid"])
            now = self.now
            chosen = [a for a in esim.assignments if include_used or a.state(now) not in (EXPIRED, REVOKED, LAPSED, DEPLETED)]
            chosen = list(reversed(chosen))[:limit]  # the most recent assignments
            grouped: dict[str, dict[str, Any]] = {}
            for a in chosen:
                entry = grouped.setdefault(a.bundle.name, {"name": a.bundle.name, "description": a.bundle.description, "assignments": []})
                entry["assignments"].append(self._assignment_json(a, now))
        return JSONResponse({"bundles": list(grouped.values())})

    async def _esim_bundle(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self._lock:
            self._settle()
            esim = self._esim(request.path_params["iccid"])
            mine = [a for a in esim.assignments if a.bundle.name == name]
            if not mine:
                raise Refused(404, f"Bundle {name} is not assigned to eSIM {esim.iccid} (bundle names are case sensitive)")
            # "If multiple of the same bundle are applied … the latest assignment will be returned."
            body = {"assignments": [self._assignment_json(mine[-1], self.now)]}
        return JSONResponse(body)

    async def _compatible(self, request: Request) -> Response:
        with self._lock:
            self._settle()
            esim = self._esim(request.path_params["iccid"])
            bundle = self._bundle(request.path_params["bundle"])
            return JSONResponse({"compatible": bundle.profile_name == esim.profile_name})

    async def _history(self, request: Request) -> Response:
        with self._lock:
            self._settle()
            esim = self._esim(request.path_params["iccid"])
            now = self.now
            events = list(esim.history)
            # Time-driven events happen whenever time passes; they are written down when looked at.
            for a in esim.assignments:
                state = a.state(now)
                if state == EXPIRED and a.ends_at is not None:
                    events.append(("Bundle Expired", a.bundle.name, a.ends_at))
                elif state == LAPSED:
                    events.append(("Bundle Lapsed", a.bundle.name, a.assigned_at + LAPSE_AFTER))
            events.sort(key=lambda e: e[2])  # stable: same-moment events keep the order they happened in
            body = [{"name": name, "bundleName": bundle, "date": rfc3339(when)} for name, bundle, when in events]
        return JSONResponse(body)

    def knows(self, iccid: str) -> bool:
        with self._lock:
            self._settle()
            return iccid in self._esims

    def install(self, iccid: str) -> dict[str, Any]:
        with self._lock:
            esim = self._esims[iccid]
            self.state.touch()
            if esim.installed_at is None:
                esim.installed_at = self.now
            return {"iccid": iccid, "profileStatus": "Installed", "firstInstalledDateTime": epoch_ms(esim.installed_at)}

    def use_data(self, iccid: str, used_bytes: int) -> dict[str, Any]:
        """The phone uses data: from the active bundle, else the oldest queued one (which starts now);
        what one bundle cannot hold spills into the next. A phone using data has the eSIM installed."""
        with self._lock:
            self._settle()
            esim = self._esims[iccid]
            self.state.touch()
            now = self.now
            if esim.installed_at is None:
                esim.installed_at = now
            left = used_bytes
            current = self._current(esim, now)
            while left > 0 and current is not None:
                if current.started_at is None:
                    current.started_at = now
                    if esim.first_used_at is None:
                        esim.first_used_at = now
                        esim.history.append(("eSIM First Attachment", current.bundle.name, now))
                        esim.history.append(("eSIM First Use", current.bundle.name, now))
                if current.bundle.unlimited:
                    left = 0
                    break
                take = min(left, current.remaining_bytes)
                current.remaining_bytes -= take
                left -= take
                self._alert(esim, current, now)
                nxt = self._current(esim, now)
                if nxt is None or nxt is current:
                    break
                current = nxt
            shown = current if current is not None else (esim.assignments[-1] if esim.assignments else None)
            return {
                "iccid": iccid,
                "bundle": shown.bundle.name if shown else None,
                "bundle_state": shown.state(now) if shown else None,
                "remaining_bytes": shown.remaining_bytes if shown else None,
                "unused_bytes": left,  # data the eSIM had no bundle for
            }
