"""The reconciliation and margins pages as lists: filters that combine and stay in every link (states, pager, sort,
export), empty states that say what to do next, refused values shown next to their field with what was typed,
and the pages in Chinese."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from settlement import payouts_views
from settlement.models import PayoutSettings
from tests.channels.factories import StoreFactory
from tests.inventory.factories import ProductFactory
from tests.orders.factories import OrderFactory
from tests.settlement.test_margins import URL as MARGINS
from tests.settlement.test_margins import _line, _order, _part

FIXTURES = Path(__file__).parent / "fixtures" / "payouts"
PLACED = dt.datetime(2026, 10, 20, 4, 0, tzinfo=dt.UTC)
RECONCILIATION = "/settlement/reconciliation/"


@pytest.fixture
def books(in_a, finance, client_for):
    return client_for(in_a, finance)


@pytest.fixture
def browser(books):
    return books


@pytest.fixture
def shop(in_a, books):
    store = StoreFactory(name="天猫旗舰店")
    for number, price in (("RL-1001", "199.00"), ("RL-1002", "159.00"), ("RL-2001", "120.00")):
        OrderFactory(store=store, external_id=number, order_number=number, price=price, placed_at=PLACED)
    upload = SimpleUploadedFile("wechat_bill_all.csv", (FIXTURES / "wechat_bill_all.csv").read_bytes())
    assert (
        books.post("/settlement/payouts/", {"store": store.pk, "source": "wechat", "file": upload}).status_code == 302
    )
    return store


def _hrefs(page: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*)"', page)]


def _chinese(client, url, query=None) -> str:
    with translation.override("en"):  # the middleware leaves the request's language active: put it back
        return client.get(url, query or {}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


# ---------------------------------------------------------------- reconciliation


def test_state_and_search_combine_and_every_link_keeps_them(books, shop):
    query = {"store": shop.pk, "month": "2026-10", "state": "unpaid", "q": "RL-10"}

    page = books.get(RECONCILIATION, query).content.decode()

    assert "RL-1001" in page and "RL-2001" not in page
    hrefs = _hrefs(page)
    # another state keeps the search; the scope form keeps the state and the search; so does the export
    assert f"{RECONCILIATION}?store={shop.pk}&month=2026-10&state=differs&q=RL-10" in hrefs
    assert f"{RECONCILIATION}?store={shop.pk}&month=2026-10&q=RL-10" in hrefs  # all orders
    assert '<input type="hidden" name="state" value="unpaid">' in page
    assert page.count('<input type="hidden" name="q" value="RL-10">') == 2  # the scope form and the export
    # the payout lines no order matches have no order number to search: that link drops it
    assert f"{RECONCILIATION}?store={shop.pk}&month=2026-10&state=payout_only" in hrefs


def test_the_pager_keeps_the_state_and_the_search(books, shop, monkeypatch):
    monkeypatch.setattr(payouts_views, "ROWS_PAGE_SIZE", 1)

    first = books.get(RECONCILIATION, {"store": shop.pk, "month": "2026-10", "q": "RL-"}).content.decode()
    second = books.get(RECONCILIATION, {"store": shop.pk, "month": "2026-10", "q": "RL-", "page": 2}).content.decode()

    assert f"{RECONCILIATION}?store={shop.pk}&month=2026-10&q=RL-&page=2" in _hrefs(first)
    assert f"{RECONCILIATION}?store={shop.pk}&month=2026-10&q=RL-&page=3" in _hrefs(second)
    assert "Page 2 of 3" in second


def test_an_empty_search_says_how_to_get_back(books, shop):
    page = books.get(RECONCILIATION, {"store": shop.pk, "month": "2026-10", "state": "unpaid", "q": "NOPE"})

    text = page.content.decode()
    assert "No order number of this view contains “NOPE”." in text
    assert f"{RECONCILIATION}?store={shop.pk}&month=2026-10&state=unpaid" in _hrefs(text)  # clear the search


def test_without_a_store_finance_is_told_who_connects_one(books, in_a, make_user, client_for):
    assert "Ask an operator or the owner to connect the stores." in books.get(RECONCILIATION).content.decode()
    owner = client_for(in_a, make_user(in_a, "owner")).get(RECONCILIATION).content.decode()
    assert 'href="/stores/"' in owner


def test_a_refused_tolerance_is_shown_next_to_the_field_with_what_was_typed(books, shop):
    here = f"{RECONCILIATION}?store={shop.pk}&month=2026-10&state=differs"

    response = books.post(
        "/settlement/reconciliation/tolerance/", {"store": shop.pk, "month": "2026-10", "tolerance": "-5", "next": here}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'name="tolerance" value="-5"', page)
    assert re.search(r'has-error">.*?<small class="error">', page, re.S)
    assert "RL-2001" in page and "RL-1001" not in page  # the page it came from, its state kept
    assert not PayoutSettings.objects.filter(store=shop).exclude(tolerance=0).exists()


def test_the_reconciliation_page_is_in_chinese(books, shop):
    assert "<h1>对账</h1>" in _chinese(books, RECONCILIATION, {"store": shop.pk, "month": "2026-10"})


# ---------------------------------------------------------------- margins


@pytest.fixture
def sold(store, acme):
    """One USD order of this month: a tee sold at 10.00 (cost 4.00) and a mug at 40.00 (cost 10.00)."""
    tee, mug = ProductFactory(sku="TEE", name="Product TEE"), ProductFactory(sku="MUG", name="Product MUG")
    order = _order(store, ("TEE", 1, "10.00", "0"), ("MUG", 1, "40.00", "0"), order_number="#M-1")
    _part(acme, _line(order, "TEE"), tee, quantity=1, cost="4.00")
    _part(acme, _line(order, "MUG"), mug, quantity=1, cost="10.00")
    return order


def test_margin_filters_stay_in_the_tabs_sort_links_and_export(sold, store, browser):
    query = {"group": "product", "currency": "USD", "store": store.pk, "sort": "sale", "direction": "asc"}

    page = browser.get(MARGINS, query).content.decode()

    assert page.index("Product TEE") < page.index("Product MUG")  # 10.00 before 40.00
    hrefs = _hrefs(page)
    assert any(h.startswith("?group=supplier&") and "currency=USD" in h and f"store={store.pk}" in h for h in hrefs)
    assert any("sort=sale" in h and "direction=desc" in h and "currency=USD" in h for h in hrefs)
    assert 'aria-sort="ascending"' in page
    for name, value in (("currency", "USD"), ("store", str(store.pk)), ("group", "product"), ("sort", "sale")):
        assert f'<input type="hidden" name="{name}" value="{value}">' in page  # the export's form


def test_margin_empty_state_offers_to_clear_the_filters(sold, browser):
    page = browser.get(MARGINS, {"group": "store", "currency": "EUR"}).content.decode()

    assert "No order placed in these days matches." in page
    assert f"{MARGINS}?group=store" in _hrefs(page)


def test_a_bad_margin_filter_is_shown_next_to_its_field_and_kept(sold, browser):
    response = browser.get(MARGINS, {"currency": "RMB", "group": "supplier"})

    page = response.content.decode()
    assert response.status_code == 400
    field = re.search(r'<div class="field has-error"><label for="id_currency">.*?</div>', page, re.S).group(0)
    assert 'value="RMB"' in field and 'class="error"' in field and "use CNY" in field


def test_the_margins_page_is_in_chinese(sold, browser):
    assert "<h1>毛利</h1>" in _chinese(browser, MARGINS)


def test_other_roles_and_tenant_b_see_no_margins_or_reconciliation(sold, shop, in_a, tenant_b, make_user,
                                                                   client_for):  # fmt: skip
    _order(shop, ("TEE", 1, "10.00", "0"), order_number="#M-9")
    for role in ("operator",):
        client = client_for(in_a, make_user(in_a, role))
        for url in (MARGINS, RECONCILIATION):
            assert client.get(url).status_code in (302, 403)
    b = client_for(tenant_b, make_user(tenant_b, "finance"))
    assert "#M-1" not in b.get(MARGINS).content.decode()
    assert "天猫旗舰店" not in b.get(RECONCILIATION).content.decode()
