"""The simulated Octopus Cards provider: its routes, over the endpoint mixins."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from esim_tui.sandbox.core import (
    SandboxState,
)
from esim_tui.sandbox.ledger import Account
from esim_tui.sandbox.octopus.auth import AuthEndpoints
from esim_tui.sandbox.octopus.catalogue import CatalogueEndpoints
from esim_tui.sandbox.octopus.esims import EsimHooks
from esim_tui.sandbox.octopus.orders import OrderEndpoints
from esim_tui.sandbox.octopus.state import StateFile
from esim_tui.sandbox.octopus.world import API


class OctopusSim(AuthEndpoints, CatalogueEndpoints, OrderEndpoints, EsimHooks, StateFile):
    name = "octopus"

    def __init__(self, state: SandboxState, account: Account) -> None:
        super().__init__(state, account)
        self._api_routes = self._build_routes()

    def _build_routes(self) -> list[Route]:
        f = self.faulty
        return [
            Route(f"{API}/esim/products", f("list_products", self._list_products), methods=["GET"]),
            Route(f"{API}/esim/products/{{product_id}}", f("get_product", self._get_product), methods=["GET"]),
            Route(f"{API}/esim/products/{{product_id}}/variants", f("list_variants", self._list_variants), methods=["GET"]),
            Route(f"{API}/esim/variants/{{variant_id}}", f("get_variant", self._get_variant), methods=["GET"]),
            Route(f"{API}/esim/orders", f("create_order", self._create_order), methods=["POST"]),
            Route(f"{API}/esim/orders", f("list_orders", self._list_orders), methods=["GET"]),
            Route(f"{API}/esim/orders/{{order_id}}", f("get_order", self._get_order), methods=["GET"]),
            Route(f"{API}/esim/orders/{{order_id}}/notification-email", f("notification_email", self._notification_email), methods=["PATCH"]),
            Route("/auth/login", f("login", self._login), methods=["POST"]),
            Route("/auth/refresh", f("refresh", self._refresh_tokens), methods=["POST"]),
        ]

    def routes(self) -> list[BaseRoute]:
        # The catch-all keeps unknown API paths in the provider's error envelope (Starlette's own
        # 404/405 would be plain text).
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        return [*self._api_routes, Route(f"{API}/{{rest:path}}", self._no_route, methods=methods)]
