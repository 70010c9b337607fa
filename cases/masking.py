"""Masking of ID and phone numbers in stored text, JSON details and log lines (docs/RULES.md#identity, docs/SECURITY.md).

ID numbers: first 6 + ******** + last 4; phone numbers: 3 + **** + 4 (`cases.identity`).
No model imports here: the logging filter is loaded before the app registry.
"""

import logging
import re
from collections.abc import Mapping

from django.db.models import Model

from .identity import mask_id_number, mask_phone
from .text import clean_text

# An 18-character ID (or the ID inside a 20/22-character certificate number), a 15-digit
# old ID, a mainland mobile number. Digits around them must not be digits.
_ID_PATTERN = re.compile(r"(?<!\d)(\d{17}[\dXx])((?:\d\d)?(?:B[1-9])?)(?![0-9])")
_ID15_PATTERN = re.compile(r"(?<!\d)(\d{15})(?!\d)")
_PHONE_PATTERN = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
_ID_FIELDS = re.compile(r"(^|_)(id_number|certificate_number|cert_number)$|^number$")
_PHONE_FIELDS = re.compile(r"(^|_)(phone|mobile|telephone|tel)$")


def mask_text(text: str) -> str:
    """Mask every ID number and mobile number inside a text."""
    if not text:
        return text
    text = _ID_PATTERN.sub(lambda m: mask_id_number(m.group(1) + m.group(2)), text)
    text = _ID15_PATTERN.sub(lambda m: mask_id_number(m.group(1)), text)
    return _PHONE_PATTERN.sub(lambda m: mask_phone(m.group(1)), text)


def shown_text(text: str | None) -> str:
    """A stored message about the data as a page, a JSON answer or the admin shows it:
    every ID, certificate and mobile number masked and the control and bidi characters
    marked (`cases.text.clean_text`). Import messages are masked when they are made;
    masking again when they are shown also covers rows stored before that, without
    rewriting them (docs/SECURITY.md, "Masking")."""
    return clean_text(mask_text(text or ""))


def _mask_field(field: str, value):
    if isinstance(value, list | tuple):
        return [_mask_field(field, item) for item in value]
    if value is None or value == "":
        return value
    if _ID_FIELDS.search(field):
        return mask_id_number(str(value))
    if _PHONE_FIELDS.search(field):
        return mask_phone(str(value))
    return mask_data(value)


def mask_data(value):
    """A JSON-safe copy of `value` with ID and phone numbers masked (by key and by pattern)."""
    if isinstance(value, Mapping):
        return {str(key): _mask_field(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_data(item) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Model):
        return value.pk
    return mask_text(str(value))


class MaskingFilter(logging.Filter):
    """A logging filter: the formatted message of every record has its ID/phone numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error path
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
