"""Turn the audit table into a hash-chained, append-only trail.

Existing events are chained in their original order. On PostgreSQL a trigger refuses UPDATE and
DELETE of events and checkpoints, whoever asks (the application, the admin, a psql session).
"""

from django.db import migrations, models

from compliance.audit_chain import GENESIS, canonical, chain_hash

APPEND_ONLY_TABLES = ("compliance_auditevent", "compliance_auditcheckpoint")

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION compliance_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def chain_existing(apps, schema_editor):
    AuditEvent = apps.get_model("compliance", "AuditEvent")
    AuditChainHead = apps.get_model("compliance", "AuditChainHead")
    prev = GENESIS
    seq = 0
    for event in AuditEvent.objects.order_by("id").select_related("actor").iterator():
        seq += 1
        label = event.actor.get_username() if event.actor_id else "system"
        content = canonical(
            {
                "seq": seq,
                "at": event.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "actor": label,
                "actor_id": event.actor_id,
                "organization": "",
                "inquiry": str(event.inquiry_id) if event.inquiry_id else None,
                "domain": event.domain,
                "jurisdiction": event.jurisdiction,
                "type": event.event_type,
                "outcome": event.outcome,
                "details": event.details,
            }
        )
        digest = chain_hash(prev, content)
        AuditEvent.objects.filter(pk=event.pk).update(
            seq=seq, actor_label=label, content=content, prev_hash=prev, hash=digest
        )
        prev = digest
    AuditChainHead.objects.create(pk=1, seq=seq, hash=prev)


def triggers_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)
    for table in APPEND_ONLY_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION compliance_refuse_change()"
        )


def triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in APPEND_ONLY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS compliance_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0003_keys_rotated_event"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.PositiveBigIntegerField(default=0)),
                ("hash", models.CharField(default=GENESIS, max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveIntegerField(unique=True)),
                ("seq", models.PositiveBigIntegerField()),
                ("hash", models.CharField(max_length=64)),
                ("signed_at", models.CharField(max_length=32)),
                ("key_id", models.CharField(max_length=16)),
                ("signature", models.CharField(max_length=128)),
            ],
            options={"ordering": ["number"]},
        ),
        migrations.AlterModelOptions(name="auditevent", options={"ordering": ["seq"]}),
        migrations.AlterField(
            model_name="auditevent", name="created_at", field=models.DateTimeField(db_index=True)
        ),
        migrations.AddField(
            model_name="auditevent",
            name="actor_label",
            field=models.CharField(default="system", max_length=150),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="organization",
            field=models.CharField(blank=True, db_index=True, default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent", name="seq", field=models.PositiveBigIntegerField(null=True)
        ),
        migrations.AddField(
            model_name="auditevent",
            name="content",
            field=models.TextField(default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent", name="hash", field=models.CharField(max_length=64, null=True)
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent", name="seq", field=models.PositiveBigIntegerField(unique=True)
        ),
        migrations.AlterField(
            model_name="auditevent", name="hash", field=models.CharField(max_length=64, unique=True)
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="event_type",
            field=models.CharField(
                choices=[
                    ("inquiry.received", "Inquiry received"),
                    ("inquiry.screened", "Input screened for personal data"),
                    ("inquiry.policy_decided", "Policy decision"),
                    ("inquiry.retrieved", "Passages retrieved"),
                    ("inquiry.generated", "Answer generated"),
                    ("inquiry.output_screened", "Answer screened"),
                    ("inquiry.answered", "Answer delivered"),
                    ("inquiry.refused", "Refused by policy"),
                    ("inquiry.content_purged", "Content removed after retention"),
                    ("inquiry.retry", "Transient failure, retry scheduled"),
                    ("inquiry.failed", "Inquiry failed"),
                    ("access.denied", "Access denied"),
                    ("auth.login", "Logged in"),
                    ("auth.login_failed", "Failed login"),
                    ("auth.logout", "Logged out"),
                    ("content.revealed", "Content revealed to a compliance officer"),
                    ("policy.refused", "Request refused by policy before it was accepted"),
                    ("policy.changed", "Jurisdiction policy added, changed or removed"),
                    ("domain.synced", "Domain definition synchronised"),
                    ("domain.changed", "Domain changed by an administrator"),
                    ("corpus.ingested", "Documents ingested into a corpus"),
                    ("keys.rotated", "Content keys re-wrapped with the newest master key"),
                    ("audit.verified", "Audit trail verified"),
                    ("audit.exported", "Audit trail exported"),
                ],
                db_index=True,
                max_length=40,
            ),
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
