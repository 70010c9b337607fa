"""Finance rosters as .xlsx: the annual pension-contribution roster and monthly payment rosters.

Layout a finance office expects: a title row merged across the columns, the reporting
unit (填报单位) and date, the header, one row per person with the full ID number (these
are county-admin-only documents), a 合计 row, and signature lines 制表人/审核人/负责人.
Written in openpyxl's streaming (write-only) mode, rows straight from the selector.
Every text cell goes through `cases.exports.safe_cell`: control and bidi characters become
U+FFFD and formula injection is neutralised (a leading ' before = + - @, tab or CR).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.worksheet import Worksheet

from cases.casework_base import NotPermitted, today
from cases.exports import safe_cell
from cases.geography import COUNTY_NAME
from cases.models import Role
from cases.scope import scope_for
from monitoring.eligibility import PAYMENT_BENEFITS, payment_rows, pension_contribution_rows
from subsidies.models import BenefitType

REPORTING_UNIT = "霍邱县残疾人联合会"
HEADERS = (
    ("序号", 6),
    ("乡镇", 14),
    ("村（社区）", 14),
    ("姓名", 10),
    ("性别", 6),
    ("公民身份号码", 22),
    ("残疾人证号", 26),
    ("残疾类别", 9),
    ("残疾等级", 9),
    (None, 14),  # the amount column: label depends on the roster
    ("备注", 24),
)
AMOUNT_COLUMN = 10  # 1-based


class RosterError(ValueError):
    """A roster that cannot be produced; `str()` is a one-line Chinese reason."""


@dataclass
class RosterResult:
    title: str
    rows: int
    total: Decimal


def safe_text(value):
    """Clean control/bidi characters and neutralise formula injection: text starting with
    = + - @ tab or CR gets a leading ' (the project's one implementation,
    `cases.exports.safe_cell`)."""
    return safe_cell(value)


def _require_roster_role(user, township) -> None:
    """Who may have a roster, which carries full ID numbers for the payment: county users
    (admins and the read-only county role) for the county or any township, township staff
    for their own township only; village members never. `user=None` is the server's
    command line (run by the county's operators). Each file is audited as an export."""
    if user is None:
        return
    scope = scope_for(user)
    if scope.is_county:
        return
    if scope.role == Role.TOWNSHIP_STAFF and township is not None:
        if township.pk == scope.township_id:
            return
        raise NotPermitted("乡镇工作人员只能下载本乡镇的花名册")
    raise NotPermitted("发放花名册含完整身份证号，仅县级用户和乡镇工作人员（本乡镇）可以下载")


_thin = Side(style="thin", color="000000")
_BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_LEFT = Alignment(horizontal="left", vertical="center")
_RIGHT = Alignment(horizontal="right", vertical="center")


class _Sheet:
    """A write-only sheet with the finance layout."""

    def __init__(self, title: str, amount_label: str, made_on: date, unit: str):
        self.workbook = Workbook(write_only=True)
        self.ws = self.workbook.create_sheet(title="花名册")
        self.width = len(HEADERS)
        self.title = title
        for index, (_, width) in enumerate(HEADERS, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width
        self.ws.freeze_panes = "A4"
        self.ws.print_title_rows = "1:3"
        self.ws.page_setup.orientation = "landscape"
        self.ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        self.ws.page_setup.fitToWidth = 1
        self.ws.page_setup.fitToHeight = 0
        self.row = 0
        self._append(
            [self._cell(title, font=Font(bold=True, size=16), alignment=_CENTER)], merge=True
        )
        split = 6
        self._append(
            [self._cell(f"填报单位：{unit}（盖章）", alignment=_LEFT)]
            + [None] * (split - 1)
            + [
                self._cell(
                    f"填报日期：{made_on.year}年{made_on.month}月{made_on.day}日", alignment=_RIGHT
                )
            ],
            merges=[(1, split), (split + 1, self.width)],
        )
        header_fill = PatternFill("solid", fgColor="D9D9D9")
        self._append(
            [
                self._cell(
                    label or amount_label,
                    font=Font(bold=True),
                    alignment=_CENTER,
                    border=_BORDER,
                    fill=header_fill,
                )
                for label, _ in HEADERS
            ]
        )
        self.count = 0
        self.total = Decimal("0")

    def _cell(self, value, *, font=None, alignment=None, border=None, fill=None, fmt=None):
        cell = WriteOnlyCell(self.ws, value=safe_text(value))
        if font is not None:
            cell.font = font
        if alignment is not None:
            cell.alignment = alignment
        if border is not None:
            cell.border = border
        if fill is not None:
            cell.fill = fill
        if fmt is not None:
            cell.number_format = fmt
        return cell

    def _append(self, cells, *, merge=False, merges=()):
        self.row += 1
        self.ws.append(cells)
        if merge:
            merges = [(1, self.width)]
        for first, last in merges:
            self.ws.merged_cells.add(
                CellRange(
                    f"{get_column_letter(first)}{self.row}:{get_column_letter(last)}{self.row}"
                )
            )

    def person(self, row):
        self.count += 1
        if row.amount is not None:
            self.total += row.amount
        values = [
            self.count,
            row.township,
            row.village,
            row.name,
            row.gender,
            row.id_number,
            row.certificate_number,
            row.category,
            row.grade,
        ]
        cells = [
            self._cell(value, border=_BORDER, alignment=_CENTER if i in (0, 4, 7, 8) else _LEFT)
            for i, value in enumerate(values)
        ]
        # ID and certificate numbers are text: never let a spreadsheet turn them into numbers.
        cells[5].number_format = "@"
        cells[6].number_format = "@"
        cells.append(self._cell(row.amount, border=_BORDER, alignment=_RIGHT, fmt="#,##0.00"))
        cells.append(self._cell(row.note, border=_BORDER, alignment=_LEFT))
        self._append(cells)

    def finish(self, out) -> RosterResult:
        total_cells = [
            self._cell(
                f"合计（共{self.count}人）", font=Font(bold=True), alignment=_CENTER, border=_BORDER
            )
        ]
        total_cells += [self._cell(None, border=_BORDER) for _ in range(AMOUNT_COLUMN - 2)]
        total_cells.append(
            self._cell(
                self.total,
                font=Font(bold=True),
                alignment=_RIGHT,
                border=_BORDER,
                fmt="#,##0.00",
            )
        )
        total_cells.append(self._cell(None, border=_BORDER))
        self._append(total_cells, merges=[(1, AMOUNT_COLUMN - 1)])
        self._append([])
        self._append(
            [self._cell("制表人：", alignment=_LEFT)]
            + [None] * 3
            + [self._cell("审核人：", alignment=_LEFT)]
            + [None] * 3
            + [self._cell("负责人：", alignment=_LEFT)],
            merges=[(1, 4), (5, 8), (9, self.width)],
        )
        self.workbook.save(out)
        return RosterResult(self.title, self.count, self.total)


def write_pension_roster(
    out,
    year: int,
    *,
    on: date | None = None,
    township=None,
    user=None,
    made_on: date | None = None,
) -> RosterResult:
    """城乡居保代缴花名册 for a year (grade 1–2, aged 16–59 on `on`, insured)."""
    _require_roster_role(user, township)
    policy, rows = pension_contribution_rows(
        year, on=on, township_id=township.pk if township else None
    )
    place = f"{COUNTY_NAME}{township.name if township else ''}"
    title = f"{place}{year}年度重度残疾人城乡居民养老保险代缴花名册"
    sheet = _Sheet(
        title,
        f"代缴金额（元/年，{policy.pension_contribution_tier:.0f}元档）",
        made_on or today(),
        REPORTING_UNIT,
    )
    for row in rows:
        sheet.person(row)
    return sheet.finish(out)


def write_payment_roster(
    out,
    benefit_type: str,
    month: date,
    *,
    township=None,
    user=None,
    made_on: date | None = None,
) -> RosterResult:
    """Monthly payment roster (发放花名册) of one benefit, for a township or the county."""
    _require_roster_role(user, township)
    if benefit_type not in PAYMENT_BENEFITS:
        allowed = "、".join(str(BenefitType(b).label) for b in PAYMENT_BENEFITS)
        raise RosterError(f"只能为以下项目生成发放花名册：{allowed}")
    label = BenefitType(benefit_type).label
    _, missing, rows = payment_rows(
        benefit_type, month, township_id=township.pk if township else None
    )
    if missing:
        raise RosterError(
            f"有{missing}人的{label}记录没有月标准，且{month.year}年度政策参数未设置{label}标准，"
            f"无法计算发放金额：请补录月标准或设置年度标准后再生成"
        )
    place = f"{COUNTY_NAME}{township.name if township else ''}"
    title = f"{place}{month.year}年{month.month}月{label}发放花名册"
    sheet = _Sheet(title, "发放金额（元）", made_on or today(), REPORTING_UNIT)
    for row in rows:
        sheet.person(row)
    return sheet.finish(out)
