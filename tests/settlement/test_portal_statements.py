"""The supplier portal's statements, pages and API: a supplier sees, confirms and disputes only its own issued
statements; other roles, other suppliers and other tenants are refused; a refused action changes nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from settlement import portal
from settlement.closing import period_close
from settlement.models import Statement, StatementDispute, StatementEvent, StatementLine
from settlement.statement_states import dispute_reject, statement_confirm, statement_issue, statement_mark_paid
from tests.conftest import in_tenant
from tests.settlement.factories import UTC


@pytest.fixture
def statements(shop, acme, bolt, october, finance):
    """October closed: Acme's CNY statement (2.00 + 3.00) and Bolt's issued; Acme's USD statement a draft."""
    shop.ship(acme, at=dt.datetime(2026, 10, 3, tzinfo=UTC), cost="2.00")
    shop.ship(acme, at=dt.datetime(2026, 10, 4, tzinfo=UTC), cost="3.00")
    shop.ship(acme, at=dt.datetime(2026, 10, 5, tzinfo=UTC), cost="7.00", currency="USD")
    shop.ship(bolt, at=dt.datetime(2026, 10, 6, tzinfo=UTC), cost="9.00")
    period_close(period=october, actor=finance)
    mine = Statement.objects.get(supplier=acme, currency="CNY")
    draft = Statement.objects.get(supplier=acme, currency="USD")
    theirs = Statement.objects.get(supplier=bolt)
    statement_issue(statement=mine, actor=finance)
    statement_issue(statement=theirs, actor=finance)
    return mine, draft, theirs


@pytest.fixture
def mine(statements):
    return statements[0]


@pytest.fixture
def supplier_user(in_a, acme, make_user):
    return make_user(in_a, "supplier", supplier=acme)


@pytest.fixture
def browser(in_a, supplier_user, client_for):
    return client_for(in_a, supplier_user)


@pytest.fixture
def token(in_a, supplier_user, api_for):
    return api_for(in_a, supplier_user)


def _page(pk: int | None = None, action: str = "") -> str:
    url = "/portal/statements/" if pk is None else f"/portal/statements/{pk}/"
    return f"{url}{action}/" if action else url


def _api(pk: int | None = None, action: str = "") -> str:
    url = "/api/v1/portal/statements/" if pk is None else f"/api/v1/portal/statements/{pk}/"
    return f"{url}{action}/" if action else url


def _everything() -> tuple:
    """Every statement's state and what hangs on it, to compare before and after a refused action."""
    return (
        tuple(Statement.objects.order_by("id").values_list("id", "status", "confirmed_at", "total")),
        StatementEvent.objects.count(),
        tuple(StatementDispute.objects.order_by("id").values_list("id", "status", "comment")),
    )


def _post_json(client, url: str, data=None):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json")


# ---------------------------------------------------------------- reading


def test_the_list_shows_own_issued_statements_only(statements, browser):
    mine, draft, theirs = statements

    response = browser.get(_page())

    assert response.status_code == 200
    body = response.content.decode()
    assert mine.number in body and "5.00" in body and "2026-10" in body
    assert draft.number not in body
    assert theirs.number not in body


def test_the_list_filters_by_status_and_pages_by_fifty(statements, browser, monkeypatch, finance):
    mine = statements[0]
    assert portal.PAGE_SIZE == 50

    assert mine.number not in browser.get(_page(), {"status": "paid"}).content.decode()
    assert mine.number in browser.get(_page(), {"status": "issued"}).content.decode()
    # a draft cannot be asked for by status either
    assert statements[1].number not in browser.get(_page(), {"status": "draft"}).content.decode()

    # two statements, one a page: each page shows one, and page 2 keeps the filter
    statement_issue(statement=statements[1], actor=finance)
    monkeypatch.setattr(portal, "PAGE_SIZE", 1)
    first = browser.get(_page(), {"status": "issued"}).content.decode()
    second = browser.get(_page(), {"status": "issued", "page": 2}).content.decode()
    assert (mine.number in first) != (mine.number in second)
    assert (statements[1].number in first) != (statements[1].number in second)
    assert "status=issued&amp;page=2" in first


def test_the_api_lists_own_issued_statements_only(statements, token):
    mine = statements[0]

    response = token.get(_api())

    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 1 and data["next"] is None
    assert [(s["number"], s["period"], s["currency"], s["status"], s["total"]) for s in data["results"]] == [
        (mine.number, "2026-10", "CNY", "issued", "5.00")
    ]
    assert token.get(_api(), {"status": "draft"}).status_code == 400


def test_the_detail_shows_lines_total_and_what_it_waits_for(mine, browser, token):
    response = browser.get(_page(mine.pk))

    assert response.status_code == 200
    body = response.content.decode()
    assert "2.00" in body and "3.00" in body and "5.00 CNY" in body
    assert "Waiting for you" in body
    data = token.get(_api(mine.pk)).json()
    assert [(line["kind"], line["quantity"], line["unit_cost"], line["amount"]) for line in data["lines"]] == [
        ("shipped", 1, "2", "2.00"), ("shipped", 1, "3", "3.00")
    ]  # fmt: skip
    assert data["total"] == "5.00" and data["waiting_for"].startswith("Waiting for you")


# ---------------------------------------------------------------- supplier isolation


def test_another_suppliers_statement_and_a_draft_are_not_found(statements, browser, token):
    _mine, draft, theirs = statements
    before = _everything()

    for statement in (draft, theirs):
        assert browser.get(_page(statement.pk)).status_code == 404
        assert browser.post(_page(statement.pk, "confirm")).status_code == 404
        line = StatementLine.objects.filter(statement=statement).first()
        assert browser.post(_page(statement.pk, "dispute"), {f"comment_{line.pk}": "no"}).status_code == 404
        assert token.get(_api(statement.pk)).status_code == 404
        assert _post_json(token, _api(statement.pk, "confirm")).status_code == 404
        response = _post_json(token, _api(statement.pk, "dispute"), {"disputes": [{"line": line.pk, "comment": "x"}]})
        assert response.status_code == 404

    assert _everything() == before


# ---------------------------------------------------------------- wrong role


@pytest.mark.parametrize("role", ["operator", "finance"])
def test_console_and_finance_users_are_refused(role, in_a, mine, make_user, client_for, api_for):
    user = make_user(in_a, role)
    browser, token = client_for(in_a, user), api_for(in_a, user)
    before = _everything()

    for url in (_page(), _page(mine.pk)):
        response = browser.get(url)
        assert response.status_code in (302, 403)
        assert response.status_code == 403 or not response["Location"].startswith("/portal/")
    assert browser.post(_page(mine.pk, "confirm")).status_code in (302, 403)
    assert token.get(_api()).status_code == 403
    assert token.get(_api(mine.pk)).status_code == 403
    assert _post_json(token, _api(mine.pk, "confirm")).status_code == 403

    assert _everything() == before


def test_anonymous_is_sent_to_log_in(mine, in_a, client_for):
    response = client_for(in_a).get(_page(mine.pk))

    assert response.status_code == 302 and "/login/" in response["Location"]


# ---------------------------------------------------------------- tenant isolation


def test_tenant_bs_supplier_user_sees_nothing_of_tenant_a(
    mine, tenant_b, make_supplier, make_user, client_for, api_for
):
    supplier_b = make_supplier(tenant_b, name="Beta supplier")
    user_b = make_user(tenant_b, "supplier", supplier=supplier_b)
    browser_b, token_b = client_for(tenant_b, user_b), api_for(tenant_b, user_b)
    before = _everything()

    assert mine.number not in browser_b.get(_page()).content.decode()
    assert browser_b.get(_page(mine.pk)).status_code == 404
    assert browser_b.post(_page(mine.pk, "confirm")).status_code == 404
    assert token_b.get(_api()).json()["count"] == 0
    assert token_b.get(_api(mine.pk)).status_code == 404
    assert _post_json(token_b, _api(mine.pk, "confirm")).status_code == 404
    # B's token means nothing on A's host
    token_b.defaults["HTTP_HOST"] = "alpha.localhost"
    assert token_b.get(_api()).status_code in (401, 403)

    with in_tenant(tenant_b):
        assert not Statement.objects.exists()
    assert _everything() == before


# ---------------------------------------------------------------- confirm and dispute


def test_confirm_on_the_page(mine, browser, supplier_user):
    response = browser.post(_page(mine.pk, "confirm"))

    assert response.status_code == 302 and response["Location"] == _page(mine.pk)
    mine.refresh_from_db()
    assert mine.status == "confirmed" and mine.confirmed_at is not None
    event = StatementEvent.objects.filter(statement=mine).last()
    assert (event.from_state, event.to_state, event.actor_id) == ("issued", "confirmed", supplier_user.pk)
    assert "Waiting for the merchant to pay it" in browser.get(_page(mine.pk)).content.decode()


def test_confirm_through_the_api(mine, token):
    response = _post_json(token, _api(mine.pk, "confirm"))

    assert response.status_code == 200 and response.json()["status"] == "confirmed"
    assert StatementEvent.objects.filter(statement=mine, to_state="confirmed").count() == 1


def test_dispute_a_line_on_the_page(mine, browser, supplier_user):
    first, second = StatementLine.objects.filter(statement=mine).order_by("id")

    response = browser.post(
        _page(mine.pk, "dispute"), {f"comment_{first.pk}": "  we sent 0  ", f"comment_{second.pk}": ""}
    )

    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.status == "disputed"
    assert list(StatementDispute.objects.values_list("line_id", "comment", "status", "raised_by_id")) == [
        (first.pk, "we sent 0", "open", supplier_user.pk)
    ]
    assert StatementEvent.objects.filter(statement=mine, from_state="issued", to_state="disputed").exists()
    body = browser.get(_page(mine.pk)).content.decode()
    assert "we sent 0" in body and "Waiting for the merchant to answer" in body


def test_dispute_through_the_api(mine, token):
    line = StatementLine.objects.filter(statement=mine).first()

    response = _post_json(token, _api(mine.pk, "dispute"), {"disputes": [{"line": line.pk, "comment": "price"}]})

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "disputed"
    assert [(d["line"], d["comment"], d["status"]) for d in data["disputes"]] == [(line.pk, "price", "open")]


def test_a_resolution_is_shown_and_the_merchant_is_not_named(mine, acme, browser, token, supplier_user, finance):
    line = StatementLine.objects.filter(statement=mine).first()
    browser.post(_page(mine.pk, "dispute"), {f"comment_{line.pk}": "price"})
    dispute = StatementDispute.objects.get()
    dispute_reject(dispute=dispute, resolution="price as agreed in March", actor=finance)

    body = browser.get(_page(mine.pk)).content.decode()
    data = token.get(_api(mine.pk)).json()

    assert "price as agreed in March" in body and "the merchant" in body
    assert finance.email not in body and finance.email not in json.dumps(data)
    assert data["disputes"][0]["resolved_by"] == "the merchant"
    assert {e["actor"] for e in data["events"]} == {"the merchant", supplier_user.email}


# ---------------------------------------------------------------- refused actions


def test_confirming_a_paid_statement_is_refused_with_the_reason(mine, acme, supplier_user, finance, browser, token):
    statement_confirm(statement=mine, supplier=acme, actor=supplier_user)
    statement_mark_paid(statement=mine, reference="WIRE-1", date=dt.date(2026, 11, 19), actor=finance)
    before = _everything()

    page = browser.post(_page(mine.pk, "confirm"))
    api = _post_json(token, _api(mine.pk, "confirm"))

    assert page.status_code == 400 and "it has been paid" in page.content.decode()
    assert api.status_code == 400 and "it has been paid" in " ".join(api.json()["detail"])
    assert _everything() == before


def test_disputing_a_line_of_another_statement_is_refused(statements, browser, token):
    mine, _draft, theirs = statements
    foreign = StatementLine.objects.filter(statement=theirs).first()
    before = _everything()

    page = browser.post(_page(mine.pk, "dispute"), {f"comment_{foreign.pk}": "not ours"})
    api = _post_json(token, _api(mine.pk, "dispute"), {"disputes": [{"line": foreign.pk, "comment": "not ours"}]})

    assert page.status_code == 400 and "not on this statement" in page.content.decode()
    assert api.status_code == 400 and "not on this statement" in " ".join(api.json()["detail"])
    assert _everything() == before


def test_disputing_without_a_comment_is_refused(mine, browser):
    before = _everything()

    page = browser.post(_page(mine.pk, "dispute"), {})

    assert page.status_code == 400 and "Choose the lines you dispute" in page.content.decode()
    assert _everything() == before
