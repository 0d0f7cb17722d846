"""One dispatch in the portal: what the supplier needs (lines, its cost, ship-to, deadlines, timeline, parcels)
and nothing else of the merchant's (no sale price, the buyer's e-mail only when shared)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from suppliers.actions import dispatch_accept
from suppliers.dispatch_states import dispatch_note
from suppliers.models import Dispatch, Parcel, ParcelLine
from tests.suppliers.portal_factories import make_dispatch, new_order

NOW = timezone.now()


@pytest.fixture
def dispatch(acme):
    """Two mugs at 4.1250 CNY and a tee at 3.00 CNY, sold at 10.00 USD a unit."""
    order = new_order(("MUG", 2), ("TEE", 1), number="#5001")
    return make_dispatch(
        acme, order=order, lines=(("MUG", 2, "4.1250"), ("TEE", 1, "3.00")), buyer_email="ada@shop.test"
    )


def test_detail_shows_lines_with_the_suppliers_cost_and_no_sale_price(portal, dispatch):
    response = portal.get(f"/portal/dispatches/{dispatch.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    for text in ("MUG", "Product MUG", "TEE", "#5001", "4.125 CNY", "8.25", "3.00", "11.25 CNY", "Springfield", "1 Main St",
                 "Ada Lovelace", "+1 555 0100", "Accept by", "Ship by"):  # fmt: skip
        assert text in html, text
    assert "10.00" not in html  # the sale price
    assert "USD" not in html
    assert "ada@shop.test" not in html
    assert [line.line_cost for line in response.context["detail"].lines] == [pytest.approx(8.25), pytest.approx(3)]


def test_buyer_email_only_when_the_merchant_shares_it(portal, portal_api, acme, dispatch):
    hidden_page = portal.get(f"/portal/dispatches/{dispatch.pk}/").content.decode()
    hidden_api = portal_api.get(f"/api/v1/portal/dispatches/{dispatch.pk}/").json()
    acme.share_buyer_email = True
    acme.save(update_fields=["share_buyer_email"])

    shown_page = portal.get(f"/portal/dispatches/{dispatch.pk}/").content.decode()
    shown_api = portal_api.get(f"/api/v1/portal/dispatches/{dispatch.pk}/").json()
    shown_list = portal_api.get("/api/v1/portal/dispatches/").json()["results"][0]

    assert "ada@shop.test" not in hidden_page and hidden_api["buyer_email"] == ""
    assert "ada@shop.test" in shown_page and shown_api["buyer_email"] == "ada@shop.test"
    assert shown_list["buyer_email"] == "ada@shop.test"


def test_api_detail_has_lines_ship_to_deadlines_and_events(portal_api, acme_user, dispatch):
    dispatch_accept(dispatch=dispatch, actor=acme_user, promised_ship_date=timezone.localdate() + dt.timedelta(days=2))

    body = portal_api.get(f"/api/v1/portal/dispatches/{dispatch.pk}/").json()

    assert body["number"] == dispatch.number
    assert body["ship_to"]["city"] == "Springfield"
    assert body["accept_by"] and body["ship_by"] and body["promised_ship_date"]
    assert [(line["product_sku"], line["quantity"], line["unit_cost"], line["line_cost"], line["cost_currency"])
            for line in body["lines"]] == [("MUG", 2, "4.1250", "8.2500", "CNY"), ("TEE", 1, "3.0000", "3.0000", "CNY")]  # fmt: skip
    assert body["order_numbers"] == ["#5001"]
    assert body["total_cost"] == {"CNY": "11.2500"}
    assert [(e["from_state"], e["to_state"], e["actor"]) for e in body["events"]] == [
        ("pending", "accepted", acme_user.email)
    ]
    assert not {"unit_price", "net_amount", "total", "subtotal"} & {key for line in body["lines"] for key in line}


def test_overdue_deadline_is_highlighted(portal, acme):
    late = make_dispatch(acme, created=NOW - dt.timedelta(days=2))

    response = portal.get(f"/portal/dispatches/{late.pk}/")

    assert response.context["overdue_kind"] == "accept"
    assert 'class="error"' in response.content.decode()


def test_timeline_names_the_merchants_people_only_as_the_merchant(portal, operator, acme, dispatch):
    dispatch_note(notes=[(dispatch.pk, "Please ship the tee first.")], actor=operator, actor_label="console")

    html = portal.get(f"/portal/dispatches/{dispatch.pk}/").content.decode()

    assert "Please ship the tee first." in html
    assert operator.email not in html
    assert "merchant" in html


def test_shipped_dispatch_shows_its_parcels_and_no_answer_forms(portal, acme, dispatch):
    Dispatch.objects.filter(pk=dispatch.pk).update(status="shipped", shipped_at=NOW)
    parcel = Parcel.objects.create(
        dispatch=dispatch, carrier="sf", tracking_number="SF1234567890123", tracking_url="https://sf.example/SF1"
    )
    for line in dispatch.lines.all():
        ParcelLine.objects.create(parcel=parcel, dispatch_line=line, quantity=line.quantity)

    response = portal.get(f"/portal/dispatches/{dispatch.pk}/")

    html = response.content.decode()
    assert "SF1234567890123" in html and "https://sf.example/SF1" in html
    assert not (response.context["can_accept"] or response.context["can_reject"] or response.context["can_split"])
    assert 'id="accept"' not in html and 'id="reject"' not in html
    assert 'id="shipping"' in html  # the shipping part's panel goes here


def test_pending_dispatch_offers_accept_reject_and_accept_in_part(portal, dispatch):
    html = portal.get(f"/portal/dispatches/{dispatch.pk}/").content.decode()

    assert 'id="accept"' in html and 'id="reject"' in html and 'id="accept-partly"' in html
    for line in dispatch.lines.all():
        assert f'value="{line.pk}"' in html


def test_timeline_names_states_in_words(portal, acme_user, dispatch):
    dispatch_accept(dispatch=dispatch, actor=acme_user)

    html = portal.get(f"/portal/dispatches/{dispatch.pk}/").content.decode()

    assert "Awaiting acceptance → <strong>Accepted</strong>" in html
    assert "pending → " not in html
