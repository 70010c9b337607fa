"""Generate a county-scale survey file and poverty-monitoring roster (.xlsx) for benchmarks.

    python bench/generate_files.py OUT_DIR [--persons 60000] [--members 150000] [--seed 7]

Plain Python (no Django), deterministic for a seed, streamed with openpyxl's
write-only mode. Every row is valid; a few per cent carry the messy spellings real
exports have (docs/IMPORTS.md), so the benchmark exercises the normalisers:

- survey: a merged title row and a blank row above the header, aliases for some
  headers (身份证号, 乡镇), a 合计 and a 填表人 footer; IDs with a lower-case x, a
  leading apostrophe, spaces or full-width digits, some as 15-digit old IDs;
  townships without 镇/乡; grades as 一级/1级/1, categories with or without 残疾;
  yes/no as 是/否, 有/无, √/×, 1/0 and blanks (unknown); incomes as numbers, as text
  with thousands separators and 元, or with full-width digits; dates as Excel dates
  and as 2022-03-05, 2022/3/5, 2022.3.5, 2022年3月5日, 20220305.
- roster: a title row; 识别监测时间 as months (202203) or dates; 风险类型 lists with
  、，；; members of about 40 % of the survey's households are on the roster (same
  IDs, names and townships), the rest are other members.

The survey has `persons` certified persons in households (some households hold two
certified persons, some heads are not certified); the roster has `members` members
in households of one to six.
"""

import argparse
import random
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the project's packages are one level up
    sys.path.insert(0, str(ROOT))

from monitoring import survey  # noqa: E402 - plain Python, no Django setup needed

TOWNSHIPS = [
    "城关镇",
    "河口镇",
    "周集镇",
    "临水镇",
    "新店镇",
    "石店镇",
    "马店镇",
    "孟集镇",
    "花园镇",
    "扈胡镇",
    "长集镇",
    "乌龙镇",
    "高塘镇",
    "龙潭镇",
    "岔路镇",
    "冯井镇",
    "众兴集镇",
    "夏店镇",
    "曹庙镇",
    "范桥镇",
    "潘集镇",
    "冯瓴镇",
    "临淮岗镇",
    "彭塔乡",
    "王截流乡",
    "城西湖乡",
    "宋店乡",
    "三流乡",
    "邵岗乡",
    "白莲乡",
    "霍邱经济开发区",
]
VILLAGE_WORDS = "东西南北新老大小高低前后上中下"
VILLAGE_ROOTS = "关湖岗集店桥庄圩塘岭河楼郢寨湾"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉春国建文志红金凤梅云兵"
CATEGORIES = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
GRADES = ("一级", "二级", "三级", "四级")
EMPLOYMENT = (
    "农村种养加",
    "未就业",
    "无劳动能力",
    "灵活就业",
    "个体就业",
    "公益性岗位",
    "按比例就业",
)
NEEDS = ("康复训练", "辅助器具", "药物", "手术", "护理")
RISKS = ("因病", "因残", "因学", "因灾", "因意外事故", "缺劳动力", "因务工就业不稳")
RELATIONS = ("配偶", "之子", "之女", "之父", "之母", "孙子", "孙女", "儿媳")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

# Real exports spell some headers by an alias and frame the sheet with a serial number and
# a remarks column, which the importer must take in its stride.
SPELLED_AS = {"id_number": "身份证号", "township": "乡镇"}
SURVEY_HEADER = [
    "序号",
    *(SPELLED_AS.get(column.key, column.header) for column in survey.SURVEY_COLUMNS),
    "备注",  # extra column, ignored
]
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

_WEIGHTS = (7, 9, 10, 5, 8, 4, 3, 6, 2, 1, 0, 0, 0, 0, 0, 0, 0)


def check_character(first17: str) -> str:
    total = sum(int(digit) * (2 ** (17 - index) % 11) for index, digit in enumerate(first17))
    return "10X98765432"[total % 11]


def make_id(n: int) -> str:
    """A valid ID, distinct for every n < 15,000,000; births 1925–2007."""
    birth = date(1925, 1, 1) + timedelta(days=n % 30000)
    sequence = (n // 30000) * 2 % 1000 + n % 2
    first17 = f"341522{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def make_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


class County:
    def __init__(self, rng: random.Random):
        self.villages = {
            township: sorted(
                {
                    rng.choice(VILLAGE_WORDS) + rng.choice(VILLAGE_ROOTS) + "村"
                    for _ in range(rng.randint(8, 18))
                }
            )
            for township in TOWNSHIPS
        }

    def place(self, rng: random.Random) -> tuple[str, str]:
        township = rng.choice(TOWNSHIPS)
        return township, rng.choice(self.villages[township])


# --- messy spellings ------------------------------------------------------------------------------


def messy_id(number: str, rng: random.Random):
    roll = rng.random()
    if roll < 0.01 and number[6:8] == "19":
        return number[:6] + number[8:17]  # the old 15-digit form
    if roll < 0.02:
        return number.translate(FULL_WIDTH)
    if roll < 0.03:
        return "'" + number
    if roll < 0.04:
        return f" {number[:6]} {number[6:14]} {number[14:]} "
    if number.endswith("X") and roll < 0.5:
        return number[:-1] + "x"
    return number


def messy_township(name: str, rng: random.Random) -> str:
    if name.endswith(("镇", "乡")) and rng.random() < 0.05:
        return name[:-1]
    return name


def messy_yes_no(value: bool | None, rng: random.Random):
    if value is None:
        return None
    roll = rng.random()
    if roll < 0.85:
        return "是" if value else "否"
    if roll < 0.9:
        return "有" if value else "无"
    if roll < 0.95:
        return "√" if value else "×"
    return 1 if value else 0


def messy_money(amount: int, rng: random.Random):
    roll = rng.random()
    if roll < 0.8:
        return amount
    if roll < 0.9:
        return f"{amount:,}元"
    if roll < 0.95:
        return str(amount).translate(FULL_WIDTH)
    return f"{amount}.00"


def messy_date(day: date, rng: random.Random):
    roll = rng.random()
    if roll < 0.5:
        return datetime(day.year, day.month, day.day)
    if roll < 0.7:
        return day.isoformat()
    if roll < 0.8:
        return f"{day.year}/{day.month}/{day.day}"
    if roll < 0.85:
        return f"{day.year}.{day.month}.{day.day}"
    if roll < 0.95:
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day:%Y%m%d}"


def messy_grade(grade: int, rng: random.Random):
    roll = rng.random()
    if roll < 0.8:
        return GRADES[grade - 1]
    if roll < 0.9:
        return f"{grade}级"
    return grade


def messy_category(category: int, rng: random.Random) -> str:
    name = CATEGORIES[category - 1]
    return name + "残疾" if rng.random() < 0.3 else name


def maybe(value, rng: random.Random, blank: float = 0.05):
    return None if rng.random() < blank else value


# --- the survey -----------------------------------------------------------------------------------


def survey_households(persons: int, rng: random.Random, county: County) -> list[dict]:
    """Households of the survey: head (ID, name, certified?), place, certified members."""
    households = []
    person = 0
    outside = 1_000_000  # IDs of heads who are not certified
    while person < persons:
        township, village = county.place(rng)
        size = rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5, 6))
        certified = min(persons - person, 2 if size >= 3 and rng.random() < 0.12 else 1)
        members = [make_id(person + offset) for offset in range(certified)]
        person += certified
        if rng.random() < 0.6:
            head_id, head_certified = members[0], True
        else:
            head_id, head_certified = make_id(outside), False
            outside += 1
        households.append(
            {
                "head_id": head_id,
                "head_name": make_name(rng),
                "head_certified": head_certified,
                "township": township,
                "village": village,
                "size": size,
                "certified": members,
                "names": {},
            }
        )
    return households


def survey_rows(households: list[dict], rng: random.Random):
    serial = 0
    for household in households:
        income = rng.choice((3200, 5400, 6800, 7600, 9800, 12500, 18000, 26000))
        income += rng.randint(0, 999)
        for number in household["certified"]:
            serial += 1
            is_head = number == household["head_id"]
            name = household["head_name"] if is_head else make_name(rng)
            household["names"][number] = name
            category, grade = rng.randint(1, 7), rng.choice((1, 2, 2, 3, 3, 4, 4, 4))
            certificate = f"{number}{category}{grade}" + ("B1" if rng.random() < 0.02 else "")
            birth_year = int(number[6:10])
            school_age = 2026 - birth_year < 16
            values = {
                "name": name,
                "id_number": messy_id(number, rng),
                "cert_number": certificate,
                "category": messy_category(category, rng),
                "grade": messy_grade(grade, rng),
                "township": messy_township(household["township"], rng),
                "village": household["village"],
                "head_name": household["head_name"],
                "head_id": household["head_id"],
                "relation": "户主" if is_head else rng.choice(RELATIONS),
                "household_size": household["size"]
                if rng.random() < 0.95
                else str(household["size"]),
                "income": maybe(messy_money(income, rng), rng),
                "dibao": messy_yes_no(maybe(rng.random() < 0.2, rng), rng),
                "tekun": messy_yes_no(maybe(rng.random() < 0.03, rng), rng),
                "living_subsidy": messy_yes_no(maybe(rng.random() < 0.2, rng), rng),
                "care_subsidy": messy_yes_no(maybe(grade <= 2 and rng.random() < 0.9, rng), rng),
                "medical_insured": messy_yes_no(maybe(rng.random() < 0.97, rng), rng),
                "pension_insured": messy_yes_no(maybe(rng.random() < 0.85, rng), rng),
                "housing_safe": messy_yes_no(maybe(rng.random() < 0.97, rng), rng),
                "water_safe": messy_yes_no(maybe(rng.random() < 0.98, rng), rng),
                "employment_status": rng.choice(EMPLOYMENT),
                "employment_willing": rng.choice(("有", "无", None)),
                "in_school": ("是" if rng.random() < 0.9 else "否") if school_age else "不适用",
                "rehab_needs": "、".join(rng.sample(NEEDS, rng.randint(0, 2))) or None,
                "rehab_received": messy_yes_no(maybe(rng.random() < 0.7, rng), rng),
                "accessibility_need": messy_yes_no(maybe(rng.random() < 0.1, rng), rng),
                "care_need": messy_yes_no(maybe(rng.random() < 0.05, rng), rng),
                "family_doctor": messy_yes_no(maybe(rng.random() < 0.8, rng), rng),
                "rigid_expenditure": maybe(
                    messy_money(rng.choice((0, 0, 0, 1500, 8000, 25000)), rng), rng, 0.3
                ),
                "survival_status": "死亡" if rng.random() < 0.005 else "正常",
                "surveyed_on": messy_date(
                    date(2026, 3, 1) + timedelta(days=rng.randint(0, 60)), rng
                ),
            }
            yield [serial, *(values[column.key] for column in survey.SURVEY_COLUMNS), None]


# --- the roster -----------------------------------------------------------------------------------


def roster_rows(
    households: list[dict], members: int, rng: random.Random, county: County, share=0.4
):
    """Roster members: first the survey households picked for the roster, then others."""
    written = 0
    number = 0
    outside = 2_000_000

    def household_values():
        kind = rng.choices(("脱贫户", "监测户"), (65, 35))[0]
        category = rng.choice(("脱贫不稳定户", "边缘易致贫户", "突发严重困难户"))
        cleared = rng.random() < 0.4 if kind == "监测户" else None
        identified = date(2021, 1, 1) + timedelta(days=rng.randint(0, 1800))
        return {
            "kind": kind,
            "category": category if kind == "监测户" else None,
            "risks": "、".join(rng.sample(RISKS, rng.randint(1, 2))) if kind == "监测户" else None,
            "income": messy_money(rng.randint(4000, 16000), rng),
            "identified": f"{identified:%Y%m}" if rng.random() < 0.5 else identified.isoformat(),
            "cleared": None if cleared is None else ("是" if cleared else "否"),
            "cleared_on": (identified + timedelta(days=rng.randint(100, 600))).isoformat()
            if cleared
            else None,
            "method": rng.choice(("帮扶消除", "自然消除", None)) if cleared else None,
        }

    def rows_of(household_number, township, village, head_name, people):
        values = household_values()
        for id_number, name, relation, disabled in people:
            yield [
                household_number,
                messy_township(township, rng),
                village,
                head_name,
                name,
                messy_id(id_number, rng),
                relation,
                values["kind"],
                values["category"],
                values["risks"],
                disabled,
                None,
                None,
                values["income"],
                values["identified"],
                values["cleared"],
                values["cleared_on"],
                values["method"],
                "正常",
            ]

    survey_share = [household for household in households if rng.random() < share]
    for household in survey_share:
        if written >= members:
            return
        number += 1
        people = [(household["head_id"], household["head_name"], "户主", None)]
        for id_number in household["certified"]:
            if id_number != household["head_id"]:
                people.append(
                    (id_number, household["names"][id_number], rng.choice(RELATIONS), "是")
                )
        while len(people) < household["size"]:
            people.append((make_id(outside), make_name(rng), rng.choice(RELATIONS), "否"))
            outside += 1
        people = people[: members - written]
        written += len(people)
        yield from rows_of(
            f"3415220{number:07d}",
            household["township"],
            household["village"],
            household["head_name"],
            people,
        )
    while written < members:
        number += 1
        township, village = county.place(rng)
        size = min(members - written, rng.choice((1, 2, 3, 3, 3, 4, 4, 5, 6)))
        head_name = make_name(rng)
        people = [(make_id(outside), head_name, "户主", "否")]
        outside += 1
        for _ in range(size - 1):
            people.append((make_id(outside), make_name(rng), rng.choice(RELATIONS), "否"))
            outside += 1
        written += size
        yield from rows_of(f"3415220{number:07d}", township, village, head_name, people)


# --- writing --------------------------------------------------------------------------------------


def _write(path: Path, title: str, header: list[str], rows, footer: bool) -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Sheet1")
    sheet.append([title])
    sheet.append([])
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append(row)
        count += 1
    if footer:
        sheet.append(["合计", f"{count}人"])
        sheet.append(["填表人：张伟", None, None, "审核人：李娜"])
    workbook.save(path)
    return count


def generate(
    out_dir, persons: int = 60000, members: int = 150000, seed: int = 7
) -> dict[str, Path]:
    """Write survey.xlsx and roster.xlsx into out_dir; returns their paths and row counts."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    county = County(rng)
    households = survey_households(persons, rng, county)
    survey = out_dir / "survey.xlsx"
    roster = out_dir / "roster.xlsx"
    survey_count = _write(
        survey,
        "霍邱县持证残疾人基本状况调查数据（2026年）",
        SURVEY_HEADER,
        survey_rows(households, rng),
        footer=True,
    )
    roster_count = _write(
        roster,
        "霍邱县防返贫监测对象名单",
        ROSTER_HEADER,
        roster_rows(households, members, rng, county),
        footer=False,
    )
    return {
        "survey": survey,
        "roster": roster,
        "survey_rows": survey_count,
        "roster_rows": roster_count,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--persons", type=int, default=60000)
    parser.add_argument("--members", type=int, default=150000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = generate(args.out_dir, args.persons, args.members, args.seed)
    print(f"{result['survey']}: {result['survey_rows']} rows")
    print(f"{result['roster']}: {result['roster_rows']} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
