"""The photo upload form of a visit, a measure or an accessibility modification.

Only the shape of the request is checked here (files chosen, stage chosen); what a file is —
an image, its size, its pixels, the count per record — is the service's (`cases.photos`),
which reports each file's refusal in Chinese.
"""

from django import forms

from cases.models import EvidencePhoto
from cases.photos import MAX_PHOTO_BYTES, MAX_PHOTOS_PER_RECORD
from staff.forms.casework import StaffForm


class MultipleImageInput(forms.ClearableFileInput):
    """`<input type=file multiple accept="image/*" capture>`: the phone offers its camera."""

    allow_multiple_selected = True

    def __init__(self, attrs=None):
        defaults = {"accept": "image/*", "capture": "environment", "multiple": True}
        super().__init__({**defaults, **(attrs or {})})


class MultipleImageField(forms.FileField):
    """Several files; each is an `UploadedFile`, checked by the service."""

    widget = MultipleImageInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        files = [item for item in files if item]
        if not files and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if len(files) > MAX_PHOTOS_PER_RECORD:
            raise forms.ValidationError(
                f"一次最多选择{MAX_PHOTOS_PER_RECORD}张照片（已选{len(files)}张）",
                code="too_many",
            )
        return files


class PhotoUploadForm(StaffForm):
    """Photos of one record; `stage` only for an accessibility modification."""

    title, submit_label, testid = "上传照片", "上传照片", "photo-upload-form"

    photos = MultipleImageField(
        label="照片",
        help_text=(
            f"可一次选择多张；JPEG、PNG 或 HEIC，每张不超过{MAX_PHOTO_BYTES // (1024 * 1024)} MB，"
            f"每条记录最多{MAX_PHOTOS_PER_RECORD}张。位置等拍摄信息会被去除。"
        ),
    )
    stage = forms.ChoiceField(
        label="阶段",
        choices=[
            (EvidencePhoto.Stage.CONSTRUCTION, "施工"),
            (EvidencePhoto.Stage.ACCEPTED, "验收"),
        ],
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, stages: list[tuple[str, str]] | None = None, **kwargs):
        """`stages`: the accessibility stages the record has reached; None: not an
        accessibility modification (no stage field)."""
        super().__init__(*args, **kwargs)
        if stages is None:
            del self.fields["stage"]
        else:
            stage = self.fields["stage"]
            stage.choices = stages  # type: ignore[attr-defined]  # a ChoiceField
            if len(stages) == 1:
                stage.initial = stages[0][0]
        self.fields["photos"].error_messages["required"] = "请选择要上传的照片"

    def add_service_error(self, error) -> None:
        field = getattr(error, "field", None)
        message = getattr(error, "message", None) or str(error)
        self.add_error(field if field in self.fields else "photos", message)
