"""The WooCommerce adapter tells the buyer each parcel's tracking: Shipment Tracking item, customer note,
and "completed" only when the caller says everything has shipped.

No database: the store is tests/channels/push_helpers.FakeWoo behind httpx.MockTransport.
"""

from __future__ import annotations

import json

import pytest

from channels.adapters.base import ChannelAuthError, ChannelError, ChannelUnavailable
from channels.adapters.woocommerce import WooCommerceAdapter
from tests.channels.push_helpers import FakeWoo

KEY = "ck_0123456789abcdef0123456789abcdef01234567"
SECRET = "cs_fedcba9876543210fedcba9876543210fedcba98"
URL = "https://www.sf-express.com/we/ow/chn/sc/waybill/waybill-detail/SF1234567890123"
TRACKING = "/wp-json/wc-shipment-tracking/v3/orders/723/shipment-trackings"


def adapter(store: FakeWoo) -> WooCommerceAdapter:
    return WooCommerceAdapter(
        base_url="https://example.com", credentials={"consumer_key": KEY, "consumer_secret": SECRET},
        client=store.client(), sleep=lambda seconds: None, max_attempts=1,
    )  # fmt: skip


def push(store: FakeWoo, *, complete: bool, number: str = "SF1234567890123", url: str = URL) -> str:
    return adapter(store).push_fulfillment(
        order_external_id="723", lines=[("311", 1)], carrier="SF Express", tracking_number=number,
        tracking_url=url, complete=complete,
    )  # fmt: skip


def test_with_shipment_tracking_the_item_then_the_note_then_completed():
    store = FakeWoo(shipment_tracking=True)

    note_id = push(store, complete=True)

    assert store.calls() == [
        ("GET", TRACKING), ("POST", TRACKING),
        ("GET", "/wp-json/wc/v3/orders/723/notes"), ("POST", "/wp-json/wc/v3/orders/723/notes"),
        ("PUT", "/wp-json/wc/v3/orders/723"),
    ]  # fmt: skip
    assert json.loads(store.requests[1].content) == {
        "custom_tracking_provider": "SF Express", "tracking_number": "SF1234567890123", "custom_tracking_link": URL,
    }  # fmt: skip
    assert store.notes["723"] == [
        {"id": int(note_id), "customer_note": True,
         "note": f"Shipped with SF Express, tracking number SF1234567890123. Track it at {URL}"},
    ]  # fmt: skip
    assert store.statuses == {"723": "completed"}


def test_without_the_extension_only_the_note_and_not_completed_while_dispatches_are_open():
    store = FakeWoo(shipment_tracking=False)

    push(store, complete=False)

    assert store.calls() == [
        ("GET", TRACKING), ("GET", "/wp-json/wc/v3/orders/723/notes"), ("POST", "/wp-json/wc/v3/orders/723/notes"),
    ]  # fmt: skip
    assert store.trackings == {} and store.statuses == {}
    assert "SF1234567890123" in store.notes["723"][0]["note"]


def test_a_carrier_without_a_tracking_page_sends_no_link():
    store = FakeWoo(shipment_tracking=True)

    push(store, complete=False, number="ABC12345", url="")

    assert store.trackings["723"][0] == {
        "tracking_id": store.trackings["723"][0]["tracking_id"], "custom_tracking_provider": "SF Express",
        "tracking_number": "ABC12345",
    }  # fmt: skip
    assert store.notes["723"][0]["note"] == "Shipped with SF Express, tracking number ABC12345."


def test_a_retried_push_adds_no_second_item_or_note():
    # given the first push went through but its answer was lost
    store = FakeWoo(shipment_tracking=True)
    first = push(store, complete=False)

    # when it is pushed again, now that everything has shipped
    again = push(store, complete=True)

    # then the tracking and the note are there once, and the order is completed
    assert again == first
    assert len(store.trackings["723"]) == 1 and len(store.notes["723"]) == 1
    assert store.statuses == {"723": "completed"}


def test_an_unknown_order_is_a_channel_error_and_nothing_is_written():
    store = FakeWoo(shipment_tracking=False, orders={"723"})

    with pytest.raises(ChannelError, match=r"\(404\): Invalid ID"):
        adapter(store).push_fulfillment(
            order_external_id="999", lines=[("1", 1)], carrier="UPS", tracking_number="1Z", complete=True
        )

    assert [method for method, _path in store.calls()] == ["GET", "GET"]
    assert store.statuses == {}


@pytest.mark.parametrize(
    ("status", "error"), [(401, ChannelAuthError), (403, ChannelAuthError), (503, ChannelUnavailable)]
)
def test_refused_credentials_and_outages_are_told_apart(status, error):
    store = FakeWoo(shipment_tracking=True)
    store.fail = [(status, {})]

    with pytest.raises(error) as raised:
        push(store, complete=True)

    assert KEY not in str(raised.value) and SECRET not in str(raised.value)
    assert store.notes == {} and store.statuses == {}
