"""Schemathesis, all checks, in-process against the WSGI application (no server): every operation of the API's
own OpenAPI schema, as a tenant-A owner (token) on tenant A's host, and the portal's operations as a supplier
user. A fixed seed and bounded examples keep the run reproducible and inside the suite's time; another seed
explores other requests: ``RELAY_FUZZ_SEED=12345 pytest tests/security/test_schema_fuzz.py`` (any seed must pass).

Generation leaves out NUL bytes and lone surrogates: the API refuses them everywhere on purpose (400, see
core/textguard.py and tests/security/test_invalid_text.py), which a string schema cannot say.
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.utils.encoders import JSONEncoder
from schemathesis.config import SchemathesisConfig

from tenants.accounts.services import token_create
from tests.conftest import in_tenant

MAX_EXAMPLES = 5
SEED = int(os.environ.get("RELAY_FUZZ_SEED") or 20261129)
PORTAL = r"^/api/v1/portal/"
HOST = "alpha.localhost"  # tenant A's domain (tests/conftest.py provisions it)


def _raw_schema() -> dict:
    schema = SchemaGenerator(urlconf="erp.urls").get_schema(request=None, public=True)
    return json.loads(json.dumps(schema, cls=JSONEncoder))


# Operations whose well-formed requests can still be refused (400) by what is stored or by a rule across
# fields that a schema cannot say: a body naming a product, supplier, store or statement that does not exist,
# a file whose content is not a valid sheet, a reject reason "other" without its comment, a promised ship date
# in the past, a store channel that needs an address or credentials, a supplier's time to ship shorter than
# its time to accept. For these only, positive_data_acceptance also accepts 400; every
# other check still runs on them, and every other operation is held to all checks unchanged.
DATA_DEPENDENT = [
    "POST /api/v1/listings/",  # components name products that must exist
    "POST /api/v1/products/",  # sources name suppliers that must exist
    "POST /api/v1/products/import/",  # the file's content
    "POST /api/v1/stores/",  # a channel's required address and credentials
    "POST /api/v1/suppliers/",  # ship within not shorter than accept within; a code no other supplier has
    "PATCH /api/v1/suppliers/{id}/",  # the same, against the supplier's stored hours and the other codes
    "POST /api/v1/settlement/payouts/",  # store must exist; the file's content
    "POST /api/v1/settlement/exports/",  # statement must exist
    "POST /api/v1/settlement/reconciliation/write-off/",  # store must exist; orders, or all
    "POST /api/v1/portal/dispatches/bulk-accept/",  # a promised ship date must not be in the past
    "POST /api/v1/portal/dispatches/{id}/accept/",  # the same
    "POST /api/v1/portal/dispatches/{id}/accept-partly/",  # the same
    "POST /api/v1/portal/dispatches/bulk-reject/",  # reason "other" needs a comment
    "POST /api/v1/portal/dispatches/{id}/reject/",  # reason "other" needs a comment
    "POST /api/v1/portal/stock/upload/",  # the file's content
    "POST /api/v1/portal/tracking/upload/",  # the file's content
    "GET /api/v1/settlement/margins/",  # store and supplier must exist; "from" not after "to"; a known currency
    "POST /api/v1/portal/stock/",  # each row's SKU must be one the supplier sources
]


def _config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "base-url": f"http://{HOST}",
            "checks": {"enabled": True},
            "operations": [
                {
                    "include-name": name,
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "429"]
                        }
                    },
                }
                for name in DATA_DEPENDENT
            ],
            "phases": {"stateful": {"enabled": False}},
            "seed": SEED,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "allow-x00": False,
                "codec": "utf-8",
                "database": "none",
            },
        }
    )


schema = schemathesis.openapi.from_dict(_raw_schema(), config=_config())
schema.app = WSGIHandler()


@pytest.fixture(autouse=True)
def _connection_kept_open():
    """As Django's test client does: a request's end must not close the test's connection (and its transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def owner_token(in_a, make_user) -> str:
    owner = make_user(in_a, "owner")
    with in_tenant(in_a):
        _TOKEN["key"] = token_create(user=owner)
    return _TOKEN["key"]


@pytest.fixture
def supplier_token(in_a, make_user, make_supplier) -> str:
    user = make_user(in_a, "supplier", supplier=make_supplier(in_a))
    with in_tenant(in_a):
        _TOKEN["key"] = token_create(user=user)
    return _TOKEN["key"]


# Whose token the running test sends; the fixtures below set it. Given through schemathesis' auth hook, so
# the checks that try the request without it or with a broken one (ignored_auth) know what to take away.
_TOKEN: dict[str, str] = {}


@schema.auth(refresh_interval=None)
class TokenAuth:
    def get(self, case, context):
        return _TOKEN.get("key", "")

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}


def _on_tenant_a(case):
    """The WSGI transport takes the host from this header only (not from base-url)."""
    case.headers = {**(case.headers or {}), "Host": HOST}
    return case


# The token fixtures are made once per operation on purpose: every generated case acts as the same person.
FIXTURES_SHARED = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


# Requests made per operation, printed at the end of the module (`-s` shows it): the closing figures.
CASES: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _figures(request):
    failed_before = request.session.testsfailed
    yield
    verdict = "all checks passed" if request.session.testsfailed == failed_before else "FAILURES above"
    print(f"\nschema fuzz (seed {SEED}): {len(CASES)} operations, {sum(CASES.values())} requests, {verdict}")


def _call(case) -> None:
    label = f"{case.operation.method.upper()} {case.operation.path}"
    CASES[label] = CASES.get(label, 0) + 1
    _on_tenant_a(case).call_and_validate()


@schema.exclude(path_regex=PORTAL).parametrize()
@FIXTURES_SHARED
def test_console_api_matches_its_schema(case, owner_token):
    _call(case)


@schema.include(path_regex=PORTAL).parametrize()
@FIXTURES_SHARED
def test_portal_api_matches_its_schema(case, supplier_token):
    _call(case)
