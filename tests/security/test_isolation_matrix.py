"""The generated isolation matrix: every URL pattern of the tenant URL conf (pages and API) and of the public one,
called with every method it takes, by every kind of caller, with ids of someone else's rows.

Callers on tenant A's host: anonymous; A's owner, operator and finance user; A's supplier users, each with the
OTHER supplier's ids; B's owner (session) and B's operator (token). On B's host: A's owner (session) and A's
operator (token). Tenant A's rows have the same ids as B's (tests/security/conftest.py), so "B's order 7" is a
real row in A too; what must hold is that nobody sees a marker that is not theirs, a caller the view's area does
not admit is refused (302 to a login or home, 401, 403, 404, 405), and a write changes no row it may not change.

Each test collects every failure (caller, method, URL, status, what went wrong) into one message.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re

from django.db import connection
from django.test import Client
from openpyxl import load_workbook
from pypdf import PdfReader

from tenants.accounts.models import AREA_ROLES
from tests.security.conftest import MARK_A, MARK_B, Route, World, routes

TENANT_URLCONF = "erp.urls"
PUBLIC_URLCONF = "erp.urls_public"
REFUSED = {302, 401, 403, 404, 405}

# What each path parameter names, by (the literal segment before it, its name). A new parameter the table does
# not know fails test_every_path_parameter_is_known: say here which object it takes.
PARAMS: dict[tuple[str, str], str] = {
    ("stores", "pk"): "store",
    ("quarantine", "qid"): "quarantine",
    ("imports", "import_id"): "store_import",
    ("orders", "order_pk"): "order",
    ("pushes", "pk"): "push",
    ("fulfillment-pushes", "pk"): "push",
    ("orders", "pk"): "order",
    ("undo", "order_id"): "order",
    ("products", "pk"): "product",
    ("imports", "pk"): "catalog_import",
    ("listings", "pk"): "listing",
    ("sources", "source_id"): "source",
    ("sources", "pk"): "source",
    ("rulesets", "pk"): "ruleset",
    ("versions", "pk"): "ruleset",
    ("rules", "rule_id"): "rule",
    ("rules", "pk"): "rule",
    ("simulations", "pk"): "simulation",
    ("jobs", "job_id"): "routing_job",
    ("upload", "job_id"): "tracking_job",
    ("suppliers", "pk"): "supplier",
    ("users", "user_id"): "supplier_user",
    ("dispatches", "pk"): "dispatch",
    ("statements", "pk"): "statement",
    ("", "pk"): "statement",  # /api/v1/portal/statements/<pk>/ (the include's prefix ends before it)
    ("exports", "pk"): "export",
    ("adjustments", "pk"): "adjustment",
    ("payouts", "pk"): "payout_import",
    ("mapping", "store_id"): "store",
    ("fetch", "store_id"): "store",
    ("settlement", "month"): "month",
    ("webhooks", "token"): "webhook_token",
}
# Where the segment before a parameter says too little ("jobs"), what the longer path before it names.
PARAMS_AT_PATH: dict[tuple[str, str], str] = {
    ("products/import/jobs", "pk"): "catalog_import",
    ("settlement/payouts/jobs", "pk"): "payout_job",
    ("stock/upload/jobs", "pk"): "stock_job",
}
# Parameters that name no row: one plausible value each.
LITERALS: dict[str, str] = {
    "fmt": "csv",
    "channel": "shopify",
    "kind": "packing",  # /portal/documents/<kind>/; a rule kind is in LITERALS_AT
    "action": "disable",
    "uidb64": "MQ",
    "token": "set-password",
    "content_type_id": "1",
    "object_id": "1",
    "id": "1",
    "app_label": "tenants",
    "url": "nothing-here/",
}
# Literal parameters whose value depends on where they stand.
LITERALS_AT: dict[tuple[str, str], str] = {("add", "kind"): "hold"}
# Kinds that belong to one supplier: a supplier user gets the other supplier's.
SUPPLIER_KINDS = ("dispatch", "supplier", "statement", "export", "tracking_job", "stock_job")
# Query parameters a list or document page may filter by: tried with someone else's ids on every GET.
FILTERS = ("supplier", "store", "order", "statement", "dispatch", "ids", "product")

# Views open without a role, each with the reason.
PUBLIC_VIEWS: dict[str, str] = {
    "tenants.accounts.views.home": "redirects to the login or to the caller's own area",
    "tenants.accounts.views.LoginView": "the login page",
    "django.contrib.auth.views.LogoutView": "logging out (POST)",
    "tenants.accounts.views.PasswordResetView": "asking for a password reset e-mail",
    "django.contrib.auth.views.PasswordResetDoneView": "says the e-mail was sent",
    "django.contrib.auth.views.PasswordResetConfirmView": "the e-mailed link, checked by its signed token",
    "django.contrib.auth.views.PasswordResetCompleteView": "says the password was set",
    "core.api.api_not_found": "the API's JSON 404 for any path no route takes",
    "erp.health.healthz": "health check for the load balancer, no tenant data",
    "tenants.accounts.views.set_language": "the language switcher, stores a cookie/profile choice",
    "channels.views.webhook": "channel webhooks, authenticated by the store's token and the body's signature",
    "drf_spectacular.views.SpectacularAPIView": "the API schema, for any signed-in user (no tenant rows)",
    "drf_spectacular.views.SpectacularSwaggerSplitView": "the API docs, for any signed-in user (no tenant rows)",
}


def view_name(route: Route) -> str:
    cls = route.view_class
    if cls is not None and cls.__name__ != "WrappedAPIView":
        return f"{cls.__module__}.{cls.__name__}"
    func = getattr(cls, "get", None) or getattr(cls, "post", None) if cls is not None else None
    target = route.callback if func is None else func
    return f"{target.__module__}.{target.__name__}"


def area_of(route: Route) -> str | None:
    """The area a tenant view declares (area_required's marker, or an area permission class); None: none."""
    area = getattr(route.callback, "relay_area", None)
    if area:
        return area
    for permission in getattr(route.view_class, "permission_classes", None) or ():
        name = getattr(permission, "__name__", "")
        if name.startswith("In") and name.endswith("Area") and name[2:-4].lower() in AREA_ROLES:
            return name[2:-4].lower()
    return None


def methods_of(route: Route) -> list[str]:
    cls = route.view_class
    if cls is None:  # a function view: the page and its form
        return ["GET", "POST"]
    return [m.upper() for m in cls.http_method_names if m not in ("options", "head", "trace") and hasattr(cls, m)]


def segment_before(route: Route, param: str) -> str:
    """The literal path segment just before ``param`` ("" when a parameter or the start is)."""
    token = re.search(rf"<(?:\w+:)?{param}>|\(\?P<{param}>", route.route)
    before = route.route[: token.start()] if token else ""
    return before.rstrip("/").rsplit("/", 1)[-1].lstrip("^")


def kind_of(route: Route, param: str) -> str | None:
    token = re.search(rf"<(?:\w+:)?{param}>|\(\?P<{param}>", route.route)
    before = route.route[: token.start()].rstrip("/") if token else ""
    for (path, name), kind in PARAMS_AT_PATH.items():
        if name == param and before.endswith(path):
            return kind
    return PARAMS.get((segment_before(route, param), param))


# ---------------------------------------------------------------- callers


@dataclasses.dataclass
class Caller:
    name: str
    client: Client
    ids: dict[str, object]  # the ids this caller is given (someone else's)
    foreign: tuple[str, ...]  # markers it must never see
    roles: frozenset[str]  # the roles it holds on the host it calls (empty: none there)
    schemas_kept: tuple[str, ...]  # schemas its writes must leave unchanged (whole)


def _supplier_caller(world: World, mine: str, theirs: str) -> Caller:
    ids = {**world.b.ids, **{k: world.a.supplier_ids[theirs][k] for k in SUPPLIER_KINDS}}
    return Caller(
        f"A's supplier {mine} user", world.a.client(f"supplier {mine}"), ids,
        (MARK_B, f"{MARK_A}{theirs}"), frozenset({"supplier"}), (world.b.tenant.schema_name,),
    )  # fmt: skip


def callers_on_a(world: World) -> list[Caller]:
    a, b = world.a, world.b
    everything = (MARK_A, MARK_B)
    return [
        Caller("anonymous", a.client(), b.ids, everything, frozenset(), (a.tenant.schema_name, b.tenant.schema_name)),
        *(
            Caller(f"A's {role}", a.client(role), b.ids, (MARK_B,), frozenset({role}), (b.tenant.schema_name,))
            for role in ("owner", "operator", "finance")
        ),
        _supplier_caller(world, "S1", "S2"),
        _supplier_caller(world, "S2", "S1"),
        Caller("B's owner (session) on A's host", b.client("owner", host=a.host), b.ids, everything, frozenset(),
               (a.tenant.schema_name, b.tenant.schema_name)),
        Caller("B's operator (token) on A's host", b.token_client("operator", host=a.host), b.ids, everything,
               frozenset(), (a.tenant.schema_name, b.tenant.schema_name)),
    ]  # fmt: skip


def callers_on_b(world: World) -> list[Caller]:
    a, b = world.a, world.b
    kept = (a.tenant.schema_name, b.tenant.schema_name)
    return [
        Caller("A's owner (session) on B's host", a.client("owner", host=b.host), a.ids, (MARK_A, MARK_B),
               frozenset(), kept),
        Caller("A's operator (token) on B's host", a.token_client("operator", host=b.host), a.ids, (MARK_A, MARK_B),
               frozenset(), kept),
    ]  # fmt: skip


# ---------------------------------------------------------------- checks


def schema_checksums(schema: str) -> dict[str, str]:
    """One digest per table of ``schema`` (sessions and tokens aside: signing in writes them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            [schema],
        )
        tables = [t for (t,) in cursor.fetchall() if t not in ("django_session", "authtoken_token")]
        digests = {}
        for table in tables:
            cursor.execute(f'SELECT string_agg(t::text, \'|\' ORDER BY t::text) FROM "{schema}"."{table}" t')
            digests[table] = hashlib.md5((cursor.fetchone()[0] or "").encode(), usedforsecurity=False).hexdigest()
    return digests


def _body(response) -> str:
    """What a person could read in the response: text as it is, the cells of an XLSX, the text of a PDF."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content.startswith(b"PK\x03\x04"):
        book = load_workbook(io.BytesIO(content), read_only=True)
        return "\n".join(
            "\t".join(str(cell) for cell in row if cell is not None)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    if content.startswith(b"%PDF"):
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)
    return content.decode("utf-8", errors="replace")


def _ordered(rs: list[Route]) -> list[Route]:
    # What ends the caller's own session or token goes last, so it does not turn later calls anonymous.
    last = ("logout", "account_token_revoke", "account_token_create", "set_language")
    return sorted(rs, key=lambda r: r.name in last)


@dataclasses.dataclass
class Matrix:
    calls: int = 0
    failures: list[str] = dataclasses.field(default_factory=list)

    def fail(self, caller: Caller, method: str, url: str, status: int, why: str) -> None:
        self.failures.append(f"{caller.name:36} {method:6} {url} -> {status}: {why}")

    def report(self) -> str:
        return f"{len(self.failures)} failures in {self.calls} calls:\n" + "\n".join(self.failures)


def _path(route: Route, ids: dict[str, object]) -> str | None:
    values = {}
    for param in route.params:
        kind = kind_of(route, param)
        if kind is not None:
            values[param] = ids.get(kind, 999999)
        elif (segment_before(route, param), param) in LITERALS_AT:
            values[param] = LITERALS_AT[segment_before(route, param), param]
        elif param in LITERALS:
            values[param] = LITERALS[param]
        else:
            return None
    return route.path(values)


def attack(matrix: Matrix, caller: Caller, route_list: list[Route], *, public_views: dict[str, str]) -> None:
    """Every route, every method, as ``caller``; writes checked against the schemas the caller must not change."""
    before = {schema: schema_checksums(schema) for schema in caller.schemas_kept}
    query = {name: caller.ids.get(name if name != "ids" else "dispatch", "") for name in FILTERS}
    for route in _ordered(route_list):
        path = _path(route, caller.ids)
        if path is None:
            continue  # test_every_path_parameter_is_known says which
        area = area_of(route)
        public = view_name(route) in public_views
        admitted = public or (area is not None and bool(caller.roles & AREA_ROLES[area]))
        for method in methods_of(route):
            attempts = [{}, query] if method == "GET" else [{}]
            for params in attempts:
                if method == "GET":
                    response = caller.client.get(path, params)
                else:
                    response = caller.client.generic(method, path, b"{}", content_type="application/json")
                matrix.calls += 1
                url = path + ("?…filters" if params else "")
                status = response.status_code
                if status >= 500:
                    matrix.fail(caller, method, url, status, "server error")
                    continue
                if not admitted and status not in REFUSED:
                    matrix.fail(caller, method, url, status, f"not refused (area {area})")
                body = _body(response)
                if status == 302:
                    body += response.get("Location", "")
                seen = [marker for marker in caller.foreign if marker in body]
                if seen:
                    matrix.fail(caller, method, url, status, f"shows {', '.join(seen)}")
    after = {schema: schema_checksums(schema) for schema in caller.schemas_kept}
    for schema in caller.schemas_kept:
        changed = sorted(t for t in before[schema] if before[schema][t] != after[schema].get(t))
        if changed:
            matrix.failures.append(f"{caller.name}: its writes changed {schema}: {', '.join(changed)}")


def _tenant_routes() -> list[Route]:
    return routes(TENANT_URLCONF)


def _run(world: World, callers: list[Caller]) -> Matrix:
    matrix = Matrix()
    route_list = _tenant_routes()
    for caller in callers:
        attack(matrix, caller, route_list, public_views=PUBLIC_VIEWS)
        connection.set_schema_to_public()
    print(f"isolation matrix: {len(route_list)} patterns, {matrix.calls} calls, {len(matrix.failures)} failures")
    return matrix


# ---------------------------------------------------------------- the tests


def test_every_path_parameter_is_known():
    unknown = [
        f"{route.urlconf} {route.route}: <{param}>"
        for urlconf in (TENANT_URLCONF, PUBLIC_URLCONF)
        for route in routes(urlconf)
        for param in route.params
        if kind_of(route, param) is None and param not in LITERALS
    ]
    assert not unknown, "teach PARAMS or LITERALS what these parameters take:\n" + "\n".join(unknown)


def test_the_world_has_the_same_ids_in_both_tenants(world):
    numeric = {k for k, v in world.b.ids.items() if isinstance(v, int)}
    differ = {k: (world.a.ids[k], world.b.ids[k]) for k in numeric if world.a.ids[k] != world.b.ids[k]}
    assert not differ, f"A's and B's rows should share ids (A, B): {differ}"


def test_tenant_a_people_see_only_their_own_rows_and_areas(world):
    a_roles = [c for c in callers_on_a(world) if c.name.startswith("A's") or c.name == "anonymous"]
    matrix = _run(world, a_roles)
    assert not matrix.failures, matrix.report()


def test_tenant_b_people_on_a_host_and_a_people_on_b_host_are_refused(world):
    others = [c for c in callers_on_a(world) if c.name.startswith("B's")] + callers_on_b(world)
    matrix = _run(world, others)
    assert not matrix.failures, matrix.report()


def test_public_host_shows_no_tenant_rows(world, client_for):
    """The public host (landing, sign-up, platform admin): anonymous and a tenant's signed-in browser."""
    route_list = routes(PUBLIC_URLCONF)
    public_schema = "public"
    matrix = Matrix()
    callers = [
        Caller("anonymous (public host)", Client(HTTP_HOST="localhost", raise_request_exception=False), {}, (MARK_A, MARK_B), frozenset(),
               (public_schema, world.a.tenant.schema_name)),
        Caller("A's owner (public host)", world.a.client("owner", host="localhost"), {}, (MARK_A, MARK_B),
               frozenset(), (world.a.tenant.schema_name,)),
    ]  # fmt: skip
    everyone = {view_name(route): "public host" for route in route_list}
    for caller in callers:
        attack(matrix, caller, route_list, public_views=everyone)
        connection.set_schema_to_public()
    print(f"public host: {len(route_list)} patterns, {matrix.calls} calls")
    assert not matrix.failures, matrix.report()
