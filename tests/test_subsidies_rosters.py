"""Finance rosters (.xlsx): pension-contribution roster and monthly payment rosters,
their layout, totals, formula-injection guard, access and the two commands."""

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from cases.casework_base import NotPermitted
from monitoring.rosters import RosterError, write_payment_roster, write_pension_roster
from subsidies.models import BenefitRecord, PolicyYear

from . import factories

pytestmark = pytest.mark.django_db
MADE_ON = date(2026, 7, 2)


def certified(age_on_jan1=40, grade=1, township="城关镇", **kwargs):
    birth = date(2026 - age_on_jan1, 6, 1)
    return factories.certified_person(grade=grade, birth=birth, township=township, **kwargs)


def read(buffer):
    buffer.seek(0)
    sheet = load_workbook(buffer).active
    return sheet, [list(row) for row in sheet.iter_rows(values_only=True)]


def test_pension_roster_layout_and_selection(admin_user):
    insured = certified(pension_insured=True, name='=HYPERLINK("http://x")')
    certified(age_on_jan1=17, grade=2, pension_insured=True)  # 16 on 1 Jan → in
    certified(age_on_jan1=61, pension_insured=True)  # too old
    certified(grade=3, pension_insured=True)  # not severe
    certified(pension_insured=False)  # not insured
    certified(pension_insured=True, survival_status="deceased")
    staff = certified(pension_insured=None)  # insured per a staff record
    factories.BenefitRecordFactory(person=staff.person, benefit_type="pension_insurance")

    buffer = BytesIO()
    result = write_pension_roster(buffer, 2026, user=admin_user, made_on=MADE_ON)
    assert (result.rows, result.total) == (3, Decimal("600.00"))
    sheet, rows = read(buffer)

    assert rows[0][0] == "霍邱县2026年度重度残疾人城乡居民养老保险代缴花名册"
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert "A1:K1" in merged
    assert rows[1][0] == "填报单位：霍邱县残疾人联合会（盖章）"
    assert rows[1][6] == "填报日期：2026年7月2日"
    assert rows[2][:6] == ["序号", "乡镇", "村（社区）", "姓名", "性别", "公民身份号码"]
    assert rows[2][9] == "代缴金额（元/年，200元档）"

    data = rows[3:6]
    assert [r[0] for r in data] == [1, 2, 3]
    ids = {r[5] for r in data}
    assert insured.person.id_number in ids  # full ID numbers on finance rosters
    by_id = {r[5]: r for r in data}
    row = by_id[insured.person.id_number]
    assert row[3] == '\'=HYPERLINK("http://x")'  # formula neutralised
    assert sheet.cell(row=3 + data.index(row) + 1, column=6).data_type == "s"
    assert (row[7], row[8], row[9]) == ("肢体", "一级", 200)

    total = rows[6]
    assert total[0] == "合计（共3人）" and total[9] == 600
    assert rows[8][0] == "制表人：" and rows[8][4] == "审核人：" and rows[8][8] == "负责人："


def test_pension_tier_comes_from_the_year(admin_user):
    certified(pension_insured=True)
    PolicyYear.objects.filter(year=2027).update(pension_contribution_tier=300)
    buffer = BytesIO()
    result = write_pension_roster(buffer, 2027, user=admin_user, made_on=MADE_ON)
    assert result.total == Decimal("300")


def test_payment_roster_month_amounts_and_township(admin_user):
    march = date(2026, 3, 1)
    covered = certified()
    factories.BenefitRecordFactory(
        person=covered.person,
        benefit_type="care_subsidy",
        monthly_amount=Decimal("95"),
        start_month=date(2025, 1, 1),
    )
    by_standard = certified()
    factories.BenefitRecordFactory(
        person=by_standard.person, benefit_type="care_subsidy", start_month=date(2026, 3, 1)
    )
    later = certified()
    factories.BenefitRecordFactory(
        person=later.person, benefit_type="care_subsidy", start_month=date(2026, 4, 1)
    )
    ended = certified()
    factories.BenefitRecordFactory(
        person=ended.person,
        benefit_type="care_subsidy",
        start_month=date(2025, 1, 1),
        end_month=date(2026, 2, 1),
    )
    stopped = certified()
    factories.BenefitRecordFactory(
        person=stopped.person, benefit_type="care_subsidy", status=BenefitRecord.Status.STOPPED
    )
    dead = certified(survival_status="deceased")
    factories.BenefitRecordFactory(
        person=dead.person, benefit_type="care_subsidy", monthly_amount=Decimal("95")
    )
    hekou = certified(township="河口镇")
    factories.BenefitRecordFactory(
        person=hekou.person, benefit_type="care_subsidy", monthly_amount=Decimal("95")
    )

    with pytest.raises(RosterError, match="有1人的重度残疾人护理补贴记录没有月标准"):
        write_payment_roster(BytesIO(), "care_subsidy", march, user=admin_user)
    PolicyYear.objects.filter(year=2026).update(care_subsidy_monthly=Decimal("80"))

    buffer = BytesIO()
    result = write_payment_roster(
        buffer,
        "care_subsidy",
        march,
        township=factories.township("城关镇"),
        user=admin_user,
        made_on=MADE_ON,
    )
    assert (result.rows, result.total) == (3, Decimal("270.00"))
    _, rows = read(buffer)
    assert rows[0][0] == "霍邱县城关镇2026年3月重度残疾人护理补贴发放花名册"
    data = {r[5]: r for r in rows[3:6]}
    assert set(data) == {
        covered.person.id_number,
        by_standard.person.id_number,
        dead.person.id_number,
    }
    assert data[by_standard.person.id_number][9] == 80
    assert data[dead.person.id_number][10] == "数据显示已死亡，请核实后再发放"
    assert rows[6][0] == "合计（共3人）" and rows[6][9] == 270

    county = write_payment_roster(BytesIO(), "care_subsidy", march, user=admin_user)
    assert county.rows == 4


def test_payment_roster_civil_precedence_and_one_row_per_person(admin_user):
    both = certified()
    for origin in (BenefitRecord.Origin.CIVIL, BenefitRecord.Origin.MANUAL):
        factories.BenefitRecordFactory(
            person=both.person,
            benefit_type="dibao",
            origin=origin,
            monthly_amount=Decimal("500"),
            township=both.person.township,
        )
    manual_only = certified()
    factories.BenefitRecordFactory(
        person=manual_only.person, benefit_type="dibao", monthly_amount=Decimal("500")
    )
    result = write_payment_roster(BytesIO(), "dibao", date(2026, 6, 1), user=admin_user)
    # The civil roster decides in its township: the staff-only record there is not paid.
    assert (result.rows, result.total) == (1, Decimal("500.00"))
    # In a township without a civil roster a staff-recorded 在保 record is paid.
    elsewhere = certified(township="河口镇")
    factories.BenefitRecordFactory(
        person=elsewhere.person, benefit_type="dibao", monthly_amount=Decimal("500")
    )
    result = write_payment_roster(BytesIO(), "dibao", date(2026, 6, 1), user=admin_user)
    assert (result.rows, result.total) == (2, Decimal("1000.00"))


def test_finance_rosters_go_to_county_users_and_township_staff_for_their_township(
    chengguan_user, viewer_user, village_user
):
    chengguan, hekou = factories.township("城关镇"), factories.township("河口镇")
    write_pension_roster(BytesIO(), 2026, user=viewer_user)
    write_pension_roster(BytesIO(), 2026, township=chengguan, user=chengguan_user)
    for township in (None, hekou):
        with pytest.raises(NotPermitted, match="本乡镇"):
            write_pension_roster(BytesIO(), 2026, township=township, user=chengguan_user)
        with pytest.raises(NotPermitted, match="本乡镇"):
            write_payment_roster(
                BytesIO(), "dibao", date(2026, 6, 1), township=township, user=chengguan_user
            )
    with pytest.raises(NotPermitted, match="县级用户"):
        write_pension_roster(BytesIO(), 2026, township=chengguan, user=village_user)


def test_commands_write_the_files(tmp_path):
    certified(pension_insured=True)
    record = certified()
    factories.BenefitRecordFactory(
        person=record.person, benefit_type="living_subsidy", monthly_amount=Decimal("70")
    )
    pension = tmp_path / "pension.xlsx"
    call_command("pension_roster", "--year", "2026", "--output", str(pension))
    assert load_workbook(pension).active["A1"].value.endswith("代缴花名册")

    payment = tmp_path / "payment.xlsx"
    call_command(
        "payment_roster",
        "--benefit",
        "困难残疾人生活补贴",
        "--month",
        "2026-05",
        "--township",
        "城关",
        "--output",
        str(payment),
    )
    sheet = load_workbook(payment).active
    assert sheet["A1"].value == "霍邱县城关镇2026年5月困难残疾人生活补贴发放花名册"
    assert sheet["F4"].value == record.person.id_number


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--benefit", "dibao", "--month", "2026/13"], "月份应写成YYYY-MM"),
        (["--benefit", "candy", "--month", "2026-05"], "未知的项目"),
        (["--benefit", "dibao", "--month", "2026-05", "--township", "火星镇"], "未知的乡镇"),
        (["--benefit", "medical_insurance", "--month", "2026-05"], "只能为以下项目生成发放花名册"),
    ],
)
def test_payment_command_refuses_bad_input(tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("payment_roster", *args, "--output", str(tmp_path / "x.xlsx"))
    assert not (tmp_path / "x.xlsx").exists()


def test_pension_command_without_policy_year(tmp_path):
    with pytest.raises(CommandError, match="2040年度政策参数未设置"):
        call_command("pension_roster", "--year", "2040", "--output", str(tmp_path / "p.xlsx"))


def test_payment_roster_follows_the_township_the_civil_roster_lists(admin_user):
    moved = certified(township="城关镇")
    factories.BenefitRecordFactory(
        person=moved.person,
        benefit_type="tekun",
        origin=BenefitRecord.Origin.CIVIL,
        monthly_amount=Decimal("600"),
        township=factories.township("河口镇"),
    )
    hekou = BytesIO()
    result = write_payment_roster(
        hekou, "tekun", date(2026, 6, 1), township=factories.township("河口镇"), user=admin_user
    )
    assert result.rows == 1
    _, rows = read(hekou)
    assert (rows[3][1], rows[3][5]) == ("河口镇", moved.person.id_number)
    chengguan = write_payment_roster(
        BytesIO(), "tekun", date(2026, 6, 1), township=factories.township("城关镇"), user=admin_user
    )
    assert chengguan.rows == 0
