"""Catalog reads: product filters and keyset pages, for console users only (the unmapped queue: tests/orders)."""

import pytest
from django.core.exceptions import PermissionDenied

from inventory import selectors


def test_selectors_refuse_roles_outside_the_console(tenant_a, make_user, make_supplier, in_a):
    for user in (make_user(tenant_a, "finance"), make_user(tenant_a, "supplier", supplier=make_supplier(tenant_a))):
        with pytest.raises(PermissionDenied):
            selectors.products_for(user=user)


def test_products_page_walks_every_product_once_both_ways(make_product, operator):
    for i in range(23):
        make_product(f"SKU-{i:03d}", name="Red tee" if i % 2 else "Blue mug", active=i % 3 != 0)
    qs = selectors.products_for(user=operator)

    seen, cursor, pages = [], "", []
    while True:
        page = selectors.products_page(qs, after=cursor, size=10)
        pages.append(page)
        seen += [p.sku for p in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [f"SKU-{i:03d}" for i in range(23)]
    back = selectors.products_page(qs, before=pages[1].prev_cursor, size=10)
    assert [p.sku for p in back.rows] == [p.sku for p in pages[0].rows]

    filtered = selectors.products_filter(qs, selectors.ProductFilters(q="red", active=True))
    assert {p.sku for p in filtered} == {f"SKU-{i:03d}" for i in range(23) if i % 2 and i % 3}
    assert [p.sku for p in selectors.products_filter(qs, selectors.ProductFilters(q="sku-02"))] == [
        "SKU-020", "SKU-021", "SKU-022",
    ]  # fmt: skip


def test_products_page_carries_source_and_stock_figures(make_product, make_source):
    product = make_product("FIG")
    make_source(product, on_hand=5)
    make_source(product, on_hand=7, active=False)
    make_source(product)

    row = selectors.products_page(selectors.products_filter(
        selectors.Product.objects.all(), selectors.ProductFilters(q="FIG"))).rows[0]  # fmt: skip

    assert (row.source_count, row.active_source_count, row.on_hand, row.reserved) == (3, 2, 12, 0)
