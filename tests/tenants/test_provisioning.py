import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import schema_context, schema_exists

from tenants import services
from tenants.models import Domain, Tenant
from tenants.services import tenant_provision
from tests.conftest import in_tenant

GOOD_PASSWORD = "a-long-enough-passphrase-7"


def test_provision_creates_schema_domain_and_owner(db):
    # when
    tenant = tenant_provision(
        slug="gamma", name="Gamma Ltd", owner_email="Boss@Gamma.test", owner_password=GOOD_PASSWORD
    )

    # then
    assert tenant.schema_name == "t_gamma"
    assert schema_exists("t_gamma")
    assert tenant.get_primary_domain().domain == "gamma.localhost"
    with in_tenant(tenant):
        owner = User.objects.get()
        assert owner.email == "boss@gamma.test"
        assert owner.profile.role == "owner"
        assert owner.check_password(GOOD_PASSWORD)


def _unapplied_migrations(schema: str) -> list:
    with schema_context(schema):
        executor = MigrationExecutor(connection)
        return executor.migration_plan(executor.loader.graph.leaf_nodes())


def test_provisioned_schema_has_every_tenant_table(db):
    tenant = tenant_provision(slug="delta", name="Delta", owner_email="o@delta.test", owner_password=GOOD_PASSWORD)

    assert _unapplied_migrations(tenant.schema_name) == []


def test_a_lagging_template_is_migrated_before_the_provisioning_transaction(db, monkeypatch):
    # given: the template lags one migration behind the code (undone inside this test's transaction)
    template = settings.TENANT_BASE_SCHEMA
    call_command("migrate_schemas", "accounts", "0002", schema_name=template, interactive=False, verbosity=0)
    assert _unapplied_migrations(template) != []
    depth = len(connection.atomic_blocks)
    migrations_run = []

    def recording_call_command(name, *args, **kwargs):
        # what was open when the migration ran: transactions, and the new tenant's row
        migrations_run.append(
            (
                name,
                kwargs.get("schema_name"),
                len(connection.atomic_blocks),
                Tenant.objects.filter(slug="iota").exists(),
            )
        )
        return call_command(name, *args, **kwargs)

    # A spy on Django's call_command that still runs it: what was open when it ran cannot be seen afterwards.
    monkeypatch.setattr(services, "call_command", recording_call_command)

    # when
    tenant = tenant_provision(slug="iota", name="Iota", owner_email="o@iota.test", owner_password=GOOD_PASSWORD)

    # then: one migration run, on the template, before any provisioning transaction or row existed
    assert migrations_run == [("migrate_schemas", template, depth, False)]
    assert _unapplied_migrations(template) == []
    assert _unapplied_migrations(tenant.schema_name) == []


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("A", "lower-case"),
        ("-bad", "lower-case"),
        ("www", "reserved"),
        ("alpha", "already taken"),
        ("has space", "lower-case"),
    ],
)
def test_unusable_slug_is_refused_and_nothing_is_created(db, slug, reason):
    tenants_before = Tenant.objects.count()
    domains_before = Domain.objects.count()

    with pytest.raises(ValidationError) as excinfo:
        tenant_provision(slug=slug, name="X", owner_email="x@x.test", owner_password=GOOD_PASSWORD)

    assert reason in " ".join(excinfo.value.messages)
    assert Tenant.objects.count() == tenants_before
    assert Domain.objects.count() == domains_before


@pytest.mark.parametrize(("owner_email", "owner_password"), [("o@eps.test", "123"), ("not-an-address", GOOD_PASSWORD)])
def test_owner_refused_after_the_clone_rolls_back_the_whole_tenant(db, owner_email, owner_password):
    # the owner is created last, in the cloned schema: refusing it undoes row, domain and schema
    with pytest.raises(ValidationError):
        tenant_provision(slug="epsilon", name="Eps", owner_email=owner_email, owner_password=owner_password)

    assert not Tenant.objects.filter(slug="epsilon").exists()
    assert not Domain.objects.filter(domain="epsilon.localhost").exists()
    assert not schema_exists("t_epsilon")


def test_provision_tenant_command(db, capsys):
    call_command(
        "provision_tenant",
        "--slug", "zeta", "--name", "Zeta", "--domain", "shop.zeta.localhost",
        "--owner-email", "o@zeta.test", "--owner-password", GOOD_PASSWORD,
    )  # fmt: skip

    assert "provisioned zeta at http://shop.zeta.localhost" in capsys.readouterr().out
    assert Tenant.objects.get(slug="zeta").get_primary_domain().domain == "shop.zeta.localhost"


def test_provision_tenant_command_reports_a_taken_slug(db):
    with pytest.raises(CommandError, match="already taken"):
        call_command(
            "provision_tenant", "--slug", "alpha", "--name", "A",
            "--owner-email", "o@a.test", "--owner-password", GOOD_PASSWORD,
        )  # fmt: skip


def test_signup_form_provisions_and_redirects_to_new_host_login(public_client):
    # given
    form = public_client.get("/signup/")
    assert form.status_code == 200

    # when
    response = public_client.post(
        "/signup/",
        {
            "company": "Eta Goods",
            "slug": "eta",
            "email": "founder@eta.test",
            "password": GOOD_PASSWORD,
            "time_zone": "Europe/Berlin",
            "default_currency": "EUR",
        },
    )

    # then
    assert response.status_code == 302
    assert response["Location"] == "http://eta.localhost:8000/login/"
    tenant = Tenant.objects.get(slug="eta")
    assert (tenant.time_zone, tenant.default_currency) == ("Europe/Berlin", "EUR")


def test_signup_with_taken_slug_shows_the_reason_and_creates_nothing(public_client):
    count = Tenant.objects.count()

    response = public_client.post(
        "/signup/",
        {"company": "Copy", "slug": "alpha", "email": "c@c.test", "password": GOOD_PASSWORD,
         "time_zone": "UTC", "default_currency": "USD"},
    )  # fmt: skip

    assert response.status_code == 200
    assert "already taken" in response.content.decode()
    assert Tenant.objects.count() == count
