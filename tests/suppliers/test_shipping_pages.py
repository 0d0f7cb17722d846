"""Shipping a dispatch from the portal: the ship page (one or several parcels, no JavaScript), its API, and who
may use them (the supplier's own dispatches only; no console, finance or other tenant's user)."""

from __future__ import annotations

import json

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string

from suppliers.models import Dispatch, Parcel, ParcelLine
from suppliers.portal.shipping_views import ship_panel_context
from tests.conftest import in_tenant
from tests.suppliers.factories import SupplierFactory
from tests.suppliers.fixtures.dispatches import line_ids, make_dispatch

D = Dispatch.Status
SF = "SF1234567890123"
SF_2 = "SF1234567890124"
UPS = "1Z999AA10123456784"


@pytest.fixture
def dispatch(acme):
    return make_dispatch(acme, ("MUG", 3), ("TEE", 1))


def ship_url(dispatch) -> str:
    return f"/portal/dispatches/{dispatch.pk}/ship/"


def unchanged(dispatch):
    dispatch.refresh_from_db()
    assert dispatch.status == D.PENDING
    assert not Parcel.objects.filter(dispatch=dispatch).exists()


# ------------------------------------------------------------------ the page


def test_one_parcel(portal, dispatch, django_capture_on_commit_callbacks):
    page = portal.get(ship_url(dispatch))
    assert page.status_code == 200 and "SF Express" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=False):
        done = portal.post(
            ship_url(dispatch), {"parcels": "1", "action": "ship", "p0-carrier": "sf", "p0-tracking_number": SF}
        )

    assert done.status_code == 302
    dispatch.refresh_from_db()
    assert dispatch.status == D.SHIPPED
    assert list(Parcel.objects.values_list("carrier", "tracking_number")) == [("sf", SF)]


def test_changing_the_number_of_parcels_keeps_what_was_typed(portal, dispatch):
    page = portal.post(
        ship_url(dispatch), {"parcels": "2", "action": "resize", "p0-carrier": "ups", "p0-tracking_number": UPS}
    )

    assert page.status_code == 200
    parcels = page.context["parcels"]
    assert len(parcels) == 2
    assert (parcels[0]["carrier"].value(), parcels[0]["tracking_number"].value()) == ("ups", UPS)
    assert len(parcels[1].line_fields) == 2  # a quantity per line in each parcel
    assert "error" not in "".join(str(f.errors) for f in parcels)
    unchanged(dispatch)


def test_several_parcels_split_the_lines(portal, dispatch, django_capture_on_commit_callbacks):
    mug, tee = line_ids(dispatch)

    with django_capture_on_commit_callbacks(execute=False):
        done = portal.post(
            ship_url(dispatch),
            {
                "parcels": "2",
                "action": "ship",
                "p0-carrier": "sf",
                "p0-tracking_number": SF,
                f"p0-line_{mug}": "2",
                f"p0-line_{tee}": "1",
                "p1-carrier": "sf",
                "p1-tracking_number": SF_2,
                f"p1-line_{mug}": "1",
            },
        )

    assert done.status_code == 302
    held = set(ParcelLine.objects.values_list("parcel__tracking_number", "dispatch_line_id", "quantity"))
    assert held == {(SF, mug, 2), (SF, tee, 1), (SF_2, mug, 1)}


def test_errors_show_next_to_the_fields_and_nothing_typed_is_lost(portal, dispatch):
    mug, tee = line_ids(dispatch)

    page = portal.post(
        ship_url(dispatch),
        {
            "parcels": "2",
            "action": "ship",
            "p0-carrier": "ups",
            "p0-tracking_number": "1Z999AA10123456785",  # wrong check digit
            f"p0-line_{mug}": "2",
            "p1-carrier": "sf",
            "p1-tracking_number": SF,
            f"p1-line_{mug}": "1",
        },
    )

    assert page.status_code == 200
    first, second = page.context["parcels"]
    assert "check digit" in str(first.errors["tracking_number"])
    assert first["tracking_number"].value() == "1Z999AA10123456785"
    assert second[f"line_{mug}"].value() == "1"
    assert any("No parcel holds" in e or str(tee) in e for e in page.context["general_errors"])
    unchanged(dispatch)


def test_an_empty_parcel_is_refused(portal, dispatch):
    mug, tee = line_ids(dispatch)
    form = {"parcels": "2", "action": "ship", f"p0-line_{mug}": "3", f"p0-line_{tee}": "1"}
    form |= {"p0-carrier": "sf", "p0-tracking_number": SF, "p1-carrier": "sf", "p1-tracking_number": SF_2}

    page = portal.post(ship_url(dispatch), form)

    assert "holds nothing" in str(page.context["parcels"][1].non_field_errors())
    unchanged(dispatch)


def test_other_carrier_warns(portal, dispatch, django_capture_on_commit_callbacks):
    page = portal.post(ship_url(dispatch), {"parcels": "1", "action": "resize", "p0-carrier": "other"})
    assert "cannot be checked" in page.context["parcels"][0].warning

    with django_capture_on_commit_callbacks(execute=False):
        done = portal.post(
            ship_url(dispatch),
            {"parcels": "1", "action": "ship", "p0-carrier": "other", "p0-tracking_number": "LOCAL-1234"},
        )
    assert done.status_code == 302
    assert any("cannot be checked" in str(m) for m in get_messages(done.wsgi_request))


def test_a_shipped_dispatch_cannot_ship_again(portal, dispatch):
    Dispatch.objects.filter(pk=dispatch.pk).update(status=D.SHIPPED)

    page = portal.post(
        ship_url(dispatch), {"parcels": "1", "action": "ship", "p0-carrier": "sf", "p0-tracking_number": SF}
    )

    assert page.status_code == 200 and "cannot ship" in page.content.decode()
    assert not Parcel.objects.exists()


def test_the_panel_renders_with_only_the_dispatch(rf, acme_user, dispatch):
    request = rf.get("/")
    request.user = acme_user
    html = render_to_string("suppliers/portal/shipping_panel.html", {"dispatch": dispatch}, request=request)
    inline = render_to_string(
        "suppliers/portal/shipping_panel.html", {"dispatch": dispatch, **ship_panel_context(dispatch)}, request=request
    )

    assert ship_url(dispatch) in html and f"ids={dispatch.pk}" in html
    assert 'name="p0-carrier"' in inline


# ------------------------------------------------------------------ the API


def test_api_ships_in_parcels(portal_api, dispatch, django_capture_on_commit_callbacks):
    mug, tee = line_ids(dispatch)
    body = {
        "parcels": [
            {"carrier": "顺丰", "tracking_number": "sf 1234 5678 90123", "lines": [{"line_id": mug, "quantity": 3}]},
            {"carrier": "UPS", "tracking_number": UPS, "lines": None},
        ]
    }

    with django_capture_on_commit_callbacks(execute=False):
        response = portal_api.post(
            f"/api/v1/portal/dispatches/{dispatch.pk}/ship/", json.dumps(body), content_type="application/json"
        )

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "shipped"
    assert [(p["carrier"], p["tracking_number"], p["lines"]) for p in data["parcels"]] == [
        ("sf", SF, [{"line_id": mug, "quantity": 3}]),
        ("ups", UPS, [{"line_id": tee, "quantity": 1}]),
    ]


def test_api_refusal_names_the_field_and_writes_nothing(portal_api, dispatch):
    body = {"parcels": [{"carrier": "Pigeon", "tracking_number": "X1"}]}

    response = portal_api.post(
        f"/api/v1/portal/dispatches/{dispatch.pk}/ship/", json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 400
    assert "carrier" in response.json()
    unchanged(dispatch)


# ------------------------------------------------------------------ isolation


def test_another_suppliers_dispatch_is_forbidden(in_a, portal, portal_api):
    theirs = make_dispatch(SupplierFactory(label="Rival"), ("MUG", 1))
    form = {"parcels": "1", "action": "ship", "p0-carrier": "sf", "p0-tracking_number": SF}

    assert portal.get(ship_url(theirs)).status_code == 403
    assert portal.post(ship_url(theirs), form).status_code == 403
    response = portal_api.post(
        f"/api/v1/portal/dispatches/{theirs.pk}/ship/",
        json.dumps({"parcels": [{"carrier": "sf", "tracking_number": SF}]}),
        content_type="application/json",
    )
    assert response.status_code == 403
    unchanged(theirs)


@pytest.mark.parametrize("role", ["operator", "finance", "owner"])
def test_console_and_finance_users_are_refused(role, in_a, dispatch, make_user, client_for, api_for):
    user = make_user(in_a, role)
    form = {"parcels": "1", "action": "ship", "p0-carrier": "sf", "p0-tracking_number": SF}

    page = client_for(in_a, user).post(ship_url(dispatch), form)
    api = api_for(in_a, user).post(
        f"/api/v1/portal/dispatches/{dispatch.pk}/ship/",
        json.dumps({"parcels": [{"carrier": "sf", "tracking_number": SF}]}),
        content_type="application/json",
    )

    assert page.status_code in (302, 403)
    assert not page.get("Location", "").startswith("/portal/")
    assert api.status_code == 403
    unchanged(dispatch)


def test_another_tenants_supplier_user_has_nothing_here(
    in_a, dispatch, tenant_b, make_user, make_supplier, client_for, api_for
):
    user_b = make_user(tenant_b, "supplier", supplier=make_supplier(tenant_b))
    form = {"parcels": "1", "action": "ship", "p0-carrier": "sf", "p0-tracking_number": SF}

    # Their own host: no such dispatch there. Tenant A's host: their session and token mean nothing.
    client_b = client_for(tenant_b, user_b)
    own = client_b.post(ship_url(dispatch), form)
    session_on_a = client_b.post(ship_url(dispatch), form, HTTP_HOST=in_a.get_primary_domain().domain)
    token_on_a = api_for(tenant_b, user_b).post(
        f"/api/v1/portal/dispatches/{dispatch.pk}/ship/",
        json.dumps({"parcels": [{"carrier": "sf", "tracking_number": SF}]}),
        content_type="application/json",
        HTTP_HOST=in_a.get_primary_domain().domain,
    )

    assert own.status_code == 404
    assert session_on_a.status_code == 302 and "login" in session_on_a["Location"]
    assert token_on_a.status_code in (401, 403)
    with in_tenant(in_a):
        unchanged(dispatch)
