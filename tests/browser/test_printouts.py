"""The printable forms printed to PDF by Chromium (docs/PRINTING.md): each page opens from its
打印 button, prints on A4 within its expected number of pages, and its Chinese text is in the
PDF (the CJK fonts are embedded and extractable). The long due-visit list spans several pages
with its header repeated and no row cut between two pages. SCREENSHOTS=1 saves the visit
record as docs/screenshots/print_visit_record.png.
"""

import io
import re
import unicodedata
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from cases.identity import mask_id_number
from cases.models import ChildCareRecord
from tests import factories
from tests.staff_app_data import household_with_everything

from .conftest import log_in, staff

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

A4_POINTS = (595.3, 841.9)  # 210 × 297 mm in PDF points
DUE_HOUSEHOLDS = 45
VILLAGES = ("东风村第一村民小组新庄自然村", "前进村第三村民小组王家圩片区", "红星社区幸福小区东区")


def today():
    return timezone.localdate()


@pytest.fixture
def printable():
    """河口镇: a household with a visit and a monitoring case, a certified child with a plan,
    and many households overdue for a visit; committed before the browser starts."""
    staff()
    home = household_with_everything("河口镇", "东风村", head_name="周明亮")
    record = factories.certified_person(
        township="河口镇",
        village_name="东风村",
        household=True,
        name="王小雨",
        birth=date(today().year - 10, 3, 1),
    )
    factories.EducationPlanFactory(person=record.person, placement="special_school")
    ChildCareRecord.objects.create(
        person=record.person,
        kind="visit",
        cared_on=today(),
        provider="河口镇残联",
        content="探访慰问",
    )
    due = []
    for number in range(DUE_HOUSEHOLDS):
        name = f"待访户{number:02d}"
        # Long village names wrap to several lines: a row cut between two pages would
        # split its village name between them.
        village = VILLAGES[number % len(VILLAGES)]
        member = factories.certified_person(
            township="河口镇", village_name=village, household=True, name=name
        )
        roster = factories.RosterHouseholdFactory(
            township=factories.township("河口镇"),
            village=factories.village("河口镇", village),
            identified_on=today() - timedelta(days=100),
        )
        factories.RosterMemberFactory(household=roster, person=member.person)
        due.append((village, name, mask_id_number(member.person.id_number)))
    return {"home": home, "child": record.person, "due": due}


def pdf_pages(page) -> list[str]:
    """Print the page as Chromium does (A4, print stylesheet) and read back each page's text."""
    reader = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    for sheet in reader.pages:
        width, height = (float(v) for v in sheet.mediabox.upper_right)
        # Chromium rounds the paper to whole device pixels: within 2 points of A4.
        assert abs(width - A4_POINTS[0]) < 2 and abs(height - A4_POINTS[1]) < 2, (width, height)
    return [sheet.extract_text() or "" for sheet in reader.pages]


# Chromium's PDF text layer names a glyph the Noto CJK fonts share between an ideograph and
# a radical by the radical's code point (⼊ for 入, ⼾ for 户, ⻛ for 风): the paper is right,
# the extracted text is not. NFKC folds the Kangxi radicals; these are the ones it does not
# fold, or folds to the traditional form, that simplified Chinese text prints.
RADICALS = str.maketrans(
    {
        "⼾": "户",
        "⺠": "民",
        "⻛": "风",
        "⻚": "页",
        "⻓": "长",
        "⻅": "见",
        "⻔": "门",
        "⻢": "马",
        "⻋": "车",
        "⻜": "飞",
        "⻥": "鱼",
        "⻩": "黄",
        "⻰": "龙",
        "⻨": "麦",
        "⻬": "齐",
        "⻮": "齿",
        "⻙": "韦",
        "⻉": "贝",
        "⻈": "讠",
    }
)


def flat(text: str) -> str:
    """PDF text as a reader means it: radicals read as the ideographs they print (above),
    without the line breaks and spaces the layout put between characters."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text.translate(RADICALS)))


def open_print_page(page, opener_url: str, button: str):
    """Open the page printed from, click its 打印 link, and wait for the print page."""
    page.goto(opener_url)
    page.get_by_test_id(button).first.click()
    expect(page.get_by_test_id("print-button")).to_be_visible()


def test_each_printout_prints_on_a4_with_its_chinese_text(browser, printable, screenshot):
    home, child = printable["home"], printable["child"]
    page = browser.new_page()
    log_in(page)
    household_url = reverse("staff:household_detail", args=[home.household.pk])

    # The visit record, from the timeline of the household page.
    open_print_page(page, household_url, "print-visit")
    assert page.url.endswith(reverse("staff:print_visit", args=[home.visit.pk]))
    # The print stylesheet loaded: the sheet is one A4 width on screen.
    assert page.get_by_test_id("print-sheet").evaluate("e => e.offsetWidth") > 700
    screenshot(page, "print_visit_record")
    pages = pdf_pages(page)
    assert 1 <= len(pages) <= 2
    text = flat("".join(pages))
    for words in ("入户走访记录表", "周明亮", "两不愁三保障", "走访人签字", "甲饮用井水"):
        assert words in text, words
    assert mask_id_number(home.head.id_number) in text and home.head.id_number not in text
    assert "打印" not in flat(pages[0]).split("入户走访记录表")[0]  # no toolbar on paper

    # The monitoring household's identification form, from the household page.
    open_print_page(page, household_url, "print-case")
    pages = pdf_pages(page)
    assert 1 <= len(pages) <= 2
    text = flat("".join(pages))
    for words in ("防返贫监测对象识别表", "周明亮", "待核实", "镇水利站", "办理记录"):
        assert words in text, words

    # The child's 一人一案, from the person page.
    open_print_page(page, reverse("staff:person_detail", args=[child.pk]), "print-child-plan")
    pages = pdf_pages(page)
    assert len(pages) == 1
    text = flat(pages[0])
    for words in ("适龄残疾儿童少年一人一案", "王小雨", "特殊教育学校", "探访慰问", "监护人签字"):
        assert words in text, words
    assert not browser.console_errors, browser.console_errors


def test_long_due_list_spans_pages_without_cutting_a_row(browser, printable):
    page = browser.new_page()
    log_in(page)
    open_print_page(page, reverse("staff:dashboard"), "print-due-visits")
    # The 打印 button calls window.print() (static/js/print.js; CSP allows no inline script).
    # (The trailing 0: Playwright would call a function the expression evaluates to.)
    page.evaluate("window.__printed = 0; window.print = () => { window.__printed += 1; }; 0")
    page.get_by_test_id("print-button").click()
    assert page.evaluate("window.__printed") == 1

    pages = [flat(text) for text in pdf_pages(page)]
    assert len(pages) >= 2
    assert "应走访监测户名单" in pages[0] and "河口镇" in pages[0]
    # The table's header repeats on every page the table runs over.
    for number, text in enumerate(pages, start=1):
        if any(name in text for _, name, _ in printable["due"]):
            assert "序号" in text and "责任人" in text, f"no header on page {number}"
    # Each row whole on one page: its village (wrapped over lines), its name and its masked
    # ID (the 户主 cell's two lines) read in one piece on exactly one page.
    for village, name, masked in printable["due"]:
        with_row = [i for i, text in enumerate(pages) if f"{village}{name}{masked}" in text]
        with_name = [i for i, text in enumerate(pages) if name in text]
        assert len(with_name) == 1 and with_row == with_name, (name, with_name, with_row)
    assert not browser.console_errors, browser.console_errors
