"""POST /orders (validate or transaction), GET /orders and GET /orders/{reference}."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from esim_tui import jsonnum
from esim_tui.sandbox import core
from esim_tui.sandbox.core import (
    JSONResponse,
    Refused,
)
from esim_tui.sandbox.esimgo.base import EsimGoBase
from esim_tui.sandbox.esimgo.params import bool_param, int_param, is_count, time_filter
from esim_tui.sandbox.esimgo.world import (
    DEFAULT_ORDERS_LIMIT,
    MAX_ORDERS_LIMIT,
    MAX_QUANTITY,
    SMDP_ADDRESS,
    UNAVAILABLE,
    OrderLine,
    SimOrder,
    fault_outcome,
    rfc3339,
    scenario_outcome,
)
from esim_tui.sandbox.faults import FaultKind


class OrderEndpoints(EsimGoBase):
    """Orders: checked by eSIM Go's rules, charged once, fulfilled now or later."""

    async def _create_order(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = jsonnum.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise Refused(400, 'Send a JSON object like {"type": "validate", "assign": true, "order": [{"type": "bundle", "item": "esim_1GB_7D_NL_V2", "quantity": 1}]}')
        source_ip = request.client.host if request.client else ""
        with self._lock:
            self._settle()
            kind, assign, branding, lines = self._parse_order(body)
            total = sum((line.sub_total for line in lines), Decimal(0))
            now = self.now
            if total > self.account.balance:
                raise Refused(400, f"Insufficient balance: the order costs {total} {self.account.currency}, the organisation balance is {self.account.balance} {self.account.currency}")
            if kind == "validate":
                return JSONResponse(
                    {
                        "order": [self._line_json(line, esims=False) for line in lines],
                        "total": total,
                        "valid": True,
                        "currency": self.account.currency,
                        "createdDate": rfc3339(now),
                        "assigned": assign,
                    }
                )
            # A booked fault wins over the scenario; taken only now, so a refused request keeps it.
            fault = self.state.faults.take(self.name, "create_order", {FaultKind.PENDING, FaultKind.FAIL})
            outcome = fault_outcome(fault) if fault else scenario_outcome(self.state.config.scenario, self.state.rng)
            if outcome.kind == "fail":
                raise Refused(400, outcome.failure or UNAVAILABLE)
            order = SimOrder(
                reference=str(uuid.UUID(int=self.state.rng.getrandbits(128), version=4)),
                created_at=now,
                lines=lines,
                total=total,
                currency=self.account.currency,
                assigned=assign,
                source_ip=source_ip,
                branding_id=branding,
                processing_seconds=outcome.processing_seconds if self.bundle_processing_seconds is None else self.bundle_processing_seconds,
            )
            self._orders[order.reference] = order
            self.state.touch()
            self.account.charge(order.reference, total)
            if outcome.kind == "pending":
                order.status = "processing"
                order.ready_at = now + timedelta(seconds=outcome.pending_seconds)
                order.resolve_failure = outcome.failure
                self._pending.append(order)
            else:
                self._fulfil(order, now)
            answer = self._order_json(order, esims=True)
        if outcome.answer_delay > 0:
            # Committed and charged already; only the answer is late (a slow upstream).
            self.state.changed()
            await core.answer_later(outcome.answer_delay)
        return JSONResponse(answer)

    def _parse_order(self, body: dict[str, Any]) -> tuple[str, bool, str | None, list[OrderLine]]:
        """Check an OrderRequest by eSIM Go's rules (providers.md A.3); nothing changes here."""
        kind = body.get("type")
        if kind not in ("validate", "transaction"):
            raise Refused(400, "type must be validate or transaction")
        assign = body.get("assign", False)
        if not isinstance(assign, bool):
            raise Refused(400, "assign must be true or false")
        branding = body.get("profileID")
        if branding is not None:
            if not isinstance(branding, str) or not branding.strip():
                raise Refused(400, "profileID must be a branding profile ID (a string)")
            if not assign:
                raise Refused(400, "profileID can only be given when assign is true")
        items = body.get("order")
        if not isinstance(items, list) or not items:
            raise Refused(400, "order must be a non-empty list of bundles")
        lines: list[OrderLine] = []
        for n, item in enumerate(items, start=1):
            where = f"order item {n}"
            if not isinstance(item, dict):
                raise Refused(400, f"{where} must be an object")
            if item.get("type", "bundle") != "bundle":
                raise Refused(400, f"{where}: type must be bundle")
            name = item.get("item")
            if not isinstance(name, str) or not name:
                raise Refused(400, f"{where}: item must be a bundle name")
            bundle = self.catalogue.get(name)
            if bundle is None:
                raise Refused(400, f"{where}: bundle {name} not found (bundle names are case sensitive)")
            quantity = item.get("quantity")
            if not is_count(quantity) or not 1 <= quantity <= MAX_QUANTITY:
                raise Refused(400, f"{where}: quantity must be a whole number from 1 to {MAX_QUANTITY}")
            allow_reassign = item.get("allowReassign", False)
            if not isinstance(allow_reassign, bool):
                raise Refused(400, f"{where}: allowReassign must be true or false")
            iccids = item.get("iccids")
            # The guide's example body carries "iccids": [""] for "a new eSIM": empty means none.
            if isinstance(iccids, list):
                iccids = [i for i in iccids if not (isinstance(i, str) and not i.strip())] or None
            targets: list[str | None] = [None] * quantity
            if iccids is not None:
                if not assign:
                    raise Refused(400, f"{where}: ICCIDs can only be given when assign is true")
                if not isinstance(iccids, list) or not all(isinstance(i, str) for i in iccids):
                    raise Refused(400, f"{where}: iccids must be a list of ICCIDs")
                if len(iccids) != quantity:
                    raise Refused(400, f"{where}: quantity ({quantity}) must equal the number of ICCIDs ({len(iccids)})")
                targets = []
                for iccid in (i.strip() for i in iccids):
                    esim = self._esims.get(iccid)
                    if esim is None:
                        raise Refused(400, f"{where}: eSIM {iccid} is not accessible by your organisation")
                    if esim.profile_name == bundle.profile_name:
                        targets.append(iccid)
                    elif allow_reassign:
                        targets.append(None)  # a new eSIM instead, as the rules say
                    else:
                        raise Refused(400, f"{where}: bundle {name} is not compatible with eSIM {iccid}; set allowReassign to true to assign it to a new eSIM")
            lines.append(OrderLine(bundle, quantity, allow_reassign, targets))
        return kind, assign, branding, lines

    def _line_json(self, line: OrderLine, *, esims: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if esims:
            out["esims"] = [
                {"iccid": i, "matchingId": self._esims[i].matching_id, "smdpAddress": SMDP_ADDRESS} for i in line.iccids
            ]
        out.update({"type": "bundle", "item": line.bundle.name})
        if esims:
            out["iccids"] = list(line.iccids)
        out.update(
            {
                "quantity": line.quantity,
                "subTotal": line.sub_total,
                "pricePerUnit": line.bundle.price,
                "AllowReassign": line.allow_reassign,  # capitalised in answers (A.0 deviation 4)
            }
        )
        return out

    def _order_json(self, order: SimOrder, *, esims: bool) -> dict[str, Any]:
        return {
            "order": [self._line_json(line, esims=esims) for line in order.lines],
            "total": order.total,
            "currency": order.currency,
            "status": order.status,
            "statusMessage": order.status_message,
            "orderReference": order.reference,
            "createdDate": rfc3339(order.created_at),
            "assigned": order.assigned,
            "sourceIP": order.source_ip,
        }

    async def _list_orders(self, request: Request) -> Response:
        include = bool_param(request, "includeIccids", False)
        page = int_param(request, "page", 1, 1)
        limit = int_param(request, "limit", DEFAULT_ORDERS_LIMIT, 1, MAX_ORDERS_LIMIT)
        filters = [time_filter(v) for v in request.query_params.getlist("createdAt") if v.strip()]
        with self._lock:
            self._settle()
            # Newest first; orders placed at the same moment keep their order of placing, newest first.
            orders = list(reversed(self._orders.values()))
            orders.sort(key=lambda o: o.created_at, reverse=True)
            orders = [o for o in orders if all(f(o.created_at) for f in filters)]
            chosen = orders[(page - 1) * limit : page * limit]
            body = {"orders": [self._order_json(o, esims=include) for o in chosen], "rows": len(orders)}
        return JSONResponse(body)

    async def _get_order(self, request: Request) -> Response:
        with self._lock:
            self._settle()
            body = self._order_json(self._order(request.path_params["reference"]), esims=True)
        return JSONResponse(body)
