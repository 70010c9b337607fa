"""monitoring/admin_imports.py: validate-then-confirm imports, read-only batches, source data
admins, and the person .xlsx export (cases/admin.py) with formulas neutralised."""

import io
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from openpyxl import load_workbook

from cases import services
from cases.models import Person
from monitoring.admin_imports import STAGING_DIR
from monitoring.models import ImportBatch, RosterHousehold, RosterMember, SurveyRecord
from monitoring.services import import_roster_file, import_survey_file

from . import factories
from .import_files import ROSTER_HEADER, SURVEY_HEADER, roster_row, survey_row, write_table

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:monitoring_importbatch_import")
CONFIRM = reverse("admin:monitoring_importbatch_import_confirm")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def bad_grade(n):
    return survey_row(n, **{"残疾等级": "九级"})


def post_file(client, path, source="survey", skip_invalid=False):
    with open(path, "rb") as handle:
        data = {"source": source, "file": handle}
        if skip_invalid:
            data["skip_invalid"] = "on"
        return client.post(IMPORT, data)


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def staged_token(response) -> str:
    return response.context["entry"]["token"]


def staged_files(media) -> list[Path]:
    folder = Path(media) / STAGING_DIR
    return sorted(folder.glob("*")) if folder.exists() else []


# --- two-step import -----------------------------------------------------------------------------


def test_batch_list_offers_the_import_button(admin_client):
    page = admin_client.get(reverse("admin:monitoring_importbatch_changelist")).content.decode()
    assert IMPORT in page and "导入数据" in page
    form = admin_client.get(IMPORT)
    assert form.status_code == 200
    assert "跳过错误行" in form.content.decode()


def test_preview_lists_every_error_and_writes_nothing(admin_client, tmp_path, media):
    rows = [survey_row(1), bad_grade(2), survey_row(3), bad_grade(4), bad_grade(5)]
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, rows)

    response = post_file(admin_client, path)

    assert response.status_code == 200
    page = response.content.decode()
    table = page[page.index('data-testid="preview-error-table"') :]
    for row_number in (3, 5, 6):
        assert f"第{row_number}行" in table
    assert "第2行" not in table and "第4行" not in table
    assert "残疾等级" in table
    assert response.context["valid_count"] == 2
    assert response.context["result"].invalid_count == 3
    # Nothing written, no batch: only the staged file waits for the confirmation.
    assert not ImportBatch.objects.exists()
    assert not Person.objects.exists()
    assert len(staged_files(media)) == 1


def test_preview_report_download_marks_errors(admin_client, tmp_path):
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1), bad_grade(2)])
    token = staged_token(post_file(admin_client, path))
    response = admin_client.get(
        reverse("admin:monitoring_importbatch_preview_report", args=[token])
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert "残疾等级" in sheet.cell(row=3, column=sheet.max_column).value
    assert not ImportBatch.objects.exists()


def test_confirm_without_skip_refuses_a_file_with_errors(admin_client, tmp_path):
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1), bad_grade(2)])
    token = staged_token(post_file(admin_client, path))

    response = admin_client.post(CONFIRM, {"token": token})

    assert response.status_code == 400
    assert "跳过错误行" in response.context["confirm_error"]
    assert not ImportBatch.objects.exists()
    assert not Person.objects.exists()


def test_confirm_with_skip_creates_the_batch_and_writes_the_valid_rows(
    admin_client, county_admin, tmp_path, media, django_capture_on_commit_callbacks
):
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1), bad_grade(2)])
    token = staged_token(post_file(admin_client, path))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(CONFIRM, {"token": token, "skip_invalid": "on"})

    assert len(callbacks) == 1  # the Celery task, queued on commit
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:monitoring_importbatch_change", args=[batch.pk])
    assert batch.status == ImportBatch.Status.DONE
    assert (batch.rows, batch.created, batch.skipped) == (2, 1, 1)
    assert batch.uploaded_by == county_admin
    assert batch.original_name == "s.xlsx"
    assert Person.objects.count() == 1
    assert staged_files(media) == []
    # The token is spent.
    assert admin_client.post(CONFIRM, {"token": token, "skip_invalid": "on"}).status_code == 404


def test_clean_file_preview_then_confirm_writes(
    admin_client, tmp_path, django_capture_on_commit_callbacks
):
    path = write_table(
        tmp_path / "r.xlsx",
        ROSTER_HEADER,
        [roster_row(1, "H1"), roster_row(2, "H1", 与户主关系="配偶"), roster_row(3, "H2")],
    )
    preview = post_file(admin_client, path, source="roster")
    assert 'data-testid="preview-ok"' in preview.content.decode()
    assert not RosterMember.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CONFIRM, {"token": staged_token(preview)})

    batch = ImportBatch.objects.get()
    assert (batch.source, batch.status, batch.created) == ("roster", "done", 3)
    assert RosterHousehold.objects.count() == 2


def test_unreadable_file_gets_no_confirm_button(admin_client, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 broken")
    response = post_file(admin_client, path)
    page = response.content.decode()
    assert "无法读取" in page
    assert 'data-testid="confirm-import"' not in page


def test_upload_form_errors_in_the_admin(admin_client, tmp_path, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 50
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1)])
    assert "文件过大" in post_file(admin_client, path).content.decode()
    assert "请选择数据来源" in admin_client.post(IMPORT, {}).content.decode()


def test_a_token_of_another_session_is_refused(admin_client, client, tmp_path):
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1)])
    token = staged_token(post_file(admin_client, path))
    other = factories.UserFactory(username="otheradmin")
    services.staff_profile_set(other, role="county_admin")
    other.refresh_from_db()
    client.force_login(other)
    assert client.post(CONFIRM, {"token": token}).status_code == 404
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize("role", ["township_staff", "county_viewer"])
def test_only_county_admins_reach_the_import(client, tmp_path, role):
    user = factories.UserFactory(username=f"u-{role}", is_staff=True)
    factories.StaffProfile.objects.create(
        user=user,
        role=role,
        township=factories.township("城关镇") if role == "township_staff" else None,
    )
    client.force_login(user)
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1)])
    response = post_file(client, path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not ImportBatch.objects.exists()


# --- batches: read-only, downloads ---------------------------------------------------------------


def test_batches_are_read_only_and_show_errors_and_downloads(admin_client, county_admin, tmp_path):
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1), bad_grade(2)])
    batch = import_survey_file(path, user=county_admin)
    model_admin = admin.site._registry[ImportBatch]
    request = type("R", (), {"user": county_admin})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, batch)
    assert not model_admin.has_delete_permission(request, batch)

    listing = admin_client.get(reverse("admin:monitoring_importbatch_changelist"))
    assert listing.status_code == 200
    page = admin_client.get(reverse("admin:monitoring_importbatch_change", args=[batch.pk]))
    text = page.content.decode()
    assert "第3行" in text and "残疾等级" in text
    assert 'name="_save"' not in text
    errors_url = reverse("admin:monitoring_importbatch_download", args=[batch.pk, "errors"])
    assert errors_url in text
    response = admin_client.get(errors_url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"
    original = admin_client.get(
        reverse("admin:monitoring_importbatch_download", args=[batch.pk, "original"])
    )
    assert b"".join(original.streaming_content) == path.read_bytes()
    deleted = admin_client.post(
        reverse("admin:monitoring_importbatch_delete", args=[batch.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 403
    assert ImportBatch.objects.filter(pk=batch.pk).exists()


# --- imported source data ---------------------------------------------------------------------------


@pytest.fixture
def imported(tmp_path):
    survey = write_table(
        tmp_path / "s.xlsx",
        SURVEY_HEADER,
        [survey_row(1), survey_row(2, **{"乡镇（街道）": "河口镇", "村（社区）": "河口村"})],
    )
    roster = write_table(
        tmp_path / "r.xlsx",
        ROSTER_HEADER,
        [roster_row(1, "H1"), roster_row(5, "H1", 与户主关系="配偶"), roster_row(6, "H2")],
    )
    import_survey_file(survey)
    import_roster_file(roster)
    return Person.objects.get(id_number=survey_row(1)["公民身份号码"])


@pytest.mark.parametrize(
    "model", [SurveyRecord, RosterHousehold, RosterMember], ids=lambda m: m.__name__
)
def test_source_data_admins_are_read_only(admin_client, county_admin, imported, model):
    model_admin = admin.site._registry[model]
    request = type("R", (), {"user": county_admin})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    url = reverse(f"admin:monitoring_{model._meta.model_name}_changelist")
    response = admin_client.get(url)
    assert response.status_code == 200
    # ID numbers are masked in lists.
    assert imported.id_number not in response.content.decode()
    obj = model.objects.first()
    assert (
        admin_client.get(
            reverse(f"admin:monitoring_{model._meta.model_name}_change", args=[obj.pk])
        ).status_code
        == 200
    )


def test_survey_admin_search_by_id_and_filter_by_township(admin_client, imported):
    url = reverse("admin:monitoring_surveyrecord_changelist")
    found = admin_client.get(url, {"q": imported.id_number.lower()})
    assert found.context["cl"].result_count == 1
    by_name = admin_client.get(url, {"q": imported.name})
    assert imported.pk in {record.person_id for record in by_name.context["cl"].result_list}
    hekou = factories.township("河口镇")
    filtered = admin_client.get(url, {"person__township__id__exact": hekou.pk})
    assert [record.person.township_id for record in filtered.context["cl"].result_list] == [
        hekou.pk
    ]


def test_roster_household_admin_search_by_member_id_shows_members_inline(admin_client, imported):
    url = reverse("admin:monitoring_rosterhousehold_changelist")
    response = admin_client.get(url, {"q": imported.id_number})
    households = list(response.context["cl"].result_list)
    assert [household.household_number for household in households] == ["H1"]
    page = admin_client.get(
        reverse("admin:monitoring_rosterhousehold_change", args=[households[0].pk])
    ).content.decode()
    assert page.count(roster_row(5, "H1")["成员姓名"]) >= 1
    assert roster_row(5, "H1")["证件号码"] not in page  # masked in the inline


def test_roster_member_admin_filters_by_township(admin_client, imported):
    url = reverse("admin:monitoring_rostermember_changelist")
    chengguan = factories.township("城关镇")
    hekou = factories.township("河口镇")
    assert (
        admin_client.get(url, {"household__township__id__exact": chengguan.pk})
        .context["cl"]
        .result_count
        == 3
    )
    assert (
        admin_client.get(url, {"household__township__id__exact": hekou.pk})
        .context["cl"]
        .result_count
        == 0
    )


# --- person export ----------------------------------------------------------------------------------


def test_person_export_has_full_ids_and_neutralised_formulas(admin_client):
    plain = factories.PersonFactory(name="王伟")
    evil = factories.PersonFactory(name="=cmd|' /C calc'!A0")
    factories.CertificateFactory(person=plain, category=1, grade=2)
    response = admin_client.post(
        reverse("admin:cases_person_changelist"),
        {"action": "export_xlsx", ACTION_CHECKBOX_NAME: [plain.pk, evil.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(body(response))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = rows[0]
    assert header[:2] == ["姓名", "公民身份号码"]
    by_id = {row[1]: row for row in rows[1:]}
    assert set(by_id) == {plain.id_number, evil.id_number}  # full, unmasked
    assert by_id[evil.id_number][0] == "'=cmd|' /C calc'!A0"
    assert by_id[plain.id_number][0] == "王伟"
    assert by_id[plain.id_number][header.index("残疾人证号")] == f"{plain.id_number}12"
    assert by_id[evil.id_number][header.index("残疾人证号")] in ("", None)
