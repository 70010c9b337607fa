"""The import's COPY pipe (monitoring/importing/bulk.py): COPYs sent from a second thread on
PostgreSQL, never overlapping a query, failures raised in the importing thread."""

import threading
from datetime import date

import pytest
from django.db import connection, transaction
from django.utils import timezone

from cases.models import ChangeRecord, Person
from monitoring.importing.bulk import BulkTable, copy_pipe

from .factories import township

pytestmark = pytest.mark.django_db(transaction=True)

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the pipe is used on PostgreSQL only"
)


def person_rows(count, start=0, township_id=None):
    return [
        {
            "id_number": f"34152219500101{start + n:04d}",
            "name": f"人{n}",
            "gender": "男",
            "birth_date": date(1950, 1, 1),
            "township_id": township_id,
        }
        for n in range(count)
    ]


def pipe_threads():
    return [thread for thread in threading.enumerate() if thread.name == "import-copy"]


def test_without_postgresql_the_pipe_does_nothing():
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    with copy_pipe() as pipe:
        assert pipe is None
        ids = BulkTable(Person, timezone.now()).insert(
            person_rows(3, township_id=township("城关镇").pk), key=("id_number",)
        )
    assert Person.objects.filter(pk__in=ids).count() == 3


@postgres_only
def test_a_query_sees_every_row_sent_before_it():
    place = township("城关镇").pk
    with transaction.atomic(), copy_pipe() as pipe:
        assert pipe is not None
        table = BulkTable(Person, timezone.now())
        for part in range(5):
            table.insert(person_rows(500, start=part * 500, township_id=place), key=("id_number",))
            # the ORM query waits for the COPYs queued so far
            assert Person.objects.count() == (part + 1) * 500
    assert Person.objects.count() == 2500
    assert pipe_threads() == []


@postgres_only
def test_a_failed_copy_is_raised_here_and_nothing_is_written():
    place = township("城关镇").pk
    table = BulkTable(Person, timezone.now())
    history = BulkTable(ChangeRecord, timezone.now())
    failure = pytest.raises(Exception, match=r"duplicate key|unique")
    with failure, transaction.atomic(), copy_pipe():
        table.insert(person_rows(10, township_id=place), key=("id_number",))
        table.insert(person_rows(10, township_id=place), key=("id_number",))  # same IDs
        history.insert([{"model": "cases.person", "object_id": "1", "action": "create"}])
    assert Person.objects.count() == 0
    assert ChangeRecord.objects.count() == 0
    assert pipe_threads() == []


@postgres_only
def test_an_error_while_preparing_rows_rolls_back_what_was_sent():
    place = township("城关镇").pk
    with pytest.raises(RuntimeError), transaction.atomic(), copy_pipe():
        BulkTable(Person, timezone.now()).insert(person_rows(100, township_id=place))
        raise RuntimeError("a bug in the writer")
    assert Person.objects.count() == 0
    assert pipe_threads() == []


@postgres_only
def test_foreign_keys_are_deferred_again_after_an_import(tmp_path, settings):
    """The write checks foreign keys as each COPY ends; a caller's transaction that goes on
    after the import gets the schema's deferred checks back."""
    from monitoring.services import import_create_batch, import_run

    from .import_files import SURVEY_HEADER, make_id, survey_row, write_table

    settings.MEDIA_ROOT = tmp_path / "media"
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1)])
    with transaction.atomic():
        batch = import_run(import_create_batch("survey", path, original_name="s.xlsx").pk)
        assert batch.status == "done"
        missing = Person.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
        with connection.cursor() as cursor:
            # a certificate of a person that does not exist yet: fine until commit
            cursor.execute(
                "INSERT INTO cases_certificate (created_at, updated_at, number, category, grade,"
                " reissue, person_id) VALUES (now(), now(), %s, 1, 1, NULL, %s)",
                [f"{make_id(999)}11", missing],
            )
            cursor.execute("DELETE FROM cases_certificate WHERE person_id = %s", [missing])
