"""The page SQL compiled once per scope is PREPAREd once per connection on PostgreSQL and
run with EXECUTE (staff/selectors/timeline.py `run_compiled`, settings.PREPARED_PAGE_QUERIES):
same rows, a refused PREPARE runs plainly, and a child's records with the hardship row (a
boolean parameter PostgreSQL cannot type by itself) are prepared too."""

from unittest import mock

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import CaptureQueriesContext

from staff.selectors import timeline
from staff.selectors.person_records import person_records

from .test_person_page_sql import child_with_history, records_built_each_time


def test_placeholders_are_numbered_and_booleans_typed():
    sql = "SELECT a FROM t WHERE b = %s AND c LIKE '50%%' AND (CASE WHEN d THEN %s END) OR %s"
    assert timeline._numbered(sql, [7, True, "x"]) == (
        "SELECT a FROM t WHERE b = $1 AND c LIKE '50%' AND (CASE WHEN d THEN $2::boolean END) OR $3"
    )


def records_of(records):
    return sorted(
        [(event.kind, event.pk, None) for event in records.events]
        + [(key, item.pk, None) for key, items in records.by_kind.items() for item in items]
    )


def test_a_childs_records_run_as_a_prepared_statement(postgres, chengguan_user):
    child = child_with_history(chengguan_user, birth_years=10, grandparents=True)
    household_id = child.membership.household_id
    expected = [
        row
        for row in records_built_each_time(chengguan_user, child, household_id)
        if row[0] != "p_hardship"
    ]
    for _ in range(2):  # prepared on the first view, executed again on the second
        with CaptureQueriesContext(connection) as queries:
            records = person_records(chengguan_user, child, household_id=household_id)
        assert records_of(records) == expected
        assert records.hardship_flags["hardship_absent_parent"] is True
        assert [query["sql"][:8] for query in queries.captured_queries] == ["EXECUTE "]


def test_a_statement_postgresql_refuses_to_prepare_runs_plainly(postgres, chengguan_user):
    child = child_with_history(chengguan_user, birth_years=10, grandparents=True)
    household_id = child.membership.household_id
    timeline._unpreparable.clear()
    connections[DEFAULT_DB_ALIAS].__dict__.pop("_prepared_statements", None)  # none known yet
    with (
        mock.patch.object(timeline, "_prepare", return_value=False),
        CaptureQueriesContext(connection) as queries,
    ):
        records = person_records(chengguan_user, child, household_id=household_id)
    assert records_of(records) == [
        row
        for row in records_built_each_time(chengguan_user, child, household_id)
        if row[0] != "p_hardship"
    ]
    assert not queries.captured_queries[0]["sql"].startswith("EXECUTE")
    assert timeline._unpreparable
    timeline._unpreparable.clear()
