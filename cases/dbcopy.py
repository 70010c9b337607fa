"""Values in PostgreSQL's COPY text format, for every bulk path that streams rows with
`COPY … FROM STDIN` (imports, the cross-check's new findings, the demo county, benchmarks).

Pure functions: the callers own their cursors. In the text format a column is separated by
a tab and a row ends with a newline, so a backslash, tab, newline or carriage return inside a
value must be escaped, and NULL is spelled `\\N`.
"""

import re
from collections.abc import Iterable
from datetime import date

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")

NULL = "\\N"


def copy_escape(value: object) -> str:
    """`str(value)` with backslash, tab and line breaks escaped.

    The fast path for columns whose values are never None, booleans or dates (text, JSON
    already encoded): most values need no escape, and a search is cheaper than a translate.
    """
    text = str(value)
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    return text.translate(_ESCAPES)


def copy_text(value: object) -> str:
    """Any one value: None → `\\N`, booleans → `t`/`f`, dates and datetimes in ISO 8601,
    everything else (numbers, Decimals, text, JSON already encoded) as escaped `str`."""
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, date):  # datetime too: ISO 8601 with "T", which PostgreSQL reads
        return value.isoformat()
    return copy_escape(value)


def copy_line(values: Iterable[object]) -> str:
    """One row: the values encoded, tab-separated, ending with a newline."""
    return "\t".join(map(copy_text, values)) + "\n"
