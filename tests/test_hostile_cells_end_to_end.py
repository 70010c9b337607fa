"""Hostile cells from import to page to every export (docs/SECURITY.md, "Attacks and what happens").

Hypothesis builds survey and roster files whose cells are control characters (C0, C1,
NUL), bidi overrides, formula prefixes, very long text, huge and negative numbers,
NaN-like text, odd dates and Excel serials (tests/hostile_cells.py), under hostile file
names, and imports each through the service the upload page uses
(`import_create_batch` + `import_run`). Then, as a county admin with the test client:
the batch page, the person list, an imported person's page, their household's page, the
finding list after a cross-check run, and every `.xlsx`/`.csv` download of the staff app
— found by walking its URL patterns, so a new export is covered the day it is added —
including the batch's original file and error report. No answer may be a 500; every
workbook loads with openpyxl, holds no formula and no text cell starting with a formula
prefix (the error report excepted: it gives back the user's own cells as text, so the
corrected file can be uploaded again); no page and no cell holds a control or bidi
override character.

Cell count: each example writes ROWS = 10 survey rows of 31 columns and 10 roster rows
of 19 columns, 10 × (31 + 19) = 500 generated cells; EXAMPLES = 21 examples give
21 × 500 = 10,500 cells per run (the test counts them and asserts ≥ 10,000).
`HUOQIU_FUZZ_EXAMPLES=N` runs N examples instead.
"""

import io
import os
import re
from collections import Counter

import pytest
from django.template import Context, Template
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from cases.models import Household, Person
from cases.text import MARKER
from monitoring.crosscheck import run_crosscheck
from monitoring.eligibility import PAYMENT_BENEFITS
from monitoring.models import CrosscheckRun, ImportBatch, Source, WhatIfRun
from monitoring.services import import_create_batch, import_run
from monitoring.whatif import whatif_run, whatif_start
from subsidies.policy import policy_set

from .hostile_cells import (
    UNSAFE_OUTPUT,
    hostile_sheets,
    hostile_text,
    write_hostile_table,
)
from .import_files import ROSTER_HEADER, SURVEY_HEADER

ROWS = 10
EXAMPLES = int(os.environ.get("HUOQIU_FUZZ_EXAMPLES", "21"))
CELLS_PER_EXAMPLE = ROWS * (len(SURVEY_HEADER) + len(ROSTER_HEADER))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Query strings a download needs to answer with a file rather than its form.
EXPORT_QUERIES = {
    "roster_pension": {"year": "2026"},
    "roster_payment": {"benefit": str(PAYMENT_BENEFITS[0]), "month": "2026-06"},
}
# Full ID numbers (18 characters, not inside a longer run of digits).
FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


# Downloads of one record: the walk fills their one parameter with a record it makes.
RECORD_DOWNLOADS = {"whatif_export"}


def staff_downloads() -> list[str]:
    """Every staff URL name whose path ends in .xlsx or .csv (parameterless, or a download of
    one record listed in RECORD_DOWNLOADS)."""
    names = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if route.endswith((".xlsx", ".csv")) and not route.startswith("admin/"):
                    assert "<" not in route or pattern.name in RECORD_DOWNLOADS, (
                        f"{route}: the test cannot fill its parameters"
                    )
                    names.append(pattern.name)

    walk(get_resolver().url_patterns, "")
    return sorted(names)


def assert_clean_text(text: str, where: str) -> None:
    found = UNSAFE_OUTPUT.search(text)
    assert found is None, (
        f"{where}: {found.group()!r} at {found.start()}: {text[max(0, found.start() - 60) : found.start() + 20]!r}"
    )


def assert_page(response, where: str) -> str:
    assert response.status_code == 200, f"{where}: {response.status_code}"
    html = response.content.decode()
    assert_clean_text(html, where)
    return html


def assert_workbook(content: bytes, where: str, *, user_cells: bool = False) -> int:
    """Load the workbook; no formula, no control/bidi character, no unescaped formula
    prefix (unless the file gives back the user's own cells). Returns the cell count."""
    book = load_workbook(io.BytesIO(content))
    cells = 0
    for sheet in book.worksheets:
        assert_clean_text(sheet.title, f"{where} sheet title")
        for row in sheet.iter_rows():
            for cell in row:
                cells += 1
                assert cell.data_type != "f", f"{where} {cell.coordinate}: formula {cell.value!r}"
                if not isinstance(cell.value, str):
                    continue
                assert_clean_text(cell.value, f"{where} {cell.coordinate}")
                if not user_cells:
                    assert not cell.value.startswith(FORMULA_PREFIXES), (
                        f"{where} {cell.coordinate}: {cell.value[:40]!r}"
                    )
    return cells


def assert_download(response, where: str, *, user_cells: bool = False) -> None:
    assert response.status_code == 200, f"{where}: {response.status_code}"
    assert_clean_text(response.get("Content-Disposition", ""), f"{where} file name")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response["Content-Type"] == XLSX or content[:2] == b"PK":
        assert_workbook(content, where, user_cells=user_cells)
    else:
        assert_clean_text(content.decode("utf-8-sig"), where)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_the_walk_finds_every_export():
    """The exports the walk below covers; a new one joins it by its path alone."""
    names = staff_downloads()
    for expected in (
        "person_export",
        "household_export",
        "visit_export",
        "finding_export",
        "stats_export",
        "referral_export",
        "hardship_children_export",
        "roster_pension",
        "roster_payment",
        "task_gaps_export",
        "whatif_export",
    ):
        assert expected in names
    assert set(EXPORT_QUERIES) <= set(names)


def test_hostile_cells_pass_import_pages_and_every_export(
    client, county_admin, home, media, tmp_path
):
    policy_set(2026, monitoring_line=8000, rigid_expenditure_threshold=20000)
    client.force_login(county_admin)
    downloads = staff_downloads()
    seen: Counter = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        # Shrinking an example of twenty files and thirty requests takes minutes and the
        # failure message already names the page or cell; the failing example is printed.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(
        # Different people in each example (rows of one example never collide).
        sheets=st.integers(0, 30_000).flatmap(lambda k: hostile_sheets(k * ROWS, ROWS)),
        name=hostile_text,
        suffix=st.sampled_from([".xlsx", ".csv"]),
        skip_invalid=st.booleans(),
    )
    def example(sheets, name, suffix, skip_invalid):
        seen["examples"] += 1
        survey, roster = sheets
        batches = []
        for source, header, rows in (
            (Source.SURVEY, SURVEY_HEADER, survey),
            (Source.ROSTER, ROSTER_HEADER, roster),
        ):
            path = write_hostile_table(
                tmp_path / f"{source}-{seen['examples']}{suffix}", header, rows
            )
            seen["cells"] += len(header) * len(rows)
            batch = import_create_batch(
                source,
                path,
                original_name=f"{name}{suffix}",
                user=county_admin,
                skip_invalid=skip_invalid,
            )
            batch = import_run(batch.pk)
            assert batch.status != ImportBatch.Status.FAILED, batch.message
            seen[batch.status] += 1
            batches.append(batch)

        for batch in batches:
            html = assert_page(
                client.get(reverse("staff:import_detail", args=[batch.pk])), f"batch {batch.pk}"
            )
            assert not FULL_ID.search(html), f"batch {batch.pk} page quotes a full ID"
            # The original is the user's file byte for byte (it is kept as evidence);
            # only its name in the answer's header is cleaned.
            original = client.get(reverse("staff:import_download", args=[batch.pk, "original"]))
            assert original.status_code == 200
            assert_clean_text(original["Content-Disposition"], f"batch {batch.pk} file name")
            with batch.file.open("rb") as handle:
                assert b"".join(original.streaming_content) == handle.read()
            if batch.error_report:
                seen["error reports"] += 1
                assert_download(
                    client.get(reverse("staff:import_download", args=[batch.pk, "errors"])),
                    f"batch {batch.pk} error report",
                    user_cells=True,
                )
        assert_page(client.get(reverse("staff:import_list")), "batch list")

        run_crosscheck(user=county_admin)
        assert_page(client.get(reverse("staff:person_list")), "person list")
        assert_page(client.get(reverse("staff:finding_list")), "finding list")
        person = Person.objects.filter(survey__isnull=False).order_by("-pk").first()
        if person is not None:
            seen["persons"] += 1
            assert_page(client.get(reverse("staff:person_detail", args=[person.pk])), "person page")
        household = Household.objects.order_by("-pk").first()
        assert_page(
            client.get(reverse("staff:household_detail", args=[household.pk])), "household page"
        )
        # A policy trial whose line is higher than the year's, so its households list is not
        # empty: the what-if export shows the hostile names of the households it affects.
        trial = whatif_start(county_admin, 2026, {"monitoring_line": "90000"})
        trial = whatif_run(trial.pk)
        assert trial.status == WhatIfRun.Status.DONE, trial.message
        record_args = {"whatif_export": [trial.pk]}
        for download in downloads:
            response = client.get(
                reverse(f"staff:{download}", args=record_args.get(download, [])),
                EXPORT_QUERIES.get(download, {}),
            )
            assert_download(response, download)
        seen["exports"] += len(downloads)

    example()
    assert seen["cells"] >= min(10_000, EXAMPLES * CELLS_PER_EXAMPLE)
    if EXAMPLES >= 21:
        assert seen["cells"] >= 10_000, seen
        # Both outcomes happened: hostile rows written, and files refused with a report.
        assert seen[ImportBatch.Status.DONE] and seen["error reports"], seen
    # Not vacuous: hostile text was written to the registry and reached the pages above.
    names = Person.objects.values_list("name", flat=True)
    assert any(UNSAFE_OUTPUT.search(name) for name in names), seen


# --- free text stored before the sanitiser and the length limits, on every page --------------

FREE_TEXT_FIELDS = re.compile(
    r"note|reason|description|detail|story|content|helper_name|helper_unit|items|institution"
    r"|employer|^post$|school|provider|visitor_name|situation|action_taken|published_in"
    r"|wanted_work|title|head_name|^name$|message"
)
EVIL = "\u202e\x01\x1b=1+1"
# Pages with one record's pk, by the prefix of their path.
PK_PREFIXES = (
    "persons/<int:pk>/",
    "subsidies/persons/<int:pk>/",
    "households/<int:pk>/",
    "monitoring/findings/<int:pk>/",
    "monitoring/runs/<int:pk>/",
)


def stamp_free_text() -> int:
    """Append EVIL to every free-text field of the registry, the case work, findings and
    benefits — as rows stored before inputs were cleaned would hold it."""
    from django.apps import apps
    from django.db import models
    from django.db.models import F, Value
    from django.db.models.functions import Concat

    stamped = 0
    for app in ("cases", "monitoring", "subsidies"):
        for model in apps.get_app_config(app).get_models():
            fields = [
                field.name
                for field in model._meta.get_fields()
                if isinstance(field, models.CharField | models.TextField)
                and not field.choices
                and not field.unique
                and FREE_TEXT_FIELDS.search(field.name)
            ]
            if fields and model._meta.managed:
                updates = {name: Concat(F(name), Value(EVIL)) for name in fields}
                stamped += model._base_manager.update(**updates)
    return stamped


def pages_of(home) -> list[str]:
    """Every staff page without parameters, and each page of the household, its members,
    its findings and the cross-check runs (GET; forms included)."""
    ids = {
        "persons/<int:pk>/": [home.head.pk, home.spouse.pk],
        "subsidies/persons/<int:pk>/": [home.head.pk],
        "households/<int:pk>/": [home.household.pk],
        "monitoring/findings/<int:pk>/": [f.pk for f in home.findings.values()],
        "monitoring/runs/<int:pk>/": list(CrosscheckRun.objects.values_list("pk", flat=True)),
    }
    urls = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "staff" or namespace:
                    walk(pattern.url_patterns, prefix + str(pattern.pattern), "staff")
                continue
            route = prefix + str(pattern.pattern)
            if not namespace or route.endswith((".xlsx", ".csv")) or "download" in route:
                continue
            if "<" not in route:
                urls.append(reverse(f"staff:{pattern.name}"))
                continue
            for start in PK_PREFIXES:
                rest = route[len(start) :]
                if route.startswith(start) and "<" not in rest:
                    urls.extend(reverse(f"staff:{pattern.name}", args=[pk]) for pk in ids[start])

    walk(get_resolver().url_patterns, "", "")
    return urls


def test_free_text_with_controls_and_bidi_is_neutralised_on_every_page(client, county_admin, home):
    assert stamp_free_text() > 20
    client.force_login(county_admin)
    shown = 0
    for url in pages_of(home):
        response = client.get(url)
        assert response.status_code in (200, 302, 400, 403, 404, 405), (url, response.status_code)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            html = assert_page(response, url)
            shown += MARKER in html
    assert shown >= 5  # the stamped text was on the pages, marked


# --- import messages stored before masking ----------------------------------------------------

FULL = "341522199001011234"


@pytest.fixture
def old_batch(db):
    """A batch as imports stored them before messages were masked: full numbers inside."""
    batch = ImportBatch.objects.create(
        source=Source.SURVEY,
        status=ImportBatch.Status.REJECTED,
        original_name="旧批次\u202e.xlsx",
        file="imports/old.xlsx",
        sha256="0" * 64,
        rows=2,
        message=f"第3行{FULL}重复；联系电话13912345678",
        errors=[
            {"row": 3, "column": "残疾人证号", "message": f"残疾人证号“{FULL}42”有误"},
            {"row": 4, "column": "姓名\x01", "message": f"与第3行的公民身份号码{FULL}重复"},
        ],
        household_conflicts=[
            {"household": "H1\u202e", "column": "村", "rows": [3, 4], "message": f"户主{FULL}"}
        ],
    )
    return batch


def assert_masked(text: str, where: str) -> None:
    assert FULL not in text and "13912345678" not in text, where
    assert "341522********1234" in text, where


def test_old_batch_messages_are_masked_on_the_page_the_status_and_the_admin(
    client, county_admin, old_batch
):
    client.force_login(county_admin)
    page = assert_page(client.get(reverse("staff:import_detail", args=[old_batch.pk])), "page")
    assert_masked(page, "batch page")
    status = client.get(reverse("staff:import_status", args=[old_batch.pk]))
    assert_masked(status.content.decode(), "status JSON")
    admin_page = client.get(
        reverse("admin:monitoring_importbatch_change", args=[old_batch.pk])
    ).content.decode()
    assert_masked(admin_page, "admin change page")
    listing = assert_page(client.get(reverse("staff:import_list")), "batch list")
    assert "旧批次\ufffd.xlsx" in listing


def test_page_filters_mark_controls_and_mask_numbers_once():
    rendered = Template(
        "{% load huoqiu_ui %}{{ name|bidi_safe }}|{{ names|join:'、'|bidi_safe }}|{{ msg|masked_text }}"
    ).render(Context({"name": "<b>\x01", "names": ["<i>", "\u202e"], "msg": f"&{FULL}"}))
    assert rendered == (f"&lt;b&gt;{MARKER}|&lt;i&gt;、{MARKER}|&amp;341522********1234")
