"""The month close's page ends with its result: the statements made per supplier (lines, total in each currency),
the lines in all, and the way to the period; finance and owner only, tenant B sees none of it, in Chinese too."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation

from settlement.closing import period_close
from settlement.models import Statement
from tests.settlement.factories import UTC

URL = "/settlement/2026-10/close/"


@pytest.fixture
def browser(in_a, finance, client_for):
    return client_for(in_a, finance)


@pytest.fixture
def closed(shop, acme, bolt, october, finance):
    shop.ship(acme, at=dt.datetime(2026, 10, 3, tzinfo=UTC), cost="2.00")
    shop.ship(acme, at=dt.datetime(2026, 10, 4, tzinfo=UTC), cost="3.00")
    shop.ship(bolt, at=dt.datetime(2026, 10, 5, tzinfo=UTC), cost="7.50", currency="USD")
    period_close(period=october, actor=finance)
    return october


def _facts(page: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page))


def test_the_closed_month_shows_each_suppliers_statement_and_the_lines_in_all(browser, closed, acme, bolt):
    page = browser.get(URL).content.decode()

    facts = _facts(page)
    assert (facts["Statements made"], facts["Suppliers"], facts["Lines in all"]) == ("2", "2", "3")
    for supplier, total in ((acme, "5.00 CNY"), (bolt, "7.50 USD")):
        statement = Statement.objects.get(period=closed, supplier=supplier)
        row = re.search(rf"<tr><td class=\"wrap\">{re.escape(supplier.name)}</td>.*?</tr>", page, re.S).group(0)
        assert f'href="/settlement/statements/{statement.pk}/"' in row and total in row
    assert 'href="/settlement/2026-10/"' in page and 'http-equiv="refresh"' not in page


def test_a_month_with_nothing_to_bill_says_so(browser, october, finance):
    period_close(period=october, actor=finance)

    page = browser.get(URL).content.decode()

    assert "no statement was made" in page and 'href="/settlement/2026-10/"' in page


def test_the_result_is_in_chinese(browser, closed):
    with translation.override("en"):
        page = browser.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "正在月结 2026-10" in page and "查看对账单" in page


def test_other_roles_and_tenant_b_cannot_see_the_result(closed, in_a, tenant_b, make_user, client_for, acme):
    for user in (make_user(in_a, "operator"), make_user(in_a, "supplier", supplier=acme)):
        assert client_for(in_a, user).get(URL).status_code == 403
    assert client_for(tenant_b, make_user(tenant_b, "finance")).get(URL).status_code == 404
