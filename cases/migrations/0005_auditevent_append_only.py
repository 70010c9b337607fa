"""PostgreSQL trigger: audit rows cannot be updated, and deleted only by `prune_audit`.

The trigger refuses every UPDATE. A DELETE passes only when the transaction has set
`huoqiu.audit_prune = 'on'` (what `cases.audit.prune_audit` does with SET LOCAL) AND
the row is older than 183 days (six months, the legal minimum retention): even the
prune command cannot remove recent rows. TRUNCATE is not a row operation; the
application never issues it (Django's test runner does, to reset test databases).

SQLite has no session settings: the model and queryset layers guard it there.
"""

from django.db import migrations

MINIMUM_RETENTION_DAYS = 183

CREATE = f"""
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

DROP TRIGGER IF EXISTS cases_auditevent_append_only ON cases_auditevent;
CREATE TRIGGER cases_auditevent_append_only
    BEFORE UPDATE OR DELETE ON cases_auditevent
    FOR EACH ROW EXECUTE FUNCTION huoqiu_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS cases_auditevent_append_only ON cases_auditevent;
DROP FUNCTION IF EXISTS huoqiu_audit_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_audit_trail")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]
