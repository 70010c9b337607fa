"""Photo evidence service (cases/photos.py): what is stored, what is refused, who may."""

import io
import struct
import threading
import zlib
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import Http404
from PIL import Image

from cases import photos
from cases.models import (
    AccessibilityModification,
    AssistanceMeasure,
    ChangeRecord,
    EvidencePhoto,
)

from . import factories
from .staff_app_data import household_with_everything

pytestmark = pytest.mark.django_db

GPS_LATITUDE = (31.0, 45.0, 12.5)


def jpeg_with_gps(size=(3000, 2000), orientation=6, color=(10, 120, 200)) -> bytes:
    """A camera-like JPEG: GPS position, maker, orientation 'rotate 90' in its EXIF."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Model-X"
    exif[0x8825] = {1: "N", 2: GPS_LATITUDE, 3: "E", 4: (116.0, 15.0, 3.2)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"taken at home")
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)[2] == GPS_LATITUDE
    return data


def png_bytes(size=(40, 30), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 0, 0, 128) if mode == "RGBA" else 128).save(out, "PNG")
    return out.getvalue()


def png_bomb(width=60_000, height=60_000) -> bytes:
    """A tiny PNG whose header claims 3.6 gigapixels (IDAT holds a few compressed rows)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 4)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def upload(data: bytes, name="IMG_0001.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def visit(home):
    return home.visit


def test_a_camera_photo_is_stored_without_exif_or_gps_and_oriented(media, hekou_user, visit):
    photo = photos.photo_add(hekou_user, visit, upload(jpeg_with_gps()))

    files = stored_files(media)
    assert len(files) == 2  # the photo and its thumbnail
    data = photo.image.read()
    stored = Image.open(io.BytesIO(data))
    assert stored.format == "JPEG"
    assert not stored.getexif()
    assert b"Exif" not in data and b"PhoneMaker" not in data and b"taken at home" not in data
    assert "exif" not in stored.info and "icc_profile" not in stored.info
    assert "comment" not in stored.info and "xmp" not in stored.info
    # Orientation 6 was applied to the pixels: the 3000×2000 landscape is a portrait now,
    # shrunk to a longest side of 2048.
    assert (photo.width, photo.height) == stored.size == (1365, 2048)
    thumb = Image.open(photo.thumbnail)
    assert max(thumb.size) == 320 and not thumb.getexif()
    # The row describes what is stored; names are random, not the upload's.
    assert photo.content_type == "image/jpeg" and photo.size_bytes == len(data)
    assert photo.original_name == "IMG_0001.jpg" and "IMG_0001" not in photo.image.name
    assert photo.visit == visit and photo.uploaded_by == hekou_user and photo.stage == ""
    history = ChangeRecord.objects.get(model="cases.evidencephoto", object_id=str(photo.pk))
    assert history.action == "create" and history.actor == hekou_user
    assert history.changes["visit"] == [None, visit.pk]


def test_png_and_heic_are_accepted_as_jpeg(media, hekou_user, visit):
    png = photos.photo_add(hekou_user, visit, upload(png_bytes(), "screen.png", "image/png"))
    heic_out = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 200, 0)).save(heic_out, format="HEIF")
    heic = photos.photo_add(hekou_user, visit, upload(heic_out.getvalue(), "IMG_2.HEIC", ""))
    for photo in (png, heic):
        assert Image.open(photo.image).format == "JPEG"
    assert (heic.width, heic.height) == (64, 48)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"%PDF-1.4 not an image at all", "a.jpg", "不是可识别的照片"),
        (b"GIF89a" + b"\x00" * 100, "a.gif", "不是可识别的照片"),
        (b"", "empty.jpg", "文件是空的"),
        (png_bomb(), "bomb.png", "像素过大"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(media, hekou_user, visit, data, name, message):
    with pytest.raises(photos.PhotoError, match=message):
        photos.photo_add(hekou_user, visit, upload(data, name))
    assert stored_files(media) == []
    assert not EvidencePhoto.objects.exists()


def test_a_gif_that_pillow_can_read_is_still_refused(media, hekou_user, visit):
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, "GIF")
    with pytest.raises(photos.PhotoError, match="JPEG、PNG 或 HEIC"):
        photos.photo_add(hekou_user, visit, upload(out.getvalue(), "x.jpg"))
    assert stored_files(media) == []


def test_a_truncated_jpeg_is_refused(media, hekou_user, visit):
    data = jpeg_with_gps(size=(400, 300))
    with pytest.raises(photos.PhotoError):
        photos.photo_add(hekou_user, visit, upload(data[: len(data) // 2]))
    assert stored_files(media) == [] and not EvidencePhoto.objects.exists()


def test_more_than_ten_mb_is_refused_while_reading(media, hekou_user, visit):
    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, size=-1):
            chunk = super().read(size)
            Counting.read_bytes += len(chunk)
            return chunk

    # 30 MB of data claiming to be tiny: the reader stops just past 10 MB.
    big = Counting(b"\xff\xd8\xff" + b"\x00" * (30 * 1024 * 1024))
    big.name = "big.jpg"
    with pytest.raises(photos.PhotoError, match="不能超过10 MB"):
        photos.photo_add(hekou_user, visit, big)
    assert Counting.read_bytes <= photos.MAX_PHOTO_BYTES + photos.READ_CHUNK
    assert stored_files(media) == [] and not EvidencePhoto.objects.exists()


def test_the_seventh_photo_is_refused(media, hekou_user, visit):
    for index in range(photos.MAX_PHOTOS_PER_RECORD):
        photos.photo_add(hekou_user, visit, upload(png_bytes(size=(20 + index, 20)), "p.png"))
    files_before = stored_files(media)
    with pytest.raises(photos.PhotoError, match="最多6张"):
        photos.photo_add(hekou_user, visit, upload(png_bytes(size=(50, 50)), "p7.png"))
    assert stored_files(media) == files_before
    assert visit.photos.count() == 6


def test_the_same_photo_twice_is_refused(media, hekou_user, visit):
    data = jpeg_with_gps(size=(300, 200))
    photos.photo_add(hekou_user, visit, upload(data))
    with pytest.raises(photos.PhotoError, match="已上传过"):
        photos.photo_add(hekou_user, visit, upload(data, "copy.jpg"))
    assert len(stored_files(media)) == 2


def test_files_are_removed_when_the_database_write_fails(media, hekou_user, visit, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(photos, "record_change", broken)
    with pytest.raises(RuntimeError):
        photos.photo_add(hekou_user, visit, upload(png_bytes()))
    assert stored_files(media) == []
    assert not EvidencePhoto.objects.exists()


def test_scope_and_roles(media, hekou_user, chengguan_user, viewer_user, village_user, home):
    measure = AssistanceMeasure.objects.filter(household=home.household).first() or (
        factories.AssistanceMeasureFactory(household=home.household)
    )
    with pytest.raises(Http404):
        photos.photo_add(chengguan_user, home.visit, upload(png_bytes()))
    with pytest.raises(PermissionDenied):
        photos.photo_add(viewer_user, home.visit, upload(png_bytes()))
    with pytest.raises(PermissionDenied):  # a village member's, but a measure is not a visit
        photos.photo_add(village_user, measure, upload(png_bytes()))
    assert stored_files(media) == []
    photo = photos.photo_add(hekou_user, measure, upload(png_bytes()))
    assert photo.measure == measure
    assert list(photos.scoped_photos(hekou_user)) == [photo]
    assert list(photos.scoped_photos(chengguan_user)) == []
    with pytest.raises(Http404):
        photos.get_photo_or_404(chengguan_user, photo.pk)


def test_a_village_member_adds_photos_to_visits_in_their_village(media, village_user, elsewhere):
    photo = photos.photo_add(village_user, elsewhere.visit, upload(png_bytes()))
    assert photo.uploaded_by == village_user


def test_accessibility_photos_belong_to_a_reached_stage(media, hekou_user, home):
    mod = AccessibilityModification.objects.create(
        person=home.head, applied_on=date(2026, 3, 1), status="applied"
    )
    with pytest.raises(photos.PhotoError, match="施工或验收"):
        photos.photo_add(hekou_user, mod, upload(png_bytes()))
    with pytest.raises(photos.PhotoError, match="还不能上传施工照片"):
        photos.photo_add(hekou_user, mod, upload(png_bytes()), stage="construction")
    mod.status = "construction"
    mod.save()
    with pytest.raises(photos.PhotoError, match="还不能上传验收照片"):
        photos.photo_add(hekou_user, mod, upload(png_bytes()), stage="accepted")
    built = photos.photo_add(hekou_user, mod, upload(png_bytes()), stage="construction")
    assert built.stage == "construction" and built.accessibility == mod
    with pytest.raises(photos.PhotoError, match="只有无障碍改造"):
        photos.photo_add(hekou_user, home.visit, upload(png_bytes()), stage="construction")
    assert len(stored_files(media)) == 2


def test_remove_deletes_row_files_and_writes_history(
    media, hekou_user, village_user, elsewhere, django_capture_on_commit_callbacks
):
    photo = photos.photo_add(village_user, elsewhere.visit, upload(png_bytes()))
    other = factories.user_with_role("village_member", village=village_user.staff_profile.village)
    with pytest.raises(PermissionDenied, match="本人上传"):
        photos.photo_remove(other, photo)
    with django_capture_on_commit_callbacks(execute=True):
        photos.photo_remove(village_user, photo, reason="拍错了")
    assert not EvidencePhoto.objects.exists()
    assert stored_files(media) == []
    history = ChangeRecord.objects.get(model="cases.evidencephoto", action="delete")
    assert history.reason == "拍错了" and history.changes["sha256"][1] is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_uploads_cannot_make_seven(media, hekou_user, monkeypatch):
    visit = household_with_everything().visit
    for index in range(photos.MAX_PHOTOS_PER_RECORD - 1):
        photos.photo_add(hekou_user, visit, upload(png_bytes(size=(20 + index, 20)), "p.png"))
    results: list = []
    # Both uploads pass the early count, then meet here, just before the locked write.
    both_decoded = threading.Barrier(2, timeout=30)
    random_names = photos._names

    def names_when_both_are_ready():
        both_decoded.wait()
        return random_names()

    monkeypatch.setattr(photos, "_names", names_when_both_are_ready)

    def add(width):
        try:
            results.append(photos.photo_add(hekou_user, visit, upload(png_bytes((width, 9)))))
        except photos.PhotoError as error:
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(w,)) for w in (70, 71)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert EvidencePhoto.objects.filter(visit=visit).count() == 6
    assert sum(isinstance(r, photos.PhotoError) for r in results) == 1
    assert len(stored_files(media)) == 12
