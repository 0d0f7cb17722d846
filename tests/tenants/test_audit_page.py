"""The audit log page: the owner's alone, newest first, filterable, exportable, and never another tenant's."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.urls import NoReverseMatch, clear_url_caches, path, reverse
from django_tenants.utils import schema_context
from openpyxl import load_workbook

import erp.urls
from tenants.accounts import audit_views
from tenants.accounts.models import AuditEvent
from tests.suppliers.factories import SupplierFactory

URL = "/audit/"


@pytest.fixture(autouse=True)
def audit_wired(settings):
    """The audit middleware and page, as erp/settings.py and erp/urls.py install them."""
    middleware = "tenants.accounts.audit.AuditMiddleware"
    if middleware not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, middleware]
    added = None
    try:
        reverse("audit_log")
    except NoReverseMatch:
        added = path("audit/", audit_views.audit_log, name="audit_log")
        erp.urls.urlpatterns.append(added)
        clear_url_caches()
    yield
    if added is not None:
        erp.urls.urlpatterns.remove(added)
        clear_url_caches()


@pytest.fixture
def owner(in_a, make_user):
    return make_user(in_a, "owner")


@pytest.fixture
def owner_client(in_a, owner, client_for):
    return client_for(in_a, owner)


def _at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 10, day, hour, tzinfo=dt.UTC)


def _dated(action: str, day: int, **kwargs) -> AuditEvent:
    return AuditEvent.objects.create(action=action, at=_at(day), actor_label=kwargs.pop("who", "alice@alpha.test"),
                                     **kwargs)  # fmt: skip


@pytest.fixture
def log(in_a, tenant_b):
    with schema_context(tenant_b.schema_name):
        _dated("store.settings_changed", 11, who="mallory@beta.test", target_type="store", target_label="Beta Shop")
    connection.set_tenant(in_a)
    return [
        _dated("store.settings_changed", 3, target_type="store", target_id="7", target_label="Tmall Flagship",
               details={"fields": ["name"]}),
        _dated("user.role_changed", 10, who="carol@alpha.test", target_type="user", target_id="9",
               target_label="bob@alpha.test", details={"from": "operator", "to": "finance"}),
        _dated("export.made", 20, target_type="download", target_id="suppliers:list", target_label="suppliers.csv"),
    ]  # fmt: skip


def _shown(response) -> list[str]:
    return [row["event"].target_label for row in response.context["rows"]]


def test_the_owner_sees_the_log_newest_first_and_a_link_to_it(owner_client, log):
    response = owner_client.get(URL)

    assert response.status_code == 200
    ours = {"suppliers.csv", "bob@alpha.test", "Tmall Flagship"}
    assert [label for label in _shown(response) if label in ours] == [
        "suppliers.csv",
        "bob@alpha.test",
        "Tmall Flagship",
    ]
    html = response.content.decode()
    assert "Beta Shop" not in html and "mallory@beta.test" not in html
    assert f'href="{URL}"' in html  # the navigation's link
    assert "User&#x27;s role changed" in html or "User's role changed" in html
    assert "from: operator · to: finance" in html


@pytest.mark.parametrize("role", ["operator", "finance"])
def test_other_roles_are_refused_and_have_no_link(in_a, make_user, client_for, log, role):
    client = client_for(in_a, make_user(in_a, role))

    assert client.get(URL).status_code == 403
    assert client.get(URL + "?export=csv").status_code == 403
    assert f'href="{URL}"' not in client.get("/account/").content.decode()


def test_a_supplier_user_is_refused(in_a, make_user, client_for, log):
    supplier_user = make_user(in_a, "supplier", supplier=SupplierFactory(label="Acme"))

    assert client_for(in_a, supplier_user).get(URL).status_code == 403


def test_anonymous_is_sent_to_log_in(in_a, client_for, log):
    response = client_for(in_a).get(URL)

    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_tenant_bs_owner_sees_only_tenant_bs_log(tenant_b, make_user, client_for, log):
    client = client_for(tenant_b, make_user(tenant_b, "owner"))

    response = client.get(URL)

    assert response.status_code == 200
    assert "Beta Shop" in _shown(response)
    assert not {"suppliers.csv", "bob@alpha.test", "Tmall Flagship"} & set(_shown(response))


def test_tenant_as_session_does_not_open_tenant_bs_log(tenant_b, owner, client_for, in_a, log):
    client = client_for(in_a, owner)
    client.defaults["HTTP_HOST"] = tenant_b.get_primary_domain().domain

    response = client.get(URL)

    assert response.status_code in (302, 403)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=user.role_changed", ["bob@alpha.test"]),
        ("who=carol", ["bob@alpha.test"]),
        ("target_type=download", ["suppliers.csv"]),
        ("date_from=2026-10-05&date_to=2026-10-15", ["bob@alpha.test"]),
        ("date_from=2026-10-03&date_to=2026-10-03", ["Tmall Flagship"]),
        ("q=Tmall", ["Tmall Flagship"]),
        ("q=suppliers:list", ["suppliers.csv"]),
    ],
)
def test_filters(owner_client, log, query, expected):
    response = owner_client.get(f"{URL}?{query}")

    assert _shown(response) == expected


def test_a_nul_byte_is_refused_and_reversed_dates_show_the_form_error(owner_client, log):
    assert owner_client.get(URL + "?q=a%00b").status_code == 400  # core.textguard, before the view
    response = owner_client.get(URL + "?date_from=2026-10-20&date_to=2026-10-01")
    assert response.status_code == 200 and response.context["form"].errors


def test_csv_export_is_the_filtered_rows_and_is_itself_recorded(owner_client, owner, log):
    response = owner_client.get(URL + "?export=csv&who=alice")

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:5] == ["When", "Who", "Via", "IP address", "Action"]
    assert [row[8] for row in rows[1:]] == ["suppliers.csv", "Tmall Flagship"]
    (made,) = AuditEvent.objects.filter(action="export.made", actor_id=owner.pk)
    assert made.details["filters"] == {"who": "alice"} and made.target_id == "audit_log"


def test_xlsx_export(owner_client, log):
    response = owner_client.get(URL + "?export=xlsx&action=export.made")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert any("suppliers.csv" in row for row in values)
    assert not any("Tmall Flagship" in row for row in values)


def test_the_page_is_paginated(owner_client, in_a):
    AuditEvent.objects.bulk_create(
        [AuditEvent(action="settings.changed", actor_label="system", target_label=f"row {n}") for n in range(60)]
    )

    first = owner_client.get(URL)
    second = owner_client.get(URL + "?page=2")

    assert len(first.context["rows"]) == 50
    assert first.context["page"].paginator.count >= 60
    assert not set(_shown(first)) & set(_shown(second))
