"""A closed period never changes: triggers that refuse the change in the database, whoever writes it.

- a closed period refuses UPDATE and DELETE (it cannot be reopened to slip a change in);
- an adjustment of a closed period refuses INSERT, UPDATE and DELETE;
- a statement of a closed period refuses INSERT and DELETE, and an UPDATE of what it bills (period,
  supplier, currency, number, total, created): its state, confirmation and payment move after the close;
- a line of a closed period's statement refuses INSERT, UPDATE and DELETE. These three triggers are
  statement-level, over the transition tables: closing a month of a million lines checks once per SQL
  statement, not once per row.

Every refusal is SQLSTATE 23000 (integrity_constraint_violation), so Django raises IntegrityError; the
message starts "settlement:" and names the closed period. The functions look the period up in the schema
of the table that fired (TG_TABLE_SCHEMA), not through the search path: a write into another tenant's
schema is checked against that tenant's periods. Functions and triggers are created in the schema being
migrated (the template, or a tenant's); a tenant provisioned later gets them with the template's clone.

Hand-written rather than django-pgtrigger: pgtrigger replaces the autodetector of Django's `migrate`
command, django-tenants replaces `migrate` itself, and Django's check commands.E001 refuses the pair.
"""

from django.db import migrations

HINT = "A closed period never changes: what comes late goes into the next open period as an adjustment."


def _refuse(message: str, *args: str) -> str:
    formatted = ", ".join(("'" + message + "'", *args))
    return f"RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', MESSAGE = format({formatted}), HINT = '{HINT}';"


def _closed(period: str) -> str:
    """Set _closed: whether period ``period`` (an expression) is closed, in the firing table's schema."""
    return (
        "EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.settlement_period WHERE id = $1 AND status = ''closed'')', "
        f"TG_TABLE_SCHEMA) INTO _closed USING {period};"
    )


def _lines_closed(rows: str) -> str:
    """Refuse when a row of the transition table ``rows`` is a line of a closed period's statement."""
    return f"""
    IF _rows = '{rows}' THEN
        EXECUTE format(
            'SELECT s.number FROM {rows} r'
            ' JOIN %1$I.settlement_statement s ON s.id = r.statement_id'
            ' JOIN %1$I.settlement_period p ON p.id = s.period_id'
            ' WHERE p.status = ''closed'' LIMIT 1',
            TG_TABLE_SCHEMA
        ) INTO _number;
    END IF;"""


FORWARD = f"""
CREATE FUNCTION settlement_period_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_refuse("settlement: period %s is a closed period; %s refused", "to_char(OLD.month, 'YYYY-MM')", "TG_OP")}
END;
$$;
CREATE TRIGGER settlement_period_final
    BEFORE UPDATE OR DELETE ON settlement_period
    FOR EACH ROW WHEN (OLD.status = 'closed') EXECUTE FUNCTION settlement_period_final();

CREATE FUNCTION settlement_adjustment_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE _closed boolean;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        {_closed("OLD.period_id")}
        IF _closed THEN
            {_refuse("settlement: adjustment %s belongs to a closed period; %s refused", "OLD.id", "TG_OP")}
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    {_closed("NEW.period_id")}
    IF _closed THEN
        {_refuse("settlement: an adjustment cannot go into a closed period; %s refused", "TG_OP")}
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER settlement_adjustment_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON settlement_adjustment
    FOR EACH ROW EXECUTE FUNCTION settlement_adjustment_frozen();

CREATE FUNCTION settlement_statement_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE _closed boolean;
BEGIN
    IF TG_OP = 'DELETE' THEN
        {_closed("OLD.period_id")}
        IF _closed THEN
            {_refuse("settlement: statement %s belongs to a closed period; DELETE refused", "OLD.number")}
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF ROW(NEW.period_id, NEW.supplier_id, NEW.currency, NEW.number, NEW.total, NEW.created)
           IS NOT DISTINCT FROM ROW(OLD.period_id, OLD.supplier_id, OLD.currency, OLD.number, OLD.total, OLD.created)
        THEN
            RETURN NEW;  -- its state, confirmation or payment: these move after the close
        END IF;
        {_closed("OLD.period_id")}
        IF _closed THEN
            {_refuse("settlement: statement %s belongs to a closed period; UPDATE of what it bills refused", "OLD.number")}
        END IF;
    END IF;
    {_closed("NEW.period_id")}
    IF _closed THEN
        {_refuse("settlement: statement %s cannot go into a closed period; %s refused", "NEW.number", "TG_OP")}
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER settlement_statement_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON settlement_statement
    FOR EACH ROW EXECUTE FUNCTION settlement_statement_frozen();

-- One function, three triggers: PostgreSQL allows transition tables only on a trigger of one event.
CREATE FUNCTION settlement_line_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    _number text;
    _rows text;
BEGIN
    FOREACH _rows IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY['new_rows'] WHEN 'DELETE' THEN ARRAY['old_rows']
                                      ELSE ARRAY['old_rows', 'new_rows'] END
    LOOP
        {_lines_closed("old_rows")}
        {_lines_closed("new_rows")}
        IF _number IS NOT NULL THEN
            {_refuse("settlement: a line of statement %s belongs to a closed period; %s refused", "_number", "TG_OP")}
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;
CREATE TRIGGER settlement_line_insert_frozen
    AFTER INSERT ON settlement_statementline REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION settlement_line_frozen();
CREATE TRIGGER settlement_line_update_frozen
    AFTER UPDATE ON settlement_statementline REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION settlement_line_frozen();
CREATE TRIGGER settlement_line_delete_frozen
    AFTER DELETE ON settlement_statementline REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION settlement_line_frozen();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS settlement_line_delete_frozen ON settlement_statementline;
DROP TRIGGER IF EXISTS settlement_line_update_frozen ON settlement_statementline;
DROP TRIGGER IF EXISTS settlement_line_insert_frozen ON settlement_statementline;
DROP FUNCTION IF EXISTS settlement_line_frozen();
DROP TRIGGER IF EXISTS settlement_statement_frozen ON settlement_statement;
DROP FUNCTION IF EXISTS settlement_statement_frozen();
DROP TRIGGER IF EXISTS settlement_adjustment_frozen ON settlement_adjustment;
DROP FUNCTION IF EXISTS settlement_adjustment_frozen();
DROP TRIGGER IF EXISTS settlement_period_final ON settlement_period;
DROP FUNCTION IF EXISTS settlement_period_final();
"""


class Migration(migrations.Migration):
    dependencies = [("settlement", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
