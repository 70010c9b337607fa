"""Import limits (monitoring/importing/readers.py ReadLimits, docs/IMPORTS.md "Limits"):
hostile files are refused from what they declare, before calamine allocates for them."""

import re
import runpy
import time
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook

from monitoring.importing import readers
from monitoring.importing.readers import ReadError, open_table
from monitoring.models import ImportBatch
from monitoring.services import import_survey_file

from .import_files import SURVEY_HEADER, survey_row, write_csv, write_table, write_xls


@pytest.fixture
def no_calamine(monkeypatch):
    """A refused file must never reach calamine: it would allocate before we could stop it."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("calamine was called on a file that should have been refused")

    monkeypatch.setattr(readers.CalamineWorkbook, "from_path", refuse)


def far_cell_xlsx(path, cell="XFD1048576"):
    """A few KB: a header in A1 and one value at the far corner."""
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"] = "姓名"
    sheet[cell] = "x"
    workbook.save(path)
    return path


def rewrite_member(path, name, change):
    """Copy the zip with one member's text changed (the rest byte for byte)."""
    out = path.with_name("re-" + path.name)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dest:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == name:
                data = change(data.decode()).encode()
            dest.writestr(info, data, zipfile.ZIP_DEFLATED)
    return out


def test_far_corner_cell_is_refused_from_the_declared_range(tmp_path, no_calamine):
    path = far_cell_xlsx(tmp_path / "corner.xlsx")
    assert path.stat().st_size < 20_000
    started = time.monotonic()
    with pytest.raises(ReadError) as refused:
        open_table(path)
    assert time.monotonic() - started < 2
    message = str(refused.value)
    assert "1,048,576行×16,384列" in message
    assert "超过系统上限（300,000行×200列）" in message
    assert "按乡镇拆分" in message


def test_far_cell_is_found_even_when_the_declared_range_lies(tmp_path, no_calamine):
    # AF1048576: 32 columns, far below the column limit; only the rows are too many.
    path = far_cell_xlsx(tmp_path / "lying.xlsx", cell="AF1048576")
    lying = rewrite_member(
        path,
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:B2"', xml),
    )
    with zipfile.ZipFile(lying) as archive:
        assert '<dimension ref="A1:B2"' in archive.read("xl/worksheets/sheet1.xml").decode()
    with pytest.raises(ReadError, match="1,048,576行×32列"):
        open_table(lying)


def test_cells_without_positions_are_counted(tmp_path, settings, no_calamine):
    settings.IMPORT_MAX_COLUMNS = 5
    path = far_cell_xlsx(tmp_path / "plain.xlsx", cell="B2")
    implicit = "".join("<c><v>1</v></c>" for _ in range(10))
    wide = rewrite_member(
        path,
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace("</sheetData>", f'<row r="3">{implicit}</row></sheetData>'),
    )
    with pytest.raises(ReadError, match="×10列"):
        open_table(wide)


def test_zip_bomb_of_whitespace_is_refused_by_its_ratio_without_inflating(
    tmp_path, settings, no_calamine
):
    path = far_cell_xlsx(tmp_path / "base.xlsx", cell="B2")
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dest:
        for info in source.infolist():
            dest.writestr(info, source.read(info), zipfile.ZIP_DEFLATED)
        with dest.open("xl/sharedStrings2.xml", "w") as padding:
            block = b" " * (1 << 20)
            for _ in range(50):  # 50 MB of spaces, written a MB at a time
                padding.write(block)
    assert bomb.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(ReadError) as refused:
            open_table(bomb)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024
    assert "压缩比异常" in str(refused.value)
    assert "上限100:1" in str(refused.value)

    settings.IMPORT_MAX_UNPACKED_BYTES = 10 * 1024 * 1024
    with pytest.raises(ReadError, match=r"解压后约50 MB，超过系统上限（10 MB）"):
        open_table(bomb)


def test_member_larger_than_it_declares_is_refused(tmp_path, settings, no_calamine):
    # A member whose header claims a small size but inflates to more: zipfile stops at
    # the declared size and the CRC no longer matches.
    path = far_cell_xlsx(tmp_path / "base.xlsx", cell="B2")
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    declared = info.file_size.to_bytes(4, "little")
    smaller = (info.file_size // 2).to_bytes(4, "little")
    assert data.count(declared) >= 1
    forged = tmp_path / "forged.xlsx"
    forged.write_bytes(data.replace(declared, smaller))
    with pytest.raises(ReadError, match="文件可能已损坏"):
        open_table(forged)


def test_xls_beyond_the_limit_is_refused(tmp_path, settings):
    settings.IMPORT_MAX_COLUMNS = 2
    path = write_xls(tmp_path / "wide.xls", [["姓名", "公民身份号码", "调查日期"], ["a", "b", "c"]])
    with pytest.raises(ReadError, match=r"2行×3列，超过系统上限（300,000行×2列）"):
        open_table(path)


def test_csv_stops_at_the_row_limit_and_ignores_trailing_blank_lines(tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 3
    fits = write_csv(tmp_path / "fits.csv", [["姓名", "号码"], ["a", "1"], ["b", "2"]])
    (tmp_path / "fits.csv").write_bytes(fits.read_bytes() + b"\r\n,\r\n\r\n,,\r\n")
    assert len(list(open_table(fits).sheets[0].rows())) >= 3

    long = write_csv(tmp_path / "long.csv", [["姓名", "号码"]] + [["a", str(n)] for n in range(10)])
    rows = open_table(long).sheets[0].rows()
    with pytest.raises(ReadError, match=r"CSV文件超过系统上限（3行×200列）"):
        for _ in rows:
            pass


def test_csv_of_one_endless_line_is_refused(tmp_path, settings):
    settings.IMPORT_MAX_COLUMNS = 2
    path = tmp_path / "line.csv"
    path.write_text("姓名," + "," * 20_000 + "\n", encoding="utf-8")
    with pytest.raises(ReadError, match="CSV文件超过系统上限"):
        list(open_table(path).sheets[0].rows())


@pytest.mark.django_db
def test_refused_file_ends_the_batch_with_the_reason(tmp_path, settings, no_calamine):
    settings.MEDIA_ROOT = tmp_path / "media"
    batch = import_survey_file(far_cell_xlsx(tmp_path / "corner.xlsx"))
    assert batch.status == ImportBatch.Status.REJECTED
    assert batch.finished_at is not None
    assert "超过系统上限（300,000行×200列）" in batch.message
    assert "服务器" not in batch.message
    assert batch.created == batch.updated == 0


@pytest.mark.django_db
def test_normal_file_within_lowered_limits_still_imports(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IMPORT_MAX_ROWS = 50
    settings.IMPORT_MAX_COLUMNS = len(SURVEY_HEADER) + 2
    path = write_table(tmp_path / "survey.xlsx", SURVEY_HEADER, [survey_row(n) for n in range(5)])
    batch = import_survey_file(path)
    assert batch.status == ImportBatch.Status.DONE, batch.message
    assert batch.created == 5


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_bad_limit_in_the_environment_fails_loudly(monkeypatch):
    from huoqiu.env import ImproperEnv

    monkeypatch.setenv("IMPORT_MAX_ROWS", "三十万")
    with pytest.raises(ImproperEnv, match="IMPORT_MAX_ROWS"):
        runpy.run_module("huoqiu.settings", run_name="settings_probe")
    monkeypatch.setenv("IMPORT_MAX_ROWS", "1000")
    monkeypatch.setenv("IMPORT_MAX_ZIP_RATIO", "1")
    with pytest.raises(ImproperEnv, match="IMPORT_MAX_ZIP_RATIO=1 is below the minimum 2"):
        runpy.run_module("huoqiu.settings", run_name="settings_probe")
