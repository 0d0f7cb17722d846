"""The unmapped queue (orders.routing.selectors.unmapped_listing_skus): listing SKUs that new and held orders wait on."""

import pytest
from django.core.exceptions import PermissionDenied

from orders.models import Order
from orders.routing.selectors import unmapped_listing_skus
from tests.inventory.factories import ListingFactory, ProductFactory


def test_unmapped_queue_lists_skus_of_new_and_held_orders_without_listing(order_in_status, operator):
    order_in_status(Order.Status.HELD, [("GHOST-1", 2), ("MAPPED", 1)])
    order_in_status(Order.Status.HELD, [("GHOST-1", 1)])
    order_in_status(Order.Status.NEW, [("GHOST-1", 1), ("GHOST-2", 3)])
    order_in_status(Order.Status.ROUTED, [("GHOST-3", 1)])  # routed orders wait on nothing
    order_in_status(Order.Status.HELD, [("", 1)])  # a line without SKU cannot be mapped
    ListingFactory(listing_sku="MAPPED", components=[(ProductFactory(sku="MAPPED"), 1)])
    ProductFactory(sku="GHOST-2")  # a product with exactly the listing SKU: offered as one-click mapping

    rows = unmapped_listing_skus(user=operator)

    assert [(r["listing_sku"], r["held_orders"], r["orders"], r["units"]) for r in rows] == [
        ("GHOST-1", 2, 3, 4),
        ("GHOST-2", 0, 1, 3),
    ]
    assert rows[0]["product_id"] is None
    assert rows[1]["product_id"] is not None
    assert rows[0]["first_seen"] is not None
    assert rows[0]["title"] == "Title GHOST-1"
    assert [r["listing_sku"] for r in unmapped_listing_skus(user=operator, q="ghost-2")] == ["GHOST-2"]


def test_unmapped_queue_is_one_query(order_in_status, django_assert_num_queries):
    for i in range(5):
        order_in_status(Order.Status.HELD, [(f"G-{i}", 1), (f"H-{i}", 1)])
    with django_assert_num_queries(1):
        assert len(unmapped_listing_skus()) == 10


def test_unmapped_queue_refuses_roles_outside_the_console(tenant_a, make_user, make_supplier, in_a):
    for user in (make_user(tenant_a, "finance"), make_user(tenant_a, "supplier", supplier=make_supplier(tenant_a))):
        with pytest.raises(PermissionDenied):
            unmapped_listing_skus(user=user)


def test_the_unmapped_download_has_every_waiting_sku_in_the_mapping_import_columns(
    order_in_status, console, tenant_b, make_user, client_for
):
    order_in_status(Order.Status.HELD, [("GHOST-1", 2), ("=cmd|x", 1)])
    ProductFactory(sku="GHOST-2")
    order_in_status(Order.Status.NEW, [("GHOST-2", 1)])

    response = console.get("/products/listings/unmapped/", {"export": "csv", "q": "gh"})

    body = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert body[0].split(",") == ["listing_sku", "product_sku", "quantity"]
    assert sorted(body[1:]) == ["GHOST-1,,", "GHOST-2,GHOST-2,1"]  # blank until someone maps it
    everything = console.get("/products/listings/unmapped/", {"export": "csv"})
    assert "'=cmd|x,," in b"".join(everything.streaming_content).decode("utf-8-sig")
    # Another tenant's console downloads its own queue: empty.
    other = client_for(tenant_b, make_user(tenant_b, "operator"))
    theirs = b"".join(other.get("/products/listings/unmapped/", {"export": "csv"}).streaming_content)
    assert theirs.decode("utf-8-sig").splitlines()[1:] == []
