"""DELETE /esims/{iccid}/bundles/{name}[/assignments/{id}]: revoke an unstarted bundle and refund it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from esim_tui.sandbox.core import (
    JSONResponse,
    Refused,
)
from esim_tui.sandbox.esimgo.base import EsimGoBase
from esim_tui.sandbox.esimgo.params import bool_param
from esim_tui.sandbox.esimgo.world import (
    ACTIVE,
    DEPLETED,
    EXPIRED,
    LAPSED,
    PROCESSING,
    QUEUED,
    REFUND_WINDOW,
    REVOKED,
)


class RefundEndpoints(EsimGoBase):
    """Revoke and refund."""

    async def _revoke(self, request: Request) -> Response:
        """Revoke the assignment the path names (``.../assignments/{id}``), or by bundle name alone the
        oldest unused assignment of that name (else the latest started one), as eSIM Go documents it:
        ``offerId`` does not choose the assignment. Refund it to balance or inventory while unstarted.
        ``type=validate`` only says what would happen."""
        kind = (request.query_params.get("type") or "transaction").strip()
        if kind not in ("validate", "transaction"):
            raise Refused(400, "type must be validate or transaction")
        to_balance = bool_param(request, "refundToBalance", False)
        name = request.path_params["name"]
        wanted_id = request.path_params.get("assignment_id")
        with self._lock:
            self._settle()
            esim = self._esim(request.path_params["iccid"])
            now = self.now
            mine = [a for a in esim.assignments if a.bundle.name == name]
            if not mine:
                raise Refused(404, f"Bundle {name} is not assigned to eSIM {esim.iccid} (bundle names are case sensitive)")
            if wanted_id:
                target = next((a for a in mine if a.id == wanted_id), None)
                if target is None:
                    raise Refused(404, f"Assignment {wanted_id} of bundle {name} not found on eSIM {esim.iccid}")
            else:
                unused = [a for a in mine if a.state(now) in (PROCESSING, QUEUED)]
                started = [a for a in mine if a.state(now) in (ACTIVE, DEPLETED)]
                target = unused[0] if unused else (started[-1] if started else None)
                if target is None:
                    raise Refused(400, f"No assignment of bundle {name} on eSIM {esim.iccid} can be revoked: each one has expired, lapsed or been revoked")
            state = target.state(now)
            if state in (EXPIRED, LAPSED, REVOKED):
                raise Refused(400, f"Assignment {target.id} of bundle {name} cannot be revoked: it has {state}" if state != REVOKED else f"Assignment {target.id} of bundle {name} is already revoked")
            unstarted = state in (PROCESSING, QUEUED)
            if to_balance and not unstarted:
                raise Refused(400, f"Bundle {name} has been started, so it cannot be refunded; revoke it with refundToBalance=false to remove it without a refund")
            if to_balance and now - target.assigned_at > REFUND_WINDOW:
                raise Refused(400, f"Bundle {name} was bought more than {REFUND_WINDOW.days} days ago, outside the refund period; revoke it with refundToBalance=false")
            currency = self.account.currency
            if kind == "validate":
                if to_balance:
                    what = f"refunded to balance ({target.price} {currency})"
                elif unstarted:
                    what = "refunded to inventory"
                else:
                    what = "revoked without a refund, as it has been started"
                return JSONResponse({"status": f"Validation successful: assignment {target.id} of bundle {name} would be {what}"})
            target.revoked_at = now
            self.state.touch()
            esim.history.append(("Bundle Revoked", name, now))
            if to_balance:
                # A refund entry of its own on the ledger; the ledger too refuses a unit refunded twice.
                self.account.refund(target.order_reference, target.price, bundle=name, unit=f"assignment {target.id}")
                esim.history.append(("Bundle Refunded To Balance", name, now))
                status = "Successfully Revoked Bundle, bundle has been refunded to balance"
            elif unstarted:
                self._inventory[name] = self._inventory.get(name, 0) + 1
                esim.history.append(("Bundle Refunded to Inventory", name, now))
                status = "Successfully Revoked Bundle, bundle has been refunded to inventory"
            else:
                status = "Successfully Revoked Bundle, bundle has not been refunded as it has been started"
        return JSONResponse({"status": status})
