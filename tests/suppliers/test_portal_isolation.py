"""Who reaches which portal page and endpoint: a supplier's user sees and changes only its own supplier's
dispatches (by URL, API or bulk id), merchant users are sent away, and nothing crosses tenants."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from suppliers.models import Dispatch
from tests.conftest import in_tenant
from tests.suppliers.portal_factories import make_dispatch, new_order, snapshot

TOMORROW = (timezone.localdate() + dt.timedelta(days=1)).isoformat()

PAGES = ["/portal/", "/portal/dispatches/", "/portal/dispatches/{pk}/"]
PAGE_POSTS = [
    ("/portal/dispatches/{pk}/accept/", {"promised_ship_date": TOMORROW}),
    ("/portal/dispatches/{pk}/reject/", {"reason_code": "out_of_stock"}),
    ("/portal/dispatches/{pk}/accept-partly/", {"rejected_lines": ["{line}"], "reason_code": "out_of_stock"}),
    ("/portal/dispatches/bulk/", {"action": "accept", "ids": ["{pk}"], "promised_ship_date": TOMORROW}),
]
API_GETS = ["/api/v1/portal/summary/", "/api/v1/portal/dispatches/", "/api/v1/portal/dispatches/{pk}/"]
API_POSTS = [
    ("/api/v1/portal/dispatches/{pk}/accept/", {"promised_ship_date": TOMORROW}),
    ("/api/v1/portal/dispatches/{pk}/reject/", {"reason_code": "out_of_stock"}),
    ("/api/v1/portal/dispatches/{pk}/accept-partly/", {"rejected_line_ids": ["{line}"], "reason_code": "out_of_stock"}),
    ("/api/v1/portal/dispatches/bulk-accept/", {"ids": ["{pk}"], "promised_ship_date": TOMORROW}),
    ("/api/v1/portal/dispatches/bulk-reject/", {"ids": ["{pk}"], "reason_code": "out_of_stock"}),
]


def _target(dispatch: Dispatch) -> tuple[int, int]:
    """The dispatch's id and its first line's (read in the dispatch's own tenant)."""
    return dispatch.pk, dispatch.lines.order_by("pk").first().pk


def _fill(value, target: tuple[int, int]):
    pk, line = target
    if isinstance(value, list):
        return [_fill(item, target) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, target) for key, item in value.items()}
    if value in ("{pk}", "{line}"):
        return pk if value == "{pk}" else line
    return value.format(pk=pk) if isinstance(value, str) else value


@pytest.fixture
def bolts_dispatch(bolt):
    """Bolt's pending dispatch of two lines, on its own order."""
    return make_dispatch(bolt, order=new_order(("SECRET-1", 1), ("SECRET-2", 1), number="#BOLT-77"),
                         lines=(("SECRET-1", 1, "9.00"), ("SECRET-2", 1, "9.00")), buyer_name="Zed Bolt-Buyer")  # fmt: skip


# ---------------------------------------------------------------- supplier against supplier


def test_another_suppliers_dispatch_is_forbidden_on_every_page(in_a, acme, acme_user, bolts_dispatch, client_for):
    client = client_for(in_a, acme_user)
    make_dispatch(acme)
    before = snapshot(bolts_dispatch)

    refused = client.get(f"/portal/dispatches/{bolts_dispatch.pk}/")
    assert refused.status_code == 403
    assert bolts_dispatch.number not in refused.content.decode() and "SECRET" not in refused.content.decode()
    assert client.get("/portal/dispatches/99999999/").status_code == 404  # none at all: not found
    for url, data in PAGE_POSTS[:3]:
        assert (
            client.post(_fill(url, _target(bolts_dispatch)), _fill(data, _target(bolts_dispatch))).status_code == 403
        ), url
    bulk = client.post("/portal/dispatches/bulk/", _fill(PAGE_POSTS[3][1], _target(bolts_dispatch)), follow=True)
    assert f"#{bolts_dispatch.pk} — no dispatch of yours has this id." in bulk.content.decode()
    assert bolts_dispatch.number not in bulk.content.decode()
    for query in ("", f"?q={bolts_dispatch.number}", "?q=%23BOLT", "?q=SECRET", "?q=zed", "?state=pending"):
        response = client.get(f"/portal/dispatches/{query}")
        assert bolts_dispatch.pk not in [d.pk for d in response.context["page"].dispatches], query
    html = client.get("/portal/dispatches/").content.decode()
    assert bolts_dispatch.number not in html and "SECRET" not in html and "Zed" not in html
    assert client.get("/portal/").context["summary"].awaiting == 1
    assert snapshot(bolts_dispatch) == before


def test_another_suppliers_dispatch_is_forbidden_by_api(in_a, acme, acme_user, bolts_dispatch, api_for):
    api = api_for(in_a, acme_user)
    own = make_dispatch(acme)
    before = snapshot(bolts_dispatch)

    refused = api.get(f"/api/v1/portal/dispatches/{bolts_dispatch.pk}/")
    assert refused.status_code == 403 and bolts_dispatch.number not in refused.content.decode()
    for url, data in API_POSTS[:3]:
        response = api.post(
            _fill(url, _target(bolts_dispatch)), _fill(data, _target(bolts_dispatch)), content_type="application/json"
        )
        assert response.status_code == 403, url
    for url, data in API_POSTS[3:]:
        body = api.post(
            _fill(url, _target(bolts_dispatch)), _fill(data, _target(bolts_dispatch)), content_type="application/json"
        ).json()
        assert body == {
            "done": [],
            "refused": [{"id": bolts_dispatch.pk, "number": "", "reason": "No dispatch of yours has this id."}],
        }
    for query in ("", f"?q={bolts_dispatch.number}", "?q=%23BOLT", "?q=SECRET", "?q=zed"):
        rows = api.get(f"/api/v1/portal/dispatches/{query}").json()["results"]
        assert bolts_dispatch.number not in [row["number"] for row in rows], query
    assert [row["number"] for row in api.get("/api/v1/portal/dispatches/").json()["results"]] == [own.number]
    assert api.get("/api/v1/portal/summary/").json()["awaiting"] == 1
    assert snapshot(bolts_dispatch) == before


def test_bulk_mixing_own_and_foreign_ids_acts_only_on_own(in_a, acme, acme_user, bolts_dispatch, api_for):
    own = make_dispatch(acme)
    before = snapshot(bolts_dispatch)

    body = (
        api_for(in_a, acme_user)
        .post(
            "/api/v1/portal/dispatches/bulk-accept/",
            {"ids": [own.pk, bolts_dispatch.pk], "promised_ship_date": TOMORROW},
            content_type="application/json",
        )
        .json()
    )

    assert body["done"] == [own.number]
    assert [r["id"] for r in body["refused"]] == [bolts_dispatch.pk]
    assert Dispatch.objects.get(pk=own.pk).status == "accepted"
    assert snapshot(bolts_dispatch) == before


def test_accept_in_part_cannot_name_another_suppliers_lines(in_a, acme, acme_user, bolts_dispatch, api_for):
    own = make_dispatch(acme, lines=(("MUG", 1, "4.00"), ("TEE", 1, "3.00")))
    before, own_before = snapshot(bolts_dispatch), snapshot(own)

    response = api_for(in_a, acme_user).post(
        f"/api/v1/portal/dispatches/{own.pk}/accept-partly/",
        {"rejected_line_ids": [bolts_dispatch.lines.first().pk], "reason_code": "out_of_stock"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert (snapshot(bolts_dispatch), snapshot(own)) == (before, own_before)


# ---------------------------------------------------------------- other roles


@pytest.mark.parametrize(
    "role, home", [("owner", "/dashboard/"), ("operator", "/dashboard/"), ("finance", "/settlement/")]
)
def test_merchant_users_are_sent_away_from_the_portal(role, home, in_a, bolts_dispatch, make_user, client_for, api_for):
    user = make_user(in_a, role)
    client, api = client_for(in_a, user), api_for(in_a, user)
    before = snapshot(bolts_dispatch)

    for url in PAGES:
        response = client.get(_fill(url, _target(bolts_dispatch)))
        assert response.status_code == 302 and response["Location"].startswith(home), url
    for url, data in PAGE_POSTS:
        response = client.post(_fill(url, _target(bolts_dispatch)), _fill(data, _target(bolts_dispatch)))
        assert response.status_code == 302 and response["Location"].startswith(home), url
    for url in API_GETS:
        assert api.get(_fill(url, _target(bolts_dispatch))).status_code == 403, url
    for url, data in API_POSTS:
        response = api.post(
            _fill(url, _target(bolts_dispatch)), _fill(data, _target(bolts_dispatch)), content_type="application/json"
        )
        assert response.status_code == 403, url
    assert snapshot(bolts_dispatch) == before


def test_a_supplier_user_not_linked_yet_or_of_a_deactivated_supplier_is_refused(
    in_a, acme, bolts_dispatch, make_user, client_for, api_for
):
    unlinked = make_user(in_a, "supplier")
    linked = make_user(in_a, "supplier", supplier=acme)
    own = make_dispatch(acme)
    target = _target(own)
    acme.active = False
    acme.save(update_fields=["active"])
    before = snapshot(own)

    for user in (unlinked, linked):
        client, api = client_for(in_a, user), api_for(in_a, user)
        for url in PAGES:
            assert client.get(_fill(url, target)).status_code == 403, url
        for url, data in PAGE_POSTS:
            assert client.post(_fill(url, target), _fill(data, target)).status_code == 403, url
        for url in API_GETS:
            assert api.get(_fill(url, target)).status_code == 403, url
        for url, data in API_POSTS:
            assert (
                api.post(_fill(url, target), _fill(data, target), content_type="application/json").status_code == 403
            ), url
    assert snapshot(own) == before


def test_anonymous_visitors_log_in_first(in_a, acme, client_for):
    own = make_dispatch(acme)
    target = _target(own)
    before = snapshot(own)
    client = client_for(in_a)

    for url in PAGES:
        response = client.get(_fill(url, target))
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    for url, data in PAGE_POSTS:
        assert client.post(_fill(url, target), _fill(data, target)).status_code == 302, url
    for url in API_GETS:
        assert client.get(_fill(url, target)).status_code in (401, 403), url
    for url, data in API_POSTS:
        assert client.post(_fill(url, target), _fill(data, target), content_type="application/json").status_code in (
            401,
            403,
        )
    assert snapshot(own) == before


# ---------------------------------------------------------------- tenant against tenant


def test_a_supplier_user_of_tenant_a_has_nothing_on_tenant_b(
    tenant_a, tenant_b, make_supplier, make_user, client_for, api_for
):
    acme = make_supplier(tenant_a, name="Acme")
    user = make_user(tenant_a, "supplier", supplier=acme)
    with in_tenant(tenant_a):
        own = _target(make_dispatch(acme))
    supplier_b = make_supplier(tenant_b, name="Over in B")
    with in_tenant(tenant_b):
        theirs = make_dispatch(supplier_b)
        before = snapshot(theirs)
        their_target = _target(theirs)
    client, api = client_for(tenant_a, user), api_for(tenant_a, user)
    assert client.get("/portal/dispatches/").status_code == 200
    assert api.get("/api/v1/portal/dispatches/").status_code == 200

    client.defaults["HTTP_HOST"] = api.defaults["HTTP_HOST"] = tenant_b.get_primary_domain().domain

    for target in (own, their_target):
        for url in PAGES:
            response = client.get(_fill(url, target))
            assert response.status_code == 302 and response["Location"].startswith("/login/"), url
        for url, data in PAGE_POSTS:
            assert client.post(_fill(url, target), _fill(data, target)).status_code == 302, url
        for url in API_GETS:
            assert api.get(_fill(url, target)).status_code == 401, url
        for url, data in API_POSTS:
            response = api.post(_fill(url, target), _fill(data, target), content_type="application/json")
            assert response.status_code == 401, url
    with in_tenant(tenant_b):
        assert snapshot(theirs) == before
