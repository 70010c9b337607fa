"""ID numbers and disability certificate numbers (docs/RULES.md#identity). Pure functions, no Django.

Everything that reads an ID from outside calls `normalise_id_number` first, then
`parse_id_number`, which raises `IdentityError` with a Chinese message a clerk can
act on.
"""

import operator
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # index = weighted sum mod 11 (ISO 7064 MOD 11-2)

_ID18 = re.compile(r"^\d{17}[\dX]$")
_ID15 = re.compile(r"^\d{15}$")
_FLOAT_LIKE = re.compile(r"^\d(\.\d+)?E\+?\d+$|^\d+\.\d+$", re.IGNORECASE)
_CERT = re.compile(r"^(?P<id>\d{17}[\dX])(?P<category>\d)(?P<grade>\d)(?:B(?P<reissue>[1-9]))?$")


class IdentityError(ValueError):
    """An ID or certificate number that cannot be accepted; `str()` is the Chinese reason."""


@dataclass(frozen=True)
class ParsedId:
    number: str
    area_code: str
    birth_date: date
    gender: str  # "M" or "F"
    converted_from_15: bool = False


@dataclass(frozen=True)
class ParsedCertificate:
    number: str
    id_number: str
    category: int
    grade: int
    reissue: int | None


def normalise_id_number(raw) -> str:
    """Full-width digits to ASCII, strip spaces and a leading apostrophe, `x` → `X`.

    A float (Excel stored the ID as a number) is refused: digits are already lost.
    """
    if raw is None:
        return ""
    if isinstance(raw, float) or (isinstance(raw, int) and not isinstance(raw, bool)):
        raise IdentityError(_FLOAT_MESSAGE)
    text = unicodedata.normalize("NFKC", str(raw))
    text = "".join(text.split()).lstrip("'‘’`").upper()
    if _FLOAT_LIKE.match(text):
        raise IdentityError(_FLOAT_MESSAGE)
    return text


_FLOAT_MESSAGE = (
    "身份证号被Excel存成了数字（如3.41522199001011E+17），末几位已丢失，无法还原。"
    "请在原系统重新导出，或把该列设置为“文本”格式后重新录入"
)


def check_character(first17: str) -> str:
    if len(first17) != len(WEIGHTS):
        raise ValueError("the check character is computed from exactly 17 digits")
    # map() rather than a generator: imports check every ID of a county's roster.
    return CHECK_CHARS[sum(map(operator.mul, map(int, first17), WEIGHTS)) % 11]


def convert_15_to_18(id15: str) -> str:
    """Old 15-digit ID: insert `19` before the 2-digit year and append the check character."""
    if not _ID15.match(id15):
        raise IdentityError("15位旧身份证号应全部为数字")
    first17 = id15[:6] + "19" + id15[6:]
    return first17 + check_character(first17)


def _birth_date(number: str) -> date:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdentityError(f"身份证号中的出生日期{number[6:14]}不是有效日期") from None


def parse_id_number(raw, today: date | None = None) -> ParsedId:
    """Normalise, convert 15→18, validate; return number, birth date and gender."""
    number = normalise_id_number(raw)
    if not number:
        raise IdentityError("身份证号为空")
    converted = False
    if len(number) == 15:
        number = convert_15_to_18(number)
        converted = True
    if len(number) != 18:
        raise IdentityError(f"身份证号应为18位（或15位旧号），实际为{len(number)}位")
    if not _ID18.match(number):
        raise IdentityError("身份证号前17位应为数字，最后一位为数字或X")
    born = _birth_date(number)
    if born.year < 1890 or born > (today or date.today()):
        raise IdentityError(f"身份证号中的出生日期{born:%Y-%m-%d}不合理")
    expected = check_character(number[:17])
    if number[17] != expected:
        raise IdentityError(
            f"身份证号校验位错误：最后一位应为{expected}，实际为{number[17]}，请核对号码"
        )
    gender = "M" if int(number[16]) % 2 == 1 else "F"
    return ParsedId(number, number[:6], born, gender, converted)


def is_valid_id_number(raw) -> bool:
    try:
        parse_id_number(raw)
    except IdentityError:
        return False
    return True


def age_on(birth_date: date, on: date) -> int:
    """Whole years on a date (a person born on 29 Feb turns a year older on 1 Mar)."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def parse_certificate_number(
    raw, id_number: str | None = None, category: int | None = None, grade: int | None = None
) -> ParsedCertificate:
    """Certificate = 18-char ID + category digit + grade digit [+ B1…B9].

    When the row also states the holder's ID, category or grade, they must agree.
    """
    text = normalise_id_number(raw)
    match = _CERT.match(text)
    if not match:
        raise IdentityError(
            "残疾人证号格式错误：应为18位身份证号+类别1位+等级1位（共20位），换领证可再加B1～B9"
        )
    cert_id = match["id"]
    cert_category, cert_grade = int(match["category"]), int(match["grade"])
    if not 1 <= cert_category <= 7:
        raise IdentityError(f"残疾人证号第19位是残疾类别，应为1～7，实际为{cert_category}")
    if not 1 <= cert_grade <= 4:
        raise IdentityError(f"残疾人证号第20位是残疾等级，应为1～4，实际为{cert_grade}")
    if id_number is not None and cert_id != id_number:
        raise IdentityError("残疾人证号前18位与身份证号不一致")
    try:
        parse_id_number(cert_id)
    except IdentityError as error:
        raise IdentityError(f"残疾人证号前18位不是有效的身份证号：{error}") from None
    if category is not None and cert_category != category:
        raise IdentityError(
            f"残疾人证号显示残疾类别为{CATEGORY_NAMES[cert_category]}，与填写的{CATEGORY_NAMES.get(category, category)}不一致"
        )
    if grade is not None and cert_grade != grade:
        raise IdentityError(
            f"残疾人证号显示残疾等级为{GRADE_NAMES[cert_grade]}，与填写的{GRADE_NAMES.get(grade, grade)}不一致"
        )
    reissue = int(match["reissue"]) if match["reissue"] else None
    return ParsedCertificate(text, cert_id, cert_category, cert_grade, reissue)


CATEGORY_NAMES = {1: "视力", 2: "听力", 3: "言语", 4: "肢体", 5: "智力", 6: "精神", 7: "多重"}
GRADE_NAMES = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def mask_id_number(number: str) -> str:
    """First 6 + 8 stars + last 4, for every list, export and log."""
    return _mask(number, 6, 8)


def mask_certificate_number(number: str) -> str:
    """First 6 + 8 stars + last 4, like an ID number: the same string `cases.masking`
    makes of a certificate number inside text, so a message and its audit row agree."""
    return _mask(number, 6, 8)


def mask_phone(number: str) -> str:
    """3 + 4 stars + last 4."""
    return _mask(number, 3, 4)


def _mask(number: str, head: int, stars: int) -> str:
    """The first `head` and the last 4 characters around `stars` stars; a number too short
    to show both ends is all stars."""
    if not number:
        return ""
    if len(number) < head + 4:
        return "*" * len(number)
    return f"{number[:head]}{'*' * stars}{number[-4:]}"
