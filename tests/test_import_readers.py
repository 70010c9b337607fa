"""Readers (monitoring/importing/readers.py): xlsx, xls, csv in UTF-8/UTF-8-BOM/GBK, streamed."""

from datetime import date

import pytest
from openpyxl import Workbook

from monitoring.importing.readers import ReadError, detect_encoding, open_table

from .import_files import write_csv, write_xls, write_xlsx

CELLS = [
    ["霍邱县持证残疾人基本状况调查数据", None, None],
    ["姓名", "公民身份号码", "调查日期"],
    ["张三", "341522199001011234", date(2022, 3, 5)],
    ["李四", "34152219900101123X", None],
]


def read_all(path):
    table = open_table(path)
    return table, list(table.sheets[0].rows())


def test_xlsx_rows_keep_spreadsheet_row_numbers_and_types(tmp_path):
    table, rows = read_all(write_xlsx(tmp_path / "a.xlsx", CELLS))
    assert table.kind == "xlsx"
    assert [number for number, _ in rows] == [1, 2, 3, 4]
    assert rows[1][1][:2] == ["姓名", "公民身份号码"]
    assert rows[2][1][2] == date(2022, 3, 5)


def test_xlsx_with_leading_blank_rows_counts_them(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet["B3"] = "姓名"
    sheet["B5"] = "张三"
    workbook.save(tmp_path / "b.xlsx")
    table, rows = read_all(tmp_path / "b.xlsx")
    numbers = dict(rows)
    assert numbers[3][0] == "姓名"
    assert numbers[5][0] == "张三"
    assert table.sheets[0].first_column == 1


def test_xls_via_calamine(tmp_path):
    table, rows = read_all(write_xls(tmp_path / "a.xls", CELLS))
    assert table.kind == "xls"
    assert rows[2][1][1] == "341522199001011234"
    assert rows[2][1][2] == date(2022, 3, 5)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_detected(tmp_path, encoding):
    table, rows = read_all(write_csv(tmp_path / "a.csv", CELLS, encoding=encoding))
    assert table.kind == "csv"
    assert rows[1][1] == ["姓名", "公民身份号码", "调查日期"]
    assert rows[0][1][0] == "霍邱县持证残疾人基本状况调查数据"
    if encoding in ("gbk", "gb18030"):
        assert table.encoding == "gb18030"


def test_csv_tab_delimited(tmp_path):
    _, rows = read_all(write_csv(tmp_path / "a.csv", CELLS, delimiter="\t"))
    assert rows[1][1] == ["姓名", "公民身份号码", "调查日期"]


def test_kind_comes_from_content_not_name(tmp_path):
    path = write_xlsx(tmp_path / "renamed.csv", CELLS)
    table, _ = read_all(path)
    assert table.kind == "xlsx"


def test_empty_file_refused(tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    with pytest.raises(ReadError, match="文件是空的"):
        open_table(path)


def test_corrupt_excel_refused(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04this is not a zip file at all")
    with pytest.raises(ReadError, match="无法读取该Excel文件"):
        open_table(path)


def test_binary_garbage_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\x00\x01\x02binary\x00")
    with pytest.raises(ReadError, match="不是Excel或CSV"):
        open_table(path)


def test_undecodable_csv_refused():
    with pytest.raises(ReadError, match="编码"):
        detect_encoding(b"abc,\x80\x80,\xff\xff" * 10)


def test_gbk_sample_detected_as_gb18030():
    assert detect_encoding("姓名,身份证号".encode("gbk")) == "gb18030"
    assert detect_encoding("姓名,身份证号".encode()) == "utf-8"
