"""Build import files for tests: survey, roster and civil sheets as .xlsx, .xls or .csv.

Rows are dicts keyed by header text; a builder writes optional title rows, a merged
group-header row, the header, the rows and footer rows, in the chosen format.

    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1), survey_row(2)])
"""

import csv
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

from cases.identity import check_character
from monitoring import survey

SURVEY_HEADER = [column.header for column in survey.SURVEY_COLUMNS]

ROSTER_HEADER = [
    "户编号",
    "乡镇",
    "村",
    "户主姓名",
    "成员姓名",
    "证件号码",
    "与户主关系",
    "户类型",
    "监测对象类别",
    "风险类型",
    "是否残疾",
    "残疾类别",
    "残疾等级",
    "家庭人均纯收入（元）",
    "识别监测时间",
    "风险是否消除",
    "风险消除时间",
    "风险消除方式",
    "人员状态",
]

CIVIL_HEADER = ["姓名", "身份证号", "乡镇", "村", "项目", "月标准（元）", "起始年月", "状态"]

CATEGORY_NAMES = {1: "视力", 2: "听力", 3: "言语", 4: "肢体", 5: "智力", 6: "精神", 7: "多重"}
GRADE_NAMES = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


def make_id(n: int, *, birth: date | None = None, male: bool | None = None) -> str:
    """A valid 18-character ID, distinct for every n (0 ≤ n < 3,650,000)."""
    birth = birth or date(1940, 1, 1) + timedelta(days=n % 30000)
    sequence = (n // 30000) * 2 % 1000 + (n % 2)
    if male is not None and (sequence % 2 == 1) != male:
        sequence ^= 1
    first17 = f"341522{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def id_to_15(number: str) -> str:
    """The old 15-digit form of an 18-digit ID of someone born in the 1900s."""
    assert number[6:8] == "19"
    return number[:6] + number[8:17]


def make_name(n: int) -> str:
    return (
        _SURNAMES[n % len(_SURNAMES)]
        + _GIVEN[n // len(_SURNAMES) % len(_GIVEN)]
        + (_GIVEN[n % 7] if n % 3 else "")
    )


def survey_row(n: int, **overrides) -> dict:
    """A valid survey row for person n, living alone (head = self)."""
    number = make_id(n)
    category, grade = 1 + n % 7, 1 + n % 4
    row = {
        "姓名": make_name(n),
        "公民身份号码": number,
        "残疾人证号": f"{number}{category}{grade}",
        "残疾类别": CATEGORY_NAMES[category],
        "残疾等级": GRADE_NAMES[grade],
        "乡镇（街道）": "城关镇",
        "村（社区）": "东关村",
        "户主姓名": make_name(n),
        "户主身份证号": number,
        "与户主关系": "户主",
        "家庭人口数": 1,
        "家庭年人均收入（元）": 12000 + n,
        "享受低保": "否",
        "特困供养": "否",
        "困难残疾人生活补贴": "否",
        "重度残疾人护理补贴": "是",
        "基本医疗保险": "是",
        "城乡居民养老保险": "是",
        "住房安全": "是",
        "饮水安全": "是",
        "就业状况": "未就业",
        "就业意愿": "无",
        "在校情况": "不适用",
        "康复需求": "康复训练",
        "已获康复服务": "是",
        "无障碍改造需求": "否",
        "托养照护需求": "否",
        "家庭医生签约": "是",
        "大额刚性支出（元）": 1000,
        "存活状态": "正常",
        "调查日期": "2026-03-05",
    }
    row.update(overrides)
    return row


def roster_row(n: int, household: str, **overrides) -> dict:
    """A valid roster member row for person n in household `household`."""
    row = {
        "户编号": household,
        "乡镇": "城关镇",
        "村": "东关村",
        "户主姓名": make_name(n),
        "成员姓名": make_name(n),
        "证件号码": make_id(n),
        "与户主关系": "户主",
        "户类型": "监测户",
        "监测对象类别": "边缘易致贫户",
        "风险类型": "因病、因残",
        "是否残疾": "否",
        "残疾类别": None,
        "残疾等级": None,
        "家庭人均纯收入（元）": "6,500",
        "识别监测时间": "202403",
        "风险是否消除": "否",
        "风险消除时间": None,
        "风险消除方式": None,
        "人员状态": "正常",
    }
    row.update(overrides)
    return row


def civil_row(n: int, benefit: str = "城乡低保", **overrides) -> dict:
    row = {
        "姓名": make_name(n),
        "身份证号": make_id(n),
        "乡镇": "城关镇",
        "村": "东关村",
        "项目": benefit,
        "月标准（元）": "560元",
        "起始年月": "202301",
        "状态": "在保",
    }
    row.update(overrides)
    return row


def table_rows(
    header: list[str],
    rows: list[dict],
    *,
    titles: list[str] = (),
    group_row: list | None = None,
    footer: list[list] = (),
    blank_rows_after: tuple[int, ...] = (),
) -> list[list]:
    """The sheet as lists of cells: titles, group row, header, rows, footer."""
    out: list[list] = [[title] + [None] * (len(header) - 1) for title in titles]
    if group_row is not None:
        out.append(list(group_row) + [None] * (len(header) - len(group_row)))
    out.append(list(header))
    for index, row in enumerate(rows):
        out.append([row.get(name) for name in header])
        if index in blank_rows_after:
            out.append([None] * len(header))
    out.extend(list(line) + [None] * (len(header) - len(line)) for line in footer)
    return out


def write_table(path, header: list[str], rows: list[dict], *, encoding="utf-8", **layout) -> Path:
    """Write the sheet in the format the suffix names (.xlsx, .xls or .csv)."""
    path = Path(path)
    cells = table_rows(header, rows, **layout)
    if path.suffix == ".xlsx":
        write_xlsx(path, cells, merge_titles=bool(layout.get("titles")))
    elif path.suffix == ".xls":
        write_xls(path, cells)
    elif path.suffix == ".csv":
        write_csv(path, cells, encoding=encoding)
    else:
        raise ValueError(path.suffix)
    return path


def write_xlsx(path, cells: list[list], *, merge_titles: bool = False, sheet_title="Sheet1"):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    width = max((len(row) for row in cells), default=1)
    for row in cells:
        sheet.append(row)
    if merge_titles:
        for index, row in enumerate(cells, start=1):
            if row and row[0] is not None and all(cell is None for cell in row[1:]):
                sheet.merge_cells(start_row=index, start_column=1, end_row=index, end_column=width)
            else:
                break
    workbook.save(path)
    return Path(path)


def write_xls(path, cells: list[list]):
    import xlwt  # test-only dependency (requirements-dev.txt)

    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("Sheet1")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(cells):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, date):
                sheet.write(r, c, value, date_style)
            else:
                sheet.write(r, c, value)
    workbook.save(str(path))
    return Path(path)


def write_csv(path, cells: list[list], *, encoding="utf-8", delimiter=","):
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        for row in cells:
            writer.writerow(["" if value is None else value for value in row])
    return Path(path)
