-- deploy/postgres-roles.sql — Huoqiu's two database roles (docs/OPERATIONS.md "Database roles").
--
--   huoqiu_owner  owns the database, the schema, every table, sequence and trigger function;
--                 runs `manage.py migrate` and `manage.py prune_audit`, nothing else.
--   huoqiu_app    the running application (web, worker, beat): reads and writes the other
--                 tables; on the audit trail (cases_auditevent) only SELECT and INSERT, and on
--                 the chain head (cases_auditchainhead) SELECT, INSERT and UPDATE of its last
--                 number and hash. Not the owner, so it can neither delete, update, truncate
--                 nor disable the audit triggers (PostgreSQL lets only a table's owner ALTER it).
--
-- Run as the superuser, connected to the Huoqiu database, AFTER `migrate` has created the
-- tables (and again after every release's `migrate`; the script is idempotent):
--
--   sudo -u postgres psql -d huoqiu -v ON_ERROR_STOP=1 -f deploy/postgres-roles.sql
--
-- An installation that ran as one role (`huoqiu`, docs/OPERATIONS.md §2 before) is converted:
-- everything it owned in the schema passes to huoqiu_owner. Passwords are not set here:
-- `ALTER ROLE huoqiu_app PASSWORD '…'` (or local peer/cert authentication in pg_hba.conf).

BEGIN;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'huoqiu_owner') THEN
        CREATE ROLE huoqiu_owner LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'huoqiu_app') THEN
        CREATE ROLE huoqiu_app LOGIN;
    END IF;
END
$$;
ALTER ROLE huoqiu_owner NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
ALTER ROLE huoqiu_app NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;

-- The owner owns the database, the schema and what is in it.
DO $$
DECLARE
    item record;
BEGIN
    EXECUTE format('ALTER DATABASE %I OWNER TO huoqiu_owner', current_database());
    ALTER SCHEMA public OWNER TO huoqiu_owner;
    FOR item IN
        SELECT c.oid::regclass AS name
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
           -- sequences of a table's column (serial, identity) follow their table
           AND NOT EXISTS (SELECT FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND d.deptype IN ('a', 'i', 'e'))
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO huoqiu_owner', item.name);
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure AS name
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public'
           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO huoqiu_owner', item.name);
    END LOOP;
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO huoqiu_app', current_database());
END
$$;

-- Nobody else creates objects in the schema; the application only uses it.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO huoqiu_app;

-- The application: every table it works with, now and after future migrations.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO huoqiu_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO huoqiu_app;
ALTER DEFAULT PRIVILEGES FOR ROLE huoqiu_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO huoqiu_app;
ALTER DEFAULT PRIVILEGES FOR ROLE huoqiu_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO huoqiu_app;

-- The audit trail: read and append, nothing else.
REVOKE ALL ON cases_auditevent FROM huoqiu_app;
GRANT SELECT, INSERT ON cases_auditevent TO huoqiu_app;
REVOKE ALL ON cases_auditchainhead FROM huoqiu_app;
GRANT SELECT, INSERT ON cases_auditchainhead TO huoqiu_app;
-- The insert trigger advances the head as the inserting role; the prune's anchor columns
-- are the owner's alone.
GRANT UPDATE (seq, last_hash) ON cases_auditchainhead TO huoqiu_app;

COMMIT;
