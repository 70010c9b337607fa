"""Uploads refused for their file before it is read (too big, wrong type, empty).

The upload page and the admin's import both check a file with `ImportUploadForm`; a
refusal there would leave no trace but the page view. Every attempt leaves a batch
(rejected, with the reason) and an import audit event instead (docs/SECURITY.md).
"""

from django.core.files.uploadedfile import UploadedFile

from cases.scope import AnyUser

from .forms import ImportUploadForm
from .models import ImportBatch
from .services import import_refuse


def record_refused_upload(form: ImportUploadForm, user: AnyUser) -> ImportBatch | None:
    """Record a bound, invalid upload form's refused file; None when no file was refused
    (nothing sent, or only the source missing: the user did not yet try an import)."""
    if form.is_valid() or "file" not in form.errors:
        return None
    upload = form.files.get(form.add_prefix("file"))
    source = form.cleaned_data.get("source")
    if not isinstance(upload, UploadedFile) or not source:
        return None
    return import_refuse(
        source,
        original_name=upload.name or "",
        reason="；".join(str(message) for message in form.errors["file"]),
        user=user,
        upload=upload,
    )
