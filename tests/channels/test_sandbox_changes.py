"""Sandbox orders changing over time (cancelled, refunded, moved, paid) and fulfilled through the API; each change bumps updated_at."""

from __future__ import annotations

import pytest

from channels.sandbox.generator import SandboxShop
from tests.channels.sandbox_helpers import (
    fulfil,
    pull,
    stamp,
)

# ---------------------------------------------------------------------- changes over time


def test_cancel_and_refund_bump_updated_at_so_an_incremental_pull_sees_them(sandbox_api, sandbox, clock):
    # given: a pull that saw everything, and its high-water mark
    sandbox.generate(10)
    seen, _ = pull(sandbox_api, status="any")
    watermark = max(stamp(order) for order in seen)
    before = {order["id"]: order for order in seen}
    clock.advance(300)
    cancelled_id = seen[3]["id"]
    refunded_id = next(order["id"] for order in seen[4:] if order["financial_status"] == "paid")

    # when
    sandbox.cancel_order(cancelled_id)
    sandbox.refund_line(refunded_id)
    changed, _ = pull(sandbox_api, status="any", updated_at_min=watermark.isoformat())

    # then
    by_id = {order["id"]: order for order in changed}
    cancelled, refunded = by_id[cancelled_id], by_id[refunded_id]
    assert stamp(cancelled) > stamp(before[cancelled_id])
    assert stamp(refunded) > stamp(before[refunded_id])
    assert cancelled["cancelled_at"] is not None
    assert cancelled["cancel_reason"] == "customer"
    assert cancelled["financial_status"] in ("refunded", "voided")
    assert refunded["financial_status"] in ("partially_refunded", "refunded")
    refund_lines = refunded["refunds"][0]["refund_line_items"]
    assert len(refund_lines) == 1
    assert refund_lines[0]["line_item_id"] in {line["id"] for line in refunded["line_items"]}


def test_tick_makes_orders_at_the_configured_rate(clock):
    # given: six a minute is one every ten seconds
    sandbox = SandboxShop(seed=3, clock=clock, rate_per_minute=6.0)

    # when
    clock.advance(25)
    first = sandbox.tick()
    clock.advance(5)
    second = sandbox.tick()
    clock.advance(4)
    third = sandbox.tick()

    # then: fractions carry over from one tick to the next
    assert (len(first.created), len(second.created), len(third.created)) == (2, 1, 0)
    assert len(sandbox) == 3
    assert [sandbox.get_order(i)["created_at"] for i in second.created] == ["2026-11-20T09:00:30+08:00"]


def test_tick_changes_older_orders_and_every_change_bumps_updated_at(clock):
    # given: every new order brings a cancellation or a refund of an older one
    sandbox = SandboxShop(seed=11, clock=clock, rate_per_minute=12.0, cancel_rate=0.5, refund_rate=0.5)
    sandbox.generate(30)
    clock.advance(120)
    sandbox.tick()  # pays what the first two minutes owe
    before = {order["id"]: order for order in sandbox.list_orders(limit=250)}

    # when
    clock.advance(60)
    report = sandbox.tick()

    # then
    assert len(report.created) == 12
    changed = set(report.cancelled) | set(report.refunded)
    assert len(report.cancelled) + len(report.refunded) == 12
    for order_id in changed:
        after = sandbox.get_order(order_id)
        assert stamp(after) > stamp(before[order_id])
    for order_id in report.cancelled:
        order = sandbox.get_order(order_id)
        assert order["cancel_reason"] == "customer"
        assert order["financial_status"] in ("refunded", "voided")
        assert order["current_total_price"] == "0.00"
    for order_id in set(report.refunded) - set(report.cancelled):
        order = sandbox.get_order(order_id)
        assert order["financial_status"] in ("partially_refunded", "refunded")
        assert order["refunds"][-1]["refund_line_items"]


def test_address_change_and_payment_bump_updated_at(sandbox, clock):
    # given
    orders = sandbox.generate(40)
    pending = next(order for order in orders if order["financial_status"] == "pending")
    clock.advance(60)

    # when
    moved = sandbox.change_shipping_address(orders[0]["id"])
    paid = sandbox.mark_paid(pending["id"])

    # then
    old, new = orders[0]["shipping_address"], moved["shipping_address"]
    assert stamp(moved) > stamp(orders[0])
    assert (new["country_code"], new["city"], new["zip"]) == (old["country_code"], old["city"], old["zip"])
    assert (new["address1"], new["address2"]) != (old["address1"], old["address2"])
    assert paid["financial_status"] == "paid"
    assert stamp(paid) > stamp(pending)


# ---------------------------------------------------------------------- fulfilment


def test_fulfillment_orders_then_a_fulfillment_mark_the_order_fulfilled(sandbox_api, sandbox, clock):
    # given
    order = sandbox.generate(1)[0]
    fulfillment_orders = sandbox_api.get(f"orders/{order['id']}/fulfillment_orders.json").json()["fulfillment_orders"]
    clock.advance(3600)

    # when
    response = sandbox_api.post(
        "fulfillments.json",
        json={
            "fulfillment": {
                "line_items_by_fulfillment_order": [
                    {
                        "fulfillment_order_id": fo["id"],
                        "fulfillment_order_line_items": [
                            {"id": item["id"], "quantity": item["fulfillable_quantity"]} for item in fo["line_items"]
                        ],
                    }
                    for fo in fulfillment_orders
                ],
                "tracking_info": {"company": "SF Express", "number": "SF1234567890", "url": "https://sf.example/1"},
                "notify_customer": True,
            }
        },
    )

    # then
    assert [fo["status"] for fo in fulfillment_orders] == ["open"]
    assert {item["line_item_id"] for item in fulfillment_orders[0]["line_items"]} == {
        line["id"] for line in order["line_items"]
    }
    assert response.status_code == 201
    fulfillment = response.json()["fulfillment"]
    assert fulfillment["status"] == "success"
    assert (fulfillment["tracking_company"], fulfillment["tracking_number"]) == ("SF Express", "SF1234567890")
    after = sandbox_api.get(f"orders/{order['id']}.json").json()["order"]
    assert after["fulfillment_status"] == "fulfilled"
    assert all(line["fulfillable_quantity"] == 0 for line in after["line_items"])
    assert stamp(after) > stamp(order)
    assert (
        sandbox_api.get(f"orders/{order['id']}/fulfillment_orders.json").json()["fulfillment_orders"][0]["status"]
        == "closed"
    )
    listed = sandbox_api.get(f"orders/{order['id']}/fulfillments.json").json()["fulfillments"]
    assert [f["id"] for f in listed] == [fulfillment["id"]]


def test_a_partial_fulfillment_leaves_the_rest_to_fulfil(sandbox_api, sandbox):
    # given
    order = next(o for o in sandbox.generate(20) if sum(line["quantity"] for line in o["line_items"]) > 1)
    fo = sandbox_api.get(f"orders/{order['id']}/fulfillment_orders.json").json()["fulfillment_orders"][0]
    item = fo["line_items"][0]

    # when
    response = sandbox_api.post(
        "fulfillments.json",
        json={
            "fulfillment": {
                "line_items_by_fulfillment_order": [
                    {
                        "fulfillment_order_id": fo["id"],
                        "fulfillment_order_line_items": [{"id": item["id"], "quantity": 1}],
                    }
                ]
            }
        },
    )

    # then
    assert response.status_code == 201
    assert sandbox.get_order(order["id"])["fulfillment_status"] == "partial"
    after = sandbox_api.get(f"orders/{order['id']}/fulfillment_orders.json").json()["fulfillment_orders"][0]
    assert after["status"] == "in_progress"
    assert after["line_items"][0]["fulfillable_quantity"] == item["fulfillable_quantity"] - 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"nothing": {}}, 400),
        ({"fulfillment": {"line_items_by_fulfillment_order": []}}, 422),
        ({"fulfillment": {"line_items_by_fulfillment_order": [{"fulfillment_order_id": 1}]}}, 422),
        ("too-many", 422),
        ("unknown-line", 422),
    ],
)
def test_a_fulfillment_that_cannot_be_made_is_refused_and_changes_nothing(sandbox_api, sandbox, body, status):
    # given
    order = sandbox.generate(1)[0]
    fo = sandbox.fulfillment_orders(order["id"])[0]
    item = fo["line_items"][0]
    if body == "too-many":
        body = fulfil(fo["id"], item["id"], item["fulfillable_quantity"] + 1)
    elif body == "unknown-line":
        body = fulfil(fo["id"], 42, 1)

    # when
    response = sandbox_api.post("fulfillments.json", json=body)

    # then
    assert response.status_code == status
    assert "errors" in response.json()
    assert sandbox.get_order(order["id"]) == order


def test_a_cancelled_order_cannot_be_fulfilled(sandbox_api, sandbox, clock):
    # given
    order = sandbox.generate(1)[0]
    fo = sandbox.fulfillment_orders(order["id"])[0]
    clock.advance(60)
    sandbox.cancel_order(order["id"])

    # when
    response = sandbox_api.post("fulfillments.json", json=fulfil(fo["id"], fo["line_items"][0]["id"], 1))

    # then
    assert response.status_code == 422
    assert sandbox.get_order(order["id"])["fulfillments"] == []
