"""The audit trail becomes a hash chain, append-only on both databases (docs/SECURITY.md).

Events get `chain_seq` / `chain_hash` (`cases.audit_chain`); the one-row table
`cases_auditchainhead` holds the last number and hash and the prune's anchor. Rows
written before this migration keep no number ("legacy", counted by `audit_verify`).

PostgreSQL triggers on `cases_auditevent`:
- `cases_auditevent_append_only` (from 0005, function replaced): every UPDATE refused;
  a DELETE only by the table's owner (a member of the owning role — not the application
  role of deploy/postgres-roles.sql) and only of rows older than 183 days. The session
  variable `huoqiu.audit_prune` of 0005 no longer lets anyone delete.
- `cases_auditevent_no_truncate`: TRUNCATE refused unless the current user owns the table
  (Django's test runner flushes as the owner).
- `cases_auditevent_db_time`: `created_at := now()` on every insert — the database's time.
- `cases_auditevent_chain`: an insert must carry the next number after the head and a
  64-hex hash; the trigger advances the head (no extra round trip for the application).

SQLite (no roles, no changing NEW in a trigger): UPDATE and DELETE refused always (the
prune drops and re-creates the DELETE trigger inside its transaction, the documented
SQLite limitation), an insert whose time is more than 60 s from the database's clock is
refused, and the same chain trigger.
"""

from django.db import migrations, models

MINIMUM_RETENTION_DAYS = 183
SQLITE_CLOCK_TOLERANCE_SECONDS = 60  # cases.audit_chain.SQLITE_CLOCK_TOLERANCE_SECONDS

POSTGRES = f"""
CREATE OR REPLACE FUNCTION huoqiu_audit_is_owner(rel oid) RETURNS boolean AS $$
    SELECT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = rel), 'MEMBER')
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION huoqiu_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND huoqiu_audit_is_owner(TG_RELID)
       AND OLD.created_at < now() - interval '{MINIMUM_RETENTION_DAYS} days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'cases_auditevent is append-only (% refused) / 审计记录只能追加', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS cases_auditevent_append_only ON cases_auditevent;
CREATE TRIGGER cases_auditevent_append_only
    BEFORE UPDATE OR DELETE ON cases_auditevent
    FOR EACH ROW EXECUTE FUNCTION huoqiu_audit_append_only();

CREATE OR REPLACE FUNCTION huoqiu_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    IF huoqiu_audit_is_owner(TG_RELID) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'cases_auditevent is append-only (TRUNCATE refused) / 审计记录只能追加'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER cases_auditevent_no_truncate
    BEFORE TRUNCATE ON cases_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION huoqiu_audit_no_truncate();

CREATE OR REPLACE FUNCTION huoqiu_audit_db_time() RETURNS trigger AS $$
BEGIN
    NEW.created_at := now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER cases_auditevent_db_time
    BEFORE INSERT ON cases_auditevent
    FOR EACH ROW EXECUTE FUNCTION huoqiu_audit_db_time();

CREATE OR REPLACE FUNCTION huoqiu_audit_chain() RETURNS trigger AS $$
BEGIN
    IF NEW.chain_seq IS NULL OR NEW.chain_hash !~ '^[0-9a-f]{{64}}$' THEN
        RAISE EXCEPTION 'audit event without chain number or hash refused / 审计记录缺少链序号'
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE cases_auditchainhead SET seq = NEW.chain_seq, last_hash = NEW.chain_hash
     WHERE id = 1 AND seq = NEW.chain_seq - 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit chain: seq % does not follow the head / 审计链序号不连续',
            NEW.chain_seq USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER cases_auditevent_chain
    BEFORE INSERT ON cases_auditevent
    FOR EACH ROW EXECUTE FUNCTION huoqiu_audit_chain();
"""  # noqa: S608 -- constants only

POSTGRES_REVERSE = f"""
DROP TRIGGER IF EXISTS cases_auditevent_chain ON cases_auditevent;
DROP TRIGGER IF EXISTS cases_auditevent_db_time ON cases_auditevent;
DROP TRIGGER IF EXISTS cases_auditevent_no_truncate ON cases_auditevent;
DROP FUNCTION IF EXISTS huoqiu_audit_chain();
DROP FUNCTION IF EXISTS huoqiu_audit_db_time();
DROP FUNCTION IF EXISTS huoqiu_audit_no_truncate();
CREATE OR REPLACE FUNCTION huoqiu_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND coalesce(current_setting('huoqiu.audit_prune', true), '') = 'on'
       AND OLD.created_at < now() - interval '{MINIMUM_RETENTION_DAYS} days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'cases_auditevent is append-only (% refused) / 审计记录只能追加', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP FUNCTION IF EXISTS huoqiu_audit_is_owner(oid);
"""

SQLITE = [
    """CREATE TRIGGER cases_auditevent_no_update BEFORE UPDATE ON cases_auditevent
BEGIN
    SELECT RAISE(ABORT, 'cases_auditevent is append-only (UPDATE refused) / 审计记录只能追加');
END""",
    """CREATE TRIGGER cases_auditevent_no_delete BEFORE DELETE ON cases_auditevent
BEGIN
    SELECT RAISE(ABORT, 'cases_auditevent is append-only (DELETE refused) / 审计记录只能追加');
END""",
    f"""CREATE TRIGGER cases_auditevent_db_time BEFORE INSERT ON cases_auditevent
WHEN julianday(NEW.created_at) IS NULL
  OR abs(julianday(NEW.created_at) - julianday('now')) * 86400.0 > {SQLITE_CLOCK_TOLERANCE_SECONDS}
BEGIN
    SELECT RAISE(ABORT, 'audit event time is not the database''s time / 审计记录时间不是当前时间');
END""",
    """CREATE TRIGGER cases_auditevent_chain BEFORE INSERT ON cases_auditevent
BEGIN
    SELECT RAISE(ABORT, 'audit chain: seq does not follow the head / 审计链序号不连续')
     WHERE NEW.chain_seq IS NULL
        OR length(NEW.chain_hash) <> 64
        OR NOT EXISTS (SELECT 1 FROM cases_auditchainhead
                        WHERE id = 1 AND seq = NEW.chain_seq - 1);
    UPDATE cases_auditchainhead SET seq = NEW.chain_seq, last_hash = NEW.chain_hash
     WHERE id = 1;
END""",
]

SQLITE_TRIGGERS = [
    "cases_auditevent_no_update",
    "cases_auditevent_no_delete",
    "cases_auditevent_db_time",
    "cases_auditevent_chain",
]


def forward(apps, schema_editor):
    head = apps.get_model("cases", "AuditChainHead")
    head.objects.using(schema_editor.connection.alias).get_or_create(id=1)
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE:
            schema_editor.execute(sql, params=None)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE, params=None)
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    dependencies = [("cases", "0007_child_care_record")]

    operations = [
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("seq", models.PositiveBigIntegerField(default=0, verbose_name="最后序号")),
                (
                    "last_hash",
                    models.CharField(
                        blank=True, default="", max_length=64, verbose_name="最后哈希"
                    ),
                ),
                (
                    "anchor_seq",
                    models.PositiveBigIntegerField(default=0, verbose_name="已清理至序号"),
                ),
                (
                    "anchor_hash",
                    models.CharField(
                        blank=True, default="", max_length=64, verbose_name="已清理至哈希"
                    ),
                ),
            ],
            options={"verbose_name": "审计链头", "verbose_name_plural": "审计链头"},
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_hash",
            field=models.CharField(blank=True, default="", max_length=64, verbose_name="链哈希"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_seq",
            field=models.PositiveBigIntegerField(
                blank=True, null=True, unique=True, verbose_name="链序号"
            ),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
