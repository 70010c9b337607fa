"""Photo evidence (docs/SECURITY.md "Photo evidence"): the photos page of a visit, an
assistance measure or an accessibility modification (see them, upload several at once,
delete), and the one view that serves a stored photo or its thumbnail — scoped, audited,
never cached.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from cases import photos as photo_service
from cases.audit import audit_download, audit_view
from cases.http import PRIVATE_NO_STORE
from cases.models import (
    AccessibilityModification,
    AssistanceMeasure,
    EvidencePhoto,
    TrackingVisit,
)
from cases.scope import get_in_scope_or_404, scope_for, scope_safe
from staff.forms.photos import PhotoUploadForm
from staff.views.common import (
    GET_POST,
    can_record_visits,
    can_write,
    form_data,
    form_page,
    next_url,
)

Stage = EvidencePhoto.Stage
A = AccessibilityModification.Status


def _record(owner: photo_service.Owner) -> dict:
    """What the page says about the record, and where 返回 leads."""
    if isinstance(owner, TrackingVisit):
        household = owner.household
        return {
            "kind": "visit",
            "title": f"走访照片：{owner.visited_on:%Y-%m-%d} {owner.get_kind_display()}",
            "subtitle": f"{household.head_name}户 · 走访人：{owner.visitor_name}",
            "back_url": reverse("staff:household_detail", args=[household.pk]),
            "back_label": f"{household.head_name}户",
            "household": household,
        }
    if isinstance(owner, AssistanceMeasure):
        household = owner.household
        return {
            "kind": "measure",
            "title": f"帮扶措施照片：{owner.get_kind_display()}",
            "subtitle": f"{household.head_name}户 · {owner.responsible_unit} · "
            f"{owner.started_on:%Y-%m-%d}起",
            "back_url": reverse("staff:household_detail", args=[household.pk]),
            "back_label": f"{household.head_name}户",
            "household": household,
        }
    person = owner.person
    return {
        "kind": "accessibility",
        "title": f"无障碍改造照片：{owner.applied_on:%Y-%m-%d} 申请",
        "subtitle": f"{person.name} · 当前进度：{owner.get_status_display()}",
        "back_url": reverse("staff:person_detail", args=[person.pk]),
        "back_label": person.name,
        "person": person,
    }


def _stages(owner: photo_service.Owner) -> list[tuple[str, str]] | None:
    """The stages an accessibility modification has reached (None: not one)."""
    if not isinstance(owner, AccessibilityModification):
        return None
    reached: dict[str, list[Stage]] = {
        A.CONSTRUCTION: [Stage.CONSTRUCTION],
        A.ACCEPTED: [Stage.CONSTRUCTION, Stage.ACCEPTED],
    }
    return [(stage.value, str(stage.label)) for stage in reached.get(owner.status, [])]


def _may_upload(request, owner: photo_service.Owner) -> bool:
    scope = scope_for(request.user)
    if isinstance(owner, TrackingVisit):
        return can_record_visits(scope)
    return can_write(scope)


def _add_all(request, owner: photo_service.Owner, form: PhotoUploadForm) -> list[EvidencePhoto]:
    """Each file through the service, in its own transaction. The refusals are reported per
    file; when none was stored the form shows them all (and nothing was written)."""
    added, refused = [], []
    for upload in form.cleaned_data["photos"]:
        try:
            added.append(
                photo_service.photo_add(
                    request.user, owner, upload, stage=form.cleaned_data.get("stage") or ""
                )
            )
        except photo_service.PhotoError as error:
            name = photo_service.original_name(upload) or "照片"
            refused.append((error.field, f"{name}：{error.message}"))
    if not added:
        field = "stage" if all(field == "stage" for field, _ in refused) else "photos"
        raise photo_service.PhotoError("；".join(text for _, text in refused), field)
    for _, text in refused:
        messages.warning(request, f"未保存 {text}")
    return added


def _photo_page(request, owner: photo_service.Owner):
    record = _record(owner)
    may_upload = _may_upload(request, owner)
    stages = _stages(owner)
    if request.method == "POST" and not may_upload:
        raise PermissionDenied("您的账号不能为此记录上传照片")
    form = PhotoUploadForm(form_data(request), request.FILES or None, stages=stages)
    if request.method == "GET":
        audit_view(request, owner, details={"photos": True})
    url = request.get_full_path()
    return form_page(
        request,
        form,
        template="staff/photo_page.html",
        context={
            **record,
            "nav": "households" if record["kind"] != "accessibility" else "persons",
            "owner": owner,
            "photos": list(photo_service.photos_of(owner).select_related("uploaded_by")),
            "may_upload": may_upload,
            "can_upload_now": may_upload and (stages is None or bool(stages)),
            "max_photos": photo_service.MAX_PHOTOS_PER_RECORD,
        },
        on_valid=lambda f: _add_all(request, owner, f),
        success_message=lambda added: f"已上传{len(added)}张照片（已去除位置等拍摄信息）",
        success_url=url,
    )


@scope_safe(how="visit via get_in_scope_or_404; writes via cases.photos.photo_add")
@login_required
@GET_POST
def visit_photos(request, pk: int):
    visit = get_in_scope_or_404(
        request.user, TrackingVisit.objects.select_related("household"), pk=pk
    )
    return _photo_page(request, visit)


@scope_safe(how="measure via get_in_scope_or_404; writes via cases.photos.photo_add")
@login_required
@GET_POST
def measure_photos(request, pk: int):
    measure = get_in_scope_or_404(
        request.user, AssistanceMeasure.objects.select_related("household"), pk=pk
    )
    return _photo_page(request, measure)


@scope_safe(how="modification via get_in_scope_or_404; writes via cases.photos.photo_add")
@login_required
@GET_POST
def accessibility_photos(request, pk: int):
    modification = get_in_scope_or_404(
        request.user, AccessibilityModification.objects.select_related("person"), pk=pk
    )
    return _photo_page(request, modification)


def _serve(request, pk: int, *, thumbnail: bool):
    photo = photo_service.get_photo_or_404(request.user, pk)
    stored = photo.thumbnail if thumbnail else photo.image
    if not stored.name:
        raise Http404("照片文件不存在")
    try:
        handle = stored.storage.open(stored.name, "rb")
    except (FileNotFoundError, ValueError):
        raise Http404("照片文件不存在") from None
    filename = f"photo-{photo.pk}{'-thumb' if thumbnail else ''}.jpg"
    audit_download(request, photo, filename)
    response = FileResponse(handle, content_type=photo.content_type, filename=filename)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    # Personal data: no shared or browser cache keeps it, and no browser guesses its type.
    response["Cache-Control"] = PRIVATE_NO_STORE
    response["X-Content-Type-Options"] = "nosniff"
    return response


@scope_safe(how="photo via cases.photos.get_photo_or_404 (its record's scope)")
@login_required
@require_GET
def photo_image(request, pk: int):
    return _serve(request, pk, thumbnail=False)


@scope_safe(how="photo via cases.photos.get_photo_or_404 (its record's scope)")
@login_required
@require_GET
def photo_thumbnail(request, pk: int):
    return _serve(request, pk, thumbnail=True)


@scope_safe(how="photo via cases.photos.get_photo_or_404; delete via cases.photos.photo_remove")
@login_required
@require_POST
def photo_delete(request, pk: int):
    photo = photo_service.get_photo_or_404(request.user, pk)
    owner = photo_service.owner_of(photo)
    page = reverse(f"staff:{_record(owner)['kind']}_photos", args=[owner.pk])
    photo_service.photo_remove(request.user, photo, reason=request.POST.get("reason", ""))
    messages.success(request, "已删除照片")
    return redirect(next_url(request, page))


routes: list[URLPattern] = [
    path("photos/visit/<int:pk>/", visit_photos, name="visit_photos"),
    path("photos/measure/<int:pk>/", measure_photos, name="measure_photos"),
    path("photos/accessibility/<int:pk>/", accessibility_photos, name="accessibility_photos"),
    path("photos/<int:pk>/image/", photo_image, name="photo_image"),
    path("photos/<int:pk>/thumbnail/", photo_thumbnail, name="photo_thumbnail"),
    path("photos/<int:pk>/delete/", photo_delete, name="photo_delete"),
]
