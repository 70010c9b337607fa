"""Full ID and certificate numbers outside the audited reveal (docs/SECURITY.md, attacks table).

- import messages (row errors, warnings, the batch message) carry masked numbers only;
- a batch's original file and error report: county admins only, each download an export event;
- admin record pages that show a full number are audited as reveals.
"""

from datetime import date

import pytest
from django.urls import reverse

from cases import services
from cases.identity import check_character, mask_certificate_number, mask_id_number
from cases.models import AuditEvent
from monitoring.models import ImportBatch
from monitoring.services import import_survey_file, import_validate

from . import factories
from .import_files import SURVEY_HEADER, make_id, survey_row, write_table

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def bad_certificate_rows():
    # Row 3: the certificate's first 18 characters are someone else's ID number.
    other = make_id(7)
    return [survey_row(1), survey_row(2, 残疾人证号=f"{other}11")], f"{other}11"


# --- import messages -----------------------------------------------------------------------------


def test_import_error_quotes_the_certificate_number_masked(tmp_path):
    rows, certificate = bad_certificate_rows()
    result = import_validate("survey", write_table(tmp_path / "s.xlsx", SURVEY_HEADER, rows))
    errors = [error for error in result.errors if error.column == "残疾人证号"]
    assert len(errors) == 1 and errors[0].row == 3
    assert mask_certificate_number(certificate) in errors[0].message
    assert certificate not in errors[0].message
    assert certificate[:18] not in errors[0].message


def test_batch_errors_and_page_hold_no_full_number(client, admin_user, tmp_path):
    rows, certificate = bad_certificate_rows()
    # An ID number typed into the name column is quoted by the "name is a number" message.
    rows.append(survey_row(3, 姓名=int(make_id(3)[:17])))
    batch = import_survey_file(
        write_table(tmp_path / "s.xlsx", SURVEY_HEADER, rows), user=admin_user
    )
    stored = str(batch.errors) + batch.message
    assert mask_certificate_number(certificate) in stored
    assert certificate not in stored and make_id(3)[:17] not in stored
    client.force_login(admin_user)
    page = client.get(reverse("staff:import_detail", args=[batch.pk])).content.decode()
    assert mask_certificate_number(certificate) in page
    assert certificate not in page


def test_certificate_mask_keeps_six_and_four():
    number = make_id(1) + "42"
    assert mask_certificate_number(number) == f"{number[:6]}{'*' * 8}{number[-4:]}"
    assert mask_certificate_number("ABC") == "***"


# --- batch files ---------------------------------------------------------------------------------


@pytest.fixture
def batch(tmp_path, admin_user):
    rows, _ = bad_certificate_rows()
    made = import_survey_file(
        write_table(tmp_path / "cg.xlsx", SURVEY_HEADER, rows), user=admin_user
    )
    assert made.error_report  # both kinds of file exist
    return made


def download_url(batch, kind):
    return reverse("staff:import_download", args=[batch.pk, kind])


def exports_of(batch):
    return AuditEvent.objects.filter(
        action=AuditEvent.Action.EXPORT, target_model="monitoring.importbatch", target_id=batch.pk
    )


@pytest.mark.parametrize("who", ["chengguan_user", "viewer_user"])
@pytest.mark.parametrize("kind", ["original", "errors"])
def test_township_staff_and_county_viewers_cannot_download_batch_files(
    client, request, batch, who, kind
):
    user = request.getfixturevalue(who)
    client.force_login(user)
    detail = client.get(reverse("staff:import_detail", args=[batch.pk]))
    assert detail.status_code == 200  # the batch itself stays visible in their scope
    page = detail.content.decode()
    assert 'data-testid="download-original"' not in page
    assert 'data-testid="download-errors"' not in page
    response = client.get(download_url(batch, kind))
    assert response.status_code == 403
    assert "无权访问" in response.content.decode()  # the project's Chinese 403 page
    assert not exports_of(batch).exists()
    denied = AuditEvent.objects.filter(actor=user, result=AuditEvent.Result.DENIED)
    assert denied.filter(path=download_url(batch, kind)).exists()


@pytest.mark.parametrize("kind", ["original", "errors"])
def test_county_admin_downloads_and_the_download_is_an_export_event(
    client, admin_user, batch, kind
):
    client.force_login(admin_user)
    page = client.get(reverse("staff:import_detail", args=[batch.pk])).content.decode()
    assert 'data-testid="download-original"' in page
    response = client.get(download_url(batch, kind))
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"
    event = exports_of(batch).get()
    assert event.actor == admin_user
    assert event.details["batch"] == batch.pk
    assert event.details["file"] == {"original": "原文件", "errors": "错误报告"}[kind]
    assert event.path == download_url(batch, kind)


def test_admin_download_goes_through_the_same_audited_path(admin_client, batch):
    url = reverse("admin:monitoring_importbatch_download", args=[batch.pk, "errors"])
    assert admin_client.get(url).status_code == 200
    event = exports_of(batch).get()
    assert event.actor == admin_client.user and event.details["batch"] == batch.pk


def test_unknown_kind_is_404_and_not_audited_as_export(client, admin_user, batch):
    client.force_login(admin_user)
    assert client.get(download_url(batch, "secrets")).status_code == 404
    assert not exports_of(batch).exists()
    assert ImportBatch.objects.filter(pk=batch.pk).exists()


# --- admin record pages --------------------------------------------------------------------------


def an_id(sequence=211):
    first17 = f"341522{date(1975, 3, 9):%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


@pytest.fixture
def zhang():
    village = factories.village("城关镇", "东关村")
    person = services.person_create(
        id_number=an_id(), name="张德明", village=village, phone="13912345678"
    )
    services.certificate_set(person, f"{person.id_number}42")
    return person


def reveals(user):
    return AuditEvent.objects.filter(actor=user, action=AuditEvent.Action.REVEAL)


def test_admin_person_page_is_a_reveal_once_per_view(admin_client, zhang):
    url = reverse("admin:cases_person_change", args=[zhang.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert zhang.id_number in response.content.decode()  # the record page shows it in full
    event = reveals(admin_client.user).get()
    assert (event.target_model, event.target_id) == ("cases.person", str(zhang.pk))
    assert event.details["fields"] == ["id_number", "phone", "certificate_number"]
    assert event.details["page"] == "admin"
    assert zhang.id_number not in event.target_label  # the trail itself stays masked
    assert mask_id_number(zhang.id_number) in event.target_label
    admin_client.get(url)
    assert reveals(admin_client.user).count() == 2


def test_admin_certificate_and_household_pages_are_reveals(admin_client, zhang):
    household = services.household_create(head=zhang, size=1)
    pages = {
        ("admin:cases_certificate_change", zhang.certificate.pk): ["number"],
        ("admin:cases_household_change", household.pk): ["head_id_number"],
    }
    for (name, pk), fields in pages.items():
        assert admin_client.get(reverse(name, args=[pk])).status_code == 200
        assert reveals(admin_client.user).order_by("-pk").first().details["fields"] == fields
    assert reveals(admin_client.user).count() == 2


def test_admin_lists_and_add_pages_are_not_reveals(admin_client, zhang):
    for name in ("person", "certificate", "household"):
        assert admin_client.get(reverse(f"admin:cases_{name}_changelist")).status_code == 200
        assert admin_client.get(reverse(f"admin:cases_{name}_add")).status_code == 200
    assert not reveals(admin_client.user).exists()
