"""`manage.py export_findings [--status open|all] [--format json|csv|xlsx] [--output PATH]`."""

import csv
import json
from datetime import date
from decimal import Decimal
from io import StringIO

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from monitoring.crosscheck import run_crosscheck
from monitoring.findings import finding_dismiss
from monitoring.models import Finding
from tests import factories as f

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


@pytest.fixture
def county():
    plain = f.certified_person(name="张三", income_per_capita=Decimal(3000))
    nasty = f.certified_person(name='=HYPERLINK("http://x")', income_per_capita=Decimal(3000))
    other = f.certified_person(
        name="@李四", township="河口镇", village_name="-王庄村", income_per_capita=Decimal(3500)
    )
    run_crosscheck(AS_OF)
    return plain, nasty, other


def export(*args) -> str:
    out = StringIO()
    call_command("export_findings", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_json_lists_open_findings_with_full_id_numbers_in_the_spec_shape(county):
    plain, _, other = county
    rows = json.loads(export("--format", "json"))
    assert len(rows) == 3
    for row in rows:
        assert set(row) == {"rule", "id_number", "name", "township", "village", "status", "reason"}
    by_id = {row["id_number"]: row for row in rows}
    assert by_id[plain.person.id_number] == {
        "rule": "M01",
        "id_number": plain.person.id_number,
        "name": "张三",
        "township": "城关镇",
        "village": "东关村",
        "status": "open",
        "reason": "调查家庭年人均收入3,000元，低于2026年监测线7,000元，且未纳入防返贫监测",
    }
    assert len(by_id[other.person.id_number]["id_number"]) == 18  # never masked


def test_status_open_leaves_out_decided_findings_and_all_includes_them(county, hekou_user):
    _, _, other = county
    finding_dismiss(Finding.objects.get(person=other.person), hekou_user, "已核实收入")
    assert len(json.loads(export())) == 2
    rows = json.loads(export("--status", "all"))
    assert len(rows) == 3
    assert {row["status"] for row in rows} == {"open", "dismissed"}


def test_csv_neutralises_formula_cells_and_keeps_ids(county, tmp_path):
    plain, nasty, _other = county
    path = tmp_path / "findings.csv"
    call_command("export_findings", "--format", "csv", "--output", str(path), stderr=StringIO())
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0][:4] == ["规则编号", "规则名称", "公民身份号码", "姓名"]
    cells = [cell for row in rows[1:] for cell in row]
    assert '\'=HYPERLINK("http://x")' in cells
    assert "'@李四" in cells and "'-王庄村" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert plain.person.id_number in cells and nasty.person.id_number in cells


def test_csv_to_stdout(county):
    text = export("--format", "csv")
    assert text.splitlines()[0].startswith("规则编号,规则名称,公民身份号码")
    assert len(text.splitlines()) == 4


def test_xlsx_neutralises_formula_cells_and_stores_ids_as_text(county, tmp_path):
    plain, _, _ = county
    path = tmp_path / "findings.xlsx"
    call_command("export_findings", "--format", "xlsx", "--output", str(path), stderr=StringIO())
    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][2] == "公民身份号码"
    values = [value for row in rows[1:] for value in row if value is not None]
    assert '\'=HYPERLINK("http://x")' in values and "'@李四" in values
    assert not [v for v in values if isinstance(v, str) and v[:1] in ("=", "+", "-", "@")]
    assert plain.person.id_number in values
    assert all(isinstance(row[2], str) and len(row[2]) == 18 for row in rows[1:])
    for row in sheet.iter_rows(min_row=2):
        assert row[2].data_type == "s"


def test_xlsx_needs_an_output_path():
    with pytest.raises(CommandError, match="--output"):
        call_command("export_findings", "--format", "xlsx")


def test_unwritable_output_is_a_clear_error(county, tmp_path):
    with pytest.raises(CommandError, match="无法写入文件"):
        call_command("export_findings", "--output", str(tmp_path / "missing" / "x.json"))
