"""The audit log (AuditEvent), append-only in the database, and the triggers that copy every new row of the
apps' state histories into it.

- accounts_auditevent refuses UPDATE and DELETE (SQLSTATE 23000, so Django raises IntegrityError), whoever
  writes it: the log cannot be edited to hide what happened.
- Each state history (dispatch, store, order, rule set and statement events) gets an AFTER INSERT trigger, one
  per SQL statement over its transition table: the histories are written by ``create``, ``bulk_create`` and
  COPY alike (a tracking upload writes thousands of dispatch events in one COPY), and a trigger sees them all.
  Who comes from the event row (its actor id and label); the request id, IP address and channel (web / api)
  from the settings ``relay.request_id``, ``relay.audit_ip`` and ``relay.audit_via``, which
  tenants.accounts.audit.AuditMiddleware sets on the connection for the length of a writing request.

The functions write into the schema of the table that fired (TG_TABLE_SCHEMA), not through the search path,
and are created in the schema being migrated; a tenant provisioned later gets them with the template's clone.
"""

import django.utils.timezone
from django.db import migrations, models

# (history table, action prefix, target type, target column, from column, to column, target table, label SQL)
MIRRORED = [
    ("suppliers_dispatchevent", "dispatch", "dispatch", "dispatch_id", "from_state", "to_state",
     "suppliers_dispatch", "t.number"),
    ("channels_storeevent", "store", "store", "store_id", "from_status", "to_status", "channels_store", "t.name"),
    ("orders_transition", "order", "order", "order_id", "from_state", "to_state", "orders_order", "t.order_number"),
    ("orders_rulesetevent", "ruleset", "ruleset", "ruleset_id", "from_state", "to_state", "orders_ruleset",
     "'v' || t.version"),
    ("settlement_statementevent", "statement", "statement", "statement_id", "from_state", "to_state",
     "settlement_statement", "t.number"),
]  # fmt: skip

FORWARD = """
CREATE FUNCTION accounts_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation',
        MESSAGE = format('accounts: the audit log is append-only; %s of audit event %s refused', TG_OP, OLD.id);
END;
$$;
CREATE TRIGGER accounts_audit_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_audit_append_only();

-- Arguments: action prefix, target type, target column, from column, to column, target table, label SQL (alias t).
-- A row whose from equals its to is a note on the thing ("<prefix>.noted"), else a change of state.
CREATE FUNCTION accounts_audit_mirror() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO %1$I.accounts_auditevent'
        ' (at, action, actor_id, actor_label, via, ip, target_type, target_id, target_label, details, request_id)'
        ' SELECT r.at,'
        '  CASE WHEN r.%5$I = r.%6$I THEN %2$L || ''.noted'' ELSE %2$L || ''.state_changed'' END,'
        '  r.actor_id, r.actor_label,'
        '  COALESCE(NULLIF(current_setting(''relay.audit_via'', true), ''''), ''system''),'
        '  NULLIF(current_setting(''relay.audit_ip'', true), '''')::inet,'
        '  %3$L, r.%4$I::text, left(COALESCE((%8$s)::text, ''''), 200),'
        '  jsonb_build_object(''from'', r.%5$I, ''to'', r.%6$I, ''reason'', r.reason),'
        '  COALESCE(current_setting(''relay.request_id'', true), '''')'
        ' FROM new_rows r LEFT JOIN %1$I.%7$I t ON t.id = r.%4$I',
        TG_TABLE_SCHEMA, TG_ARGV[0], TG_ARGV[1], TG_ARGV[2], TG_ARGV[3], TG_ARGV[4], TG_ARGV[5], TG_ARGV[6]
    );
    RETURN NULL;
END;
$$;
"""

FORWARD += "".join(
    f"""
CREATE TRIGGER accounts_audit_{table}
    AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_audit_mirror(
        '{prefix}', '{target_type}', '{column}', '{from_column}', '{to_column}', '{target_table}',
        '{label.replace("'", "''")}'
    );
"""
    for table, prefix, target_type, column, from_column, to_column, target_table, label in MIRRORED
)

BACKWARD = (
    "".join(f"DROP TRIGGER IF EXISTS accounts_audit_{table} ON {table};\n" for table, *_rest in MIRRORED)
    + """
DROP FUNCTION IF EXISTS accounts_audit_mirror();
DROP TRIGGER IF EXISTS accounts_audit_append_only ON accounts_auditevent;
DROP FUNCTION IF EXISTS accounts_audit_append_only();
"""
)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_profile_language"),
        # The state histories the triggers mirror.
        ("suppliers", "0007_supplier_late_ship_penalty"),
        ("channels", "0003_portal"),
        ("orders", "0007_returnrecord_return_created_idx"),
        ("settlement", "0004_line_penalties_leaner_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="when")),
                ("action", models.CharField(max_length=64, verbose_name="action")),
                ("actor_id", models.PositiveIntegerField(blank=True, null=True, verbose_name="user id")),
                ("actor_label", models.CharField(max_length=200, verbose_name="who")),
                (
                    "via",
                    models.CharField(
                        choices=[
                            ("web", "Browser"),
                            ("api", "API"),
                            ("worker", "Background task"),
                            ("system", "System"),
                        ],
                        default="system",
                        max_length=8,
                        verbose_name="via",
                    ),
                ),
                ("ip", models.GenericIPAddressField(blank=True, null=True, verbose_name="IP address")),
                ("target_type", models.CharField(blank=True, max_length=32, verbose_name="target type")),
                ("target_id", models.CharField(blank=True, max_length=64, verbose_name="target id")),
                ("target_label", models.CharField(blank=True, max_length=200, verbose_name="target")),
                ("details", models.JSONField(blank=True, default=dict, verbose_name="details")),
                ("request_id", models.CharField(blank=True, max_length=64, verbose_name="request id")),
            ],
            options={
                "ordering": ["-at", "-id"],
                "indexes": [
                    models.Index(fields=["-at", "-id"], name="audit_newest_idx"),
                    models.Index(fields=["action", "-at"], name="audit_action_idx"),
                    models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
                    models.Index(fields=["actor_id", "-at"], name="audit_actor_idx"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("action__regex", "^[a-z_]+\\.[a-z_]+$")), name="audit_action_valid"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("via__in", ["web", "api", "worker", "system"])), name="audit_via_valid"
                    ),
                ],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
