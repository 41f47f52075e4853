"""POST /esim/orders (charged once per client reference), GET /esim/orders[/{id}] and the receipt e-mail."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from esim_tui.sandbox import core
from esim_tui.sandbox.core import (
    JSONResponse,
    Outcome,
    Refused,
)
from esim_tui.sandbox.faults import FaultKind
from esim_tui.sandbox.octopus.base import OctopusBase
from esim_tui.sandbox.octopus.world import (
    EMAIL,
    ORDER_STATUSES,
    PLAN_UNAVAILABLE,
    SimOrder,
    fault_outcome,
    json_object,
    paged,
    positive_int,
    reference_problem,
    scenario_outcome,
    wallet_debit,
)


class OrderEndpoints(OctopusBase):
    """Orders."""

    async def _create_order(self, request: Request) -> Response:
        if denied := self._authenticate(request):
            return denied
        try:
            order, outcome = self._place(await json_object(request))
        except Refused as exc:
            return self._refused(exc)
        with self._lock:
            body = self._order_json(order, detail=True)
        if outcome.answer_delay > 0:
            # Committed and charged already; only the answer is late (a slow upstream).
            self.state.changed()
            await core.answer_later(outcome.answer_delay)
        return JSONResponse({"data": body})

    def _place(self, body: dict[str, Any] | None) -> tuple[SimOrder, Outcome]:
        """Validate, charge and fulfil one order. No await inside: the duplicate check and the charge
        cannot interleave with another request's."""
        if body is None:
            raise Refused(400, "Send a JSON object like {\"product_id\": 712, \"amount\": 4.50, \"quantity\": 1}")
        product_id = body.get("product_id")
        if not positive_int(product_id):
            raise Refused(400, "product_id must be an integer greater than 0")
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)) or not Decimal(amount).is_finite() or amount <= 0:
            raise Refused(400, "amount must be a positive number: echo the variant's amount exactly")
        reference = body.get("client_reference")
        if reference is not None and (problem := reference_problem(reference)):
            raise Refused(400, problem)
        wallet_id = body.get("wallet_id")
        if wallet_id is not None and not positive_int(wallet_id):
            raise Refused(400, "wallet_id must be an integer greater than 0")
        # quantity is ignored on purpose: one order is always one eSIM.
        product = self.catalogue.products.get(product_id)
        if product is None:
            raise Refused(404, "eSIM product not found")
        variant = self.catalogue.resolve(product_id, Decimal(amount))
        if variant is None:
            raise Refused(400, f"No active variant of product {product_id} has that amount; echo a variant's amount exactly", "VARIANT_NOT_FOUND")
        debit = wallet_debit(variant.amount, variant.client_discount)

        with self._lock:
            if reference is not None and reference in self._by_reference:
                raise Refused(400, "Duplicate client_reference", "DUPLICATE_CLIENT_REFERENCE")
            if debit > self.account.balance:
                raise Refused(400, "Insufficient wallet balance", "INSUFFICIENT_FUNDS")
            # A booked fault wins over the scenario; taken only now, so a refused request keeps it.
            fault = self.state.faults.take(self.name, "create_order", {FaultKind.PENDING, FaultKind.FAIL})
            outcome = fault_outcome(fault) if fault else scenario_outcome(self.state.config.scenario, self.state.rng)
            now = self.now
            order = SimOrder(
                id=self._next_order_id,
                transaction_id=self._next_transaction_id,
                client_reference=reference,
                product=product,
                variant=variant,
                amount=debit,
                created_at=now,
            )
            self._next_order_id += 1
            self._next_transaction_id += 1
            self._orders[order.id] = order
            self.state.touch()
            if reference is not None:
                self._by_reference[reference] = order.id
            self.account.charge(str(order.id), debit, reference)
            if outcome.kind == "deliver":
                self._deliver(order)
            elif outcome.kind == "fail":
                self._fail(order, outcome.failure or dict(PLAN_UNAVAILABLE))
            else:
                order.ready_at = now + timedelta(seconds=outcome.pending_seconds)
                order.resolve_failure = outcome.failure
        return order, outcome

    async def _get_order(self, request: Request) -> Response:
        if denied := self._authenticate(request):
            return denied
        with self._lock:
            try:
                order = self._order(request.path_params["order_id"])
            except Refused as exc:
                return self._refused(exc)
            self._resolve(order)
            body = self._order_json(order, detail=True)
        return JSONResponse({"data": body})

    async def _list_orders(self, request: Request) -> Response:
        paging = self._listing(request)
        if isinstance(paging, Response):
            return paging
        page, per_page = paging
        status = request.query_params.get("status")
        if status is not None and status not in ORDER_STATUSES:
            return self.error(400, f"status must be one of {', '.join(ORDER_STATUSES)}")
        # Present but empty matches nothing: never widen a reference lookup to every order.
        reference = request.query_params.get("client_reference")
        with self._lock:
            if reference is not None:
                found = self._by_reference.get(reference)
                orders = [self._orders[found]] if found is not None else []
            else:
                orders = sorted(self._orders.values(), key=lambda o: o.id, reverse=True)  # newest first
            for order in orders:
                self._resolve(order)
            if status is not None:
                orders = [o for o in orders if o.status == status]
            items = [self._order_json(o, detail=False) for o in orders]
        return paged(items, page, per_page)

    async def _notification_email(self, request: Request) -> Response:
        if denied := self._authenticate(request):
            return denied
        body = await json_object(request)
        email = body.get("email") if body else None
        if not isinstance(email, str) or len(email) > 254 or not EMAIL.fullmatch(email):
            return self.error(400, "email must be an e-mail address like agent@example.com")
        with self._lock:
            try:
                order = self._order(request.path_params["order_id"])
            except Refused as exc:
                return self._refused(exc)
            self._resolve(order)
            order.notification_email = email
            self.state.touch()
            body = self._order_json(order, detail=False)
        return JSONResponse({"data": body})
