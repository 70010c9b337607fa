"""The worksheet scan of readers.check_zip takes a fast path for windows without namespace
prefixes; a far cell or row written with a prefix (`<x:c>`, `<x:row>`) anywhere in a
large sheet must still be found before calamine allocates for it."""

import re
import zipfile

import pytest
from openpyxl import Workbook

from monitoring.importing import readers
from monitoring.importing.readers import ReadError, open_table


@pytest.fixture
def no_calamine(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("calamine was called on a file that should have been refused")

    monkeypatch.setattr(readers.CalamineWorkbook, "from_path", refuse)


def big_sheet(path, rows=6000):
    """A plain sheet of several inflated 64 KB windows (no prefixes anywhere)."""
    workbook = Workbook()
    sheet = workbook.active
    for n in range(1, rows + 1):
        sheet.append([f"名字{n}", n, "城关镇", "东关村", n * 3])
    workbook.save(path)
    return path


def rewrite_sheet(path, change):
    out = path.with_name("re-" + path.name)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dest:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = change(data.decode()).encode()
            dest.writestr(info, data, zipfile.ZIP_DEFLATED)
    return out


def honest_dimension(xml):
    return re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:E6000"', xml)


def test_plain_large_sheet_passes(tmp_path):
    path = big_sheet(tmp_path / "plain.xlsx")
    table = open_table(path)
    assert sum(1 for _ in table.sheets[0].rows()) == 6000


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ('<x:c r="A900000" t="inlineStr"><x:is><x:t>x</x:t></x:is></x:c>', "900,000行"),
        ('<x:c r="ZZ4000"><x:v>1</x:v></x:c>', "702列"),
    ],
)
def test_a_prefixed_far_cell_deep_in_the_sheet_is_found(tmp_path, no_calamine, tag, message):
    def change(xml):
        xml = honest_dimension(xml)
        xml = xml.replace(
            "<worksheet ",
            '<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ',
            1,
        )
        # inside row 4000, far past the first windows
        return xml.replace('<row r="4000">', '<row r="4000">' + tag, 1)

    path = rewrite_sheet(big_sheet(tmp_path / "p.xlsx"), change)
    with zipfile.ZipFile(path) as archive:
        assert tag in archive.read("xl/worksheets/sheet1.xml").decode()
    with pytest.raises(ReadError, match=message):
        open_table(path)


def test_a_prefixed_far_row_deep_in_the_sheet_is_found(tmp_path, no_calamine):
    def change(xml):
        xml = honest_dimension(xml)
        xml = xml.replace(
            "<worksheet ",
            '<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ',
            1,
        )
        return xml.replace(
            "</sheetData>",
            '<x:row r="950000"><x:c r="B950000"><x:v>1</x:v></x:c></x:row></sheetData>',
            1,
        )

    path = rewrite_sheet(big_sheet(tmp_path / "r.xlsx"), change)
    with pytest.raises(ReadError, match="950,000行"):
        open_table(path)
