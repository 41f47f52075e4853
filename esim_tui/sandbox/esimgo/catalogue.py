"""GET /catalogue (paged, filtered, sorted) and GET /catalogue/bundle/{name}."""

from __future__ import annotations

import fnmatch
import math

from starlette.requests import Request
from starlette.responses import Response

from esim_tui.sandbox.core import (
    JSONResponse,
    Refused,
)
from esim_tui.sandbox.esimgo.base import EsimGoBase
from esim_tui.sandbox.esimgo.params import int_param
from esim_tui.sandbox.esimgo.world import CATALOGUE_ORDER_BY, DEFAULT_PER_PAGE
from esim_tui.sandbox.esimgo_catalogue import (
    CatalogueBundle,
)


class CatalogueEndpoints(EsimGoBase):
    """The catalogue."""

    async def _catalogue(self, request: Request) -> Response:
        q = request.query_params
        page = int_param(request, "page", 1, 1)
        per_page = int_param(request, "perPage", DEFAULT_PER_PAGE, 1)
        direction = (q.get("direction") or "asc").lower()
        if direction not in ("asc", "desc"):
            raise Refused(400, "direction must be asc or desc")
        order_by = q.get("orderBy") or "name"
        if order_by not in CATALOGUE_ORDER_BY:
            raise Refused(400, f"orderBy must be one of {', '.join(CATALOGUE_ORDER_BY)}")

        bundles: list[CatalogueBundle] = list(self.catalogue.bundles)
        if description := (q.get("description") or "").strip():
            wanted = description.casefold()
            if "*" in wanted or "%" in wanted or "?" in wanted:
                pattern = wanted.replace("%", "*")
                bundles = [b for b in bundles if fnmatch.fnmatchcase(b.description.casefold(), pattern)]
            else:
                bundles = [b for b in bundles if wanted in b.description.casefold()]
        if group := q.get("group"):
            bundles = [b for b in bundles if b.group == group.strip()]
        if countries := q.get("countries"):
            isos = {c.strip().upper() for c in countries.split(",") if c.strip()}
            bundles = [b for b in bundles if b.isos & isos]
        if region := (q.get("region") or "").strip():
            wanted_region = region.casefold()
            bundles = [b for b in bundles if any(c.region.casefold() == wanted_region for c in b.countries)]

        key = CATALOGUE_ORDER_BY[order_by]
        bundles.sort(key=lambda b: b.name)  # ties keep name order, whichever the direction
        bundles.sort(key=key, reverse=direction == "desc")
        rows = len(bundles)
        chosen = bundles[(page - 1) * per_page : page * per_page]
        return JSONResponse(
            {
                "bundles": [self._bundle_dict(b) for b in chosen],
                "pageCount": math.ceil(rows / per_page),
                "rows": rows,
                "pageSize": per_page,
            }
        )

    async def _catalogue_bundle(self, request: Request) -> Response:
        bundle = self._bundle(request.path_params["name"])
        return JSONResponse(self._bundle_dict(bundle, groups=False))
