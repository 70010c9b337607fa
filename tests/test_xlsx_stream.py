"""The streamed .xlsx writer (cases/xlsx_stream.py) and the streamed, audited export responses."""

import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from cases import exports as exports_module
from cases.exports import persons_xlsx_response, safe_cell, write_xlsx, xlsx_response
from cases.models import AuditEvent, Person
from cases.xlsx_stream import CHUNK_BYTES, sheet_name, stream_xlsx

from .downloads import close_as_server, response_bytes

HEADERS = ["姓名", "身份证号", "数量", "金额", "日期", "时间", "是否", "备注"]
ROWS = [
    [
        "张三",
        "341522199001011237",
        42,
        Decimal("12.50"),
        date(2026, 3, 5),
        datetime(2026, 3, 5, 8, 30, 1),
        True,
        "=1+1",
    ],
    ["<李&四>", 341522199001011237, -5, 3.25, date(1900, 1, 1), None, False, "  两头空格  "],
    [
        "王\u202e五",
        None,
        0,
        Decimal("-1.5"),
        None,
        datetime(2026, 1, 2, tzinfo=UTC),
        None,
        "\x07响",
    ],
]


def book(content: bytes, *, read_only: bool = False):
    return load_workbook(io.BytesIO(content), read_only=read_only)


def values(content: bytes, *, read_only: bool = False) -> list[tuple]:
    return [
        tuple(row) for row in book(content, read_only=read_only).active.iter_rows(values_only=True)
    ]


def written(**options) -> bytes:
    buffer = io.BytesIO()
    assert write_xlsx(buffer, HEADERS, ROWS, **options) == len(ROWS)
    return buffer.getvalue()


@pytest.mark.parametrize("read_only", [False, True])
def test_values_read_back_as_openpyxl_wrote_them(read_only):
    rows = values(written(text_columns=[1]), read_only=read_only)
    assert rows[0] == tuple(HEADERS)
    assert rows[1] == (
        "张三",
        "341522199001011237",
        42,
        12.5,
        datetime(2026, 3, 5),  # a date with the date format: openpyxl gives a datetime
        datetime(2026, 3, 5, 8, 30, 1),
        True,
        "'=1+1",
    )
    # An ID number given as a number stays text in a text column; blanks are kept.
    assert rows[2] == (
        "<李&四>",
        "341522199001011237",
        -5,
        3.25,
        datetime(1900, 1, 1),
        None,
        False,
        "  两头空格  ",
    )
    # Control and bidi characters are marked (safe_cell); time zones dropped, as before.
    assert rows[3] == (
        safe_cell("王\u202e五"),
        None,
        0,
        -1.5,
        None,
        datetime(2026, 1, 2),
        None,
        safe_cell("\x07响"),
    )
    assert "\ufffd" in rows[3][0] and "\ufffd" in rows[3][7]


def test_a_second_reader_reads_the_same_cells():
    """python-calamine (the importer's reader, a Rust implementation) as a second opinion."""
    sheet = CalamineWorkbook.from_filelike(
        io.BytesIO(written(text_columns=[1]))
    ).get_sheet_by_index(0)
    rows = sheet.to_python()
    assert rows[0] == HEADERS
    assert rows[1][:5] == ["张三", "341522199001011237", 42, 12.5, date(2026, 3, 5)]
    assert rows[1][5:] == [datetime(2026, 3, 5, 8, 30, 1), True, "'=1+1"]
    assert rows[2][1] == "341522199001011237" and rows[2][7] == "  两头空格  "


def test_no_cell_is_a_formula_and_text_columns_are_text():
    sheet = book(written(text_columns=[1], widths=(10, 22))).active
    for row in sheet.iter_rows():
        assert all(cell.data_type != "f" for cell in row)
    assert sheet["H2"].value == "'=1+1" and sheet["H2"].data_type == "s"
    for ref in ("B2", "B3", "B4"):
        assert sheet[ref].number_format == "@", ref
    assert sheet["B3"].data_type == "s"
    assert sheet["E2"].number_format == "yyyy-mm-dd"
    assert sheet["F2"].number_format == "yyyy-mm-dd h:mm:ss"
    assert all(cell.font.b for cell in sheet[1])
    assert not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == 10
    assert sheet.column_dimensions["B"].width == 22


def test_sheet_title_is_one_excel_accepts():
    assert sheet_name("a/b[c]:d*e?f\\g") == "a_b_c__d_e_f_g"
    assert sheet_name("x" * 40) == "x" * 31 and sheet_name("") == "数据"
    assert book(written(sheet_title="审计/日志")).active.title == "审计_日志"


def test_write_xlsx_to_a_path(tmp_path):
    path = tmp_path / "out.xlsx"
    assert write_xlsx(path, ["a"], [[1], ["=x"]]) == 2
    assert values(path.read_bytes()) == [("a",), (1,), ("'=x",)]


def test_the_parts_of_the_package():
    names = zipfile.ZipFile(io.BytesIO(written())).namelist()
    assert names == [
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        "xl/worksheets/sheet1.xml",
    ]
    sheet = zipfile.ZipFile(io.BytesIO(written())).read("xl/worksheets/sheet1.xml").decode()
    assert 't="inlineStr"' in sheet and "sharedStrings" not in sheet


def test_first_bytes_go_out_before_any_row_is_read_and_rows_are_read_as_they_go():
    read = []

    def rows():
        for index in range(30_000):
            read.append(index)
            yield [f"人员{index}", f"34152219900101{index:04d}", index, date(2026, 1, 1)]

    chunks = stream_xlsx(["姓名", "号码", "序号", "日期"], rows(), convert=safe_cell)
    first = next(chunks)
    assert first[:2] == b"PK" and read == []
    second = next(chunks)
    assert 0 < len(read) < 30_000  # the sheet is sent while rows are still being read
    rest = list(chunks)
    # Memory stays flat: no chunk holds more than a few times the chunk size.
    assert max(len(chunk) for chunk in [second, *rest]) < 4 * CHUNK_BYTES
    assert len(rest) > 3
    content = first + second + b"".join(rest)
    sheet = book(content, read_only=True).active
    rows_back = list(sheet.iter_rows(values_only=True))
    assert len(rows_back) == 30_001
    assert rows_back[-1] == ("人员29999", f"34152219900101{29999:04d}", 29999, datetime(2026, 1, 1))


def test_a_failure_before_the_end_leaves_no_readable_file():
    def refuse(count: int) -> None:
        raise RuntimeError("audit down")

    chunks = stream_xlsx(["a"], [[1], [2]], convert=safe_cell, before_end=refuse)
    received = []
    with pytest.raises(RuntimeError):
        for chunk in chunks:
            received.append(chunk)
    with pytest.raises(zipfile.BadZipFile):
        load_workbook(io.BytesIO(b"".join(received)))


# --- the responses ----------------------------------------------------------------------------


def exports() -> list[dict]:
    return list(AuditEvent.objects.filter(action="export").values_list("details", flat=True))


def streamed(rf, admin_user, rows):
    request = rf.get("/export/", {"township": "河口镇"}, REMOTE_ADDR="10.2.2.2")
    request.user = admin_user
    return xlsx_response("发现.xlsx", HEADERS, rows, request=request, label="monitoring.finding")


def test_response_is_streamed_with_the_same_headers(rf, db, admin_user):
    response = streamed(rf, admin_user, ROWS)
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E5%8F%91%E7%8E%B0.xlsx" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    assert exports() == []  # nothing sent yet, nothing recorded yet
    assert values(response_bytes(response))[1][0] == "张三"
    assert exports() == [{"filters": {"township": "河口镇"}, "rows": 3, "format": "xlsx"}]
    close_as_server(response)  # closed again by the server: still one event
    assert len(exports()) == 1


def test_an_interrupted_download_is_recorded_as_incomplete(rf, db, admin_user):
    rows = ([f"人{index}", str(index)] for index in range(20_000))
    response = streamed(rf, admin_user, rows)
    stream = iter(response.streaming_content)
    next(stream)
    next(stream)  # some rows have gone out
    close_as_server(response)  # the client went away; the server closes the response
    (details,) = exports()
    assert details["complete"] is False and 0 < details["rows"] < 20_000
    assert details["filters"] == {"township": "河口镇"} and details["format"] == "xlsx"


def test_a_download_never_started_is_still_recorded(rf, db, admin_user):
    response = streamed(rf, admin_user, ROWS)
    close_as_server(response)
    assert exports() == [
        {"filters": {"township": "河口镇"}, "rows": 0, "format": "xlsx", "complete": False}
    ]


def test_without_a_label_nothing_is_audited(rf, db, admin_user):
    request = rf.get("/export/")
    request.user = admin_user
    response = xlsx_response("x.xlsx", HEADERS, ROWS, request=request)
    assert values(response_bytes(response))[0] == tuple(HEADERS)
    assert exports() == []


@pytest.mark.django_db
def test_a_page_export_writes_one_audit_event_and_no_view_event(
    client, hekou_user, home, elsewhere
):
    client.force_login(hekou_user)
    before = AuditEvent.objects.count()
    response = client.get(reverse("staff:person_export"))
    assert response.status_code == 200 and response.streaming
    # The middleware has run; the export event comes with the body.
    assert AuditEvent.objects.count() == before
    rows = values(response_bytes(response))
    new = list(AuditEvent.objects.order_by("pk")[before:].values_list("action", "details"))
    assert new == [("export", {"filters": {}, "rows": len(rows) - 1, "format": "xlsx"})]
    assert len(rows) >= 2


@pytest.mark.django_db
def test_the_admin_person_export_streams_full_numbers_and_is_audited(admin_user, home):
    people = Person.objects.filter(pk=home.head.pk)
    response = persons_xlsx_response(people, user=admin_user)
    assert response.streaming
    rows = values(response_bytes(response))
    assert rows[1][1] == home.head.id_number  # full number, as text
    event = AuditEvent.objects.get(action="export")
    assert event.details == {
        "filters": {"selected": 1},
        "rows": 1,
        "format": "xlsx",
        "full_numbers": True,
    }


def test_an_audit_failure_at_the_end_breaks_the_file_and_is_retried_on_close(
    rf, db, admin_user, monkeypatch
):
    real = exports_module.audit_export
    calls = []

    def flaky(*args, **kwargs):
        calls.append(kwargs.get("details"))
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(exports_module, "audit_export", flaky)
    response = streamed(rf, admin_user, ROWS)
    received = []
    with pytest.raises(RuntimeError):
        for chunk in response.streaming_content:
            received.append(chunk)
    with pytest.raises(zipfile.BadZipFile):
        load_workbook(io.BytesIO(b"".join(received)))
    close_as_server(response)
    assert exports() == [
        {"filters": {"township": "河口镇"}, "rows": 3, "format": "xlsx", "complete": False}
    ]
