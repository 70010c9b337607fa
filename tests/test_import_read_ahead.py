"""The write reads what it compares with before the COPYs it cannot depend on, and draws ids
without waiting for them (monitoring/importing/writer.py, bulk.py), with the same results."""

from datetime import date

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Certificate, Household, HouseholdMember, Person
from monitoring.importing.bulk import BulkTable, copy_pipe
from monitoring.models import SurveyRecord
from monitoring.services import import_create_batch, import_run

from .factories import township
from .import_files import SURVEY_HEADER, make_id, survey_row, write_table

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY and sequences: PostgreSQL only"
)


def run(tmp_path, name, rows):
    path = write_table(tmp_path / name, SURVEY_HEADER, rows)
    return import_run(import_create_batch("survey", path, original_name=name).pk)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_ids_are_drawn_without_a_statement_on_the_import_connection():
    place = township("城关镇").pk
    rows = [
        {
            "id_number": make_id(n),
            "name": f"人{n}",
            "gender": "男",
            "birth_date": date(1950, 1, 1),
            "township_id": place,
        }
        for n in range(1, 301)
    ]
    with transaction.atomic(), copy_pipe():
        with CaptureQueriesContext(connection) as queries:
            first = BulkTable(Person, timezone.now()).insert(rows[:200], key=("id_number",))
            second = BulkTable(Person, timezone.now()).insert(rows[200:], key=("id_number",))
        # No nextval on this connection: it would wait for the COPY queued before it.
        assert queries.captured_queries == []
    assert first is not None and second is not None
    assert len(set(first) | set(second)) == 300
    stored = dict(Person.objects.values_list("id_number", "pk"))
    assert [stored[row["id_number"]] for row in rows] == [*first, *second]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_without_a_second_connection_ids_are_drawn_on_the_import_connection():
    place = township("城关镇").pk
    rows = [
        {
            "id_number": make_id(n),
            "name": f"人{n}",
            "gender": "女",
            "birth_date": date(1960, 1, 1),
            "township_id": place,
        }
        for n in range(1, 51)
    ]

    def refuse():
        raise OSError("no connection left")

    with transaction.atomic(), copy_pipe() as pipe:
        assert pipe is not None
        pipe.connect = refuse
        ids = BulkTable(Person, timezone.now()).insert(rows, key=("id_number",))
        assert pipe.ids_connection is None
    stored = dict(Person.objects.values_list("id_number", "pk"))
    assert [stored[row["id_number"]] for row in rows] == ids


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_first_import_reads_no_table_keyed_by_the_persons_it_creates(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    township("城关镇")
    rows = [survey_row(n) for n in range(1, 6)]
    rows.append(survey_row(6, 户主身份证号=make_id(1), 与户主关系="配偶", 户主姓名=rows[0]["姓名"]))
    with CaptureQueriesContext(connection) as queries:
        batch = run(tmp_path, "s.xlsx", rows)
    assert batch.status == "done" and batch.created == 6
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    for table in ("cases_certificate", "cases_householdmember", "monitoring_surveyrecord"):
        assert not [sql for sql in selects if f'FROM "{table}"' in sql], table
    assert Certificate.objects.count() == 6
    assert HouseholdMember.objects.count() == 6
    assert SurveyRecord.objects.count() == 6
    assert Household.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_new_and_stored_persons_in_one_file(tmp_path, settings):
    """Persons already stored are compared with their rows; the new ones are created."""
    settings.MEDIA_ROOT = tmp_path / "media"
    township("城关镇")
    assert run(tmp_path, "a.xlsx", [survey_row(n) for n in (1, 2, 3)]).status == "done"
    # Person 2's grade changed, and person 4 joins person 1's household (head outside
    # the rows of that household's first import, stored since).
    rows = [
        survey_row(1),
        survey_row(2, 残疾等级="四级", 残疾人证号=None),
        survey_row(3),
        survey_row(4, 户主身份证号=make_id(1), 与户主关系="子女", 户主姓名=survey_row(1)["姓名"]),
        survey_row(5, 户主身份证号=make_id(3), 与户主关系="配偶", 户主姓名=survey_row(3)["姓名"]),
    ]
    rows = [row for row in rows if row["公民身份号码"] != make_id(3)]  # head 3 outside the file
    batch = run(tmp_path, "b.xlsx", rows)
    assert batch.status == "done", batch.message
    assert (batch.created, batch.updated, batch.unchanged) == (2, 1, 1)
    certificate = Certificate.objects.get(person__id_number=make_id(2))
    assert (certificate.grade, certificate.number) == (4, f"{make_id(2)}{1 + 2 % 7}4")
    head_one = Household.objects.get(head_id_number=make_id(1))
    head_three = Household.objects.get(head_id_number=make_id(3))
    assert head_three.head_id == Person.objects.get(id_number=make_id(3)).pk
    members = dict(HouseholdMember.objects.values_list("person__id_number", "household_id"))
    assert members[make_id(4)] == head_one.pk
    assert members[make_id(5)] == head_three.pk
    assert SurveyRecord.objects.count() == 5
