"""Backup and restore (docs/OPERATIONS.md): deploy/backup.sh → deploy/restore.sh → same rows.

PostgreSQL only. The test database (with persons, households, findings, an import batch
and audit events) is dumped by `deploy/backup.sh`, restored by `deploy/restore.sh` into a
fresh database, and the row counts of the main tables compared; the audit trail is still
append-only in the restored copy, and restoring over a database with tables is refused.
"""

import os
import subprocess
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from cases import audit as audit_api
from monitoring.crosscheck import run_crosscheck

from . import factories
from .conftest import database_url_for_subprocess

REPO = Path(__file__).resolve().parent.parent
MAIN_TABLES = [
    "auth_user",
    "cases_township",
    "cases_village",
    "cases_person",
    "cases_certificate",
    "cases_household",
    "cases_householdmember",
    "cases_staffprofile",
    "cases_changerecord",
    "cases_auditevent",
    "monitoring_importbatch",
    "monitoring_surveyrecord",
    "monitoring_crosscheckrun",
    "monitoring_finding",
    "monitoring_findingevent",
    "subsidies_policyyear",
]

pytestmark = pytest.mark.services


def counts(url: str) -> dict[str, int]:
    with psycopg2.connect(url) as db, db.cursor() as cursor:
        result = {}
        for table in MAIN_TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
            result[table] = cursor.fetchone()[0]
    return result


def run(script: str, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(REPO / "deploy" / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def restore_url():
    source = database_url_for_subprocess()
    name = f"huoqiu_restore_{uuid.uuid4().hex[:8]}"
    url = source.rsplit("/", 1)[0] + "/" + name
    yield url
    admin = psycopg2.connect(source.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_backup_then_restore_gives_the_same_rows(
    postgres, transactional_db, tmp_path, restore_url, hekou_user
):
    for n in range(5):
        factories.certified_person(income_per_capita=3000 + n, household=True, township="河口镇")
    batch = factories.ImportBatchFactory(original_name="调查.xlsx")
    run_crosscheck()
    audit_api.audit(hekou_user, "view", target=("cases.person", 1, "甲"))
    media = tmp_path / "media"
    (media / "imports").mkdir(parents=True)
    (media / "imports" / "调查.xlsx").write_bytes(b"original file")
    source_url = database_url_for_subprocess()
    connection.close()  # no open transaction in the dumped database

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": source_url,
        "MEDIA_ROOT": str(media),
        "BACKUP_DIR": str(tmp_path / "backups"),
    }
    backup = run("backup.sh", env=env)
    assert backup.returncode == 0, backup.stderr
    dump = Path(backup.stdout.strip().splitlines()[-1])
    assert dump.is_file() and dump.suffix == ".dump"
    assert oct(dump.stat().st_mode & 0o777) == "0o600"
    media_tar = dump.with_name(dump.name.replace(".dump", ".media.tar.gz"))
    assert media_tar.is_file()

    restored_media = tmp_path / "restored-media"
    restore = run(
        "restore.sh",
        str(dump),
        "--target",
        restore_url,
        "--create",
        "--media",
        str(media_tar),
        env={**env, "MEDIA_ROOT": str(restored_media), "DATABASE_URL": ""},
    )
    assert restore.returncode == 0, restore.stderr
    before, after = counts(source_url), counts(restore_url)
    assert after == before
    assert before["cases_person"] == 5 and before["monitoring_finding"] > 0
    assert before["cases_auditevent"] > 0 and before["monitoring_importbatch"] >= 1
    assert (restored_media / "imports" / "调查.xlsx").read_bytes() == b"original file"
    assert batch.pk

    # The restored audit trail is still append-only (the trigger came along).
    with (
        psycopg2.connect(restore_url) as db,
        db.cursor() as cursor,
        pytest.raises(psycopg2.Error, match="append-only"),
    ):
        cursor.execute("UPDATE cases_auditevent SET username = 'forged'")

    # Restoring over a database that has tables is refused.
    again = run("restore.sh", str(dump), "--target", restore_url, env=env)
    assert again.returncode == 3
    assert "refusing" in again.stderr
    assert counts(restore_url) == before


def test_backup_refuses_a_non_postgres_url(tmp_path):
    result = run(
        "backup.sh",
        env={
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": "sqlite:///x.db",
            "BACKUP_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 2 and "PostgreSQL" in result.stderr
