"""The pure routing engine's merge key: one buyer at one address, however it is written."""

from __future__ import annotations

import pytest

from orders.routing.core import (
    merge_key,
)
from tests.orders.engine_builders import (
    address,
    catalog,
    order,
    route,
    rule,
    source,
)


def test_merge_rule_returns_a_key_equal_for_the_same_buyer_and_address_written_differently():
    cat = catalog(source(1))
    merge = rule("merge", rule_id=8, window_hours=6)
    scruffy = address(line1="1, main  st.", city="SPRINGFIELD", postal_code="94 000")

    a = route(order(order_id=1), cat, merge)
    b = route(order(order_id=2, buyer_email=" Ada@Example.com ", address=scruffy), cat, merge)

    assert a.merge_key is not None
    assert a.merge_key == b.merge_key
    assert (a.merge_window_hours, a.fired_rule_ids) == (6, (8,))


@pytest.mark.parametrize(
    "overrides",
    [
        {"store_id": 2},
        {"buyer_email": "grace@example.com"},
        {"address": address(line1="2 Main St")},
        {"address": address(city="Shelbyville")},
    ],
)
def test_merge_key_differs_for_another_store_buyer_or_address(overrides):
    assert merge_key(order=order(**overrides)) != merge_key(order=order())


def test_merge_key_falls_back_to_name_and_phone_without_email_and_is_absent_without_a_street():
    no_email = order(buyer_email="")

    assert merge_key(order=no_email) is not None
    assert merge_key(order=no_email) != merge_key(order=order(buyer_email="", address=address(phone="555-0199")))
    assert merge_key(order=order(address=address(line1=""))) is None


def test_no_merge_key_without_a_merge_rule():
    result = route(order(), catalog(source(1)))

    assert (result.merge_key, result.merge_window_hours) == (None, None)
