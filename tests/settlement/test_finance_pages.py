"""The finance pages: periods and the month close, a period's statements, one statement (issue, disputes,
paid), adjustments. Finance and owner only; tenant B sees nothing of A; refused actions change nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from settlement.adjustments import adjustment_create
from settlement.closing import period_close
from settlement.models import Adjustment, Period, Statement, StatementDispute, StatementEvent
from settlement.periods import period_for
from settlement.statement_states import statement_confirm, statement_dispute, statement_issue
from tests.conftest import in_tenant
from tests.settlement.factories import UTC, lines_of
from tests.suppliers.factories import SupplierFactory


@pytest.fixture
def browser(in_a, finance, client_for):
    return client_for(in_a, finance)


@pytest.fixture
def supplier_user(in_a, acme, make_user):
    return make_user(in_a, "supplier", supplier=acme)


@pytest.fixture
def closed(shop, acme, bolt, october, finance) -> Period:
    """October closed: Acme's CNY statement (2.00 + 3.00) and Bolt's USD statement (7.50), drafts."""
    shop.ship(acme, at=dt.datetime(2026, 10, 3, tzinfo=UTC), cost="2.00")
    shop.ship(acme, at=dt.datetime(2026, 10, 4, tzinfo=UTC), cost="3.00")
    shop.ship(bolt, at=dt.datetime(2026, 10, 5, tzinfo=UTC), cost="7.50", currency="USD")
    period_close(period=october, actor=finance)
    return october


@pytest.fixture
def statement(closed, acme) -> Statement:
    return Statement.objects.get(period=closed, supplier=acme)


def _pages(statement: Statement) -> list[str]:
    return [
        "/settlement/",
        "/settlement/2026-10/",
        "/settlement/2026-10/close/",
        f"/settlement/statements/{statement.pk}/",
        "/settlement/adjustments/",
    ]


def _text(response) -> str:
    return response.content.decode()


def _state(statement: Statement) -> tuple:
    s = Statement.objects.get(pk=statement.pk)
    return (s.status, s.total, s.issued_at, s.paid_at, s.payment_reference, s.payment_date, s.events.count(),
            StatementDispute.objects.filter(status="open").count(), Adjustment.objects.count())  # fmt: skip


# ---------------------------------------------------------------- who may see the pages


@pytest.mark.parametrize("role", ["finance", "owner"])
def test_every_page_renders_for_finance_and_owner(statement, in_a, make_user, client_for, role):
    client = client_for(in_a, make_user(in_a, role))

    for url in _pages(statement):
        response = client.get(url)
        assert response.status_code == 200, url

    assert statement.number in _text(client.get("/settlement/2026-10/"))


def test_operator_and_supplier_users_get_403(statement, in_a, operator, supplier_user, client_for):
    for user in (operator, supplier_user):
        client = client_for(in_a, user)
        for url in _pages(statement):
            assert client.get(url).status_code == 403, (user, url)
        before = _state(statement)
        assert client.post(f"/settlement/statements/{statement.pk}/", {"action": "issue"}).status_code == 403
        assert client.post("/settlement/close/", {"month": "2026-11"}).status_code == 403
        assert _state(statement) == before


def test_anonymous_is_sent_to_log_in(statement, in_a, client_for):
    response = client_for(in_a).get("/settlement/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_tenant_b_finance_sees_none_of_tenant_as_periods_and_statements(statement, tenant_b, make_user, client_for):
    b_finance = make_user(tenant_b, "finance")
    client = client_for(tenant_b, b_finance)

    index = client.get("/settlement/")
    assert index.status_code == 200
    assert 'href="/settlement/2026-10/"' not in _text(index)
    assert client.get("/settlement/2026-10/").status_code == 404
    assert client.get(f"/settlement/statements/{statement.pk}/").status_code == 404
    assert statement.number not in _text(client.get("/settlement/adjustments/"))
    with in_tenant(tenant_b):
        assert not Period.objects.exists()


# ---------------------------------------------------------------- periods and the close


def test_close_button_queues_the_close_and_the_page_shows_the_result(shop, acme, october, browser, run_enqueued):
    shop.ship(acme, at=dt.datetime(2026, 10, 3, tzinfo=UTC), cost="4.00")
    index = browser.get("/settlement/")
    assert "Close month 2026-10" in _text(index)

    with run_enqueued() as sent:
        response = browser.post("/settlement/close/", {"month": "2026-10"})
        assert response.status_code == 302 and response["Location"] == "/settlement/2026-10/close/"
        waiting = browser.get("/settlement/2026-10/close/")
        assert 'http-equiv="refresh"' in _text(waiting) and "Waiting for a worker" in _text(waiting)
    assert len(sent) == 1

    october.refresh_from_db()
    assert october.status == "closed"
    done = browser.get("/settlement/2026-10/close/")
    assert 'http-equiv="refresh"' not in _text(done)
    assert "1 statements; 1 shipped lines" in _text(done)
    listing = _text(browser.get("/settlement/"))
    assert "4.00 CNY" in listing and "Close month 2026-10" not in listing


def test_close_refused_by_the_service_shows_why_and_changes_nothing(acme, october, finance, browser, run_enqueued):
    adjustment_create(period=october, supplier=acme, currency="CNY", amount="1.00", reason="late fee", actor=finance)

    with run_enqueued() as sent:
        response = browser.post("/settlement/close/", {"month": "2026-10"}, follow=True)

    assert not sent
    assert "wait for approval" in _text(response)
    october.refresh_from_db()
    assert october.status == "open"


def test_a_month_that_is_not_next_is_not_closed(october, browser, run_enqueued):
    with run_enqueued() as sent:
        response = browser.post("/settlement/close/", {"month": "2026-11"}, follow=True)

    assert not sent
    assert "cannot be closed now" in _text(response)
    assert not Period.objects.filter(month=dt.date(2026, 11, 1)).exists()
    assert Period.objects.get(pk=october.pk).status == "open"


def test_period_page_filters_by_status_and_supplier(closed, acme, bolt, browser):
    statement_issue(statement=Statement.objects.get(supplier=bolt), actor=None)
    acme_number = Statement.objects.get(supplier=acme).number
    bolt_number = Statement.objects.get(supplier=bolt).number

    page = _text(browser.get("/settlement/2026-10/"))
    assert acme_number in page and bolt_number in page and "5.00 CNY" in page and "7.50 USD" in page

    issued = _text(browser.get("/settlement/2026-10/", {"status": "issued"}))
    assert bolt_number in issued and acme_number not in issued
    of_acme = _text(browser.get("/settlement/2026-10/", {"supplier": acme.pk}))
    assert acme_number in of_acme and bolt_number not in of_acme


def test_list_pages_do_not_query_per_row(shop, october, finance, browser, django_assert_max_num_queries):
    for n in range(12):
        supplier = SupplierFactory(label=f"S{n}")
        shop.ship(supplier, at=dt.datetime(2026, 10, 3, tzinfo=UTC), cost="1.00")
        adjustment_create(period=period_for(month=dt.date(2026, 11, 1)), supplier=supplier, currency="CNY",
                          amount="1.00", reason="x", actor=finance, origin=None)  # fmt: skip
    period_close(period=october, actor=finance)

    for url in ("/settlement/", "/settlement/2026-10/", "/settlement/adjustments/"):
        with django_assert_max_num_queries(15):
            assert browser.get(url).status_code == 200


# ---------------------------------------------------------------- one statement


def test_statement_page_shows_lines_total_and_issue_moves_it(statement, browser):
    page = _text(browser.get(f"/settlement/statements/{statement.pk}/"))
    assert "2.00 CNY" in page and "3.00 CNY" in page and "5.00 CNY" in page and "Issue to the supplier" in page

    response = browser.post(f"/settlement/statements/{statement.pk}/", {"action": "issue"})

    assert response.status_code == 302
    statement.refresh_from_db()
    assert statement.status == "issued"
    assert "Draft → Issued" in _text(browser.get(response["Location"]))


def test_paying_a_draft_shows_why_and_changes_nothing(statement, browser):
    before = _state(statement)

    response = browser.post(
        f"/settlement/statements/{statement.pk}/", {"action": "pay", "reference": "WIRE-1", "date": "2026-11-19"}
    )

    assert response.status_code == 400
    assert "draft" in _text(response) and "Traceback" not in _text(response)
    assert _state(statement) == before


def test_issuing_twice_shows_why_and_changes_nothing(statement, finance, browser):
    statement_issue(statement=statement, actor=finance)
    before = _state(statement)

    response = browser.post(f"/settlement/statements/{statement.pk}/", {"action": "issue"})

    assert response.status_code == 400 and "issued" in _text(response)
    assert _state(statement) == before


def test_mark_paid_keeps_input_on_error_then_pays(statement, acme, finance, supplier_user, browser):
    statement_issue(statement=statement, actor=finance)
    statement_confirm(statement=statement, supplier=acme, actor=supplier_user)
    before = _state(statement)
    url = f"/settlement/statements/{statement.pk}/"

    refused = browser.post(url, {"action": "pay", "reference": "WIRE-77", "date": "2026-12-01"})

    assert refused.status_code == 400
    assert "cannot be in the future" in _text(refused) and 'value="WIRE-77"' in _text(refused)
    assert _state(statement) == before

    assert browser.post(url, {"action": "pay", "reference": "WIRE-77", "date": "2026-11-19"}).status_code == 302
    statement.refresh_from_db()
    assert (statement.status, statement.payment_reference) == ("paid", "WIRE-77")


@pytest.fixture
def disputed(statement, acme, finance, supplier_user) -> tuple[Statement, list[StatementDispute]]:
    statement_issue(statement=statement, actor=finance)
    first, second = lines_of(statement.period)[:2]
    disputes = statement_dispute(
        statement=statement, supplier=acme, actor=supplier_user,
        disputes=[(first.pk, "cost was 1.50"), (second.pk, "never arrived")],
    )  # fmt: skip
    return statement, disputes


def test_disputes_show_their_comments_and_resolve_by_adjustment_and_rejection(disputed, browser):
    statement, (first, second) = disputed
    url = f"/settlement/statements/{statement.pk}/"
    assert "cost was 1.50" in _text(browser.get(url)) and "never arrived" in _text(browser.get(url))

    adjusted = browser.post(url, {
        "action": "resolve", "dispute": first.pk, f"d{first.pk}-decision": "adjust",
        f"d{first.pk}-amount": "-0.50", f"d{first.pk}-resolution": "agreed: 1.50",
    })  # fmt: skip
    assert adjusted.status_code == 302
    adjustment = Adjustment.objects.get()
    assert (adjustment.amount, str(adjustment.period), adjustment.origin_id) == (
        Decimal("-0.50"), "2026-11", first.line_id
    )  # fmt: skip

    rejected = browser.post(url, {
        "action": "resolve", "dispute": second.pk, f"d{second.pk}-decision": "reject",
        f"d{second.pk}-resolution": "signed delivery note",
    })  # fmt: skip
    assert rejected.status_code == 302
    statement.refresh_from_db()
    assert statement.status == "issued"  # every dispute resolved: issued again
    page = _text(browser.get(url))
    assert "agreed: 1.50" in page and "signed delivery note" in page and "every dispute resolved" in page


def test_dispute_form_keeps_input_on_error_and_changes_nothing(disputed, browser):
    statement, (first, _second) = disputed
    before = _state(statement)
    url = f"/settlement/statements/{statement.pk}/"

    no_amount = browser.post(url, {
        "action": "resolve", "dispute": first.pk, f"d{first.pk}-decision": "adjust",
        f"d{first.pk}-resolution": "we owe them something",
    })  # fmt: skip
    bad_amount = browser.post(url, {
        "action": "resolve", "dispute": first.pk, f"d{first.pk}-decision": "adjust",
        f"d{first.pk}-amount": "0.505", f"d{first.pk}-resolution": "half a cent",
    })  # fmt: skip

    assert no_amount.status_code == 400 and "amount" in _text(no_amount) and "we owe them something" in _text(no_amount)
    assert bad_amount.status_code == 400 and 'value="0.505"' in _text(bad_amount) and "half a cent" in _text(bad_amount)
    assert _state(statement) == before


# ---------------------------------------------------------------- adjustments


def test_adjustment_is_created_and_approved(acme, october, browser):
    response = browser.post("/settlement/adjustments/", {
        "month": "2026-10", "supplier": acme.pk, "currency": "CNY", "kind": "penalty",
        "amount": "-20.00", "reason": "late shipments",
    })  # fmt: skip
    assert response.status_code == 302
    adjustment = Adjustment.objects.get()
    assert (adjustment.kind, adjustment.approved_at) == ("penalty", None)
    page = _text(browser.get("/settlement/adjustments/"))
    assert "−20.00 CNY" in page and "late shipments" in page and "Approve" in page

    assert browser.post(f"/settlement/adjustments/{adjustment.pk}/approve/").status_code == 302
    adjustment.refresh_from_db()
    assert adjustment.approved_at is not None


def test_adjustment_form_keeps_input_and_says_what_is_wrong(acme, october, browser):
    response = browser.post("/settlement/adjustments/", {
        "month": "2026-10", "supplier": acme.pk, "currency": "CNY", "kind": "penalty",
        "amount": "20.00", "reason": "late shipments",
    })  # fmt: skip

    assert response.status_code == 400
    page = _text(response)
    assert "negative amount" in page and 'value="20.00"' in page and 'value="late shipments"' in page
    assert not Adjustment.objects.exists()


def test_adjustment_into_a_closed_month_is_refused(closed, acme, browser):
    months = [
        value for value, _label in browser.get("/settlement/adjustments/").context["form"].fields["month"].choices
    ]
    assert "2026-10" not in months and "2026-11" in months

    response = browser.post("/settlement/adjustments/", {
        "month": "2026-10", "supplier": acme.pk, "currency": "CNY", "kind": "adjustment",
        "amount": "1.00", "reason": "too late",
    })  # fmt: skip

    assert response.status_code == 400 and 'value="too late"' in _text(response)
    assert not Adjustment.objects.exists()


def test_approving_twice_shows_why_and_changes_nothing(acme, october, finance, browser):
    adjustment = adjustment_create(
        period=october, supplier=acme, currency="CNY", amount="1.00", reason="x", actor=finance, approve=True
    )
    approved_at = adjustment.approved_at

    response = browser.post(f"/settlement/adjustments/{adjustment.pk}/approve/", follow=True)

    assert "approved already" in _text(response)
    adjustment.refresh_from_db()
    assert adjustment.approved_at == approved_at
    assert not StatementEvent.objects.exists()


def test_period_for_a_month_with_no_row_is_404(in_a, browser):
    period_for(month=dt.date(2026, 9, 1))
    assert browser.get("/settlement/2026-08/").status_code == 404
    assert browser.get("/settlement/2026-09/").status_code == 200
