"""A supplier's contacts and terms in the console and the API; deactivating and reactivating a supplier: routing moves
on along the path, and its users are shut out of the portal."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from orders.routing.core import Reason, describe
from orders.routing.services import route_orders
from suppliers.models import DispatchLine, Supplier
from suppliers.services import supplier_create, supplier_set_active, supplier_update
from tests.conftest import in_tenant
from tests.orders.routing_factories import add_source, make_order, make_product, make_supplier
from tests.orders.routing_reads import current_decision

FORM = {
    "name": "Hangzhou Textile", "code": "HZ", "contact_name": "Li Wei", "contact_email": "li@hz.cn",
    "contact_phone": "+86 571 8888 0000", "currency": "CNY", "payment_terms_days": "45",
    "accept_within_hours": "12", "ship_within_hours": "48", "share_buyer_email": "on", "active": "on",
}  # fmt: skip


def test_the_form_saves_contacts_and_terms(console):
    response = console.post("/suppliers/new/", FORM)

    supplier = Supplier.objects.get(code="HZ")
    assert response.status_code == 302 and response["Location"] == f"/suppliers/{supplier.pk}/"
    assert (supplier.contact_name, supplier.contact_email, supplier.contact_phone) == (
        "Li Wei", "li@hz.cn", "+86 571 8888 0000",
    )  # fmt: skip
    assert (supplier.currency, supplier.payment_terms_days) == ("CNY", 45)
    assert (supplier.accept_within_hours, supplier.ship_within_hours, supplier.share_buyer_email) == (12, 48, True)


def test_the_edit_form_starts_from_the_saved_terms_and_changes_them(console):
    supplier = supplier_create(name="Old", code="OLD", currency="EUR", accept_within_hours=6, ship_within_hours=30)

    initial = console.get(f"/suppliers/{supplier.pk}/edit/").context["form"].initial
    console.post(f"/suppliers/{supplier.pk}/edit/", {**FORM, "code": "OLD", "ship_within_hours": "96"})

    assert (initial["currency"], initial["accept_within_hours"], initial["ship_within_hours"]) == ("EUR", 6, 30)
    supplier.refresh_from_db()
    assert (supplier.currency, supplier.ship_within_hours, supplier.contact_name) == ("CNY", 96, "Li Wei")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"accept_within_hours": "0"}, "accept_within_hours"),
        ({"ship_within_hours": "99999"}, "ship_within_hours"),
        ({"accept_within_hours": "48", "ship_within_hours": "24"}, "ship_within_hours"),
        ({"payment_terms_days": "-1"}, "payment_terms_days"),
        ({"currency": "RMB"}, "currency"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"contact_email": "nope"}, "contact_email"),
    ],
)
def test_the_form_refuses_bad_terms_and_saves_nothing(console, change, field):
    response = console.post("/suppliers/new/", {**FORM, **change})

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Supplier.objects.exists()


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "rmb"}, "currency"),
        ({"accept_within_hours": 0}, "accept_within_hours"),
        ({"accept_within_hours": 24 * 31}, "accept_within_hours"),
        ({"ship_within_hours": 24 * 91}, "ship_within_hours"),
        ({"accept_within_hours": 30, "ship_within_hours": 20}, "ship_within_hours"),
        ({"payment_terms_days": 366}, "payment_terms_days"),
    ],
)
def test_the_service_checks_every_term(in_a, terms, field):
    with pytest.raises(ValidationError) as refused:
        supplier_create(name="X", code="X", **terms)

    assert field in refused.value.error_dict
    assert not Supplier.objects.exists()


def test_the_service_takes_a_currency_in_any_case(in_a):
    assert supplier_create(name="X", code="X", currency=" cny ").currency == "CNY"


def test_an_update_that_breaks_a_rule_changes_nothing(in_a):
    supplier = supplier_create(name="X", code="X", accept_within_hours=10, ship_within_hours=20)

    with pytest.raises(ValidationError):
        supplier_update(supplier=supplier, accept_within_hours=30)

    supplier.refresh_from_db()
    assert supplier.accept_within_hours == 10


def test_the_api_reads_and_writes_terms(api):
    created = api.post(
        "/api/v1/suppliers/",
        {"name": "API", "code": "API-1", "currency": "jpy", "accept_within_hours": 8, "contact_phone": "021-5555"},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["currency"], body["accept_within_hours"], body["ship_within_hours"]) == ("JPY", 8, 72)
    assert body["contact_phone"] == "021-5555"

    refused = api.patch(f"/api/v1/suppliers/{body['id']}/", {"ship_within_hours": 2}, content_type="application/json")
    patched = api.patch(
        f"/api/v1/suppliers/{body['id']}/",
        {"share_buyer_email": True, "payment_terms_days": 60},
        content_type="application/json",
    )

    assert refused.status_code == 400 and "ship_within_hours" in refused.json()
    assert Supplier.objects.get(pk=body["id"]).ship_within_hours == 72
    assert (patched.json()["share_buyer_email"], patched.json()["payment_terms_days"]) == (True, 60)


def test_the_api_refuses_an_unknown_currency(api):
    response = api.post(
        "/api/v1/suppliers/", {"name": "API", "code": "API-1", "currency": "ABC"}, content_type="application/json"
    )

    assert response.status_code == 400 and "currency" in response.json()
    assert not Supplier.objects.exists()


# ---------------------------------------------------------------- deactivate and reactivate


def test_deactivate_and_reactivate_from_the_supplier_page(console):
    supplier = supplier_create(name="Acme", code="ACME")

    off = console.post(f"/suppliers/{supplier.pk}/active/", {"active": "0"})
    supplier.refresh_from_db()
    assert off.status_code == 302 and supplier.active is False
    page = console.get(f"/suppliers/{supplier.pk}/").content.decode()
    assert "Reactivate" in page and "no new dispatches" in page

    console.post(f"/suppliers/{supplier.pk}/active/", {"active": "1"})
    supplier.refresh_from_db()
    assert supplier.active is True


def test_set_active_is_compare_and_set(in_a):
    supplier = supplier_create(name="Acme", code="ACME")

    assert supplier_set_active(supplier=supplier, active=False) is True
    assert supplier_set_active(supplier=supplier, active=False) is False
    assert Supplier.objects.get(pk=supplier.pk).active is False


def test_the_users_of_a_deactivated_supplier_are_shut_out_until_it_is_reactivated(
    tenant_a, make_supplier, make_user, client_for, api_for
):
    supplier = make_supplier(tenant_a)
    user = make_user(tenant_a, "supplier", supplier=supplier)
    browser, api = client_for(tenant_a, user), api_for(tenant_a, user)
    assert browser.get("/portal/").status_code == 200
    assert api.get("/api/v1/portal/dispatches/").status_code == 200

    with in_tenant(tenant_a):
        supplier_set_active(supplier=supplier, active=False)

    assert api.get("/api/v1/portal/dispatches/").status_code == 403

    assert browser.get("/portal/").status_code == 403
    assert browser.get("/portal/dispatches/").status_code == 403
    assert api.get("/api/v1/me/").json()["supplier_id"] is None
    assert 'href="/portal/dispatches/"' not in browser.get("/account/").content.decode()

    with in_tenant(tenant_a):
        supplier_set_active(supplier=supplier, active=True)

    assert browser.get("/portal/").status_code == 200
    assert api.get("/api/v1/me/").json()["supplier_id"] == supplier.pk


def test_routing_moves_on_from_a_deactivated_supplier_and_says_so(store):
    # given: a mug first at Acme, then at Bolt; Acme is deactivated
    acme, bolt = make_supplier("Acme"), make_supplier("Bolt")
    mug = make_product("MUG")
    add_source(mug, acme)
    add_source(mug, bolt)
    supplier_set_active(supplier=acme, active=False)
    order = make_order(store, ("MUG", 1))

    # when
    route_orders(order_ids=[order.pk], trigger="ingest")

    # then: Bolt gets the dispatch and the decision names the reason
    assert DispatchLine.objects.get(order=order).dispatch.supplier_id == bolt.pk
    considered = {c["supplier_id"]: c["reasons"][0] for c in current_decision(order).lines[0]["considered"]}
    assert considered[bolt.pk]["code"] == "chosen"
    assert considered[acme.pk]["code"] == "supplier_inactive"
    assert describe(Reason("supplier_inactive")) == "The supplier is deactivated."


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_other_roles_cannot_change_a_supplier(role, tenant_a, make_user, make_supplier, client_for, api_for):
    supplier = make_supplier(tenant_a)
    user = make_user(tenant_a, role, supplier=supplier if role == "supplier" else None)

    page = client_for(tenant_a, user).post(f"/suppliers/{supplier.pk}/active/", {"active": "0"})
    api = api_for(tenant_a, user).patch(
        f"/api/v1/suppliers/{supplier.pk}/", {"active": False, "currency": "EUR"}, content_type="application/json"
    )

    assert (page.status_code, api.status_code) == (403, 403)
    with in_tenant(tenant_a):
        supplier.refresh_from_db()
    assert (supplier.active, supplier.currency) == (True, "USD")


def test_tenant_b_suppliers_cannot_be_deactivated_from_here(console, tenant_a, tenant_b, make_supplier):
    other = make_supplier(tenant_b)
    connection.set_tenant(tenant_a)

    assert console.post(f"/suppliers/{other.pk}/active/", {"active": "0"}).status_code == 404
    with in_tenant(tenant_b):
        other.refresh_from_db()
    assert other.active is True


def test_the_supplier_page_shows_terms_and_overdue_counts(console):
    supplier = supplier_create(name="Acme", code="ACME", contact_name="Li Wei", currency="CNY")

    body = console.get(f"/suppliers/{supplier.pk}/").content.decode()

    assert "Li Wei" in body and "CNY" in body
    assert "No open dispatch is past a deadline." in body


def test_a_late_shipment_penalty_is_an_amount_to_the_cent_from_zero(console):
    saved = console.post("/suppliers/new/", {**FORM, "late_ship_penalty": "25.50"})
    supplier = Supplier.objects.get(code="HZ")
    assert saved.status_code == 302 and str(supplier.late_ship_penalty) == "25.50"
    assert "25.50 CNY a dispatch shipped late" in console.get(f"/suppliers/{supplier.pk}/").content.decode()

    for bad in ("-1", "1.234", "abc"):
        with pytest.raises(ValidationError) as refused:
            supplier_update(supplier=supplier, late_ship_penalty=bad)
        assert "late_ship_penalty" in refused.value.message_dict
    supplier.refresh_from_db()
    assert str(supplier.late_ship_penalty) == "25.50"
    page = console.post(f"/suppliers/{supplier.pk}/edit/", {**FORM, "late_ship_penalty": "-3"})
    assert page.status_code == 200 and "late_ship_penalty" in page.context["form"].errors
