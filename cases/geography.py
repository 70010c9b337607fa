"""Huoqiu county's 31 township-level units and name matching.

Names arrive with or without their 镇/乡 suffix (`河口` or `河口镇`), with stray
spaces or full-width characters; `normalise_township_name` reduces them to the
short form used for matching.
"""

import unicodedata

COUNTY_CODE = "341522"
COUNTY_NAME = "霍邱县"

# (full name, kind). Order follows the county's usual listing (21 towns, 9 townships,
# the development zone); codes are assigned in this order.
TOWNSHIPS: list[tuple[str, str]] = [
    ("城关镇", "town"),
    ("河口镇", "town"),
    ("周集镇", "town"),
    ("临水镇", "town"),
    ("新店镇", "town"),
    ("石店镇", "town"),
    ("马店镇", "town"),
    ("孟集镇", "town"),
    ("花园镇", "town"),
    ("扈胡镇", "town"),
    ("长集镇", "town"),
    ("乌龙镇", "town"),
    ("高塘镇", "town"),
    ("龙潭镇", "town"),
    ("岔路镇", "town"),
    ("冯井镇", "town"),
    ("众兴集镇", "town"),
    ("夏店镇", "town"),
    ("曹庙镇", "town"),
    ("范桥镇", "town"),
    ("潘集镇", "town"),
    ("冯瓴镇", "town"),
    ("临淮岗镇", "town"),
    ("彭塔乡", "township"),
    ("王截流乡", "township"),
    ("城西湖乡", "township"),
    ("宋店乡", "township"),
    ("三流乡", "township"),
    ("邵岗乡", "township"),
    ("白莲乡", "township"),
    ("霍邱经济开发区", "zone"),
]

_SUFFIXES = ("街道", "镇", "乡")
ZONE_NAME = "霍邱经济开发区"
# Spellings of the development zone seen in exported sheets (after the county prefix is dropped).
_ZONE_ALIASES = frozenset({ZONE_NAME, "经济开发区", "开发区", "霍邱开发区", "经开区", "霍邱经开区"})


def township_code(index: int) -> str:
    """A stable 9-digit code: county code + 3 digits (towns 1xx, townships 2xx, zone 400)."""
    kind = TOWNSHIPS[index][1]
    if kind == "town":
        return f"{COUNTY_CODE}{100 + index:03d}"
    if kind == "township":
        return f"{COUNTY_CODE}{200 + index:03d}"
    return f"{COUNTY_CODE}400"


def normalise_text(value: str) -> str:
    """Full-width to half-width, and every kind of white space removed."""
    return "".join(unicodedata.normalize("NFKC", value).split())


def normalise_township_name(value: str) -> str:
    """`河口镇` → `河口`, `彭塔乡` → `彭塔`, `霍邱经济开发区` stays; county prefix dropped."""
    name = normalise_text(value)
    if name.startswith(COUNTY_NAME) and len(name) > len(COUNTY_NAME):
        name = name[len(COUNTY_NAME) :]
    if name in _ZONE_ALIASES:
        return ZONE_NAME
    if name.endswith("开发区"):
        return name
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def short_name(full_name: str) -> str:
    return normalise_township_name(full_name)


# short name → full name, e.g. "河口" → "河口镇"
SHORT_NAMES = {short_name(name): name for name, _ in TOWNSHIPS}


def match_township(value) -> str | None:
    """The full name of the township a sheet means (`河口` → `河口镇`), or None if unknown."""
    if value is None:
        return None
    return SHORT_NAMES.get(normalise_township_name(str(value)))
