"""Find the header row under title rows and merged group headers, and map column aliases.

A header cell matches a column when its *key* equals the key of the column's
canonical name or of an alias. The key ignores width (full-width brackets and
letters), white space, bracketed parts such as `（元）` or `（街道）`, and a `*`
required-marker; if nothing matches exactly, a `是否`/`是否参加` prefix or infix is
dropped too (`是否享受低保` → `享受低保`, `住房是否安全` → `住房安全`).

The header row is the first row, within the first `MAX_HEADER_SCAN` rows, that
holds at least `MIN_HEADER_MATCHES` known column names.
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

MAX_HEADER_SCAN = 30
MIN_HEADER_MATCHES = 3

_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕|<[^<>]*>")
_NOISE = re.compile(r"[*:：\"'“”‘’]")


def header_key(value: object) -> str:
    """`乡镇（街道）` → `乡镇`, `家庭年人均收入（元）` → `家庭年人均收入`, ` 姓 名 ` → `姓名`."""
    if value is None:
        return ""
    name = "".join(unicodedata.normalize("NFKC", str(value)).split())
    name = _BRACKETED.sub("", name)
    return _NOISE.sub("", name)


def relaxed_keys(key: str) -> list[str]:
    """Second-chance keys: without 是否参加/是否 (prefix or infix)."""
    keys = []
    for word in ("是否参加", "是否"):
        if word in key:
            stripped = key.replace(word, "", 1)
            if stripped and stripped not in keys:
                keys.append(stripped)
    return keys


@dataclass
class HeaderMatch:
    """The header row of a sheet: which cell index holds which column."""

    row_number: int
    # column key -> cell index
    indexes: dict[str, int]
    # column key -> header text as written in the file (for error messages)
    names: dict[str, str]
    missing_required: list[str] = field(default_factory=list)
    # raw header cells, for the error report
    cells: list = field(default_factory=list)


class AliasMap:
    """Maps header keys to column keys for one source."""

    def __init__(self, columns: Sequence):
        self.columns = {column.key: column for column in columns}
        self.exact: dict[str, str] = {}
        for column in columns:
            for name in (column.name, *column.aliases):
                key = header_key(name)
                existing = self.exact.setdefault(key, column.key)
                if existing != column.key:
                    raise ValueError(f"header {name!r} maps to both {existing} and {column.key}")

    def lookup(self, cell: object) -> tuple[str | None, bool]:
        """(column key, exact?) for a header cell, or (None, False)."""
        key = header_key(cell)
        if not key:
            return None, False
        if key in self.exact:
            return self.exact[key], True
        for relaxed in relaxed_keys(key):
            if relaxed in self.exact:
                return self.exact[relaxed], False
        return None, False

    def match_row(self, row_number: int, cells: Sequence) -> HeaderMatch:
        indexes: dict[str, int] = {}
        names: dict[str, str] = {}
        exactness: dict[str, bool] = {}
        for index, cell in enumerate(cells):
            if cell is None or cell == "":
                continue
            column_key, exact = self.lookup(cell)
            if column_key is None:
                continue
            # A canonical/alias spelling beats a relaxed one; otherwise the first column wins.
            if column_key in indexes and (exactness[column_key] or not exact):
                continue
            indexes[column_key] = index
            names[column_key] = str(cell).strip()
            exactness[column_key] = exact
        missing = [
            column.name
            for column in self.columns.values()
            if column.required and column.key not in indexes
        ]
        return HeaderMatch(row_number, indexes, names, missing, list(cells))


def find_header(
    rows: Iterator[tuple[int, list]], alias_map: AliasMap
) -> tuple[HeaderMatch | None, HeaderMatch | None, list[tuple[int, list]]]:
    """Consume rows until the header row.

    Returns (header, best_guess, consumed_rows): `header` is None when no row in the
    first MAX_HEADER_SCAN rows holds enough known names; `best_guess` is then the row
    with the most matches (for a helpful message). `consumed_rows` are the rows read
    before and including the header (the error report writes them back).
    """
    best: HeaderMatch | None = None
    consumed: list[tuple[int, list]] = []
    for scanned, (row_number, cells) in enumerate(rows):
        consumed.append((row_number, cells))
        match = alias_map.match_row(row_number, cells)
        if len(match.indexes) >= MIN_HEADER_MATCHES:
            return match, match, consumed
        if match.indexes and (best is None or len(match.indexes) > len(best.indexes)):
            best = match
        if scanned + 1 >= MAX_HEADER_SCAN:
            break
    return None, best, consumed


def describe_columns(columns: Iterable) -> str:
    """`姓名、公民身份号码（或：身份证号、身份证号码、证件号码）…` for messages."""
    parts = []
    for column in columns:
        if column.aliases:
            parts.append(f"{column.name}（或：{'、'.join(column.aliases)}）")
        else:
            parts.append(column.name)
    return "、".join(parts)
