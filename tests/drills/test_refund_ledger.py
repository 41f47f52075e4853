"""The sandbox ledger the drills count on: charges and refunds as separate entries, balance right.

A drill asserts "exactly one charge for every sale the agent confirmed"; that only holds if refunds
never show up as charges (negative or otherwise) and each refund is its own entry.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from esim_tui.sandbox.ledger import Account, RefundRefused
from tests.sandbox.test_esimgo_support import KEY, NL_1GB, V, bundle, buy, line, post_order

OPENING = Decimal("5000.00")


def balance_adds_up(account: Account) -> bool:
    charged = sum((c.amount for c in account.charges), Decimal(0))
    refunded = sum((r.amount for r in account.refunds), Decimal(0))
    return account.balance == OPENING - charged + refunded


def test_partial_refunds_are_entries_of_their_own_and_each_unit_goes_back_once() -> None:
    account = Account(OPENING)
    account.charge("ord-1", Decimal("9.00"), "REF-1")
    assert account.refund("ord-1", Decimal("3.00"), bundle="NL_1GB", unit="assignment a1") == Decimal("3.00")
    with pytest.raises(RefundRefused, match="refunded already"):
        account.refund("ord-1", Decimal("3.00"), bundle="NL_1GB", unit="assignment a1")
    with pytest.raises(RefundRefused, match="6.00 of it is left"):
        account.refund("ord-1", Decimal("6.01"))
    with pytest.raises(RefundRefused, match="never charged"):
        account.refund("ord-2")
    assert account.refund("ord-1") == Decimal("6.00")  # all that is left
    assert account.refund("ord-1") == Decimal(0)  # nothing left: no entry
    view = account.to_json()
    assert view["charges"] == [{"client_reference": "REF-1", "order_id": "ord-1", "amount": "9.00", "refunded": True}]
    assert view["refunds"] == [
        {"kind": "refund", "client_reference": "REF-1", "order_id": "ord-1", "amount": "3.00", "bundle": "NL_1GB", "unit": "assignment a1"},
        {"kind": "refund", "client_reference": "REF-1", "order_id": "ord-1", "amount": "6.00", "bundle": None, "unit": None},
    ]
    assert view["balance"] == "5000.00" and balance_adds_up(account)  # all of it back


@pytest.mark.anyio
async def test_esimgo_revokes_refund_each_unit_once_on_the_ledger(sandbox, sandbox_client) -> None:
    account = sandbox.providers["esimgo"].account
    order = await buy(sandbox_client, line(NL_1GB, 2))
    price = bundle(sandbox, NL_1GB).price
    first, second = order["order"][0]["iccids"]

    url = f"{V}/esims/{first}/bundles/{NL_1GB}"
    assert (await sandbox_client.delete(url, params={"refundToBalance": "true"}, headers=KEY)).status_code == 200
    assert account.charges[0].refunded is False  # one of two units back: a partial refund
    again = await sandbox_client.delete(url, params={"refundToBalance": "true"}, headers=KEY)
    assert again.status_code == 400  # that bundle was revoked and refunded already
    assert len(account.refunds) == 1

    url = f"{V}/esims/{second}/bundles/{NL_1GB}"
    assert (await sandbox_client.delete(url, params={"refundToBalance": "true"}, headers=KEY)).status_code == 200
    view = account.to_json()
    assert view["charges"] == [{"client_reference": None, "order_id": order["orderReference"], "amount": str(price * 2), "refunded": True}]
    assert [(r["order_id"], r["amount"], r["bundle"]) for r in view["refunds"]] == [(order["orderReference"], str(price), NL_1GB)] * 2
    assert len({r["unit"] for r in view["refunds"]}) == 2  # two different assignments
    assert Decimal(view["balance"]) == OPENING and balance_adds_up(account)


@pytest.mark.anyio
async def test_a_failed_order_is_refunded_as_one_entry(sandbox, sandbox_client) -> None:
    """eSIM Go fails a processing order: the whole charge comes back as one refund, the charge stays."""
    fault = {"provider": "esimgo", "endpoint": "create_order", "kind": "pending", "seconds": 60, "failure_reason": "no stock"}
    assert (await sandbox_client.post("/_sandbox/faults", json=fault)).status_code == 200
    placed = (await post_order(sandbox_client, "transaction", line(NL_1GB))).json()
    await sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 61})
    await sandbox_client.get(f"{V}/orders/{placed['orderReference']}", headers=KEY)  # the first look settles it
    account = sandbox.providers["esimgo"].account
    assert [c.order_id for c in account.charges] == [placed["orderReference"]]
    assert [(r.order_id, r.amount, r.unit) for r in account.refunds] == [(placed["orderReference"], account.charges[0].amount, None)]
    assert account.balance == OPENING and balance_adds_up(account)
