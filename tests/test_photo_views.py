"""Photo pages and the serving view (staff/views/photos.py): scope, audit, headers, uploads."""

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from cases import photos
from cases.models import AccessibilityModification, AuditEvent, EvidencePhoto

from . import factories
from .test_photos import jpeg_with_gps, png_bytes, stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def photo(media, hekou_user, home):
    return photos.photo_add(
        hekou_user, home.visit, SimpleUploadedFile("IMG_1.jpg", jpeg_with_gps((800, 600)))
    )


def page(visit) -> str:
    return reverse("staff:visit_photos", args=[visit.pk])


def test_the_served_photo_is_a_jpeg_without_exif_never_cached(client, hekou_user, photo):
    client.force_login(hekou_user)
    response = client.get(reverse("staff:photo_image", args=[photo.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    data = b"".join(response.streaming_content)
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and not image.getexif() and b"Exif" not in data
    event = AuditEvent.objects.get(username="hekou", action="download")
    assert event.target_model == "cases.evidencephoto" and event.target_id == str(photo.pk)

    thumb = client.get(reverse("staff:photo_thumbnail", args=[photo.pk]))
    assert thumb["Content-Type"] == "image/jpeg" and thumb["Cache-Control"] == "private, no-store"
    assert max(Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size) <= 320
    assert AuditEvent.objects.filter(username="hekou", action="download").count() == 2


def test_another_township_gets_404_everywhere_and_it_is_audited(client, chengguan_user, photo):
    client.force_login(chengguan_user)
    urls = [
        reverse("staff:photo_image", args=[photo.pk]),
        reverse("staff:photo_thumbnail", args=[photo.pk]),
        page(photo.visit),
    ]
    for url in urls:
        assert client.get(url).status_code == 404
    assert client.post(reverse("staff:photo_delete", args=[photo.pk])).status_code == 404
    assert (
        client.post(
            page(photo.visit), {"photos": [SimpleUploadedFile("a.png", png_bytes())]}
        ).status_code
        == 404
    )
    assert EvidencePhoto.objects.count() == 1
    assert AuditEvent.objects.filter(username="chengguan", result="denied").count() == 5
    assert not AuditEvent.objects.filter(username="chengguan", action="download").exists()


def test_a_missing_file_is_404(client, hekou_user, photo):
    photo.image.storage.delete(photo.image.name)
    client.force_login(hekou_user)
    assert client.get(reverse("staff:photo_image", args=[photo.pk])).status_code == 404


def test_uploading_several_files_reports_each_refusal(client, hekou_user, home, media):
    client.force_login(hekou_user)
    response = client.post(
        page(home.visit),
        {
            "photos": [
                SimpleUploadedFile("good.jpg", jpeg_with_gps((640, 480))),
                SimpleUploadedFile("notes.pdf", b"%PDF-1.4 nothing"),
            ]
        },
        follow=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "已上传1张照片" in html
    assert "notes.pdf：不是可识别的照片" in html
    assert home.visit.photos.count() == 1
    assert len(stored_files(media)) == 2
    # The page lists it, with a thumbnail served by the scoped view.
    assert reverse("staff:photo_thumbnail", args=[home.visit.photos.get().pk]) in html
    assert AuditEvent.objects.filter(
        username="hekou", action="create", target_model="cases.evidencephoto"
    ).exists()


def test_when_every_file_is_refused_the_form_says_why_and_nothing_is_stored(
    client, hekou_user, home, media
):
    client.force_login(hekou_user)
    response = client.post(
        page(home.visit),
        {"photos": [SimpleUploadedFile("a.txt", b"hello"), SimpleUploadedFile("b.jpg", b"")]},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "a.txt：不是可识别的照片" in html and "b.jpg：" in html
    assert not EvidencePhoto.objects.exists() and stored_files(media) == []


def test_no_file_chosen(client, hekou_user, home, media):
    client.force_login(hekou_user)
    response = client.post(page(home.visit), {})
    assert response.status_code == 400
    assert "请选择要上传的照片" in response.content.decode()


def test_the_upload_input_offers_the_camera(client, hekou_user, home, media):
    client.force_login(hekou_user)
    html = client.get(page(home.visit)).content.decode()
    assert 'type="file"' in html and "multiple" in html and 'accept="image/*"' in html
    assert "capture" in html and 'enctype="multipart/form-data"' in html
    assert AuditEvent.objects.filter(
        username="hekou", action="view", target_model="cases.trackingvisit"
    ).exists()


def test_a_county_viewer_sees_photos_but_cannot_upload_or_delete(client, viewer_user, photo):
    client.force_login(viewer_user)
    html = client.get(page(photo.visit)).content.decode()
    assert reverse("staff:photo_thumbnail", args=[photo.pk]) in html
    assert 'type="file"' not in html and "photo-delete" not in html
    refused = client.post(page(photo.visit), {"photos": [SimpleUploadedFile("a.png", png_bytes())]})
    assert refused.status_code == 403
    assert client.post(reverse("staff:photo_delete", args=[photo.pk])).status_code == 403
    assert EvidencePhoto.objects.count() == 1


def test_delete(client, hekou_user, photo, media, django_capture_on_commit_callbacks):
    client.force_login(hekou_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("staff:photo_delete", args=[photo.pk]))
    assert response.status_code == 302 and response["Location"] == page(photo.visit)
    assert not EvidencePhoto.objects.exists() and stored_files(media) == []
    assert AuditEvent.objects.filter(
        username="hekou", action="delete", target_model="cases.evidencephoto"
    ).exists()


def test_the_timeline_shows_thumbnails(client, hekou_user, photo, home):
    client.force_login(hekou_user)
    html = client.get(reverse("staff:household_detail", args=[home.household.pk])).content.decode()
    assert reverse("staff:photo_thumbnail", args=[photo.pk]) in html
    assert page(home.visit) in html


def test_measure_and_accessibility_pages(client, hekou_user, home, media):
    measure = factories.AssistanceMeasureFactory(household=home.household)
    mod = AccessibilityModification.objects.create(
        person=home.head, applied_on=date(2026, 3, 1), status="construction"
    )
    client.force_login(hekou_user)
    measure_page = reverse("staff:measure_photos", args=[measure.pk])
    assert client.get(measure_page).status_code == 200
    client.post(measure_page, {"photos": [SimpleUploadedFile("m.png", png_bytes())]})
    assert measure.photos.count() == 1
    mod_page = reverse("staff:accessibility_photos", args=[mod.pk])
    html = client.get(mod_page).content.decode()
    assert 'value="construction"' in html and 'value="accepted"' not in html
    refused = client.post(
        mod_page, {"stage": "accepted", "photos": [SimpleUploadedFile("a.png", png_bytes())]}
    )
    assert refused.status_code == 400
    client.post(
        mod_page, {"stage": "construction", "photos": [SimpleUploadedFile("a.png", png_bytes())]}
    )
    assert mod.photos.get().stage == "construction"
    person_html = client.get(reverse("staff:person_detail", args=[home.head.pk])).content.decode()
    assert mod_page in person_html
