"""The products and their variants: GET /esim/products[/{id}[/variants[/{id}]]]."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from esim_tui.sandbox.core import (
    JSONResponse,
    Refused,
)
from esim_tui.sandbox.octopus.base import OctopusBase
from esim_tui.sandbox.octopus.world import PLACE_CODE, paged
from esim_tui.sandbox.octopus_catalogue import (
    Product,
)


class CatalogueEndpoints(OctopusBase):
    """The catalogue."""

    async def _list_products(self, request: Request) -> Response:
        paging = self._listing(request)
        if isinstance(paging, Response):
            return paging
        page, per_page = paging
        products = list(self.catalogue.products.values())
        code = request.query_params.get("country_code")
        if code is not None:
            if not PLACE_CODE.fullmatch(code):
                return self.error(400, "country_code must be ISO 3166-1 alpha-3 (e.g. JPN), GLO, or a region code (e.g. EUR)")
            products = [p for p in products if p.country_code == code.upper()]
        search = request.query_params.get("search")
        if search:
            wanted = search.casefold()
            products = [p for p in products if wanted in p.name.casefold()]
        return paged([p.to_json() for p in products], page, per_page)

    def _product(self, raw: str) -> Product:
        product = self.catalogue.products.get(int(raw)) if raw.isdigit() else None
        if product is None:
            raise Refused(404, "eSIM product not found")
        return product

    async def _get_product(self, request: Request) -> Response:
        if denied := self._authenticate(request):
            return denied
        try:
            product = self._product(request.path_params["product_id"])
        except Refused as exc:
            return self._refused(exc)
        variants = [v.to_json() for v in self.catalogue.variants_of(product.id)]
        return JSONResponse({"data": {**product.to_json(), "variants": variants}})

    async def _list_variants(self, request: Request) -> Response:
        paging = self._listing(request)
        if isinstance(paging, Response):
            return paging
        page, per_page = paging
        try:
            product = self._product(request.path_params["product_id"])
        except Refused as exc:
            return self._refused(exc)
        return paged([v.to_json() for v in self.catalogue.variants_of(product.id)], page, per_page)

    async def _get_variant(self, request: Request) -> Response:
        if denied := self._authenticate(request):
            return denied
        raw = request.path_params["variant_id"]
        variant = self.catalogue.variants.get(int(raw)) if raw.isdigit() else None
        if variant is None or not variant.active:
            return self.error(404, "eSIM variant not found")
        return JSONResponse({"data": variant.to_json()})
