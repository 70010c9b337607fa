"""`import_survey`, `import_roster`, `import_civil` commands (docs/IMPORTS.md): output and exit status."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from cases.models import Person
from monitoring.models import ImportBatch

from .import_files import (
    CIVIL_HEADER,
    ROSTER_HEADER,
    SURVEY_HEADER,
    civil_row,
    roster_row,
    survey_row,
    write_table,
)

pytestmark = pytest.mark.django_db
KEYS = ["batch", "source", "rows", "created", "updated", "unchanged", "skipped", "errors"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run(command, *args):
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command(command, *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue(), err.getvalue()


def test_json_summary_shape_and_success(tmp_path):
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1), survey_row(2)])
    code, out, err = run("import_survey", str(path), "--json")
    assert code == 0 and err == ""
    summary = json.loads(out)
    assert list(summary) == KEYS
    batch = ImportBatch.objects.get()
    assert summary == {
        "batch": batch.pk,
        "source": "survey",
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "errors": [],
    }
    code, out, _ = run("import_survey", str(path), "--json")
    assert code == 0
    assert json.loads(out) | {"batch": 0} == {
        "batch": 0,
        "source": "survey",
        "rows": 2,
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "skipped": 0,
        "errors": [],
    }


def test_rejected_import_exits_1_but_prints_the_summary(tmp_path):
    rows = [survey_row(1), survey_row(2, 公民身份号码="341522199001011235")]
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, rows, titles=["标题"])
    errors_out = tmp_path / "errors.xlsx"
    code, out, err = run("import_survey", str(path), "--json", "--errors-out", str(errors_out))
    assert code == 1
    summary = json.loads(out)
    assert (summary["created"], summary["skipped"]) == (0, 2)
    assert summary["errors"] == [
        {"row": 4, "column": "公民身份号码", "message": summary["errors"][0]["message"]}
    ]
    assert "校验位" in summary["errors"][0]["message"]
    assert err.count("\n") <= 1 and "导入被拒绝" in err and "import rejected" in err
    assert Person.objects.count() == 0
    sheet = load_workbook(errors_out).active
    assert sheet.cell(row=2, column=len(SURVEY_HEADER) + 1).value == "错误说明"
    assert "校验位" in sheet.cell(row=4, column=len(SURVEY_HEADER) + 1).value
    assert sheet.cell(row=4, column=2).fill.fill_type == "solid"


def test_skip_invalid_exits_0_and_reports_skipped_rows(tmp_path):
    rows = [survey_row(1), survey_row(2, 残疾类别="不知道")]
    path = write_table(tmp_path / "s.csv", SURVEY_HEADER, rows, encoding="gbk")
    code, out, _ = run("import_survey", str(path), "--skip-invalid", "--json")
    assert code == 0
    summary = json.loads(out)
    assert (summary["rows"], summary["created"], summary["skipped"]) == (2, 1, 1)
    assert summary["errors"][0]["column"] == "残疾类别"


def test_human_output(tmp_path):
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1, 残疾等级="九级")])
    code, out, err = run("import_survey", str(path))
    assert code == 1
    assert "第2行【残疾等级】" in out and "九级" in out
    assert "Import rejected" in err or "import rejected" in err


def test_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match=r"找不到文件.*File not found"):
        call_command("import_survey", str(tmp_path / "nope.xlsx"), stdout=StringIO())


def test_unreadable_file_exits_1(tmp_path):
    path = tmp_path / "broken.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 broken ole")
    code, out, err = run("import_roster", str(path), "--json")
    assert code == 1
    assert json.loads(out)["errors"][0]["row"] is None
    assert "无法读取" in err and "roster import rejected" in err


def test_import_roster_and_civil(tmp_path):
    roster = write_table(
        tmp_path / "r.xls",
        ROSTER_HEADER,
        [roster_row(1, "H1"), roster_row(2, "H1", 与户主关系="子")],
    )
    code, out, _ = run("import_roster", str(roster), "--json")
    assert code == 0 and json.loads(out)["source"] == "roster" and json.loads(out)["created"] == 2
    civil = write_table(tmp_path / "c.csv", CIVIL_HEADER, [civil_row(1), civil_row(2, "特困供养")])
    code, out, _ = run("import_civil", str(civil), "--json")
    assert code == 0 and json.loads(out)["source"] == "civil" and json.loads(out)["created"] == 2
