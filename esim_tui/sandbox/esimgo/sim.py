"""The simulated eSIM Go provider: its routes, over the endpoint mixins."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from esim_tui.sandbox.core import (
    JSONResponse,
    SandboxState,
)
from esim_tui.sandbox.esimgo.catalogue import CatalogueEndpoints
from esim_tui.sandbox.esimgo.esims import EsimEndpoints
from esim_tui.sandbox.esimgo.install import InstallEndpoints
from esim_tui.sandbox.esimgo.orders import OrderEndpoints
from esim_tui.sandbox.esimgo.refunds import RefundEndpoints
from esim_tui.sandbox.esimgo.state import StateFile
from esim_tui.sandbox.esimgo.world import API
from esim_tui.sandbox.ledger import Account


class EsimGoSim(CatalogueEndpoints, OrderEndpoints, InstallEndpoints, EsimEndpoints, RefundEndpoints, StateFile):
    name = "esimgo"

    def __init__(self, state: SandboxState, account: Account) -> None:
        super().__init__(state, account)
        self._api_routes = self._build_routes()

    def _build_routes(self) -> list[Route]:
        e = self._endpoint
        return [
            Route(f"{API}/catalogue", e("catalogue", self._catalogue), methods=["GET"]),
            Route(f"{API}/catalogue/bundle/{{name}}", e("catalogue_bundle", self._catalogue_bundle), methods=["GET"]),
            Route(f"{API}/orders", e("create_order", self._create_order), methods=["POST"]),
            Route(f"{API}/orders", e("list_orders", self._list_orders), methods=["GET"]),
            Route(f"{API}/orders/{{reference}}", e("get_order", self._get_order), methods=["GET"]),
            Route(f"{API}/esims/assignments", e("assignments", self._assignments), methods=["GET"]),
            Route(f"{API}/esims/{{iccid}}", e("get_esim", self._get_esim), methods=["GET"]),
            Route(f"{API}/esims/{{iccid}}/bundles", e("esim_bundles", self._esim_bundles), methods=["GET"]),
            Route(f"{API}/esims/{{iccid}}/bundles/{{name}}", e("esim_bundle", self._esim_bundle), methods=["GET"]),
            Route(f"{API}/esims/{{iccid}}/bundles/{{name}}", e("revoke_bundle", self._revoke), methods=["DELETE"]),
            Route(
                f"{API}/esims/{{iccid}}/bundles/{{name}}/assignments/{{assignment_id}}",
                e("revoke_assignment", self._revoke),
                methods=["DELETE"],
            ),
            Route(f"{API}/esims/{{iccid}}/compatible/{{bundle}}", e("compatible", self._compatible), methods=["GET"]),
            Route(f"{API}/esims/{{iccid}}/history", e("esim_history", self._history), methods=["GET"]),
            Route(f"{API}/organisation", e("organisation", self._organisation), methods=["GET"]),
        ]

    def routes(self) -> list[BaseRoute]:
        # The catch-all keeps unknown API paths in eSIM Go's envelope (Starlette's own 404/405 are plain text).
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        return [*self._api_routes, Route(f"{API}/{{rest:path}}", self._guarded(self._no_route, 1), methods=methods)]

    async def _organisation(self, request: Request) -> Response:
        return JSONResponse(
            {
                "name": "Sandbox Travel Shop",
                "taxLiable": "No",
                "addr1": "1 Harbour Street",
                "addr2": "",
                "city": "Bristol",
                "country": "United Kingdom",
                "postcode": "BS1 4AA",
                "callbackUrl": "",
                "notes": "eSIM Go simulator (esim-tui sandbox)",
                "groups": ["Standard eSIM Bundles"],
                "currency": self.account.currency,
                "balance": self.account.balance,
                "testCredit": Decimal("0.00"),
                "testCreditExpiry": (self.now + timedelta(days=30)).date().isoformat(),
                "businessType": "Travel agency",
                "website": "https://shop.sandbox.esim-go.example",
                "productDescription": "Travel eSIMs sold at the counter",
                "users": [
                    {
                        "firstName": "Counter",
                        "lastName": "Agent",
                        "role": "Admin",
                        "emailAddress": "agent@shop.sandbox.esim-go.example",
                        "phoneNumber": "+44 117 496 0000",
                        "timeZone": "Europe/London",
                    }
                ],
            }
        )
