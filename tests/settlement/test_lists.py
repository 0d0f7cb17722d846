"""Finance lists (adjustments, payout imports, a period's statements) and the portal's statements list: filters
and sorts combined, CSV/XLSX downloads of exactly the filtered rows with money as numbers beside a currency,
formula-looking text neutralised, a failed submit keeping what was typed, tenant and supplier isolation, roles."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from settlement.adjustments import adjustment_create
from settlement.closing import period_close
from settlement.models import Adjustment, PayoutImport, Statement
from settlement.periods import period_for
from settlement.statement_states import statement_issue
from tests.channels.factories import StoreFactory
from tests.conftest import in_tenant
from tests.settlement.factories import UTC
from tests.suppliers.factories import SupplierFactory

NOVEMBER = dt.date(2026, 11, 1)


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def xlsx_rows(response) -> list[tuple]:
    assert response.status_code == 200
    return list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True))


@pytest.fixture
def browser(in_a, finance, client_for):
    return client_for(in_a, finance)


# ---------------------------------------------------------------- adjustments


@pytest.fixture
def adjustments(acme, bolt, finance):
    november = period_for(month=NOVEMBER)

    def add(supplier, amount, reason, currency="CNY", approve=False):
        return adjustment_create(period=november, supplier=supplier, currency=currency, amount=amount,
                                 reason=reason, kind="adjustment", approve=approve, actor=finance)  # fmt: skip

    return {
        "small": add(acme, "1.50", "Short shipped"),
        "big": add(acme, "20.00", '=HYPERLINK("x") freight'),
        "usd": add(acme, "9.00", "Short shipped", currency="USD"),
        "bolt": add(bolt, "5.00", "Short shipped", approve=True),
    }


def test_adjustments_filtered_by_supplier_and_currency_sorted_by_amount(browser, adjustments, acme):
    query = {"supplier": acme.pk, "currency": "CNY", "sort": "-amount"}

    page = browser.get("/settlement/adjustments/", query).content.decode()

    assert page.index("20.00 CNY") < page.index("1.50 CNY")
    assert "9.00 USD" not in page and "5.00 CNY" not in page
    assert f'<option value="{acme.pk}" selected>' in page  # the filter keeps its value
    rows = csv_rows(browser.get("/settlement/adjustments/", {**query, "export": "csv"}))
    assert rows[0][:6] == ["Period", "Supplier", "Kind", "Currency", "Amount", "Reason"]
    assert [(row[3], row[4], row[5]) for row in rows[1:]] == [
        ("CNY", "20.00", '\'=HYPERLINK("x") freight'),
        ("CNY", "1.50", "Short shipped"),
    ]


def test_adjustments_xlsx_holds_the_pending_ones_as_numbers(browser, adjustments):
    sheet = xlsx_rows(browser.get("/settlement/adjustments/", {"pending": "1", "sort": "amount", "export": "xlsx"}))
    assert sorted((row[3], row[4]) for row in sheet[1:]) == [("CNY", 1.5), ("CNY", 20), ("USD", 9)]


def test_adjustments_search_finds_the_reason(browser, adjustments):
    page = browser.get("/settlement/adjustments/", {"q": "freight"}).content.decode()
    assert "20.00 CNY" in page and "1.50 CNY" not in page
    assert (
        "No adjustment matches these filters." in browser.get("/settlement/adjustments/", {"q": "zzz"}).content.decode()
    )


def test_a_failed_adjustment_keeps_what_was_typed(browser, adjustments, acme):
    before = Adjustment.objects.count()

    response = browser.post(
        "/settlement/adjustments/",
        {"month": "2026-11", "supplier": acme.pk, "currency": "CNY", "kind": "adjustment", "amount": "abc",
         "reason": "Typed reason stays"},
    )  # fmt: skip

    page = response.content.decode()
    assert response.status_code == 400
    assert 'value="Typed reason stays"' in page and 'value="abc"' in page
    assert 'class="field has-error"' in page
    assert Adjustment.objects.count() == before


def test_adjustments_of_tenant_b_are_neither_shown_nor_exported(browser, adjustments, tenant_b, finance):
    with in_tenant(tenant_b):
        other = SupplierFactory(label="Bravo")
        adjustment_create(period=period_for(month=NOVEMBER), supplier=other, currency="CNY", amount="77.00",
                          reason="tenant B only", kind="adjustment", actor=None)  # fmt: skip
    assert "tenant B only" not in browser.get("/settlement/adjustments/").content.decode()
    assert "tenant B only" not in str(csv_rows(browser.get("/settlement/adjustments/", {"export": "csv"})))


@pytest.mark.parametrize("role", ["operator", "supplier"])
def test_other_roles_cannot_list_or_export_finance_lists(in_a, make_user, client_for, acme, adjustments, role):
    user = make_user(in_a, role, supplier=acme if role == "supplier" else None)
    client = client_for(in_a, user)
    for url in ("/settlement/adjustments/", "/settlement/payouts/", "/settlement/2026-11/"):
        assert client.get(url, {"export": "csv"}).status_code == 403, url


def test_the_adjustments_page_does_not_query_per_row(browser, adjustments, django_assert_max_num_queries):
    with django_assert_max_num_queries(15):
        assert browser.get("/settlement/adjustments/", {"sort": "supplier"}).status_code == 200


# ---------------------------------------------------------------- payout imports


@pytest.fixture
def imports(in_a):
    north, south = StoreFactory(name="North"), StoreFactory(name="South")
    at = dt.datetime(2026, 11, 10, tzinfo=UTC)
    made = {}
    for n, (store, source, name, items) in enumerate(
        [(north, "alipay", "alipay-oct.csv", 40), (north, "wechat", "wechat-oct.csv", 12),
         (south, "alipay", "=cmd.csv", 7)]
    ):  # fmt: skip
        made[name] = PayoutImport.objects.create(
            store=store, source=source, name=name, digest=f"d{n}", items_count=items,
            imported_at=at + dt.timedelta(hours=n), imported_by_label="finance",
        )  # fmt: skip
    return north, south, made


def test_payout_imports_filtered_by_source_and_sorted_by_transactions(browser, imports):
    query = {"source": "alipay", "sort": "-items"}

    page = browser.get("/settlement/payouts/", query).content.decode()

    assert page.index("alipay-oct.csv") < page.index("=cmd.csv")
    assert "wechat-oct.csv" not in page
    rows = csv_rows(browser.get("/settlement/payouts/", {**query, "export": "csv"}))
    assert [(row[3], row[4]) for row in rows[1:]] == [("alipay-oct.csv", "40"), ("'=cmd.csv", "7")]


def test_payout_imports_xlsx_holds_one_store(browser, imports):
    north, _south, _made = imports
    sheet = xlsx_rows(browser.get("/settlement/payouts/", {"store": north.pk, "sort": "name", "export": "xlsx"}))
    assert [row[3] for row in sheet[1:]] == ["alipay-oct.csv", "wechat-oct.csv"]


# ---------------------------------------------------------------- a period's statements


@pytest.fixture
def closed(shop, acme, bolt, october, finance):
    shop.ship(acme, at=dt.datetime(2026, 10, 3, tzinfo=UTC), cost="2.00")
    shop.ship(acme, at=dt.datetime(2026, 10, 5, tzinfo=UTC), cost="7.00", currency="USD")
    shop.ship(bolt, at=dt.datetime(2026, 10, 6, tzinfo=UTC), cost="9.00")
    period_close(period=october, actor=finance)
    return october


def test_period_statements_filtered_and_sorted_by_total_export_as_the_page(browser, closed, acme):
    query = {"status": "draft", "sort": "-total"}

    page = browser.get("/settlement/2026-10/", query).content.decode()
    page = page[page.index("<tbody>") :]  # past the totals line
    rows = csv_rows(browser.get("/settlement/2026-10/", {**query, "export": "csv"}))
    sheet = xlsx_rows(browser.get("/settlement/2026-10/", {"supplier": acme.pk, "export": "xlsx"}))

    assert page.index("9.00 CNY") < page.index("7.00 USD") < page.index("2.00 CNY")
    assert [(row[4], row[5]) for row in rows[1:]] == [("CNY", "9.00"), ("USD", "7.00"), ("CNY", "2.00")]
    assert sorted((row[4], row[5]) for row in sheet[1:]) == [("CNY", 2), ("USD", 7)]


def test_period_search_by_supplier_name(browser, closed, bolt):
    page = browser.get("/settlement/2026-10/", {"q": bolt.name}).content.decode()
    assert "9.00 CNY" in page and "2.00 CNY" not in page


def test_the_period_page_does_not_query_per_row(browser, closed, django_assert_max_num_queries):
    with django_assert_max_num_queries(15):
        assert browser.get("/settlement/2026-10/", {"sort": "status"}).status_code == 200


def test_the_statement_history_shows_state_labels(browser, closed, acme, finance):
    statement = Statement.objects.get(supplier=acme, currency="CNY")
    statement_issue(statement=statement, actor=finance)
    page = browser.get(f"/settlement/statements/{statement.pk}/").content.decode()
    assert "Draft → Issued" in page


# ---------------------------------------------------------------- the portal's statements


@pytest.fixture
def issued(closed, finance):
    for statement in Statement.objects.all():
        statement_issue(statement=statement, actor=finance)
    return Statement.objects.all()


@pytest.fixture
def supplier_browser(in_a, acme, make_user, client_for):
    return client_for(in_a, make_user(in_a, "supplier", supplier=acme))


def test_a_supplier_exports_only_its_own_statements_sorted(supplier_browser, issued, acme, bolt):
    rows = csv_rows(supplier_browser.get("/portal/statements/", {"sort": "-total", "export": "csv"}))
    sheet = xlsx_rows(supplier_browser.get("/portal/statements/", {"status": "issued", "export": "xlsx"}))

    assert rows[0][:5] == ["Statement", "Period", "Status", "Currency", "Total"]
    assert [(row[3], row[4]) for row in rows[1:]] == [("USD", "7.00"), ("CNY", "2.00")]
    assert {row[0] for row in sheet[1:]} == set(
        Statement.objects.filter(supplier=acme).values_list("number", flat=True)
    )
    assert not {row[0] for row in rows[1:]} & set(
        Statement.objects.filter(supplier=bolt).values_list("number", flat=True)
    )


def test_a_supplier_page_sorts_its_statements(supplier_browser, issued):
    page = supplier_browser.get("/portal/statements/", {"sort": "total"}).content.decode()
    assert page.index("2.00 CNY") < page.index("7.00 USD")
    assert "9.00 CNY" not in page


def test_finance_cannot_open_the_portal_list(browser, issued):
    response = browser.get("/portal/statements/", {"export": "csv"})
    assert response.status_code in (302, 403)
    assert "text/csv" not in response.get("Content-Type", "")


def test_a_refused_dispute_keeps_the_typed_comments(supplier_browser, issued, acme):
    statement = Statement.objects.get(supplier=acme, currency="CNY")
    line = statement.lines.first()

    response = supplier_browser.post(
        f"/portal/statements/{statement.pk}/dispute/", {f"comment_{line.pk}": "We sent 0", "comment_999999": "x"}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "Some of these lines are not on this statement." in page
    assert f'name="comment_{line.pk}" id="id_comment_{line.pk}" maxlength="1000" value="We sent 0"' in page
    assert Statement.objects.get(pk=statement.pk).status == "issued"


def test_the_portal_statement_shows_unit_cost_through_the_money_filter(supplier_browser, issued, acme):
    statement = Statement.objects.get(supplier=acme, currency="CNY")
    page = supplier_browser.get(f"/portal/statements/{statement.pk}/").content.decode()
    assert "2.0000" not in page and ">2.00<" in page
