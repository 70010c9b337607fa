"""Cell value normalisers (docs/IMPORTS.md). Pure functions, no Django.

Every parser takes a raw cell value as a reader gives it (str, float, int, bool,
date, datetime or None) and returns the normalised value, or None when the cell
is blank (blank means unknown, never "no"). A value that cannot be understood
raises `ValueProblem`, whose text is the Chinese message a clerk acts on.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, TypeAlias

from cases.geography import SHORT_NAMES, normalise_township_name
from cases.identity import IdentityError, ParsedId, parse_id_number
from cases.text import MARKER


class ValueProblem(ValueError):
    """A cell value that cannot be accepted; `str()` is the Chinese reason."""


# Placeholders people type for "nothing here".
# A spreadsheet cell as the readers give it: str, int, float, bool, date, datetime or None.
# The parsers below exist to make sense of any of them, so it is not narrowed here.
Cell: TypeAlias = Any

_PLACEHOLDERS = frozenset(
    {"", "-", "--", "---", "—", "——", "/", "\\", "null", "none", "nan", "#n/a", "n/a"}
)


def text(raw: Cell) -> str:
    """NFKC (full-width to half-width) with every kind of white space removed.

    A float that holds a whole number (Excel stored `3415221000001` as a number)
    becomes its digits, not `3415221000001.0`.
    """
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, float):
        if raw.is_integer():
            return str(int(raw))
        return repr(raw)
    if isinstance(raw, datetime):
        return raw.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(raw, date):
        return raw.isoformat()
    value = str(raw)
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL (its COPY refuses the whole batch): marked like
        # the exports' sanitiser marks it (cases.text), so the office sees the cell needs
        # correcting at its source and nothing else of the row is lost.
        value = value.replace("\x00", MARKER)
    if value.isascii():
        return "".join(value.split())
    return "".join(unicodedata.normalize("NFKC", value).split())


def is_blank(raw: Cell) -> bool:
    if raw is None or raw == "":
        return True
    if type(raw) is str:
        stripped = raw.strip()
        if len(stripped) > 5:  # longer than any placeholder
            return False
        if not stripped:
            return True
        if min(stripped) >= "\u4e00" and max(stripped) <= "\u9fff":
            return False  # Chinese characters only (是, 无, a name): never a placeholder
        return text(stripped).lower() in _PLACEHOLDERS
    return False


def cached(parse: Callable, size: int = 20000) -> Callable:
    """Memoise a parser of low-cardinality cells (yes/no, grades, townships, dates, amounts).

    The key includes the value's type (1, 1.0 and True are equal in Python but not
    as cells); a value that fails is remembered with its message.
    """
    memory: dict = {}

    def wrapper(raw: Cell) -> Any:
        # Text, most cells, is its own key (no cell of another type equals a str).
        key = raw if type(raw) is str else (type(raw), raw)
        try:
            outcome = memory.get(key)
        except TypeError:  # unhashable: parse directly
            return parse(raw)
        if outcome is None:
            try:
                outcome = (True, parse(raw))
            except ValueProblem as problem:
                outcome = (False, str(problem))
            if len(memory) >= size:
                memory.clear()
            memory[key] = outcome
        if outcome[0]:
            value = outcome[1]
            return list(value) if type(value) is list else value
        raise ValueProblem(outcome[1])

    wrapper.__name__ = getattr(parse, "__name__", "parse")
    wrapper.__wrapped__ = parse  # type: ignore[attr-defined]  # as functools.wraps sets it
    return wrapper


def shown(raw: Cell) -> str:
    """The value as the clerk sees it, for messages."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime):
        return raw.strftime("%Y-%m-%d %H:%M")
    if isinstance(raw, date):
        return raw.isoformat()
    value = str(raw).strip()
    return value if len(value) <= 40 else value[:40] + "…"


# --- names and plain text ---------------------------------------------------------------


def _within(value: str, raw: Cell, label: str, max_length: int, unit: str = "字") -> str:
    """The value, or the one "too long" message every text column gives."""
    if len(value) > max_length:
        raise ValueProblem(f"{label}“{shown(raw)}”过长：最多{max_length}个{unit}，请核对")
    return value


def plain_text(max_length: int, label: str) -> Callable[[object], str | None]:
    """Free text (village, relation…): width and spaces normalised, length checked."""

    def parse(raw: Cell) -> str | None:
        if is_blank(raw):
            return None
        return _within(text(raw), raw, label, max_length)

    parse.__name__ = f"plain_text_{label}"
    return parse


def person_name(raw: Cell) -> str | None:
    """A person's name without spaces (` 赵春平 ` → `赵春平`), full-width letters made half-width."""
    if is_blank(raw):
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raise ValueProblem(f"姓名“{shown(raw)}”是数字，请填写姓名")
    return _within(text(raw), raw, "姓名", 64)


def code_text(max_length: int, label: str) -> Callable[[object], str | None]:
    """A code such as 户编号: digits kept exactly; a long number Excel rounded is refused."""

    def parse(raw: Cell) -> str | None:
        if is_blank(raw):
            return None
        if isinstance(raw, float) and (not raw.is_integer() or abs(raw) >= 2**53):
            raise ValueProblem(
                f"{label}被Excel存成了数字（{shown(raw)}），末几位可能已丢失。"
                "请把该列设置为“文本”格式后重新导出"
            )
        return _within(text(raw).lstrip("'‘’`"), raw, label, max_length, unit="字符")

    parse.__name__ = f"code_text_{label}"
    return parse


# --- ID numbers ------------------------------------------------------------------------------


def id_number(raw: Cell) -> ParsedId | None:
    """Normalised, validated 18-character ID (15-digit IDs converted), via `cases.identity`.

    A whole-number float below 10**15 is an exact 15-digit old ID that Excel stored
    as a number (no digits lost), so it is read as its digits; anything larger is
    refused by `cases.identity` with its "format the column as text" message.
    """
    if is_blank(raw):
        return None
    if isinstance(raw, float) and raw.is_integer() and 10**14 <= raw < 10**15:
        raw = str(int(raw))
    elif isinstance(raw, int) and not isinstance(raw, bool) and 10**14 <= raw < 10**15:
        raw = str(raw)
    try:
        return parse_id_number(raw)
    except IdentityError as error:
        raise ValueProblem(str(error)) from None


# --- numbers ------------------------------------------------------------------------------

_MONEY_NOISE = re.compile(r"[,元¥￥]|RMB|人民币", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_CENT = Decimal("0.01")
_MONEY_LIMIT = Decimal("10000000000")  # max_digits 12, decimal_places 2


def decimal_amount(
    raw: Cell, *, label: str = "金额", allow_negative: bool = True
) -> Decimal | None:
    """`2,984`, `626元`, `７８８`, `3093.00`, 2776.0 → Decimal with two places."""
    if is_blank(raw):
        return None
    if isinstance(raw, (bool, date)):
        raise ValueProblem(f"{label}“{shown(raw)}”不是数字，请填写金额（如 3500 或 3,500.00）")
    if isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise ValueProblem(f"{label}“{shown(raw)}”不是数字，请填写金额")
        value = Decimal(repr(raw))
    else:
        cleaned = _MONEY_NOISE.sub("", text(raw))
        if not _NUMBER.match(cleaned):
            raise ValueProblem(
                f"{label}“{shown(raw)}”不是有效的数字，请填写金额（如 3500、3,500.00 或 3500元）"
            )
        try:
            value = Decimal(cleaned)
        except InvalidOperation:  # pragma: no cover - the pattern already guards this
            raise ValueProblem(f"{label}“{shown(raw)}”不是有效的数字") from None
    # The limit first: quantizing a huge number (1e+26) exceeds Decimal's precision.
    if abs(value) >= _MONEY_LIMIT:
        raise ValueProblem(f"{label}“{shown(raw)}”过大，请核对（单位是元）")
    value = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    if abs(value) >= _MONEY_LIMIT:
        raise ValueProblem(f"{label}“{shown(raw)}”过大，请核对（单位是元）")
    if value < 0 and not allow_negative:
        raise ValueProblem(f"{label}“{shown(raw)}”不能为负数，请核对")
    return value


def money(label: str, allow_negative: bool = True) -> Callable[[object], Decimal | None]:
    def parse(raw: Cell) -> Decimal | None:
        return decimal_amount(raw, label=label, allow_negative=allow_negative)

    parse.__name__ = f"money_{label}"
    return parse


def whole_number(label: str, minimum: int, maximum: int) -> Callable[[object], int | None]:
    """A count such as 家庭人口数: `3`, `3.0`, `３`, `3人`."""

    def parse(raw: Cell) -> int | None:
        if is_blank(raw):
            return None
        value = raw
        if isinstance(raw, str):
            value = text(raw).removesuffix("人").removesuffix("口")
        try:
            number = decimal_amount(value, label=label)
        except ValueProblem:
            raise ValueProblem(
                f"{label}“{shown(raw)}”不是整数，请填写{minimum}～{maximum}的整数"
            ) from None
        if number is None or number != number.to_integral_value():
            raise ValueProblem(f"{label}“{shown(raw)}”不是整数，请填写{minimum}～{maximum}的整数")
        if not minimum <= number <= maximum:
            raise ValueProblem(f"{label}“{shown(raw)}”超出范围，应为{minimum}～{maximum}")
        return int(number)

    parse.__name__ = f"whole_number_{label}"
    return parse


# --- dates -------------------------------------------------------------------------------------

_EXCEL_EPOCH = date(1899, 12, 30)
_TIME_SUFFIX = re.compile(r"(\d)(T?\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)$")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_MONTH_PATTERNS = (
    re.compile(r"^(\d{4})(\d{2})$"),
    re.compile(r"^(\d{4})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月?$"),
)
_MIN_YEAR, _MAX_YEAR = 1900, 2100


def _make_date(raw: Cell, year: int, month: int, day: int) -> date:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise ValueProblem(f"日期“{shown(raw)}”的年份{year}不合理，请核对")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueProblem(
            f"日期“{shown(raw)}”不存在（{year}年{month}月{day}日），请核对"
        ) from None


def parse_date(raw: Cell, *, allow_month: bool = False) -> date | None:
    """Excel dates and `2022-03-05`, `2022/3/5`, `2022.3.5`, `2022年3月5日`, `20220305`.

    With `allow_month`, a month alone (`202203`, `2022-03`, `2022年3月`) is the 1st of it.
    """
    if is_blank(raw):
        return None
    if isinstance(raw, datetime):
        return _make_date(raw, raw.year, raw.month, raw.day)
    if isinstance(raw, date):
        return _make_date(raw, raw.year, raw.month, raw.day)
    if isinstance(raw, bool):
        raise ValueProblem(_date_message(raw, allow_month))
    if isinstance(raw, int | float):
        return _date_from_number(raw, allow_month)
    value = text(raw)
    value = _TIME_SUFFIX.sub(r"\1", value)
    for pattern in _DATE_PATTERNS:
        match = pattern.match(value)
        if match:
            return _make_date(raw, *(int(part) for part in match.groups()))
    for pattern in _MONTH_PATTERNS:
        match = pattern.match(value)
        if match:
            if not allow_month:
                raise ValueProblem(
                    f"日期“{shown(raw)}”只有年月，请填写完整日期（如2022-03-05或2022年3月5日）"
                )
            year, month = (int(part) for part in match.groups())
            return _make_date(raw, year, month, 1)
    raise ValueProblem(_date_message(raw, allow_month))


def _date_message(raw: Cell, allow_month: bool) -> str:
    months = "，或只填年月（如202203）" if allow_month else ""
    return (
        f"日期“{shown(raw)}”无法识别，请写成2022-03-05、2022/3/5、2022.3.5、"
        f"2022年3月5日或20220305{months}"
    )


def _date_from_number(raw: float, allow_month: bool) -> date:
    if raw != raw or raw in (float("inf"), float("-inf")):
        raise ValueProblem(_date_message(raw, allow_month))
    whole = int(raw)
    if float(whole) == float(raw):
        if 19000101 <= whole <= 21001231:
            return _make_date(raw, whole // 10000, whole // 100 % 100, whole % 100)
        if 190001 <= whole <= 210012:
            if not allow_month:
                raise ValueProblem(
                    f"日期“{shown(raw)}”只有年月，请填写完整日期（如2022-03-05或2022年3月5日）"
                )
            return _make_date(raw, whole // 100, whole % 100, 1)
    # An Excel serial day number (the cell lost its date format).
    if 1 <= raw < 73051:  # 1900-01-01 .. 2099-12-31
        return _EXCEL_EPOCH + timedelta(days=int(raw))
    raise ValueProblem(_date_message(raw, allow_month))


def date_parser(allow_month: bool = False) -> Callable[[object], date | None]:
    def parse(raw: Cell) -> date | None:
        return parse_date(raw, allow_month=allow_month)

    parse.__name__ = "month_or_date" if allow_month else "date"
    return parse


# --- choices ------------------------------------------------------------------------------------

YES_WORDS = frozenset({"是", "有", "√", "✓", "✔", "☑", "Y", "YES", "1", "TRUE", "对"})
NO_WORDS = frozenset({"否", "无", "没有", "×", "✗", "✘", "☒", "N", "NO", "0", "FALSE", "不是"})


def yes_no_parser(
    label: str, extra_yes: Iterable[str] = (), extra_no: Iterable[str] = ()
) -> Callable[[object], bool | None]:
    """是/否, 有/无, √/×, Y/N, 1/0 (and column-specific words); blank = unknown (None)."""
    yes = YES_WORDS | frozenset(extra_yes)
    no = NO_WORDS | frozenset(extra_no)
    hint = "是/否（也可用 有/无、√/×、Y/N、1/0）"

    @lru_cache(maxsize=512)
    def from_text(value: str) -> bool:
        key = value.upper()
        if key.endswith(".0") and key[:-2] in ("0", "1"):
            key = key[:-2]
        if key in yes:
            return True
        if key in no:
            return False
        raise ValueProblem(f"{label}“{value}”无法识别，请填写{hint}；不清楚可留空")

    def parse(raw: Cell) -> bool | None:
        if is_blank(raw):
            return None
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int | float):
            if raw in (0, 1):
                return bool(raw)
            raise ValueProblem(f"{label}“{shown(raw)}”无法识别，请填写{hint}；不清楚可留空")
        return from_text(text(raw))

    parse.__name__ = f"yes_no_{label}"
    return parse


def choice_parser(
    label: str, mapping: dict[str, object], hint: str | None = None
) -> Callable[[Cell], object]:
    """One of a fixed set of words (after normalising width and spaces)."""
    # Plain str values (not enum members) so they compare, store and serialise plainly.
    table = {
        text(key).upper(): (str(value) if isinstance(value, str) else value)
        for key, value in mapping.items()
    }
    allowed = hint or "、".join(dict.fromkeys(str(key) for key in mapping))

    @lru_cache(maxsize=512)
    def from_text(value: str) -> object:
        try:
            return table[value.upper()]
        except KeyError:
            raise ValueProblem(f"{label}“{value}”无法识别，应为：{allowed}") from None

    def parse(raw: Cell) -> object:
        if is_blank(raw):
            return None
        return from_text(text(raw))

    parse.__name__ = f"choice_{label}"
    return parse


_GRADE_WORDS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_GRADE_WORDS.update({"I": 1, "II": 2, "III": 3, "IV": 4, "壹": 1, "贰": 2, "叁": 3, "肆": 4})


@lru_cache(maxsize=256)
def _grade_from_text(value: str) -> int:
    key = value.upper().removesuffix("残疾").removesuffix("级").removesuffix(".0")
    key = key.removeprefix("残疾")
    if key in _GRADE_WORDS:
        return _GRADE_WORDS[key]
    raise ValueProblem(f"残疾等级“{value}”无法识别，应为一级～四级（也可写1级或1）")


def grade(raw: Cell) -> int | None:
    """一级/1级/1/1.0/Ⅰ级 → 1 … 4."""
    if is_blank(raw):
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if float(raw) in (1.0, 2.0, 3.0, 4.0):
            return int(raw)
        raise ValueProblem(f"残疾等级“{shown(raw)}”无法识别，应为一级～四级（也可写1级或1）")
    return _grade_from_text(text(raw))


CATEGORY_CODES = {"视力": 1, "听力": 2, "言语": 3, "肢体": 4, "智力": 5, "精神": 6, "多重": 7}
_CATEGORY_ALIASES = {"语言": 3}


@lru_cache(maxsize=256)
def _category_from_text(value: str) -> int:
    key = value.removesuffix("类").removesuffix("残疾人").removesuffix("残疾").removesuffix(".0")
    if key in CATEGORY_CODES:
        return CATEGORY_CODES[key]
    if key in _CATEGORY_ALIASES:
        return _CATEGORY_ALIASES[key]
    if key.isdigit() and 1 <= int(key) <= 7:
        return int(key)
    raise ValueProblem(
        f"残疾类别“{value}”无法识别，应为视力、听力、言语、肢体、智力、精神、多重之一"
        "（可带“残疾”二字）"
    )


def category(raw: Cell) -> int | None:
    """视力/视力残疾/1 → 1 … 多重/多重残疾/7 → 7."""
    if is_blank(raw):
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if float(raw).is_integer() and 1 <= raw <= 7:
            return int(raw)
        raise ValueProblem(
            f"残疾类别“{shown(raw)}”无法识别，应为视力、听力、言语、肢体、智力、精神、多重之一"
        )
    return _category_from_text(text(raw))


@lru_cache(maxsize=512)
def _township_from_text(value: str) -> str:
    full = SHORT_NAMES.get(normalise_township_name(value))
    if full is None:
        raise ValueProblem(
            f"乡镇“{value}”不是霍邱县的乡镇，请核对名称（如：城关镇、河口镇、彭塔乡、霍邱经济开发区）"
        )
    return full


def township(raw: Cell) -> str | None:
    """`河口`, `河口镇`, `霍邱县河口镇` → `河口镇` (the full name); unknown names are refused."""
    if is_blank(raw):
        return None
    return _township_from_text(text(raw))


_LIST_SEPARATORS = re.compile(r"[、,，;；/|\s]+")


def split_list(raw: Cell) -> list[str]:
    """`康复训练、辅助器具` → ["康复训练", "辅助器具"] (、，；, / separate; duplicates dropped)."""
    if is_blank(raw):
        return []
    value = unicodedata.normalize("NFKC", str(raw))
    return list(dict.fromkeys(part for part in _LIST_SEPARATORS.split(value) if part))


def list_parser(
    label: str, allowed: Iterable[str] | None = None, max_item_length: int = 30
) -> Callable[[Cell], list[str] | None]:
    allowed_set = frozenset(allowed) if allowed is not None else None
    allowed_text = "、".join(allowed) if allowed is not None else ""

    def parse(raw: Cell) -> list[str] | None:
        items = split_list(raw)
        if not items:
            return None
        for item in items:
            if allowed_set is not None and item not in allowed_set:
                raise ValueProblem(
                    f"{label}中的“{item}”无法识别，应为以下一项或多项（用顿号分隔）：{allowed_text}"
                )
            if len(item) > max_item_length:
                raise ValueProblem(f"{label}中的“{item}”过长，请核对")
        return items

    parse.__name__ = f"list_{label}"
    return parse
