"""staff.views.imports: the import page (upload → batch → progress → summary → downloads), scoped."""

import io
import re
from pathlib import Path

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from cases.models import Person
from monitoring.models import ImportBatch, Source, SurveyRecord
from monitoring.services import import_create_batch, import_survey_file

from . import factories
from .import_files import SURVEY_HEADER, survey_row, write_table

pytestmark = pytest.mark.django_db

LIST = reverse("staff:import_list")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def survey_path(tmp_path, rows, name="survey.xlsx"):
    return write_table(tmp_path / name, SURVEY_HEADER, rows)


def bad_grade(n):
    return survey_row(n, **{"残疾等级": "九级"})


def in_township(n, township):
    return survey_row(n, **{"乡镇（街道）": township})


def upload(client, path, source="survey", skip_invalid=False, capture=None):
    data = {"source": source, "file": open(path, "rb")}  # noqa: SIM115 (closed below)
    if skip_invalid:
        data["skip_invalid"] = "on"
    try:
        if capture is None:
            return client.post(LIST, data)
        with capture(execute=True):
            return client.post(LIST, data)
    finally:
        data["file"].close()


def detail_url(batch):
    return reverse("staff:import_detail", args=[batch.pk])


def status_url(batch):
    return reverse("staff:import_status", args=[batch.pk])


def download_url(batch, kind):
    return reverse("staff:import_download", args=[batch.pk, kind])


def read_xlsx(response):
    content = b"".join(response.streaming_content)
    return load_workbook(io.BytesIO(content)).active


# --- the upload flow -----------------------------------------------------------------------------


def test_strict_upload_with_errors_writes_nothing_and_shows_every_error(
    client, admin_user, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    path = survey_path(tmp_path, [survey_row(1), bad_grade(2), survey_row(3), bad_grade(4)])

    response = upload(client, path, capture=django_capture_on_commit_callbacks)

    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(batch)
    assert batch.status == ImportBatch.Status.REJECTED
    assert batch.uploaded_by == admin_user
    assert not Person.objects.exists()
    assert not SurveyRecord.objects.exists()

    page = client.get(detail_url(batch)).content.decode()
    assert "有错误，未写入" in page
    # Header is on row 1: data rows 2..5, the bad ones are rows 3 and 5.
    table = page[page.index('data-testid="error-table"') :]
    assert "第3行" in table and "第5行" in table
    assert "第2行" not in table and "第4行" not in table
    assert table.count("残疾等级") >= 2
    assert 'data-testid="download-errors"' in page


def test_skip_invalid_upload_writes_the_good_rows(
    client, admin_user, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    path = survey_path(tmp_path, [survey_row(1), bad_grade(2), survey_row(3)])

    upload(client, path, skip_invalid=True, capture=django_capture_on_commit_callbacks)

    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.DONE
    assert batch.skip_invalid is True
    assert (batch.rows, batch.created, batch.skipped) == (3, 2, 1)
    assert Person.objects.count() == 2
    page = client.get(detail_url(batch)).content.decode()
    assert re.search(r'data-testid="count-created">2<', page)
    assert re.search(r'data-testid="count-skipped">1<', page)
    assert "第3行" in page


def test_clean_upload_then_same_file_again_changes_nothing(
    client, admin_user, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    path = survey_path(tmp_path, [survey_row(n) for n in range(3)])
    upload(client, path, capture=django_capture_on_commit_callbacks)
    upload(client, path, capture=django_capture_on_commit_callbacks)

    first, second = ImportBatch.objects.order_by("pk")
    assert (first.created, first.unchanged) == (3, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)
    page = client.get(detail_url(second)).content.decode()
    assert "没有任何改动" in page
    assert 'data-testid="download-errors"' not in page


def test_upload_form_errors_are_chinese_and_import_nothing(client, admin_user, tmp_path, settings):
    client.force_login(admin_user)
    response = client.post(LIST, {"source": "survey"})
    assert response.status_code == 400
    assert "请选择要导入的文件" in response.content.decode()

    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with open(text, "rb") as handle:
        response = client.post(LIST, {"source": "survey", "file": handle})
    assert "不支持的文件类型" in response.content.decode()

    path = survey_path(tmp_path, [survey_row(1)])
    with open(path, "rb") as handle:
        response = client.post(LIST, {"source": "weather", "file": handle})
    assert "数据来源无效" in response.content.decode()

    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    with open(path, "rb") as handle:
        response = client.post(LIST, {"source": "survey", "file": handle})
    assert "文件过大" in response.content.decode()
    # The wrong type and the oversized file are refused attempts: a rejected batch each,
    # no file kept (tests/test_import_background.py); the other two were not attempts.
    refused = list(ImportBatch.objects.order_by("pk"))
    assert [batch.status for batch in refused] == [ImportBatch.Status.REJECTED] * 2
    assert not any(batch.file for batch in refused)


def test_wrong_source_is_rejected_with_a_file_level_error(
    client, admin_user, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    path = survey_path(tmp_path, [survey_row(1)])
    upload(client, path, source="roster", capture=django_capture_on_commit_callbacks)
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.REJECTED
    page = client.get(detail_url(batch)).content.decode()
    assert "整个文件" in page or "第1行" in page
    assert not Person.objects.exists()


# --- progress ------------------------------------------------------------------------------------


def test_status_json_follows_the_batch(client, admin_user, tmp_path):
    from monitoring.services import import_run

    client.force_login(admin_user)
    path = survey_path(tmp_path, [survey_row(1), survey_row(2)])
    batch = import_create_batch(Source.SURVEY, path, original_name="s.xlsx", user=admin_user)

    pending = client.get(status_url(batch))
    assert pending.status_code == 200
    assert pending["Cache-Control"] == "no-store"
    assert pending.json() | {"message": ""} == {
        "batch": batch.pk,
        "status": "pending",
        "status_label": "排队中",
        "finished": False,
        "progress": 0,
        "rows": 0,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "errors": 0,
        "message": "",
    }
    page = client.get(detail_url(batch)).content.decode()
    assert 'data-testid="batch-progress"' in page
    assert "js/progress.js" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline script breaks the CSP"

    import_run(batch.pk)
    done = client.get(status_url(batch)).json()
    assert done["finished"] is True
    assert (done["status"], done["progress"], done["rows"], done["created"]) == ("done", 100, 2, 2)
    page = client.get(detail_url(batch)).content.decode()
    assert 'data-testid="batch-progress"' not in page


def test_progress_script_is_served_as_a_static_file():
    from django.contrib.staticfiles import finders

    found = finders.find("js/progress.js")
    assert found
    script = Path(found).read_text(encoding="utf-8")
    assert "data-status-url" in script and "finished" in script


# --- scope -----------------------------------------------------------------------------------------


@pytest.fixture
def batches(tmp_path, admin_user):
    """Rejected survey batches (with error reports) for 城关镇, 河口镇, both, and none."""

    def make(name, rows):
        return import_survey_file(survey_path(tmp_path, rows, name), user=admin_user)

    return {
        "chengguan": make("cg.xlsx", [survey_row(1), bad_grade(2)]),
        "hekou": make(
            "hk.xlsx", [in_township(3, "河口镇"), bad_grade(4) | {"乡镇（街道）": "河口镇"}]
        ),
        "both": make("both.xlsx", [survey_row(5), in_township(6, "河口镇"), bad_grade(7)]),
        "unreadable": import_survey_file(_garbage(tmp_path), user=admin_user),
    }


def _garbage(tmp_path):
    path = tmp_path / "garbage.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a workbook")
    return path


def test_batches_have_their_townships(batches):
    names = {
        key: set(batch.townships.values_list("name", flat=True)) for key, batch in batches.items()
    }
    assert names == {
        "chengguan": {"城关镇"},
        "hekou": {"河口镇"},
        "both": {"城关镇", "河口镇"},
        "unreadable": set(),
    }


def test_township_staff_sees_only_batches_of_their_township(client, chengguan_user, batches):
    client.force_login(chengguan_user)
    allowed = batches["chengguan"]
    for key, batch in batches.items():
        expected = 200 if batch == allowed else 404
        for url in (detail_url(batch), status_url(batch)):
            assert client.get(url).status_code == expected, (key, url)
        # The files hold full ID numbers: county admins only (403); out of scope stays 404.
        for kind in ("original", "errors"):
            expected_file = 403 if batch == allowed else 404
            assert client.get(download_url(batch, kind)).status_code == expected_file, (key, kind)
    listing = client.get(LIST).content.decode()
    assert f"批次{allowed.pk}<" in listing
    for key in ("hekou", "both", "unreadable"):
        assert f"批次{batches[key].pk}<" not in listing


def test_county_viewer_sees_every_batch_but_cannot_upload(client, viewer_user, batches, tmp_path):
    client.force_login(viewer_user)
    listing = client.get(LIST)
    assert 'data-testid="import-upload"' not in listing.content.decode()
    for batch in batches.values():
        assert client.get(detail_url(batch)).status_code == 200
        assert client.get(download_url(batch, "original")).status_code == 403
    path = survey_path(tmp_path, [survey_row(9)], "v.xlsx")
    count = ImportBatch.objects.count()
    assert upload(client, path).status_code == 403
    assert ImportBatch.objects.count() == count


def test_township_staff_cannot_upload(client, chengguan_user, tmp_path):
    client.force_login(chengguan_user)
    assert 'data-testid="import-upload"' not in client.get(LIST).content.decode()
    response = upload(client, survey_path(tmp_path, [survey_row(1)]))
    assert response.status_code == 403
    assert not ImportBatch.objects.exists()
    assert not Person.objects.exists()


def test_village_member_sees_no_batch(client, village_user, batches):
    client.force_login(village_user)
    assert client.get(detail_url(batches["chengguan"])).status_code == 404
    assert 'data-testid="no-batches"' in client.get(LIST).content.decode()


def test_user_without_role_sees_nothing(client, batches):
    user = factories.UserFactory(username="nobody")
    client.force_login(user)
    assert client.get(detail_url(batches["chengguan"])).status_code == 404
    assert client.get(download_url(batches["chengguan"], "errors")).status_code == 404


def test_anonymous_is_sent_to_login(client, batches):
    for url in (
        LIST,
        detail_url(batches["chengguan"]),
        download_url(batches["chengguan"], "errors"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# --- downloads -------------------------------------------------------------------------------------


def test_error_report_marks_the_bad_cells(client, admin_user, batches):
    client.force_login(admin_user)
    response = client.get(download_url(batches["chengguan"], "errors"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "attachment" in response["Content-Disposition"]
    sheet = read_xlsx(response)
    header = [cell.value for cell in sheet[1]]
    assert header[-1].startswith("错误说明")
    grade_column = header.index("残疾等级") + 1
    bad_row, good_row = sheet[3], sheet[2]
    assert "残疾等级" in bad_row[-1].value
    assert bad_row[grade_column - 1].fill.fgColor.rgb.endswith("FFC7CE")
    assert good_row[-1].value is None


def test_original_download_is_the_uploaded_file(client, admin_user, tmp_path, batches):
    client.force_login(admin_user)
    response = client.get(download_url(batches["chengguan"], "original"))
    assert b"".join(response.streaming_content) == (tmp_path / "cg.xlsx").read_bytes()
    assert "cg.xlsx" in response["Content-Disposition"]


def test_missing_error_report_and_unknown_kind_are_404(
    client, admin_user, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    upload(
        client, survey_path(tmp_path, [survey_row(1)]), capture=django_capture_on_commit_callbacks
    )
    batch = ImportBatch.objects.get()
    assert client.get(download_url(batch, "errors")).status_code == 404
    assert client.get(download_url(batch, "secrets")).status_code == 404


def test_files_are_not_reachable_under_media_url(client, admin_user, batches, settings):
    client.force_login(admin_user)
    batch = batches["chengguan"]
    assert client.get(settings.MEDIA_URL + batch.file.name).status_code == 404
    assert client.get(settings.MEDIA_URL + batch.error_report.name).status_code == 404


def test_batch_with_a_row_of_unknown_township_is_hidden_from_township_staff(
    client, chengguan_user, viewer_user, admin_user, tmp_path
):
    # The unknown-township row could be anyone's: its personal data is in the error
    # report, so only county users may see the batch.
    rows = [survey_row(1), in_township(2, "火星镇")]
    batch = import_survey_file(survey_path(tmp_path, rows, "mixed.xlsx"), user=admin_user)
    assert set(batch.townships.values_list("name", flat=True)) == {"城关镇"}
    assert batch.unattributed_rows == 1
    client.force_login(chengguan_user)
    assert client.get(detail_url(batch)).status_code == 404
    assert client.get(download_url(batch, "errors")).status_code == 404
    client.force_login(viewer_user)
    assert client.get(detail_url(batch)).status_code == 200
    client.force_login(admin_user)
    assert client.get(download_url(batch, "errors")).status_code == 200
