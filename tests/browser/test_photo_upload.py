"""Photo evidence in real Chromium: a township worker uploads a phone photo carrying its GPS
position to a visit, sees the thumbnail on the visit's photos page and on the household's
timeline, and the photo the server gives back has no EXIF at all. SCREENSHOTS=1 saves the
page as docs/screenshots/visit_with_photos.png.
"""

import io

import pytest
from django.db import connection
from django.urls import reverse
from PIL import Image
from playwright.sync_api import expect

from cases.models import EvidencePhoto
from tests.staff_app_data import household_with_everything
from tests.test_photos import GPS_LATITUDE, jpeg_with_gps

from .conftest import PHONE, log_in, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_thumbnails_load(page, images, count: int) -> None:
    """Each <img> is a thumbnail the server gives as a JPEG and the browser decodes.

    On SQLite the live server's threads share the test's one in-memory connection, so two
    images requested at once can meet "database table is locked" (each view writes its audit
    event) — a limit of the test database, not of the app. There each thumbnail is fetched
    one after the other and the browser's own decoding is left to the PostgreSQL run.
    """
    expect(images).to_have_count(count)
    for index in range(count):
        image = images.nth(index)
        response = page.request.get(image.get_attribute("src"))
        assert response.status == 200 and response.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(response.body())).format == "JPEG"
        if connection.vendor != "sqlite":
            # Lazy-loaded below the fold on a phone: fetched once it scrolls into view.
            image.scroll_into_view_if_needed()
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
            )


def test_a_photo_with_gps_is_uploaded_and_comes_back_without_exif(
    browser, settings, tmp_path, screenshot
):
    settings.MEDIA_ROOT = tmp_path / "media"
    home = household_with_everything()
    staff()
    photo_file = tmp_path / "IMG_20260301_093012.jpg"
    photo_file.write_bytes(jpeg_with_gps(size=(1600, 1200)))
    second = tmp_path / "IMG_20260301_093100.jpg"
    second.write_bytes(jpeg_with_gps(size=(1200, 1600), orientation=1, color=(180, 140, 60)))
    visit_page = reverse("staff:visit_photos", args=[home.visit.pk])

    page = browser.new_page(viewport=PHONE, is_mobile=True)
    log_in(page)
    page.goto(reverse("staff:household_detail", args=[home.household.pk]))
    page.get_by_test_id("timeline").get_by_test_id("photo-page-link").first.click()
    expect(page.get_by_test_id("photo-page")).to_be_visible()
    assert page.url.endswith(visit_page)

    file_input = page.locator('input[type="file"]')
    assert file_input.get_attribute("accept") == "image/*"
    assert file_input.get_attribute("multiple") is not None
    file_input.set_input_files([str(photo_file), str(second)])
    page.get_by_test_id("photo-upload").click()
    expect(page.get_by_text("已上传2张照片")).to_be_visible()
    assert_thumbnails_load(page, page.get_by_test_id("photo-list").locator("img"), 2)
    screenshot(page, "visit_with_photos")

    # The stored photo, fetched as the browser fetches it: a JPEG without any EXIF.
    stored = EvidencePhoto.objects.filter(visit=home.visit).order_by("pk").first()
    response = page.request.get(reverse("staff:photo_image", args=[stored.pk]))
    assert response.status == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "private, no-store"
    body = response.body()
    image = Image.open(io.BytesIO(body))
    assert image.format == "JPEG" and not image.getexif()
    assert b"Exif" not in body and b"PhoneMaker" not in body
    assert image.size == (1200, 1600)  # turned upright (orientation 6), never enlarged
    original = Image.open(photo_file)
    assert original.getexif().get_ifd(0x8825)[2] == GPS_LATITUDE  # the upload had it

    # The household's timeline shows the thumbnails under the visit.
    page.goto(reverse("staff:household_detail", args=[home.household.pk]))
    strip = page.get_by_test_id("timeline").get_by_test_id("photo-thumb")
    assert_thumbnails_load(page, strip.locator("img"), 2)
    assert not browser.console_errors, browser.console_errors
