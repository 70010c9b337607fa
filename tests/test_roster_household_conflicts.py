"""Roster households whose member rows disagree on the household's values are reported
(result, batch, error report, import pages, household page), not reconciled silently."""

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from cases.models import Township
from monitoring.importing.report import WARN_FILL, WARNING_PREFIX
from monitoring.models import ImportBatch, RosterHousehold
from monitoring.services import import_roster_file, import_validate

from . import factories
from .import_files import ROSTER_HEADER, make_id, make_name, roster_row, write_table

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


INCOME = "家庭人均纯收入（元）"
TOWNSHIP_MESSAGE = (
    "户编号H001的成员行在“乡镇”上不一致：第3行 城关镇、第5行 河口镇；已采用户主行（第3行）"
)
VILLAGE_MESSAGE = (
    "户编号H001的成员行在“村”上不一致：第3行 东关村、第5行 七里村；已采用户主行（第3行）"
)
INCOME_MESSAGE = (
    f"户编号H001的成员行在“{INCOME}”上不一致：第3行 6500、第5行 7200；已采用户主行（第3行）"
)


def member(n: int, household: str, head: int, **overrides) -> dict:
    """A member row whose 户主姓名 is the head's, as the stations fill it in."""
    return roster_row(n, household, 户主姓名=make_name(head), **overrides)


def roster_rows(*, disagree: bool = True) -> list[dict]:
    """H001 (rows 3 and 5) disagrees on 乡镇, 村 and the income; H002 (rows 4 and 6) agrees."""
    other = {"乡镇": "河口镇", "村": "七里村", INCOME: "7,200"} if disagree else {}
    return [
        member(1, "H001", 1),
        member(3, "H002", 3),
        member(2, "H001", 1, 与户主关系="配偶", **other),
        member(4, "H002", 3, 与户主关系="子"),
    ]


def roster_file(tmp_path, rows: list[dict], name: str = "r.xlsx"):
    # A title row puts the header on row 2 and the data on rows 3…
    return write_table(tmp_path / name, ROSTER_HEADER, rows, titles=["防返贫监测对象名单"])


def test_strict_import_succeeds_and_names_rows_values_and_kept_value(tmp_path):
    batch = import_roster_file(roster_file(tmp_path, roster_rows()))

    assert batch.status == ImportBatch.Status.DONE
    assert batch.errors == []
    assert (batch.rows, batch.created, batch.updated, batch.unchanged, batch.skipped) == (
        4,
        4,
        0,
        0,
        0,
    )
    assert [c["message"] for c in batch.household_conflicts] == [
        TOWNSHIP_MESSAGE,
        VILLAGE_MESSAGE,
        INCOME_MESSAGE,
    ]
    township = batch.household_conflicts[0]
    assert township == {
        "household": "H001",
        "column": "乡镇",
        "rows": [3, 5],
        "values": [{"row": 3, "value": "城关镇"}, {"row": 5, "value": "河口镇"}],
        "kept_row": 3,
        "kept": "城关镇",
        "message": TOWNSHIP_MESSAGE,
    }
    assert "1户的成员行在乡镇、村或户级信息上不一致，已采用户主行的值" in batch.message

    # The head's row wins, as before; the household remembers what disagreed.
    h001 = RosterHousehold.objects.select_related("township", "village").get(
        household_number="H001"
    )
    assert (h001.township.name, h001.village.name, str(h001.income_per_capita)) == (
        "城关镇",
        "东关村",
        "6500.00",
    )
    assert [c["column"] for c in h001.conflicts] == ["乡镇", "村", INCOME]
    assert RosterHousehold.objects.get(household_number="H002").conflicts == []


def test_validation_result_carries_the_warnings_without_row_errors(tmp_path):
    result = import_validate("roster", roster_file(tmp_path, roster_rows()))
    assert result.ok and result.errors == [] and result.invalid_count == 0
    assert [(w.household, w.column, w.rows, w.kept_row) for w in result.warnings] == [
        ("H001", "乡镇", [3, 5], 3),
        ("H001", "村", [3, 5], 3),
        ("H001", INCOME, [3, 5], 3),
    ]


def test_household_without_head_row_says_which_row_was_used(tmp_path):
    rows = [
        member(1, "H001", 9, 与户主关系="配偶"),
        member(2, "H001", 9, 与户主关系="子", 户类型="脱贫户", 监测对象类别=None),
    ]
    result = import_validate("roster", roster_file(tmp_path, rows))
    assert result.ok
    assert [w.message for w in result.warnings] == [
        "户编号H001的成员行在“户类型”上不一致：第3行 监测户、第4行 脱贫户；"
        "该户没有户主行，已采用第3行（监测户）"
    ]


def test_blank_cells_are_filled_not_reported(tmp_path):
    rows = [
        member(1, "H001", 1, **{INCOME: None}),
        member(2, "H001", 1, 与户主关系="配偶", **{INCOME: "7,200"}),
    ]
    batch = import_roster_file(roster_file(tmp_path, rows))
    assert batch.status == ImportBatch.Status.DONE
    assert batch.household_conflicts == [] and not batch.error_report
    household = RosterHousehold.objects.get(household_number="H001")
    assert str(household.income_per_capita) == "7200.00" and household.conflicts == []


def test_error_report_marks_the_disagreeing_cells_and_explains(tmp_path):
    batch = import_roster_file(roster_file(tmp_path, roster_rows()))
    assert batch.error_report
    with batch.error_report.open("rb") as handle:
        sheet = load_workbook(handle).active
        rows = [list(row) for row in sheet.iter_rows()]
    header = [cell.value for cell in rows[1]]
    note_at = len(ROSTER_HEADER)
    township_at, income_at = header.index("乡镇"), header.index(INCOME)
    for row_number in (3, 5):
        cells = rows[row_number - 1]
        note = cells[note_at].value
        assert WARNING_PREFIX + TOWNSHIP_MESSAGE in note
        assert VILLAGE_MESSAGE in note and INCOME_MESSAGE in note
        assert cells[township_at].fill.fgColor.rgb.endswith(WARN_FILL.fgColor.rgb[-6:])
        assert cells[income_at].fill.fgColor.rgb.endswith(WARN_FILL.fgColor.rgb[-6:])
    for row_number in (4, 6):  # H002 agrees
        assert rows[row_number - 1][note_at].value is None


def test_note_changes_alone_do_not_count_as_updates(tmp_path):
    first = import_roster_file(roster_file(tmp_path, roster_rows()))
    assert first.status == ImportBatch.Status.DONE

    again = import_roster_file(roster_file(tmp_path, roster_rows(), "again.xlsx"))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert len(again.household_conflicts) == 3

    # The station fixes the member's income: only 乡镇 and 村 still disagree, and the
    # stored household values are the same as before, so nothing counts as changed.
    rows = roster_rows()
    rows[2][INCOME] = "6,500"
    fixed = import_roster_file(roster_file(tmp_path, rows, "fixed.xlsx"))
    assert (fixed.created, fixed.updated, fixed.unchanged) == (0, 0, 4)
    assert [c["column"] for c in fixed.household_conflicts] == ["乡镇", "村"]
    household = RosterHousehold.objects.get(household_number="H001")
    assert [c["column"] for c in household.conflicts] == ["乡镇", "村"]

    # A file whose rows agree clears the note.
    agree = import_roster_file(roster_file(tmp_path, roster_rows(disagree=False), "ok.xlsx"))
    assert agree.household_conflicts == [] and not agree.error_report
    assert RosterHousehold.objects.get(household_number="H001").conflicts == []


def test_import_detail_page_lists_the_warnings(client, admin_user, tmp_path):
    batch = import_roster_file(roster_file(tmp_path, roster_rows()))
    client.force_login(admin_user)
    html = client.get(reverse("staff:import_detail", args=[batch.pk])).content.decode()
    assert 'data-testid="conflict-table"' in html
    assert TOWNSHIP_MESSAGE in html and INCOME_MESSAGE in html
    assert 'data-testid="download-errors"' in html


def _registry_household(head: int, spouse: int):
    """A survey household whose members are roster members (head and one more)."""
    township = Township.objects.get(name="城关镇")
    persons = [
        factories.PersonFactory(id_number=make_id(n), name=make_name(n), township=township)
        for n in (head, spouse)
    ]
    household = factories.HouseholdFactory(head=persons[0])
    factories.HouseholdMemberFactory(household=household, person=persons[0], relation="户主")
    factories.HouseholdMemberFactory(household=household, person=persons[1], relation="配偶")
    return household


def test_household_page_shows_the_notice_within_the_query_budget(
    client, admin_user, tmp_path, django_assert_max_num_queries
):
    disagreeing = _registry_household(1, 2)
    agreeing = _registry_household(3, 4)
    import_roster_file(roster_file(tmp_path, roster_rows()))
    client.force_login(admin_user)

    with django_assert_max_num_queries(11):  # +1: the audit chain's head (docs/SECURITY.md)
        response = client.get(reverse("staff:household_detail", args=[disagreeing.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="roster-conflicts"' in html
    assert "在“乡镇”、“村”、“家庭人均纯收入（元）”上不一致" in html
    assert TOWNSHIP_MESSAGE in html

    html = client.get(reverse("staff:household_detail", args=[agreeing.pk])).content.decode()
    assert 'data-testid="roster"' in html
    assert 'data-testid="roster-conflicts"' not in html


def test_admin_preview_and_batch_page_list_the_warnings(admin_client, tmp_path):
    path = roster_file(tmp_path, roster_rows())
    with open(path, "rb") as handle:
        preview = admin_client.post(
            reverse("admin:monitoring_importbatch_import"), {"source": "roster", "file": handle}
        )
    page = preview.content.decode()
    assert 'data-testid="preview-ok"' in page  # warnings are not errors
    assert 'data-testid="preview-warning-table"' in page and TOWNSHIP_MESSAGE in page
    report = admin_client.get(
        reverse(
            "admin:monitoring_importbatch_preview_report", args=[preview.context["entry"]["token"]]
        )
    )
    assert report.status_code == 200

    batch = import_roster_file(path)
    change = admin_client.get(reverse("admin:monitoring_importbatch_change", args=[batch.pk]))
    assert INCOME_MESSAGE in change.content.decode()
