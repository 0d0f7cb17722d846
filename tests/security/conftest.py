"""The world the isolation tests attack: tenants A and B built alike, so their rows share ids, and every URL
pattern of both URL confs, walked from the resolvers (a new endpoint is attacked without anyone listing it).

Each tenant has an owner, an operator, a finance user and a user of each of two suppliers (S1, S2), and one
row of every kind a URL takes. Names carry markers: B's rows ``Qbeta7…``; A's tenant-wide rows ``Qalpha7T…``,
S1's ``Qalpha7S1…``, S2's ``Qalpha7S2…``. A response that shows a marker it should not is a leak.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from channels.models import OrderImport, QuarantinedPayload
from core.tasks import job_id_new
from inventory.models import CatalogImport, StockUploadJob
from orders.routing import jobs as routing_jobs
from settlement import exports
from settlement.adjustments import adjustment_create
from settlement.closing import period_close
from settlement.models import PayoutImport, PayoutImportJob, Statement
from settlement.periods import period_for
from settlement.statement_states import statement_issue
from suppliers import tracking_upload_jobs
from suppliers.members import supplier_user_create
from tenants.accounts.services import token_create, user_create
from tenants.models import Tenant
from tests.channels.factories import StoreFactory
from tests.conftest import PASSWORD, in_tenant
from tests.inventory.factories import ListingFactory, ProductFactory, SourceFactory
from tests.orders.factories import RuleFactory, RuleSetFactory, SimulationFactory
from tests.orders.routing_factories import make_order
from tests.suppliers.factories import SupplierFactory
from tests.suppliers.portal_factories import make_dispatch

MARK_A = "Qalpha7"
MARK_B = "Qbeta7"
NOW = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC)
OCTOBER = dt.date(2026, 10, 1)


# ---------------------------------------------------------------- URL patterns, from the resolvers


@dataclasses.dataclass(frozen=True)
class Route:
    """One URL pattern: its route text (for messages), the name to reverse it by, its parameters and view."""

    urlconf: str
    route: str
    name: str | None
    params: tuple[str, ...]
    callback: object

    @property
    def view_class(self):
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    def path(self, values: dict[str, str]) -> str:
        """The route with its parameters filled (by text: the patterns of both URL confs are route or plain regex)."""
        text = self.route
        for param in self.params:
            value = str(values[param])
            text = re.sub(rf"<(?:\w+:)?{param}>", value, text)
            text = re.sub(rf"\(\?P<{param}>[^)]*\)", value, text)
        return "/" + text.replace("^", "").replace(".*", "anything").rstrip("$").replace("\\", "")


def _param_names(pattern) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters) or re.findall(r"<(?:\w+:)?(\w+)>", str(pattern))
    return list(re.compile(str(pattern.regex.pattern)).groupindex)


def routes(urlconf: str) -> list[Route]:
    """Every URL pattern of ``urlconf``, nested includes (DRF routes among them) flattened."""

    def walk(resolver: URLResolver, prefix: str, params: list[str]) -> Iterator[Route]:
        for entry in resolver.url_patterns:
            text = prefix + str(entry.pattern)
            names = params + _param_names(entry.pattern)
            if isinstance(entry, URLResolver):
                yield from walk(entry, text, names)
            elif isinstance(entry, URLPattern):
                yield Route(urlconf, text, entry.name, tuple(dict.fromkeys(names)), entry.callback)

    return list(walk(get_resolver(urlconf), "", []))


# ---------------------------------------------------------------- the world


@dataclasses.dataclass
class Side:
    """One tenant's people and rows; ``ids`` maps a kind of object (see PARAMS) to the id a URL takes."""

    tenant: Tenant
    marker: str
    users: dict[str, object]
    ids: dict[str, object]
    supplier_ids: dict[str, dict[str, object]]  # "S1"/"S2" -> the kinds that belong to that supplier

    @property
    def host(self) -> str:
        return self.tenant.get_primary_domain().domain

    def client(self, role: str | None = None, *, host: str | None = None) -> Client:
        """A browser on ``host`` (this tenant's by default) logged in here as ``role`` (None: anonymous)."""
        client = Client(HTTP_HOST=host or self.host, raise_request_exception=False)
        if role is not None:
            with in_tenant(self.tenant):
                client.force_login(self.users[role])
        return client

    def token_client(self, role: str, *, host: str | None = None) -> Client:
        with in_tenant(self.tenant):
            key = token_create(user=self.users[role])
        return Client(HTTP_HOST=host or self.host, HTTP_AUTHORIZATION=f"Token {key}", raise_request_exception=False)


def align_sequences(*schemas: str) -> None:
    """Set every id sequence of the schemas to one value, so the same rows made in each get the same ids."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, sequencename, COALESCE(last_value, 0) FROM pg_sequences WHERE schemaname = ANY(%s)",
            [list(schemas)],
        )
        rows = cursor.fetchall()
        start = max((last for _schema, _name, last in rows), default=0) + 1000
        for schema, name, _last in rows:
            cursor.execute("SELECT setval(%s, %s, true)", [f'"{schema}"."{name}"', start])


def _supplier_side(marker: str, label: str, finance) -> dict[str, object]:
    supplier = SupplierFactory(label=f"{marker}{label}")
    user = supplier_user_create(supplier=supplier, email=f"{label.lower()}@{marker.lower()}.test", password=PASSWORD)
    sku = f"{marker}{label}SKU"
    pending = make_dispatch(supplier, lines=((sku, 1, "5.25"),), buyer_name=f"{marker}{label} buyer")
    make_dispatch(
        supplier, status="shipped", lines=((sku, 1, "5.25"),), buyer_name=f"{marker}{label} buyer",
        created=dt.datetime(2026, 10, 2, tzinfo=dt.UTC), shipped_at=dt.datetime(2026, 10, 3, tzinfo=dt.UTC),
    )  # fmt: skip
    return {"supplier_obj": supplier, "user": user, "dispatch": pending.pk, "supplier": supplier.pk}


def build_side(tenant: Tenant, marker: str) -> Side:
    """The same rows in any tenant (run it in each after ``align_sequences`` and the ids agree)."""
    with in_tenant(tenant):
        owner = get_user_model().objects.get(email=f"owner@{tenant.slug}.test")
        operator = user_create(email=f"operator@{marker.lower()}.test", password=PASSWORD, role="operator")
        finance = user_create(email=f"finance@{marker.lower()}.test", password=PASSWORD, role="finance")
        store = StoreFactory(name=f"{marker}T shop")
        product = ProductFactory(sku=f"{marker}T-P", name=f"{marker}T product")
        s1 = _supplier_side(marker, "S1", finance)
        s2 = _supplier_side(marker, "S2", finance)
        source = SourceFactory(product=product, supplier=s1["supplier_obj"])
        listing = ListingFactory(listing_sku=f"{marker}T-L", components=[(product, 1)])
        order = make_order(store, (f"{marker}T-L", 1), name=f"{marker}T buyer", email=f"{marker.lower()}@buyer.test")
        quarantined = QuarantinedPayload.objects.create(
            store=store, external_id=f"{marker}T-Q", payload={"buyer": f"{marker}T"}, reason=f"{marker}T bad"
        )
        order_import = OrderImport.objects.create(store=store, filename=f"{marker}T.csv", file_path="")
        catalog_import = CatalogImport.objects.create(kind="products", filename=f"{marker}T.csv", status="succeeded")
        ruleset = RuleSetFactory()
        rule = RuleFactory(ruleset=ruleset, name=f"{marker}T rule")
        simulation = SimulationFactory(ruleset=ruleset)
        period_close(period=period_for(month=OCTOBER), actor=finance)
        for side in (s1, s2):
            statement = Statement.objects.get(period__month=OCTOBER, supplier=side["supplier_obj"])
            statement_issue(statement=statement, actor=finance)
            side["statement"] = statement.pk
            export = exports.export_start(
                kind="statement", file_format="csv", params={}, user=finance, statement=statement
            )
            exports.export_run(export_id=export.pk)
            side["export"] = export.pk
            side["stock_job"] = StockUploadJob.objects.create(
                supplier=side["supplier_obj"], filename=f"{marker}{side['supplier']}.csv", status="succeeded",
                report={"note": f"{marker}S stock"},
            ).pk  # fmt: skip
            side["tracking_job"] = tracking_upload_jobs._save(
                {"id": job_id_new(), "supplier_id": side["supplier"], "actor_id": None,
                 "filename": f"{marker}.csv", "language": "", "state": "done", "phase": "done", "rows": 1, "done": 1,
                 "total": 1, "report": None, "created": NOW.isoformat()}
            )["id"]  # fmt: skip
        adjustment = adjustment_create(
            period=period_for(month=dt.date(2026, 11, 1)), supplier=s1["supplier_obj"], currency="CNY",
            amount="-1.00", reason=f"{marker}S1 late", kind="penalty", approve=False, actor=finance,
        )  # fmt: skip
        payout = PayoutImport.objects.create(store=store, source="generic", name=f"{marker}T payout", digest=marker)
        payout_job = PayoutImportJob.objects.create(
            store=store, source="generic", filename=f"{marker}T payouts.csv", report={"note": f"{marker}T job"}
        )
        routing_job = routing_jobs._create(kind="release", total=1, label=f"{marker}T job", actor_id=None)
        users = {
            "owner": owner, "operator": operator, "finance": finance,
            "supplier S1": s1.pop("user"), "supplier S2": s2.pop("user"),
        }  # fmt: skip
        ids = {
            "store": store.pk, "product": product.pk, "source": source.pk, "listing": listing.pk, "order": order.pk,
            "quarantine": quarantined.pk, "store_import": order_import.pk, "catalog_import": catalog_import.pk,
            "ruleset": ruleset.pk, "rule": rule.pk, "simulation": simulation.pk, "adjustment": adjustment.pk,
            "payout_import": payout.pk, "payout_job": payout_job.pk, "routing_job": routing_job["id"], "webhook_token": store.webhook_token,
            "user": operator.pk, "supplier_user": users["supplier S1"].pk, "month": "2026-10",
            "dispatch": s1["dispatch"], "supplier": s1["supplier"], "statement": s1["statement"],
            "export": s1["export"], "tracking_job": s1["tracking_job"], "stock_job": s1["stock_job"],
        }  # fmt: skip
        for side in (s1, s2):
            side.pop("supplier_obj")
        return Side(tenant, marker, users, ids, {"S1": s1, "S2": s2})


@dataclasses.dataclass
class World:
    a: Side
    b: Side


@pytest.fixture
def world(db, settings, tmp_path) -> Iterator[World]:
    """Tenants A and B with the same rows under the same ids (B's made first), on 20 November 2026."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    with time_machine.travel(NOW, tick=True):
        tenant_a = Tenant.objects.get(slug="alpha")
        tenant_b = Tenant.objects.get(slug="beta")
        align_sequences(tenant_a.schema_name, tenant_b.schema_name)
        b = build_side(tenant_b, MARK_B)
        a = build_side(tenant_a, MARK_A)
        yield World(a, b)
