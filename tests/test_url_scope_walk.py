"""Scope over every URL (docs/SECURITY.md): walk every URL pattern as staff of another township.

All personal data of the fixture lives in 河口镇; the walker is staff of 城关镇, where there
is nothing. For every pattern of the URL tree (`tests.test_scope.iter_url_views`: views,
exports, downloads, the admin, any API):

- a pattern with parameters is requested with every primary key the fixture created (and
  the string values below) with GET and POST: the answer must be 403, 404 or 405 (the
  admin: a redirect to its login), and nothing may have been written;
- a pattern without parameters may answer (a scoped, empty list), but no response — page,
  JSON, .xlsx or .csv — may contain any of the out-of-scope markers (names, ID numbers,
  masked IDs, reasons, file names).

So that the walk cannot pass by missing everything, `test_walk_reaches_every_pattern`
checks that a county admin reaches every parametrised page outside the admin with the
same values (the admin refuses every other role before it looks at an object).
A new URL whose parameter the walker cannot fill fails here: add candidate values to
`STRING_PARAMS` (and fixture records if the view needs them).
"""

import csv
import io
import itertools
import re
import zipfile
from datetime import date

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import NoReverseMatch, reverse
from openpyxl import load_workbook

from cases import casework, photos
from cases.identity import mask_id_number
from cases.models import (
    AccessibilityModification,
    AuditEvent,
    ChangeRecord,
    ChildCareRecord,
    CustodialCare,
)
from subsidies.models import BenefitApplication, Referral, ReferralUnit

from . import factories
from .test_scope import iter_url_views

pytestmark = pytest.mark.django_db

# A 1×1 PNG: the photo of the fixture's visit.
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)
# Candidate values of string parameters, by parameter name.
STRING_PARAMS = {
    "field": ["id_number", "phone"],
    "kind": ["original", "errors", "report"],
    "fmt": ["xlsx", "csv"],
    "format": ["xlsx", "csv"],
    "app_label": ["cases", "monitoring", "subsidies"],
    "rule": ["M01"],
    "code": ["M01"],
    "status": ["open"],
    "token": ["not-a-staged-upload-token"],
    "step": ["assessed", "cancelled", "review"],
    "action": ["rehab-service", "application", "education-plan", "pairing", "assistance"],
}
# Admin routes that are not object pages: any value will do.
ANY_VALUE = "1"
# Patterns (outside the admin) a county admin cannot reach with the fixture's values, and why.
UNREACHABLE_OK: dict[str, str] = {}
DENIED = {403, 404, 405}
MAX_COMBINATIONS = 60

_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>|\(\?P<(?P<regex_name>\w+)>")


def params_of(route: str) -> list[tuple[str, str]]:
    """[(name, converter)] of a route (path converters or regex groups)."""
    found = []
    for match in _PARAM.finditer(route):
        if match["regex_name"]:
            found.append((match["regex_name"], "regex"))
        else:
            found.append((match["name"], match["converter"] or "str"))
    return found


@pytest.fixture
def elsewhere(hekou_user, settings, tmp_path):
    """Personal data in 河口镇 only, of every kind a page may show."""
    settings.MEDIA_ROOT = tmp_path / "media"  # the photo evidence below
    record = factories.certified_person(
        township="河口镇", village_name="界外村", name="界外甲", household=True
    )
    person = record.person
    household = person.membership.household
    roster_household = factories.RosterHouseholdFactory(
        township=factories.township("河口镇"),
        village=factories.village("河口镇", "界外村"),
        head_name="界外甲",
    )
    factories.RosterMemberFactory(household=roster_household, person=person)
    factories.FindingFactory(person=person, household=household, reason="界外比对原因：收入偏低")
    # One the finding's action pages answer (staff:finding_act).
    factories.FindingFactory(
        rule="R01", person=person, household=household, reason="界外比对原因：康复需求"
    )
    batch = factories.ImportBatchFactory(original_name="界外名单.xlsx", uploaded_by=hekou_user)
    batch.townships.add(factories.township("河口镇"))
    factories.BenefitRecordFactory(person=person)
    factories.EducationPlanFactory(person=person)
    factories.RehabServiceFactory(person=person)
    factories.PairingFactory(household=household)
    measure = factories.AssistanceMeasureFactory(household=household)
    # The household page's applications and referrals (staff/views/household_work.py).
    application = BenefitApplication.objects.create(
        person=person, benefit_type="dibao", applied_on=date(2026, 3, 1)
    )
    Referral.objects.create(
        household=household,
        unit=ReferralUnit.objects.get(name="民政办"),
        measure=measure,
        referred_on=date(2026, 3, 2),
        request="界外转办",
    )
    Referral.objects.create(
        household=household,
        unit=ReferralUnit.objects.get(name="民政办"),
        application=application,
        referred_on=date(2026, 3, 2),
        request="界外转办",
    )
    # The person page's care records (staff/views/person_care.py).
    AccessibilityModification.objects.create(person=person, applied_on=date(2026, 3, 1))
    CustodialCare.objects.create(person=person, mode="home", started_on=date(2026, 3, 1))
    ChildCareRecord.objects.create(
        person=person, kind="visit", cared_on=date(2026, 3, 1), provider="甲", content="探访"
    )
    # A visit with a stored photo (staff/views/photos.py).
    visit = casework.visit_record(
        hekou_user, household, visited_on=date(2026, 3, 3), notes="界外走访"
    )
    photos.photo_add(hekou_user, visit, SimpleUploadedFile("界外照片.png", PNG_1PX))
    markers = [
        "界外甲",
        person.id_number,
        mask_id_number(person.id_number),
        "界外比对原因",
        "界外名单",
        "界外转办",
    ]
    return {"person": person, "markers": markers}


def candidate_pks() -> list[str]:
    """Every primary key of every row of the project's apps (all of it is in 河口镇)."""
    pks: set[int] = set()
    for app_label in ("cases", "monitoring", "subsidies"):
        for model in apps.get_app_config(app_label).get_models():
            if model._meta.label_lower in {"cases.township", "cases.auditevent"}:
                continue
            pks.update(model.objects.values_list("pk", flat=True)[:200])
    return [str(pk) for pk in sorted(pks)]


def values_for(name: str, converter: str, pks: list[str], admin: bool = False) -> list[str]:
    if name in STRING_PARAMS:
        return STRING_PARAMS[name]
    if converter == "int" or name in {"pk", "id", "object_id"} or name.endswith(("_id", "_pk")):
        return pks
    if converter == "uuid":
        return ["00000000-0000-0000-0000-000000000001"]
    if converter == "path" or name in {"content_type_id"}:
        return pks
    if admin:
        return [ANY_VALUE]
    raise AssertionError(
        f"the URL walk cannot fill parameter <{converter}:{name}>: add values to STRING_PARAMS "
        "in tests/test_url_scope_walk.py"
    )


# A route with more than one parameter (a household and one of its measures, a finding and
# an action): the product of every primary key with the other values would pass
# MAX_COMBINATIONS before reaching the right record on PostgreSQL (each table has its own
# sequence), so there each id takes the keys of its own model.
PARAM_MODELS = {
    "measure_pk": "cases.assistancemeasure",
    "application_pk": "subsidies.benefitapplication",
    "referral_pk": "subsidies.referral",
    "record_pk": "subsidies.benefitrecord",
}
ROUTE_MODELS = {  # the first prefix that matches
    "households/": "cases.household",
    "subsidies/persons/": "cases.person",
    "persons/accessibility/": "cases.accessibilitymodification",
    "persons/": "cases.person",
    "monitoring/findings/": "monitoring.finding",
    "monitoring/imports/": "monitoring.importbatch",
}


def own_pks(view, name: str, pks: list[str]) -> list[str]:
    label = PARAM_MODELS.get(name)
    if label is None and name == "pk":
        label = next((m for p, m in ROUTE_MODELS.items() if str(view.route).startswith(p)), None)
    if label is None:
        return pks
    keys = {str(pk) for pk in apps.get_model(label).objects.values_list("pk", flat=True)}
    return [pk for pk in pks if pk in keys]


def urls_of(view, pks: list[str]) -> list[str]:
    """Concrete URLs for one pattern (at most MAX_COMBINATIONS)."""
    params = params_of(view.route)
    if not params:
        return [reverse(view.name) if view.name else "/" + view.route]
    ids = [name for name, converter in params if converter == "int"]
    choices = [
        values_for(
            name,
            converter,
            own_pks(view, name, pks) if len(params) > 1 and name in ids else pks,
            is_admin(view),
        )
        for name, converter in params
    ]
    urls = []
    for combination in itertools.islice(itertools.product(*choices), MAX_COMBINATIONS):
        kwargs = {name: value for (name, _), value in zip(params, combination, strict=True)}
        if view.name:
            try:
                urls.append(reverse(view.name, kwargs=kwargs))
            except NoReverseMatch:
                continue
        else:
            route = view.route
            for name, value in kwargs.items():
                route = re.sub(rf"<(?:\w+:)?{name}>", value, route)
            urls.append("/" + route)
    return urls


def body_text(response) -> str:
    """Everything a person could read in a response: HTML/JSON text, cells of xlsx/csv."""
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    kind = response.get("Content-Type", "")
    if content[:2] == b"PK":  # a zip: .xlsx
        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError):
            return content.decode("latin-1")
        return "\n".join(
            str(cell)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in row
            if cell is not None
        )
    text = content.decode("utf-8-sig", errors="replace")
    if "csv" in kind:
        return "\n".join(",".join(row) for row in csv.reader(io.StringIO(text)))
    return text


def is_admin(view) -> bool:
    return (view.namespace or "").split(":")[0] == "admin"


def walkable(view) -> bool:
    """Everything but the login and logout pages (they show no data; logout ends the walk)."""
    return view.name not in {"login", "logout", "admin:login", "admin:logout"}


def test_another_townships_staff_gets_nothing_anywhere(client, chengguan_user, elsewhere):
    chengguan_user.is_staff = True  # the admin must refuse by role, not by the staff flag
    chengguan_user.save()
    client.force_login(chengguan_user)
    pks = candidate_pks()
    writes_before = ChangeRecord.objects.count()
    problems = []
    walked = 0
    for view in iter_url_views():
        if not walkable(view):
            continue
        # The admin refuses by role before looking at any object: one value is enough.
        for url in urls_of(view, pks[:1] if is_admin(view) else pks):
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                walked += 1
                status = response.status_code
                if is_admin(view):
                    if status not in DENIED and not (
                        status == 302 and reverse("admin:login") in response["Location"]
                    ):
                        problems.append(f"{method.upper()} {url}: admin answered {status}")
                    continue
                if params_of(view.route) and status not in DENIED:
                    problems.append(f"{method.upper()} {url}: {status}, expected 403/404/405")
                text = body_text(response) if status != 302 else ""
                leaked = [marker for marker in elsewhere["markers"] if marker in text]
                if leaked:
                    problems.append(f"{method.upper()} {url}: shows {leaked}")
    assert walked > 20
    assert not problems, "\n".join(problems)
    assert ChangeRecord.objects.count() == writes_before
    # No field-level change was audited for the walker (submitted forms are recorded, but
    # nothing changed).
    assert not AuditEvent.objects.filter(
        username="chengguan", action__in=["create", "update", "delete"], details__has_key="changes"
    ).exists()
    # Every refused request is in the audit trail.
    assert AuditEvent.objects.filter(username="chengguan", result="denied").count() > 0


def test_walk_reaches_every_pattern(client, elsewhere):
    """The same values reach every parametrised page for a county admin (no vacuous walk)."""
    admin = factories.user_with_role("county_admin", username="walker-admin")
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    pks = candidate_pks()
    unreached = []
    for view in iter_url_views():
        if (
            not walkable(view)
            or not params_of(view.route)
            or is_admin(view)  # the admin refuses other roles before it looks at objects
            or view.name in UNREACHABLE_OK
        ):
            continue
        urls = urls_of(view, pks[:1] if is_admin(view) else pks)
        if not any(
            client.get(url).status_code not in (404,) or client.post(url).status_code not in (404,)
            for url in urls
        ):
            unreached.append(f"/{view.route} {view.name}")
    assert not unreached, (
        "patterns no fixture value reaches (add fixture data or UNREACHABLE_OK):\n"
        + "\n".join(unreached)
    )


def test_params_of_reads_paths_and_regexes():
    assert params_of("persons/<int:pk>/reveal/<str:field>/") == [("pk", "int"), ("field", "str")]
    assert params_of("admin/^(?P<app_label>cases|monitoring)/$") == [("app_label", "regex")]
    assert params_of("x/<slug>/") == [("slug", "str")]
