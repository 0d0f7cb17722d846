"""The suppliers area's lists as people work them: the suppliers list (filters, sort, export), the merchant's
dispatches export, and the portal's dispatch export, which only ever holds the signed-in supplier's rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.utils import timezone

from suppliers.models import Dispatch, Parcel, Supplier
from suppliers.services import supplier_create
from tests.conftest import in_tenant
from tests.suppliers.factories import SupplierFactory
from tests.suppliers.portal_factories import make_dispatch, new_order

H = dt.timedelta(hours=1)


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def _xlsx(response) -> list[tuple]:
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(book.active.iter_rows(values_only=True))


# ---------------------------------------------------------------- suppliers


@pytest.fixture
def roster(in_a):
    zeta = supplier_create(name="Zeta Mills", code="ZM", late_ship_penalty=Decimal("5.00"), currency="CNY")
    alpha = supplier_create(name="Alpha Mills", code="AM", currency="CNY")
    supplier_create(name="Mills Gone", code="GONE", active=False, currency="CNY")
    supplier_create(name="@Evil Mills", code="EVIL", currency="CNY")
    supplier_create(name="Other", code="OTH", currency="CNY")
    return zeta, alpha


def test_supplier_filters_and_sort_combine(console, roster):
    response = console.get("/suppliers/?q=mills&status=active&sort=-code")
    assert [s.code for s in response.context["page"]] == ["ZM", "EVIL", "AM"]
    assert [s.code for s in console.get("/suppliers/?status=inactive").context["page"]] == ["GONE"]
    assert 'aria-sort="descending"' in response.content.decode()
    empty = console.get("/suppliers/?q=nothing").content.decode()
    assert "No suppliers match" in empty and 'href="/suppliers/"' in empty


def test_supplier_export_is_exactly_the_filtered_rows(console, roster):
    rows = _csv(console.get("/suppliers/?q=mills&status=active&sort=name&export=csv"))
    assert rows[0][:3] == ["Name", "Code", "Contact name"]
    assert [row[1] for row in rows[1:]] == ["EVIL", "AM", "ZM"]
    assert rows[1][0] == "'@Evil Mills"
    assert rows[3][9] == "5.00"
    xlsx = _xlsx(console.get("/suppliers/?q=zeta&export=xlsx"))
    assert xlsx[1][:2] == ("Zeta Mills", "ZM") and xlsx[1][9] == 5


def test_tenant_b_suppliers_are_not_exported(console, roster, tenant_a, tenant_b, make_supplier):
    make_supplier(tenant_b, name="Beta factory")
    connection.set_tenant(tenant_a)
    assert not [row for row in _csv(console.get("/suppliers/?export=csv")) if "Beta factory" in row[0]]


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_other_roles_cannot_export(role, tenant_a, make_user, make_supplier, client_for):
    supplier = make_supplier(tenant_a)
    user = make_user(tenant_a, role, supplier=supplier if role == "supplier" else None)
    client = client_for(tenant_a, user)
    assert client.get("/suppliers/?export=csv").status_code == 403
    assert client.get("/dispatches/?export=xlsx").status_code == 403


def test_a_refused_supplier_form_keeps_what_was_typed(console, roster):
    response = console.post("/suppliers/new/", {
        "name": "Typed 名字", "code": "ZM", "contact_email": "not-an-email", "currency": "CNY",
        "payment_terms_days": "45", "accept_within_hours": "12", "ship_within_hours": "48",
    })  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="Typed 名字"' in body and 'value="not-an-email"' in body and 'value="45"' in body
    assert 'class="error"' in body
    assert not Supplier.objects.filter(name="Typed 名字").exists()


# ---------------------------------------------------------------- the merchant's dispatches


@pytest.fixture
def two_suppliers(in_a):
    return SupplierFactory(label="Acme"), SupplierFactory(label="Bolt")


def test_console_dispatch_export_is_the_filtered_rows_newest_first(console, two_suppliers):
    acme, bolt = two_suppliers
    now = timezone.now()
    old = make_dispatch(acme, created=now - 50 * H, accept_by=now - 26 * H)
    new = make_dispatch(acme, status="shipped", created=now - 2 * H)
    Parcel.objects.create(dispatch=new, carrier="sf", tracking_number="SF1234567890")
    make_dispatch(bolt, created=now - H)

    rows = _csv(console.get(f"/dispatches/?supplier={acme.pk}&export=csv"))
    assert rows[0][:5] == ["Dispatch", "Supplier", "Supplier code", "Orders", "Status"]
    assert [row[0] for row in rows[1:]] == [new.number, old.number]
    assert rows[1][11:14] == ["SF Express", "SF1234567890", "2"]
    assert rows[2][9] == "Acceptance overdue"
    overdue = _xlsx(console.get(f"/dispatches/?supplier={acme.pk}&overdue=any&export=xlsx"))
    assert [row[0] for row in overdue[1:]] == [old.number]
    assert isinstance(overdue[1][6], dt.datetime)


def test_console_dispatch_export_leaves_tenant_b_out(console, two_suppliers, tenant_a, tenant_b):
    make_dispatch(two_suppliers[0])
    with in_tenant(tenant_b):
        beta = SupplierFactory(label="Beta")
        Dispatch.objects.create(number="DBETA0001", supplier=beta)
    connection.set_tenant(tenant_a)
    numbers = [row[0] for row in _csv(console.get("/dispatches/?export=csv"))[1:]]
    assert len(numbers) == 1 and "DBETA0001" not in numbers


# ---------------------------------------------------------------- the portal's dispatches


@pytest.fixture
def queues(acme, bolt):
    now = timezone.now()
    mine = [
        make_dispatch(acme, created=now - 3 * H, buyer_name="=cmd|' /C calc'!A0",
                      order=new_order(("MUG", 2), number="#A-1")),
        make_dispatch(acme, status="accepted", created=now - 2 * H, promised=timezone.localdate()),
        make_dispatch(acme, status="shipped", created=now - H),
    ]  # fmt: skip
    theirs = make_dispatch(bolt, created=now, buyer_name="Bolt's buyer", order=new_order(("BOLT", 1), number="#B-9"))
    return mine, theirs


def test_portal_export_holds_only_the_suppliers_own_filtered_rows(portal, queues):
    mine, theirs = queues
    everything = _csv(portal.get("/portal/dispatches/?export=csv"))
    assert [row[0] for row in everything[1:]] == [d.number for d in reversed(mine)]
    assert theirs.number not in str(everything) and "#B-9" not in str(everything) and "Bolt" not in str(everything)

    pending = _csv(portal.get("/portal/dispatches/?state=pending&sort=oldest&export=csv"))
    assert [row[0] for row in pending[1:]] == [mine[0].number]
    assert pending[1][1] == "Awaiting acceptance" and pending[1][2] == "#A-1"
    assert pending[1][4].startswith("'=cmd")
    assert pending[1][5] == ""  # the merchant does not share buyer e-mails with Acme

    searched = _xlsx(portal.get("/portal/dispatches/?q=%23B-9&export=xlsx"))
    assert searched == [searched[0]]  # another supplier's order number finds nothing of Acme's


def test_portal_export_of_another_supplier_holds_only_theirs(in_a, queues, bolt, make_user, client_for):
    _mine, theirs = queues
    bolt_user = make_user(in_a, "supplier", supplier=bolt)
    rows = _csv(client_for(in_a, bolt_user).get("/portal/dispatches/?export=csv"))
    assert [row[0] for row in rows[1:]] == [theirs.number]


@pytest.mark.parametrize("role", ["operator", "finance", "owner"])
def test_merchant_users_cannot_export_the_portal_list(role, in_a, queues, make_user, client_for):
    client = client_for(in_a, make_user(in_a, role))
    response = client.get("/portal/dispatches/?export=csv")
    assert response.status_code in (302, 403)
    assert not hasattr(response, "streaming_content")


def test_the_portal_page_offers_the_downloads_with_the_filters(portal, queues):
    body = portal.get("/portal/dispatches/?state=pending").content.decode()
    assert 'href="?state=pending&amp;export=csv"' in body and 'href="?state=pending&amp;export=xlsx"' in body


def test_bulk_accept_says_how_many_changed_and_why_others_were_refused(portal, queues, bolt):
    mine, theirs = queues
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = portal.post("/portal/dispatches/bulk/", {
        "action": "accept", "ids": [mine[0].pk, mine[2].pk, theirs.pk], "promised_ship_date": tomorrow,
    }, follow=True)  # fmt: skip
    text = response.content.decode()
    assert f"1 dispatch accepted: {mine[0].number}." in text
    assert "2 refused, nothing changed on them:" in text
    assert f"#{theirs.pk} — no dispatch of yours has this id." in text
    assert Dispatch.objects.get(pk=theirs.pk).status == "pending"
    assert Dispatch.objects.get(pk=mine[2].pk).status == "shipped"


def test_console_dispatches_sort_oldest_first_on_the_page_and_in_the_export(console, two_suppliers):
    acme, bolt = two_suppliers
    now = timezone.now()
    made = [make_dispatch(acme if i % 2 else bolt, created=now - (60 - i) * H) for i in range(55)]
    first = console.get(f"/dispatches/?supplier={acme.pk}&sort=routed")
    assert 'aria-sort="ascending"' in first.content.decode()
    acme_numbers = [d.number for d in made if d.supplier_id == acme.pk]
    assert [r.dispatch.number for r in first.context["page"].rows] == acme_numbers
    everything = console.get("/dispatches/?sort=routed")
    second = console.get(f"/dispatches/?{everything.context['next_query']}")
    assert [r.dispatch.number for r in everything.context["page"].rows + second.context["page"].rows] == [
        d.number for d in made
    ]
    exported = _csv(console.get(f"/dispatches/?supplier={acme.pk}&sort=routed&export=csv"))
    assert [row[0] for row in exported[1:]] == acme_numbers
