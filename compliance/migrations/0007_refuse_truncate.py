"""Refuse TRUNCATE of the audit tables on PostgreSQL.

The row-level triggers of 0004 do not fire for TRUNCATE, which the tables' owner (usually the
application's role) may run. This statement-level trigger refuses it for every role but a
superuser: a superuser can disable any trigger anyway, and Django's test runner empties tables
with TRUNCATE as one.
"""

from django.db import migrations

APPEND_ONLY_TABLES = ("compliance_auditevent", "compliance_auditcheckpoint")

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION compliance_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: TRUNCATE on % refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def trigger_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)
    for table in APPEND_ONLY_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION compliance_refuse_truncate()"
        )


def trigger_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in APPEND_ONLY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS compliance_refuse_truncate()")


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0006_evidence_and_verification_events"),
    ]

    operations = [migrations.RunPython(trigger_create, trigger_drop)]
