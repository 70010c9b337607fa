"""Photo evidence on visits, assistance measures and accessibility steps (docs/SECURITY.md
"Photo evidence").

`photo_add` takes a file from a phone camera (JPEG, PNG or HEIC, at most 10 MB, at most six
per record), decodes it for real (the name and the browser's content type are never
trusted), refuses decompression bombs, applies the EXIF orientation and re-encodes it as a
JPEG of at most 2048 px with every piece of metadata dropped (GPS position, camera, time,
ICC, XMP), makes a thumbnail of at most 320 px, writes both under MEDIA_ROOT with random
names and then the row and its history. It is all or nothing: a refusal stores nothing,
and the files are removed when the database write fails. `photo_remove` deletes the row
(with its history) and the files once the deletion has committed.

Who may: the writers of the record the photo belongs to (`cases.casework_base.require_writer`):
visits also village committee members in their village, measures and accessibility steps
township staff and county admins. An accessibility photo belongs to the 施工 or 验收 stage,
and only once the modification has reached it.
"""

import hashlib
import io
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any, TypeAlias

import pillow_heif
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from .casework_base import (
    REASON_MAX_LENGTH,
    CaseworkError,
    NotPermitted,
    household_place,
    lock_row,
    optional_text,
    person_place,
    require_writer,
)
from .history import record_change
from .models import (
    AccessibilityModification,
    AssistanceMeasure,
    ChangeRecord,
    EvidencePhoto,
    Role,
    TrackingVisit,
)
from .scope import AnyUser, Scope, scoped

# HEIC is what iPhones (and many Android phones) take by default.
pillow_heif.register_heif_opener()

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTOS_PER_RECORD = 6
# Larger than any phone camera's photo (a 50 MP sensor is 8160 × 6120); a file claiming more
# pixels is refused before it is decoded, so a small file cannot make the server allocate
# gigabytes (a decompression bomb).
MAX_PIXELS = 64_000_000
MAX_SIDE = 2048
THUMBNAIL_SIDE = 320
JPEG_QUALITY = 85
THUMBNAIL_QUALITY = 80
STORED_CONTENT_TYPE = "image/jpeg"
READ_CHUNK = 64 * 1024

# Pillow's format names of what a phone camera gives; anything else is refused even when
# Pillow could decode it (GIF, BMP, TIFF, PSD… are no camera's output).
ACCEPTED_FORMATS = ("JPEG", "PNG", "HEIF")
FORMAT_LABELS = {"JPEG": "JPEG", "PNG": "PNG", "HEIF": "HEIC"}

Owner: TypeAlias = TrackingVisit | AssistanceMeasure | AccessibilityModification
A = AccessibilityModification.Status
Stage = EvidencePhoto.Stage

# Which accessibility statuses have reached a photo stage.
_STAGE_REACHED = {
    Stage.CONSTRUCTION: {A.CONSTRUCTION, A.ACCEPTED},
    Stage.ACCEPTED: {A.ACCEPTED},
}


class PhotoError(CaseworkError):
    """A photo refused; `str()` is the Chinese reason (the file's name is added by the page)."""


@dataclass(frozen=True)
class Encoded:
    image: bytes
    thumbnail: bytes
    width: int
    height: int
    source_format: str


# --- Owners ------------------------------------------------------------------------------


def owner_field(owner: Model) -> str:
    """The EvidencePhoto field that points at `owner`."""
    if isinstance(owner, TrackingVisit):
        return "visit"
    if isinstance(owner, AssistanceMeasure):
        return "measure"
    if isinstance(owner, AccessibilityModification):
        return "accessibility"
    raise TypeError(f"{type(owner).__name__} cannot own photos")


def owner_of(photo: EvidencePhoto) -> Owner:
    owner = photo.visit or photo.measure or photo.accessibility
    if owner is None:  # the check constraint makes this impossible
        raise ValueError("photo without an owner")
    return owner


def _require_owner_writer(user: AnyUser, owner: Owner) -> Scope:
    """The user's scope if they may add or remove photos of `owner`; else NotPermitted /
    Http404 (docs/ROLES.md: visits are village members' work too, the rest is not)."""
    if isinstance(owner, TrackingVisit):
        return require_writer(user, *household_place(owner.household), visits_only_ok=True)
    if isinstance(owner, AssistanceMeasure):
        return require_writer(user, *household_place(owner.household))
    return require_writer(user, *person_place(owner.person))


def photos_of(owner: Owner) -> QuerySet[EvidencePhoto]:
    return EvidencePhoto.objects.filter(**{owner_field(owner): owner})


def scoped_photos(user: AnyUser | None) -> QuerySet[EvidencePhoto]:
    """The photos whose record the user may see (a photo has no place of its own: it is
    where its visit, measure or accessibility modification is)."""
    return EvidencePhoto.objects.filter(
        Q(visit__in=scoped(user, TrackingVisit.objects.all()).values("pk"))
        | Q(measure__in=scoped(user, AssistanceMeasure.objects.all()).values("pk"))
        | Q(accessibility__in=scoped(user, AccessibilityModification.objects.all()).values("pk"))
    )


def get_photo_or_404(user: AnyUser | None, pk: int) -> EvidencePhoto:
    """One photo the user may see, with its record, or 404 (existence is private)."""
    photo = (
        scoped_photos(user)
        .select_related("visit__household", "measure__household", "accessibility__person")
        .filter(pk=pk)
        .first()
    )
    if photo is None:
        raise Http404("不存在或不在您的数据范围内")
    return photo


def photos_by_owner(
    user: AnyUser | None, *, visit_ids: Iterable[int] = (), measure_ids: Iterable[int] = ()
) -> dict[tuple[str, int], list[EvidencePhoto]]:
    """The photos of these visits and measures, scoped, one query: {("visit", pk): [...]}.

    No query when both are empty."""
    visit_ids, measure_ids = list(visit_ids), list(measure_ids)
    found: dict[tuple[str, int], list[EvidencePhoto]] = {}
    if not visit_ids and not measure_ids:
        return found
    rows = scoped_photos(user).filter(Q(visit_id__in=visit_ids) | Q(measure_id__in=measure_ids))
    for photo in rows.only("pk", "visit_id", "measure_id", "original_name", "stage"):
        if photo.visit_id is not None:
            key = ("visit", photo.visit_id)
        else:
            key = ("measure", photo.measure_id)  # type: ignore[assignment]  # filtered above
        found.setdefault(key, []).append(photo)
    return found


# --- Reading and re-encoding -------------------------------------------------------------


def read_limited(upload: Any, limit: int = MAX_PHOTO_BYTES) -> bytes:
    """The upload's bytes, read in chunks; refused as soon as it passes `limit` (the declared
    size and Content-Length are never trusted)."""
    buffer = io.BytesIO()
    total = 0
    if hasattr(upload, "seek"):
        upload.seek(0)
    chunks: Iterable[bytes]
    if hasattr(upload, "chunks"):
        chunks = upload.chunks(READ_CHUNK)
    else:
        chunks = iter(lambda: upload.read(READ_CHUNK), b"")
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise PhotoError(f"照片不能超过{limit // (1024 * 1024)} MB", "photos")
        buffer.write(chunk)
    if total == 0:
        raise PhotoError("文件是空的", "photos")
    return buffer.getvalue()


_NOT_AN_IMAGE = "不是可识别的照片（只接受手机拍摄的 JPEG、PNG 或 HEIC 照片）"
_BOMB = "照片像素过大，可能是恶意文件，已拒收"


def _open(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError:
        raise PhotoError(_BOMB, "photos") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise PhotoError(_NOT_AN_IMAGE, "photos") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise PhotoError(_NOT_AN_IMAGE, "photos")
    if width * height > MAX_PIXELS:
        raise PhotoError(_BOMB, "photos")
    return image


def decode(data: bytes) -> Image.Image:
    """The decoded image: its header read (pixel count checked), verified, then loaded.

    Pillow's own bomb warning is an error here, whatever the process's MAX_IMAGE_PIXELS."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            _open(data).verify()  # structure and checksums; the image is unusable afterwards
            image = _open(data)
            image.load()
        except PhotoError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoError(_BOMB, "photos") from None
        except (OSError, ValueError, SyntaxError, EOFError, MemoryError, RuntimeError):
            # Truncated or corrupt data (Pillow and libheif raise any of these).
            raise PhotoError("照片文件已损坏或不完整，请重新拍摄或选择", "photos") from None
    return image


def _rgb(image: Image.Image) -> Image.Image:
    """An RGB image; transparency is laid on white (a PNG screenshot)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile=, xmp= arguments and an image without `info`: nothing but pixels.
    image.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def encode(data: bytes) -> Encoded:
    """Decode, orient, shrink and re-encode; every metadata block of the original is dropped.

    The pixels are copied into a brand-new image (`Image.frombytes`), so nothing of the
    original's `info` (EXIF with GPS, XMP, ICC, comments, PNG text chunks) can reach the
    encoder."""
    image = decode(data)
    source_format = FORMAT_LABELS.get(image.format or "", image.format or "")
    # Phones store the picture sideways with an orientation tag; turn the pixels instead,
    # because the tag is about to go.
    oriented = ImageOps.exif_transpose(image) or image
    rgb = _rgb(oriented)
    rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    clean = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    thumb = clean.copy()
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    return Encoded(
        image=_jpeg(clean, JPEG_QUALITY),
        thumbnail=_jpeg(thumb, THUMBNAIL_QUALITY),
        width=clean.width,
        height=clean.height,
        source_format=source_format,
    )


# --- Writing -----------------------------------------------------------------------------


def _stage(owner: Owner, stage: str) -> str:
    stage = stage or ""
    if not isinstance(owner, AccessibilityModification):
        if stage:
            raise PhotoError("只有无障碍改造的照片分施工、验收阶段", "stage")
        return ""
    if stage not in _STAGE_REACHED:
        raise PhotoError("无障碍改造的照片须选择阶段：施工或验收", "stage")
    if owner.status not in _STAGE_REACHED[Stage(stage)]:
        raise PhotoError(
            f"该无障碍改造当前进度为“{owner.get_status_display()}”，"
            f"还不能上传{Stage(stage).label}照片",
            "stage",
        )
    return stage


def _history(photo: EvidencePhoto) -> dict[str, Any]:
    """The photo's fields as plain values for its history row (files by their names)."""
    plain = {
        "visit": photo.visit_id,
        "measure": photo.measure_id,
        "accessibility": photo.accessibility_id,
        "stage": photo.stage,
        "image": photo.image.name,
        "thumbnail": photo.thumbnail.name,
        "original_name": photo.original_name,
        "content_type": photo.content_type,
        "width": photo.width,
        "height": photo.height,
        "size_bytes": photo.size_bytes,
        "sha256": photo.sha256,
        "uploaded_by": photo.uploaded_by_id,
    }
    return {field: value for field, value in plain.items() if value not in ("", None)}


def _names() -> tuple[str, str]:
    """Random names: nothing about the person, the record or the original file."""
    now = timezone.localtime()
    token = uuid.uuid4().hex
    folder = f"evidence/{now:%Y}/{now:%m}"
    return f"{folder}/{token}.jpg", f"{folder}/thumbs/{token}.jpg"


def original_name(upload: Any) -> str:
    name = str(getattr(upload, "name", "") or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return " ".join(name.split())[:255]


def photo_add(user: User, owner: Owner, upload: IO[bytes] | Any, stage: str = "") -> EvidencePhoto:
    """Store one photo of `owner` (a visit, measure or accessibility modification).

    Refused with a `PhotoError` (Chinese) and nothing stored: not a JPEG/PNG/HEIC image,
    more than 10 MB, a decompression bomb, a corrupt file, a seventh photo, the same photo
    twice, a stage the record has not reached. `NotPermitted` / `Http404` for a user who may
    not write the record."""
    _require_owner_writer(user, owner)
    stage = _stage(owner, stage)
    # Cheap refusals before the expensive decode; repeated under the lock below.
    if photos_of(owner).count() >= MAX_PHOTOS_PER_RECORD:
        raise PhotoError(f"每条记录最多{MAX_PHOTOS_PER_RECORD}张照片", "photos")
    encoded = encode(read_limited(upload))
    sha256 = hashlib.sha256(encoded.image).hexdigest()
    storage: Storage = default_storage
    image_name, thumb_name = _names()
    saved: list[str] = []
    try:
        saved.append(storage.save(image_name, ContentFile(encoded.image)))
        saved.append(storage.save(thumb_name, ContentFile(encoded.thumbnail)))
        with transaction.atomic():
            # The record's row lock serialises concurrent uploads: the count below cannot be
            # passed by two requests at once.
            lock_row(type(owner), owner.pk)
            if isinstance(owner, AccessibilityModification):
                owner.refresh_from_db(fields=["status"])
                _stage(owner, stage)
            existing = photos_of(owner)
            if existing.count() >= MAX_PHOTOS_PER_RECORD:
                raise PhotoError(f"每条记录最多{MAX_PHOTOS_PER_RECORD}张照片", "photos")
            if existing.filter(sha256=sha256).exists():
                raise PhotoError("这张照片已上传过", "photos")
            photo = EvidencePhoto(
                **{owner_field(owner): owner},
                stage=stage,
                image=saved[0],
                thumbnail=saved[1],
                original_name=original_name(upload),
                content_type=STORED_CONTENT_TYPE,
                width=encoded.width,
                height=encoded.height,
                size_bytes=len(encoded.image),
                sha256=sha256,
                uploaded_by=user,
            )
            photo.save()
            label = f"（{Stage(stage).label}）" if stage else ""
            record_change(
                photo,
                ChangeRecord.Action.CREATE,
                {field: [None, value] for field, value in _history(photo).items()},
                actor=user,
                reason=f"上传照片{label}：{encoded.source_format}，"
                f"已去除位置等元数据，{encoded.width}×{encoded.height}",
            )
    except BaseException:
        _delete_files(saved)
        raise
    return photo


def photo_remove(user: User, photo: EvidencePhoto, *, reason: str = "") -> None:
    """Delete a photo: the row with a history row now, the files once that has committed
    (a rolled-back deletion keeps them). A village committee member removes only photos
    they uploaded."""
    owner = owner_of(photo)
    scope = _require_owner_writer(user, owner)
    if scope.role == Role.VILLAGE_MEMBER and photo.uploaded_by_id != user.pk:
        raise NotPermitted("只能删除本人上传的照片")
    reason = optional_text(reason, "删除原因", "reason", REASON_MAX_LENGTH)
    files = [photo.image.name, photo.thumbnail.name]
    with transaction.atomic():
        lock_row(type(owner), owner.pk)
        gone = _history(photo)
        pk = photo.pk
        photo.delete()
        photo.pk = pk  # the history row names the photo that was removed
        record_change(
            photo,
            ChangeRecord.Action.DELETE,
            {field: [value, None] for field, value in gone.items()},
            actor=user,
            reason=reason or "删除照片",
        )
        transaction.on_commit(lambda: _delete_files(files))


def _delete_files(names: Iterable[str | None]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)
