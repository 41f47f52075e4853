"""GET /esims/assignments: an order's install details as CSV, JSON or a ZIP of QR PNGs."""

from __future__ import annotations

import csv
import io
import math
import zipfile
from typing import Any

import segno
from starlette.requests import Request
from starlette.responses import Response

from esim_tui.sandbox.core import (
    JSONResponse,
    Refused,
)
from esim_tui.sandbox.esimgo.base import EsimGoBase
from esim_tui.sandbox.esimgo.params import accepted_format
from esim_tui.sandbox.esimgo.world import CSV_COLUMNS, SMDP_ADDRESS, Esim, rfc3339


class InstallEndpoints(EsimGoBase):
    """Install details."""

    async def _assignments(self, request: Request) -> Response:
        raw = request.query_params.get("reference", "")
        references = [r.strip() for r in raw.split(",") if r.strip()]
        if not references:
            raise Refused(400, "reference is required: one or more order references, comma-separated")
        fmt = accepted_format(request.headers.get("accept", ""))
        if fmt is None:
            raise Refused(400, "Accept must be text/csv, application/json or application/zip")
        extras = {f.strip() for f in request.query_params.get("additionalFields", "").split(",")}
        apple = bool(extras & {"appleInstallUrl", "installUrl"})
        with self._lock:
            self._settle()
            rows: list[tuple[Esim, str, str]] = []  # (eSIM, bundle name, order reference)
            seen: set[tuple[str, str, str]] = set()
            for reference in references:
                order = self._order(reference)
                if order.status == "processing":
                    wait = max(1, math.ceil(((order.ready_at or self.now) - self.now).total_seconds()))
                    raise Refused(503, "Processing - Please come back later", headers={"Retry-After": str(wait)})
                for line in order.lines:
                    for iccid in line.iccids:
                        if (iccid, line.bundle.name, reference) not in seen:
                            seen.add((iccid, line.bundle.name, reference))
                            rows.append((self._esims[iccid], line.bundle.name, reference))
            if fmt == "json":
                unique = list({esim.iccid: esim for esim, _, _ in rows}.values())
                details = [self._install_json(esim, apple) for esim in unique]
                return JSONResponse(details[0] if len(details) == 1 else details)
            table = self._csv(rows, apple)
            if fmt == "csv":
                return Response(table, media_type="text/csv; charset=utf-8")
            archive = self._zip(rows, table)
        name = references[0] if len(references) == 1 else "esims"
        return Response(archive, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}.zip"'})

    def _install_json(self, esim: Esim, apple: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "iccid": esim.iccid,
            "matchingId": esim.matching_id,
            "smdpAddress": SMDP_ADDRESS,
            "profileStatus": "Installed" if esim.installed_at else "Released",
            "pin": esim.pin,
            "puk": esim.puk,
        }
        if esim.installed_at is not None:
            # A date-time string here, epoch milliseconds on GET /esims/{iccid} (A.0 deviation 3).
            out["firstInstalledDateTime"] = rfc3339(esim.installed_at)
        if apple:
            out["appleInstallUrl"] = esim.activation.apple_install_url
        return out

    @staticmethod
    def _csv(rows: list[tuple[Esim, str, str]], apple: bool) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
        writer.writerow(CSV_COLUMNS + (["Apple Install URL"] if apple else []))
        for esim, bundle, reference in rows:
            writer.writerow([esim.iccid, esim.matching_id, SMDP_ADDRESS, bundle, reference] + ([esim.activation.apple_install_url] if apple else []))
        return buffer.getvalue()

    @staticmethod
    def _zip(rows: list[tuple[Esim, str, str]], table: str) -> bytes:
        """One PNG QR code per eSIM (``<iccid>.png``, carrying the LPA string) and ``esims.csv``."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            seen: set[str] = set()
            for esim, _, _ in rows:
                if esim.iccid in seen:
                    continue
                seen.add(esim.iccid)
                png = io.BytesIO()
                segno.make(esim.activation.lpa, error="m", micro=False).save(png, kind="png", scale=8, border=4)
                archive.writestr(f"{esim.iccid}.png", png.getvalue())
            archive.writestr("esims.csv", table)
        return buffer.getvalue()
