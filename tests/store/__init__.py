"""Tests of the durable order store. Shared helpers live here (the store tests and the benchmark use them)."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from esim_tui.domain.money import Money
from esim_tui.domain.orders import (
    ActivationStatus,
    BundleState,
    BundleUsage,
    InstallState,
    Order,
    OrderStatus,
)
from esim_tui.domain.plans import ProviderName
from tests.store_helpers import sample_plan

T0 = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)

JAPAN_5GB = sample_plan(
    plan_id="var-jp-5gb-30d",
    product_id="prod-jp",
    name="Japan 5 GB 30 days",
    data_mb=5000,
    validity_days=30,
    price=Money(amount=Decimal("12.50"), currency="USD"),
    description="Docomo and SoftBank, 5G where available",
    speeds=("4G", "5G"),
    autostart=True,
    discount_percent=Decimal("7.5"),
)


def make_order(n: int = 1, *, created_at: datetime = T0, **changes: Any) -> Order:
    """A realistic delivered, not yet installed order; ``n`` makes its ids and keys unique."""
    order = Order(
        id=f"ord-{n:08d}",
        provider=ProviderName.OCTOPUS,
        client_reference=f"ESIM-20261122-{n:08d}",
        plan=JAPAN_5GB,
        price=Money(amount=Decimal("11.5625"), currency="USD"),
        customer_label="Mme Côte, room 12 — 東京",
        customer_email="traveller@example.com",
        status=OrderStatus.DELIVERED,
        provider_order_id=f"oc-{n:010d}",
        iccid=f"89440000{n:011d}",
        activation_code=f"LPA:1$smdp.example.com${n:08d}-ABCD-EFGH",
        install_state=InstallState.NOT_INSTALLED,
        activation_status=ActivationStatus.NOT_INSTALLED,
        bundles=(
            BundleUsage(
                bundle_name="JP_5GB_30D",
                state=BundleState.QUEUED,
                initial_bytes=5_000_000_000,
                remaining_bytes=5_000_000_000,
            ),
        ),
        created_at=created_at,
        updated_at=created_at,
    )
    order.note(created_at, "UNKNOWN", "request sent")
    order.note(created_at, "DELIVERED")
    order.note(created_at, "ACTIVATION CODE RECEIVED")
    return order.model_copy(update=changes)


def failed(n: int, created_at: datetime = T0) -> Order:
    """A settled order (FAILED). It keeps make_order's activation code: the store refuses a copy
    that drops a stored code, and these tests turn delivered orders into failed ones."""
    return make_order(n, created_at=created_at, status=OrderStatus.FAILED, iccid=None)


def installed(n: int, installed_at: datetime, created_at: datetime = T0) -> Order:
    return make_order(n, created_at=created_at, install_state=InstallState.INSTALLED, installed_at=installed_at)


def tinydb_file(docs: list[dict[str, Any]]) -> bytes:
    """The bytes of an order file holding ``docs`` (each with its ``id``), as the store writes it."""
    return json.dumps({"orders": {d["id"]: d for d in docs}}, ensure_ascii=False, separators=(",", ":")).encode()


def file_state(path: Path) -> dict[str, Any] | None:
    """The parsed content of a TinyDB file, or raise if it does not parse (the corruption checker)."""
    raw = path.read_bytes()
    if not raw:
        return None
    data = json.loads(raw.decode("utf-8"))
    assert isinstance(data, dict), "top level is not a JSON object"
    return data


# The system calls one atomic write makes, in order: mkstemp's open, write, fsync, close, replace,
# then open, fsync and close of the folder. A crash can come before any of them.
TRACED = ("open", "write", "fsync", "close", "replace")


class Crash(OSError):
    """Stands for the process dying at that step (raised instead, so the test can look afterwards)."""


@contextmanager
def fail_at(step: int | None, crash: Callable[[], object] | None = None) -> Iterator[list[str]]:
    """Count the traced os calls; call number ``step`` (0-based) runs ``crash()`` instead.

    By default ``crash`` raises Crash; pass ``lambda: os._exit(137)`` in a child process to die there
    for real, with no exception handler or cleanup running.
    """
    calls: list[str] = []
    originals = {name: getattr(os, name) for name in TRACED}

    def tracer(name: str, real: Callable):
        def traced(*args, **kwargs):
            calls.append(name)
            if step is not None and len(calls) - 1 == step:
                if crash is not None:
                    crash()
                raise Crash(errno.EIO, f"simulated crash at {name}")
            return real(*args, **kwargs)

        return traced

    for name, real in originals.items():
        setattr(os, name, tracer(name, real))
    try:
        yield calls
    finally:
        for name, real in originals.items():
            setattr(os, name, real)


def later(days: float) -> datetime:
    return T0 + timedelta(days=days)
