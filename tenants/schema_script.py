"""A tenant's schema made by replaying a DDL script, generated once per migration state of the template.

django-tenants' clone_schema introspects the whole catalog on every clone, so it slows down (and its backend
grows) with every schema in the database. Here the template is read once: the script that rebuilds it —
functions, sequences, tables, the template's rows, constraints, indexes, foreign keys, triggers, comments — is
generated from the catalog with the template's name left out of every definition (deparsed with only the
template on the search path), checked by replaying it into a scratch schema and comparing the two
(schema_describe), and kept in the public table tenants_schemascript under a key made of the template's applied
migrations. Every process and host then reuses it; when the template migrates, its key changes and the first
provisioning after that generates the new script. Replaying it is one statement batch, one round trip, inside
the caller's transaction; its cost depends on the template only, not on how many schemas exist.

What the generator does not know how to rebuild (views, enums, domains, policies, rules, partitions, grants, …)
makes it raise SchemaScriptError naming the objects, rather than produce a schema that differs.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid

from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name

logger = logging.getLogger(__name__)

# Bumped whenever the generator's output changes, so kept scripts of an older generator are not reused.
GENERATOR_VERSION = 3
SCHEMA_TOKEN = "@@RELAY_SCHEMA@@"
_STORAGE = {"p": "PLAIN", "e": "EXTERNAL", "m": "MAIN", "x": "EXTENDED"}  # pg_attribute.attstorage
SCRIPT_TABLE = "tenants_schemascript"  # in the public schema (tenants/migrations/0003_schema_script.py)
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# key -> script, for this process (the table is the truth; this saves fetching ~100 kB per provisioning).
_scripts: dict[str, str] = {}


class SchemaScriptError(Exception):
    """The template holds something the script cannot rebuild, or the script does not reproduce it."""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _script_table() -> str:
    return f"{_ident(get_public_schema_name())}.{SCRIPT_TABLE}"


def _checked_schema(name: str) -> str:
    if not _SCHEMA_NAME.match(name):
        raise ValueError(f"not a tenant schema name: {name!r}")
    return name


class _OnlyOnPath:
    """Inside a transaction: the search path is ``schema`` alone, and is put back afterwards.

    Deparsed definitions (defaults, constraints, trigger calls) then name the schema's own objects without
    qualification. set_config(..., true) is local to the transaction, and the old value is restored
    explicitly, so django-tenants' idea of the connection's search path stays true."""

    def __init__(self, cursor, schema: str):
        self.cursor, self.schema = cursor, schema

    def __enter__(self):
        self.cursor.execute("SELECT current_setting('search_path')")
        self.saved = self.cursor.fetchone()[0]
        self.cursor.execute("SELECT set_config('search_path', %s, true)", [_ident(self.schema)])
        return self.cursor

    def __exit__(self, *exc):
        if exc[0] is None:  # after an error the transaction (or savepoint) is rolled back, and the path with it
            self.cursor.execute("SELECT set_config('search_path', %s, true)", [self.saved])


# ---------------------------------------------------------------- what the template is


def template_key(*, template: str) -> str:
    """The template's migration state: its applied migrations (and the generator's version), hashed."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT string_agg(app || '.' || name, ',' ORDER BY app, name) FROM {_ident(template)}.django_migrations"  # noqa: S608
        )
        applied = cursor.fetchone()[0] or ""
    return f"{template}:g{GENERATOR_VERSION}:{hashlib.sha256(applied.encode()).hexdigest()[:32]}"


def _refusals(cursor, nsp_oid: int) -> list[str]:
    """Objects of the template the generator does not rebuild."""
    cursor.execute(
        """
        SELECT 'relation ' || relname || ' of kind ' || relkind::text FROM pg_class
         WHERE relnamespace = %(n)s AND relkind NOT IN ('r', 'i', 'S')
        UNION ALL
        SELECT 'table ' || relname || ' (unlogged, options, grants, row security or inheritance)' FROM pg_class c
         WHERE relnamespace = %(n)s AND relkind IN ('r', 'S')
           AND (relpersistence <> 'p' OR reloptions IS NOT NULL OR relacl IS NOT NULL OR relrowsecurity
                OR relispartition OR EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = c.oid))
        UNION ALL
        SELECT 'type ' || typname FROM pg_type t
         WHERE typnamespace = %(n)s AND typtype IN ('e', 'd', 'r', 'm')
            OR (typnamespace = %(n)s AND typtype = 'c'
                AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) NOT IN ('r', 'S'))
        UNION ALL
        SELECT 'rule ' || rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = %(n)s
        UNION ALL
        SELECT 'policy ' || polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = %(n)s
        UNION ALL
        SELECT 'routine ' || proname || ' of kind ' || prokind::text FROM pg_proc
         WHERE pronamespace = %(n)s AND (prokind NOT IN ('f', 'p') OR proacl IS NOT NULL)
        UNION ALL
        SELECT 'statistics ' || stxname FROM pg_statistic_ext WHERE stxnamespace = %(n)s
        UNION ALL
        SELECT 'collation ' || collname FROM pg_collation WHERE collnamespace = %(n)s
        UNION ALL
        SELECT 'operator ' || oprname FROM pg_operator WHERE oprnamespace = %(n)s
        UNION ALL
        SELECT 'constraint trigger ' || conname FROM pg_constraint WHERE connamespace = %(n)s AND contype = 't'
        UNION ALL
        SELECT 'comment on ' || d.classoid::regclass::text FROM pg_description d
         WHERE d.classoid <> 'pg_class'::regclass
           AND (d.classoid, d.objoid) IN (SELECT 'pg_proc'::regclass, oid FROM pg_proc WHERE pronamespace = %(n)s
                                         UNION ALL SELECT 'pg_constraint'::regclass, oid FROM pg_constraint
                                          WHERE connamespace = %(n)s
                                         UNION ALL SELECT 'pg_trigger'::regclass, t.oid FROM pg_trigger t
                                          JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = %(n)s)
        """,
        {"n": nsp_oid},
    )
    return [row[0] for row in cursor.fetchall()]


def _generate(cursor, template: str, key: str) -> str:
    """The script, read from the catalog with only ``template`` on the search path."""
    cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [template])
    nsp = cursor.fetchone()[0]
    refused = _refusals(cursor, nsp)
    if refused:
        raise SchemaScriptError("the template holds what the schema script cannot rebuild: " + "; ".join(refused))
    qtemplate = _ident(template)
    out: list[str] = [
        "SELECT set_config('relay.saved_search_path', current_setting('search_path'), true),"
        " set_config('relay.saved_check_bodies', current_setting('check_function_bodies'), true)",
        # The template must still be in the state this script was made from (it may migrate meanwhile).
        "DO $relay$ BEGIN IF (SELECT encode(sha256(convert_to(coalesce(string_agg(app || '.' || name, ','"  # noqa: S608
        f" ORDER BY app, name), ''), 'UTF8')), 'hex') FROM {qtemplate}.django_migrations) NOT LIKE"
        f" {_literal(key.rsplit(':', 1)[1] + '%')} THEN RAISE EXCEPTION USING"
        " ERRCODE = 'object_not_in_prerequisite_state',"
        " MESSAGE = 'the tenant template migrated while this schema script was in use; try again'; END IF; END $relay$",
        f"CREATE SCHEMA {SCHEMA_TOKEN}",
        f"SET LOCAL search_path = {SCHEMA_TOKEN}",
        "SET LOCAL check_function_bodies = off",
    ]
    out += _functions(cursor, nsp, template)
    sequences, identity, owned = _sequences(cursor, nsp)
    out += sequences
    tables, rows, later = _tables_and_rows(cursor, nsp, template, identity, _constraints(cursor, nsp))
    out += tables
    out += owned
    out += [statement for contype, statement in later if contype != "f"]
    out += _indexes(cursor, nsp, template)
    out += [statement for contype, statement in later if contype == "f"]
    # The rows once every index and key exists: their (deferred) foreign key checks then wait for the commit
    # without blocking any DDL on their tables, which PostgreSQL refuses while such checks are pending.
    out += rows
    out += _triggers(cursor, nsp, template)  # last: the template's rows copied above are not events
    out += _comments(cursor, nsp)
    out.append(
        "SELECT set_config('search_path', current_setting('relay.saved_search_path'), true),"
        " set_config('check_function_bodies', current_setting('relay.saved_check_bodies'), true)"
    )
    # Only the data copies and the state check read the template; no definition may name it.
    leaks = [
        statement[:200]
        for statement in out
        if re.search(rf"(^|[^a-z0-9_]){re.escape(template)}([^a-z0-9_]|$)", statement)
        and not statement.startswith(("INSERT INTO ", "SELECT setval(", "DO $relay$"))
    ]
    if leaks:
        raise SchemaScriptError("definitions in the template name the template itself: " + " | ".join(leaks))
    return ";\n".join(out) + ";\n"


def _functions(cursor, nsp: int, template: str) -> list[str]:
    # First in the script: defaults, checks and triggers may call them.
    cursor.execute("SELECT pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = %s ORDER BY proname, oid", [nsp])
    out = []
    for (definition,) in cursor.fetchall():
        head, sep, body = definition.partition("\n")
        for kind in ("FUNCTION", "PROCEDURE"):
            for qualified in (f"{_ident(template)}.", f"{template}."):
                head = head.replace(f" {kind} {qualified}", f" {kind} ", 1)
        out.append(head + sep + body)
    return out


def _sequences(cursor, nsp: int) -> tuple[list[str], dict[tuple[str, str], str], list[str]]:
    """(standalone sequences, before the tables whose defaults call them; the identity columns' sequence
    clauses; the OWNED BY statements, once the tables exist)."""
    cursor.execute(
        """
        SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
               s.seqcache, s.seqcycle, d.deptype, t.relname, a.attname
          FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid
          LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
                               AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
          LEFT JOIN pg_class t ON t.oid = d.refobjid
          LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE c.relnamespace = %s AND c.relkind = 'S'
         ORDER BY c.relname
        """,
        [nsp],
    )
    standalone, owned = [], []
    identity: dict[tuple[str, str], str] = {}
    for name, typ, start, inc, smin, smax, cache, cycle, deptype, table, column in cursor.fetchall():
        options = (
            f"START WITH {start} INCREMENT BY {inc} MINVALUE {smin} MAXVALUE {smax} CACHE {cache}"
            f" {'CYCLE' if cycle else 'NO CYCLE'}"
        )
        if deptype == "i":
            identity[(table, column)] = f"SEQUENCE NAME {_ident(name)} {options}"
            continue
        standalone.append(f"CREATE SEQUENCE {_ident(name)} AS {typ} {options}")
        if deptype == "a":
            owned.append(f"ALTER SEQUENCE {_ident(name)} OWNED BY {_ident(table)}.{_ident(column)}")
    return standalone, identity, owned


def _column_storage(table: str, column: str, storage: str | None, compression: str) -> list[str]:
    """ALTER TABLE for a column's storage or compression when it is not its type's (pg_attribute's letters)."""
    out = []
    if storage:
        out.append(f"ALTER TABLE {_ident(table)} ALTER COLUMN {_ident(column)} SET STORAGE {_STORAGE[storage]}")
    if compression:
        method = {"p": "pglz", "l": "lz4"}[compression]
        out.append(f"ALTER TABLE {_ident(table)} ALTER COLUMN {_ident(column)} SET COMPRESSION {method}")
    return out


def _tables_and_rows(
    cursor, nsp: int, template: str, identity: dict[tuple[str, str], str], constraints: list[tuple]
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """CREATE TABLE for each table, with its constraints inline, referenced tables first; the copy of the
    template's rows (django_migrations, content types, permissions, …) made when the script is replayed, with
    every sequence set to the template's position; and the constraints left for ALTER TABLE afterwards
    (foreign keys in a cycle, NOT VALID ones): added to a new table by ALTER, each constraint costs a lock and
    a validating query, inline it costs neither."""
    cursor.execute(
        """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
               CASE WHEN a.attcollation <> t.typcollation THEN co.collname END,
               CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage END, a.attcompression
          FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
          JOIN pg_type t ON t.oid = a.atttypid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          LEFT JOIN pg_collation co ON co.oid = a.attcollation
         WHERE c.relnamespace = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY c.relname, a.attnum
        """,
        [nsp],
    )
    tables: dict[str, list[str]] = {}
    copied: dict[str, list[str]] = {}
    always: set[str] = set()
    stored: list[str] = []  # a column's storage or compression other than its type's (e.g. bytes compressed already)
    for table, column, typ, notnull, default, ident, generated, collation, storage, compression in cursor.fetchall():
        stored += _column_storage(table, column, storage, compression)
        parts = [_ident(column), typ]
        if collation:
            parts.append(f"COLLATE {_ident(collation)}")
        if generated == "s":
            parts.append(f"GENERATED ALWAYS AS ({default}) STORED")
        elif ident:
            kind = "ALWAYS" if ident == "a" else "BY DEFAULT"
            parts.append(f"GENERATED {kind} AS IDENTITY ({identity[(table, column)]})")
            if ident == "a":
                always.add(table)
        elif default is not None:
            parts.append(f"DEFAULT {default}")
        if notnull:
            parts.append("NOT NULL")
        tables.setdefault(table, []).append(" ".join(parts))
        if generated != "s":
            copied.setdefault(table, []).append(_ident(column))
    order, inline, later = _placement(list(tables), constraints)
    out = [f"CREATE TABLE {_ident(table)} ({', '.join(tables[table] + inline.get(table, []))})" for table in order]
    out += stored
    rows = []
    qtemplate = _ident(template)
    for table in order:
        if not copied.get(table):
            continue
        names = ", ".join(copied[table])
        overriding = " OVERRIDING SYSTEM VALUE" if table in always else ""
        rows.append(
            f"INSERT INTO {_ident(table)} ({names}){overriding} SELECT {names} FROM {qtemplate}.{_ident(table)}"  # noqa: S608
        )
    cursor.execute("SELECT relname FROM pg_class WHERE relnamespace = %s AND relkind = 'S' ORDER BY relname", [nsp])
    for (name,) in cursor.fetchall():
        rows.append(
            f"SELECT setval({_literal(_ident(name))}, last_value, is_called) FROM {qtemplate}.{_ident(name)}"  # noqa: S608
        )
    return out, rows, later


def _constraints(cursor, nsp: int) -> list[tuple]:
    """(type, table, name, definition, referenced table of this schema or None) of every constraint."""
    cursor.execute(
        """
        SELECT k.contype, c.relname, k.conname, pg_get_constraintdef(k.oid),
               CASE WHEN r.relnamespace = %s THEN r.relname END
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
          LEFT JOIN pg_class r ON r.oid = k.confrelid
         WHERE c.relnamespace = %s AND k.contype IN ('p', 'u', 'x', 'c', 'f')
         ORDER BY k.contype = 'f', c.relname, k.conname
        """,
        [nsp, nsp],
    )
    return cursor.fetchall()


def _placement(tables: list[str], constraints: list[tuple]) -> tuple[list[str], dict[str, list[str]], list]:
    """(tables in creation order, referenced ones first; constraint clauses inline per table; (type, ALTER
    statement) for the rest). A foreign key whose referenced table cannot come first (a cycle) is left for later."""
    needs: dict[str, set[str]] = {table: set() for table in tables}
    for contype, table, _name, definition, referenced in constraints:
        if contype == "f" and referenced and referenced != table and "NOT VALID" not in definition:
            needs[table].add(referenced)
    order: list[str] = []
    placed: set[str] = set()
    waiting = sorted(tables)
    while waiting:
        ready = [table for table in waiting if needs[table] <= placed] or waiting[:1]  # a cycle: break it here
        for table in ready:
            order.append(table)
            placed.add(table)
        waiting = [table for table in waiting if table not in placed]
    position = {table: i for i, table in enumerate(order)}
    inline: dict[str, list[str]] = {}
    later = []
    for contype, table, name, definition, referenced in constraints:
        if "NOT VALID" in definition or (
            contype == "f" and referenced and referenced != table and position[referenced] > position[table]
        ):
            later.append((contype, f"ALTER TABLE {_ident(table)} ADD CONSTRAINT {_ident(name)} {definition}"))
        else:
            inline.setdefault(table, []).append(f"CONSTRAINT {_ident(name)} {definition}")
    return order, inline, later


def _indexes(cursor, nsp: int, template: str) -> list[str]:
    # The indexes that back a constraint come with it.
    cursor.execute(
        """
        SELECT c.relname, pg_get_indexdef(i.indexrelid)
          FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid
         WHERE c.relnamespace = %s
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = c.oid)
         ORDER BY c.relname, x.relname
        """,
        [nsp],
    )
    return [_unqualify_on(definition, template, table) for table, definition in cursor.fetchall()]


def _triggers(cursor, nsp: int, template: str) -> list[str]:
    cursor.execute(
        """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = %s AND NOT t.tgisinternal
         ORDER BY c.relname, t.tgname
        """,
        [nsp],
    )
    enabled = {"O": None, "D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}
    out = []
    for table, name, definition, state in cursor.fetchall():
        out.append(_unqualify_on(definition, template, table))
        if enabled[state]:
            out.append(f"ALTER TABLE {_ident(table)} {enabled[state]} TRIGGER {_ident(name)}")
    return out


def _comments(cursor, nsp: int) -> list[str]:
    cursor.execute(
        """
        SELECT c.relname, a.attname, d.description
          FROM pg_description d JOIN pg_class c ON d.classoid = 'pg_class'::regclass AND c.oid = d.objoid
          LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid > 0
         WHERE c.relnamespace = %s
         ORDER BY c.relname, a.attname NULLS FIRST
        """,
        [nsp],
    )
    return [
        f"COMMENT ON {f'COLUMN {_ident(table)}.{_ident(column)}' if column else f'TABLE {_ident(table)}'}"
        f" IS {_literal(text)}"
        for table, column, text in cursor.fetchall()
    ]


def _unqualify_on(definition: str, template: str, table: str) -> str:
    """``… ON template.table …`` (indexes and triggers always qualify their table) as ``… ON table …``."""
    for qualified in (f"{_ident(template)}.", f"{template}."):
        for only in ("", "ONLY "):
            definition = definition.replace(f" ON {only}{qualified}{_ident(table)} ", f" ON {only}{_ident(table)} ")
            definition = definition.replace(f" ON {only}{qualified}{table} ", f" ON {only}{_ident(table)} ")
    return definition


# ---------------------------------------------------------------- describing a schema, to compare two

# PostgreSQL does not deparse every expression back to the text it parsed: Django's ``"via" IN ('web', 'api')``
# is shown as ``(ARRAY['web'::character varying, …])::text[]``, which, parsed again (by this script, by
# clone_schema, by a pg_dump restore alike), is shown as ``ARRAY[('web'::character varying)::text, …]``. The
# two mean the same; the description writes both the second way.
_CAST_ARRAY = re.compile(r"\(ARRAY\[((?:[^\[\]']|'(?:[^']|'')*')*)\]\)::text\[\]")
_ELEMENT = re.compile(r"('(?:[^']|'')*'::character varying)(?!\)::text)")


def _same_meaning(text: str) -> str:
    return _CAST_ARRAY.sub(lambda m: "ARRAY[" + _ELEMENT.sub(r"(\1)::text", m.group(1)) + "]", text)


def schema_describe(*, schema: str) -> dict[str, list]:
    """A schema's structure with its own name left out: tables and columns (types, defaults, identity), sequences
    (options, owner), constraints, indexes, triggers, functions and comments. Two schemas built alike describe
    alike; a default or trigger pointing into another schema shows that schema's name."""
    with transaction.atomic(), connection.cursor() as cursor, _OnlyOnPath(cursor, schema):
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
        nsp = cursor.fetchone()[0]
        queries = {
            "columns": """
                SELECT c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
                       format_type(a.atttypid, a.atttypmod), a.attnotnull,
                       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, a.attcollation,
                       a.attstorage, a.attcompression, replace(pg_get_serial_sequence(quote_ident(c.relname), a.attname), %(q)s, '')
                  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                 WHERE c.relnamespace = %(n)s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped""",
            "relations": """
                SELECT relname, relkind, relpersistence, reloptions, relacl, relrowsecurity, relreplident,
                       pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = %(n)s""",
            "sequences": """
                SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                       s.seqcache, s.seqcycle, d.deptype, d.refobjid::regclass::text, d.refobjsubid
                  FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid
                  LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                 WHERE c.relnamespace = %(n)s""",
            "constraints": """
                SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.condeferrable,
                       k.condeferred, k.convalidated, x.relname
                  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                  LEFT JOIN pg_class x ON x.oid = k.conindid
                 WHERE c.relnamespace = %(n)s""",
            "indexes": """
                SELECT c.relname, x.relname, replace(pg_get_indexdef(i.indexrelid), %(q)s, ''), i.indisunique,
                       i.indisprimary, i.indisvalid
                  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid
                 WHERE c.relnamespace = %(n)s""",
            "triggers": """
                SELECT c.relname, t.tgname, replace(pg_get_triggerdef(t.oid), %(q)s, ''), t.tgenabled,
                       p.pronamespace = %(n)s
                  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
                 WHERE c.relnamespace = %(n)s AND NOT t.tgisinternal""",
            "functions": """
                SELECT proname, pg_get_function_identity_arguments(oid),
                       replace(pg_get_functiondef(oid), %(q)s, ''), pg_get_userbyid(proowner)
                  FROM pg_proc WHERE pronamespace = %(n)s""",
            "comments": """
                SELECT c.relname, d.objsubid, d.description FROM pg_description d
                  JOIN pg_class c ON d.classoid = 'pg_class'::regclass AND c.oid = d.objoid
                 WHERE c.relnamespace = %(n)s""",
        }
        described = {}
        for name, sql in queries.items():
            cursor.execute(sql, {"n": nsp, "q": f"{schema}."})
            described[name] = sorted(
                tuple("" if value is None else _same_meaning(str(value)) for value in row) for row in cursor.fetchall()
            )
    return described


# ---------------------------------------------------------------- kept scripts


def schema_script_for(*, template: str, kept: bool = False) -> tuple[str, str]:
    """(key, script) for the template as it is now: from this process's memory, else the public table, else
    generated, verified and kept. Call it outside the provisioning transaction: a generation commits its row.
    Two processes generating at once both verify, one row is kept. ``kept``: look past this process's memory
    and make sure the public table holds the script (deploy commands, so that every host finds it ready).
    Raises SchemaScriptError when the template cannot be rebuilt by a script."""
    _checked_schema(template)
    key = template_key(template=template)
    script = _scripts.get(key)
    if script is not None and not kept:
        return key, script
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT script FROM {_script_table()} WHERE key = %s", [key])  # noqa: S608
        row = cursor.fetchone()
    if row is not None:
        script = row[0]
    else:
        started = time.perf_counter()
        if script is None:
            with transaction.atomic(), connection.cursor() as cursor:
                with _OnlyOnPath(cursor, template):
                    script = _generate(cursor, template, key)
            _verify(script=script, template=template)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_script_table()} (key, template, script) VALUES (%s, %s, %s)"  # noqa: S608
                " ON CONFLICT (key) DO NOTHING",
                [key, template, script],
            )
            cursor.execute(
                f"DELETE FROM {_script_table()} WHERE template = %s AND key <> %s",  # noqa: S608
                [template, key],
            )
        logger.info(
            "schema script kept",
            extra={
                "key": key,
                "statements": script.count(";\n"),
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
    _scripts[key] = script
    return key, script


def _verify(*, script: str, template: str) -> None:
    """Replay ``script`` into a scratch schema (rolled back) and compare it with the template."""
    scratch = f"relay_check_{uuid.uuid4().hex[:12]}"
    with transaction.atomic():
        sid = transaction.savepoint()
        try:
            with connection.cursor() as cursor:
                cursor.execute(script.replace(SCHEMA_TOKEN, _ident(scratch)))
            built, expected = schema_describe(schema=scratch), schema_describe(schema=template)
        finally:
            transaction.savepoint_rollback(sid)
    differences = [
        f"{part}: {sorted(set(expected[part]) ^ set(built[part]))[:3]}"
        for part in expected
        if expected[part] != built[part]
    ]
    if differences:
        raise SchemaScriptError("the schema script does not rebuild the template: " + "; ".join(differences))


def schema_create_from_template(*, schema: str, template: str, script: str) -> None:
    """Create ``schema`` as a copy of ``template`` (structure and rows) by replaying ``script`` (from
    schema_script_for) in one round trip, inside the caller's transaction: a rollback leaves no schema.
    Raises ProgrammingError if the schema exists, and an error naming the template if it migrated since the
    script was taken (the caller's transaction is then to be retried)."""
    _checked_schema(schema)
    with connection.cursor() as cursor:
        cursor.execute(script.replace(SCHEMA_TOKEN, _ident(schema)))
