"""Suppliers in the console and API: list, create, edit; validation; roles; tenant isolation."""

import pytest
from django.db import connection

from suppliers.models import Supplier
from suppliers.services import supplier_create
from tests.conftest import in_tenant

# The terms fields a browser posts with every supplier form (their initial values).
TERMS = {"currency": "USD", "payment_terms_days": "30", "accept_within_hours": "24", "ship_within_hours": "72"}


def test_list_search_and_pages(console):
    for i in range(55):
        supplier_create(name=f"Factory {i:02d}", code=f"F-{i:02d}", contact_email=f"f{i}@example.com")

    first = console.get("/suppliers/")
    assert first.status_code == 200
    assert len(first.context["page"].object_list) == 50
    assert len(console.get("/suppliers/?page=2").context["page"].object_list) == 5
    assert [s.code for s in console.get("/suppliers/?q=factory 07").context["page"]] == ["F-07"]
    assert [s.code for s in console.get("/suppliers/?q=f-5").context["page"]] == [f"F-5{i}" for i in range(5)]


def test_empty_list_offers_to_add_one(console):
    assert "No suppliers yet" in console.get("/suppliers/").content.decode()


def test_create_validates_and_saves(console):
    supplier_create(name="Existing", code="SUP-1")
    assert console.get("/suppliers/new/").status_code == 200

    taken = console.post("/suppliers/new/", {"name": "Other", "code": "sup-1", **TERMS})
    bad_email = console.post("/suppliers/new/", {"name": "Other", "code": "SUP-2", "contact_email": "nope", **TERMS})
    assert "already has the code" in taken.content.decode()
    assert "contact_email" in bad_email.context["form"].errors
    assert Supplier.objects.count() == 1

    done = console.post(
        "/suppliers/new/", {"name": " Hangzhou ", "code": "HZ", "contact_email": "a@hz.cn", "active": "on", **TERMS}
    )
    assert done.status_code == 302
    assert Supplier.objects.filter(name="Hangzhou", code="HZ", contact_email="a@hz.cn", active=True).exists()


def test_edit(console):
    supplier = supplier_create(name="Old", code="OLD")
    assert console.get(f"/suppliers/{supplier.pk}/edit/").context["form"].initial["code"] == "OLD"
    console.post(f"/suppliers/{supplier.pk}/edit/", {"name": "New", "code": "OLD", **TERMS})
    supplier.refresh_from_db()
    assert (supplier.name, supplier.active) == ("New", False)


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_other_roles_are_refused(role, tenant_a, make_user, make_supplier, client_for):
    supplier = make_supplier(tenant_a)
    user = make_user(tenant_a, role, supplier=supplier if role == "supplier" else None)
    client = client_for(tenant_a, user)
    for url in ("/suppliers/", "/suppliers/new/", f"/suppliers/{supplier.pk}/edit/"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/suppliers/{supplier.pk}/edit/", {"name": "Hacked", "code": "H"}).status_code == 403
    with in_tenant(tenant_a):
        assert Supplier.objects.get(pk=supplier.pk).name != "Hacked"


def test_tenant_b_suppliers_are_invisible(console, tenant_a, tenant_b, make_supplier):
    other = make_supplier(tenant_b, name="Beta factory")
    connection.set_tenant(tenant_a)
    assert console.get(f"/suppliers/{other.pk}/edit/").status_code == 404
    assert "Beta factory" not in console.get("/suppliers/").content.decode()


def test_api_list_create_edit(tenant_a, make_user, api_for):
    client = api_for(tenant_a, make_user(tenant_a, "owner"))

    created = client.post(
        "/api/v1/suppliers/", {"name": "API factory", "code": "API-1"}, content_type="application/json"
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    again = client.post("/api/v1/suppliers/", {"name": "Dup", "code": "api-1"}, content_type="application/json")
    assert again.status_code == 400 and "code" in again.json()
    patched = client.patch(f"/api/v1/suppliers/{pk}/", {"active": False}, content_type="application/json")
    assert patched.json()["active"] is False
    listed = client.get("/api/v1/suppliers/?active=false").json()
    assert [s["code"] for s in listed] == ["API-1"]
