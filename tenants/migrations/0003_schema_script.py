"""The kept DDL scripts that new tenant schemas are replayed from (tenants.schema_script), one per migration
state of the template. A cache: dropping its rows is harmless, the next provisioning regenerates one. Raw SQL
rather than a model: only tenants.schema_script reads and writes it."""

from django.db import migrations

FORWARD = """
CREATE TABLE tenants_schemascript (
    key varchar(120) PRIMARY KEY,
    template varchar(63) NOT NULL,
    script text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0002_tenant_event")]

    operations = [migrations.RunSQL(FORWARD, "DROP TABLE IF EXISTS tenants_schemascript;")]
