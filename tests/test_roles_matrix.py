"""The role matrix of docs/ROLES.md, walked against the code.

`MATRIX` below is the table of docs/ROLES.md (a test parses the page and compares), and for
every role fixture × row the row's calls are made with that user on records in three places —
城关镇东关村 (the village member's village), 城关镇西关村 (same township, another village) and
河口镇东风村 (another township) — and each must be allowed or refused exactly as its cell says.
A refusal is `PermissionDenied` (so `NotPermitted`, or 403 from a page), `Http404` (a record
outside the user's place, or 404 from a page) or, for findings, `FindingError`. Anything else
— a `CaseworkError` from bad input, a `TypeError` — fails the test: every call is valid input.

Records are prepared by the county admin before the user under test acts on them, so a step
that needs an open case or an application under review finds one. A service another part of
the work has not built yet is skipped by name ("not built yet"), never silently passed.
"""

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from itertools import count
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from cases import casework, photos
from cases import selectors as case_selectors
from cases.admin_base import county_admin_only
from cases.models import Household, Person, Township, Village
from cases.scope import get_in_scope_or_404, scope_for
from monitoring import finding_actions, findings, rosters
from monitoring.findings import FindingError
from monitoring.import_selectors import can_import
from subsidies import services as benefits

from . import factories

try:  # being written alongside this test; its rows skip until it exists
    from subsidies import referrals
except ImportError:  # pragma: no cover - only before subsidies/referrals.py lands
    referrals = None

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Photos the rows store land in a temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


DOC = Path(__file__).resolve().parent.parent / "docs" / "ROLES.md"

ROLES = ("县残联管理员", "县级只读", "乡镇工作人员", "村残协专职委员")

# The table of docs/ROLES.md: action → cell per role (in ROLES order).
ANYWHERE, TOWNSHIP, VILLAGE, YES, NO = "全县", "本乡镇", "本村", "可以", "不可以"
WRITE_IN_TOWNSHIP = (ANYWHERE, NO, TOWNSHIP, NO)
RECORD_WORK_DONE = (ANYWHERE, NO, TOWNSHIP, VILLAGE)
COUNTY_ADMIN_ONLY = (YES, NO, NO, NO)
MATRIX: dict[str, tuple[str, str, str, str]] = {
    "查看/导出人员与家庭": (ANYWHERE, ANYWHERE, TOWNSHIP, VILLAGE),
    "查看完整身份证号": (ANYWHERE, NO, TOWNSHIP, NO),
    "登记走访": RECORD_WORK_DONE,
    "登记康复服务": RECORD_WORK_DONE,
    "困境儿童关爱记录": RECORD_WORK_DONE,
    "就业（劳动能力、公益岗、培训）": WRITE_IN_TOWNSHIP,
    "无障碍改造各步": WRITE_IN_TOWNSHIP,
    "托养照护": WRITE_IN_TOWNSHIP,
    "一人一案": WRITE_IN_TOWNSHIP,
    "监测对象决定（建立、纳入、不予纳入、消除）": WRITE_IN_TOWNSHIP,
    "帮扶措施": WRITE_IN_TOWNSHIP,
    "走访照片": RECORD_WORK_DONE,
    "帮扶措施、无障碍改造照片": WRITE_IN_TOWNSHIP,
    "结对帮扶": WRITE_IN_TOWNSHIP,
    "救助补贴申请（申请、审核、批准、落实）": WRITE_IN_TOWNSHIP,
    "救助补贴记录（登记、停保）": WRITE_IN_TOWNSHIP,
    "转办": WRITE_IN_TOWNSHIP,
    "转办单位": COUNTY_ADMIN_ONLY,
    "比对发现（处理、不予处理、建立监测对象）": WRITE_IN_TOWNSHIP,
    "财政花名册下载": (ANYWHERE, ANYWHERE, TOWNSHIP, NO),
    "导入": COUNTY_ADMIN_ONLY,
    "比对运行": COUNTY_ADMIN_ONLY,
    "政策参数": COUNTY_ADMIN_ONLY,
    "政策测算": COUNTY_ADMIN_ONLY,
    "账号锁定": COUNTY_ADMIN_ONLY,
    "管理后台": COUNTY_ADMIN_ONLY,
}

# The role fixtures of tests/conftest.py and their column.
USERS = {
    "county_admin": 0,
    "viewer_user": 1,
    "chengguan_user": 2,
    "hekou_user": 2,
    "village_user": 3,
}

PLACES = {
    "东关村": ("城关镇", "东关村"),
    "西关村": ("城关镇", "西关村"),
    "河口镇": ("河口镇", "东风村"),
}

REFUSED = (PermissionDenied, Http404, FindingError)


def days_ago(n: int):
    return timezone.localdate() - timedelta(days=n)


DAY = days_ago(20)
_names = count(1)


# --- records prepared by the county admin in a place ---


@dataclass
class Place:
    key: str

    @property
    def township(self) -> Township:
        return factories.township(PLACES[self.key][0])

    @property
    def village(self) -> Village:
        return factories.village(*PLACES[self.key])

    def person(self, *, child: bool = False) -> tuple[Person, Household]:
        township, village = PLACES[self.key]
        survey = factories.certified_person(
            township=township,
            village_name=village,
            household=True,
            birth=days_ago(365 * 10 if child else 365 * 45),
        )
        return survey.person, survey.household


@dataclass
class Step:
    """One call of a row: `prepare(admin, place)` (as the county admin) gives what
    `call(user, prepared)` acts on; `needs` names a service that may not be built yet."""

    prepare: Callable
    call: Callable
    needs: tuple = ()


def person_of(_admin, place):
    return place.person()[0]


def household_of(_admin, place):
    return place.person()[1]


def child_of(_admin, place):
    return place.person(child=True)[0]


def call_with_what_it_takes(function, *args, **candidates):
    """For a service written alongside this test: pass the candidate keywords it declares."""
    parameters = inspect.signature(function).parameters
    return function(*args, **{k: v for k, v in candidates.items() if k in parameters})


def page(user, method: str, url: str) -> None:
    """A page request as `user`: 200 allowed, 403/404 refused, anything else fails."""
    client = Client()
    client.force_login(user)
    response = getattr(client, method)(url)
    if response.status_code == 403:
        raise PermissionDenied
    if response.status_code == 404:
        raise Http404
    assert response.status_code == 200, (url, response.status_code)


def read_person_and_household(user, prepared):
    person, household = prepared
    case_selectors.person_detail(user, person.pk)
    get_in_scope_or_404(user, Household, pk=household.pk)
    # Exports are the list selectors: the person is in the user's list, or not at all.
    if person not in case_selectors.person_list(user, person.name):
        raise Http404


def case_opened(admin, place):
    household = household_of(admin, place)
    return casework.case_open(admin, household, reason="家庭收入骤降", opened_on=days_ago(40))


def case_included(admin, place):
    case = case_opened(admin, place)
    return casework.case_include(
        admin, case, category="marginal", risk_types=["因病"], reason="核实属实", on=days_ago(35)
    )


def case_assisting(admin, place):
    case = case_included(admin, place)
    casework.assistance_add(
        admin, case.household, kind="health", responsible_unit="镇卫生院", started_on=days_ago(34)
    )
    case.refresh_from_db()
    if case.status != "assisting":  # recording the first measure may already move it on
        case = casework.case_start_assistance(admin, case, reason="落实帮扶", on=days_ago(33))
    return case


def application_applied(admin, place):
    person = person_of(admin, place)
    return benefits.benefit_application_create(
        admin, person, benefit_type="dibao", applied_on=days_ago(40)
    )


def application_reviewed(admin, place):
    application = application_applied(admin, place)
    return benefits.benefit_application_review(
        admin, application, note="材料齐全", reviewed_on=days_ago(35)
    )


def application_approved(admin, place):
    application = application_reviewed(admin, place)
    return benefits.benefit_application_decide(
        admin, application, approved=True, decided_on=days_ago(30), monthly_amount="300"
    )


def benefit_recorded(admin, place):
    person = person_of(admin, place)
    return benefits.benefit_record_save(
        admin, person, benefit_type="living_subsidy", monthly_amount="100", start_month=days_ago(90)
    )


def measure_of(admin, place):
    household = household_of(admin, place)
    return casework.assistance_add(
        admin, household, kind="health", responsible_unit="镇卫生院", started_on=days_ago(30)
    )


def first_unit():
    return referrals.referral_units(active_only=True).first()


def referred(admin, place):
    measure = measure_of(admin, place)
    return referrals.referral_create(
        admin, measure.household, unit=first_unit(), request="请落实医疗救助", measure=measure
    )


def finding_of(admin, place):
    person, household = place.person()
    return factories.FindingFactory(person=person, household=household, rule="M01")


def modification_applied(admin, place):
    person = person_of(admin, place)
    return casework.accessibility_apply(admin, person, applied_on=days_ago(40))


def visit_of(admin, place):
    return casework.visit_record(admin, household_of(admin, place), visited_on=DAY)


def modification_in_construction(admin, place):
    modification = modification_applied(admin, place)
    modification = casework.accessibility_advance(
        admin, modification, "assessed", on=days_ago(35), assessment="需改造卫生间"
    )
    return casework.accessibility_advance(
        admin,
        modification,
        "construction",
        on=days_ago(30),
        items="卫生间扶手",
        contractor="县建筑公司",
    )


def jpeg() -> BytesIO:
    """A new small photo each call (the same photo twice on one record is refused)."""
    image = Image.new("RGB", (40, 30), (next(_names) % 256, 90, 40))
    buffer = BytesIO()
    image.save(buffer, "JPEG")
    buffer.seek(0)
    buffer.name = "现场.jpg"
    return buffer


def add_then_remove_photo(user, owner, stage=""):
    photo = photos.photo_add(user, owner, jpeg(), stage=stage)
    photos.photo_remove(user, photo)


def admin_site(user, _prepared):
    user.is_staff = True  # the role decides, not the flag
    user.save(update_fields=["is_staff"])
    request = RequestFactory().get("/admin/")
    request.user = user
    if not county_admin_only(request):
        raise PermissionDenied


def importer(user, _prepared):
    if not can_import(user):
        raise PermissionDenied


def nothing(_admin, _place):
    return None


ROWS: dict[str, list[Step]] = {
    "查看/导出人员与家庭": [Step(lambda a, p: p.person(), read_person_and_household)],
    "查看完整身份证号": [
        Step(
            person_of,
            lambda u, person: page(
                u, "post", reverse("staff:person_reveal", args=[person.pk, "id_number"])
            ),
        )
    ],
    "登记走访": [Step(household_of, lambda u, hh: casework.visit_record(u, hh, visited_on=DAY))],
    "登记康复服务": [
        Step(
            person_of,
            lambda u, p: casework.rehab_service_add(
                u, p, service_type="康复训练", provider="县康复中心", served_on=DAY
            ),
        )
    ],
    "困境儿童关爱记录": [
        Step(
            child_of,
            lambda u, child: call_with_what_it_takes(
                casework.child_care_record_add,
                u,
                child,
                kind="visit",
                cared_on=DAY,
                provider="村残协",
                content="上门探访，了解就学和生活情况",
                note="",
            ),
            needs=(casework, "child_care_record_add"),
        )
    ],
    "就业（劳动能力、公益岗、培训）": [
        Step(
            person_of,
            lambda u, p: casework.labour_profile_save(
                u, p, ability="full", willing=True, assessed_on=DAY
            ),
        ),
        Step(
            person_of,
            lambda u, p: casework.welfare_post_place(
                u, p, post="保洁员", employer="村委会", started_on=DAY
            ),
        ),
        Step(
            person_of,
            lambda u, p: casework.training_add(
                u, p, kind="practical", course="食用菌种植", organiser="农技站", started_on=DAY
            ),
        ),
    ],
    "无障碍改造各步": [
        Step(person_of, lambda u, p: casework.accessibility_apply(u, p, applied_on=DAY)),
        Step(
            modification_applied,
            lambda u, mod: casework.accessibility_advance(
                u, mod, "assessed", on=DAY, assessment="需加装扶手"
            ),
        ),
    ],
    "托养照护": [
        Step(
            person_of, lambda u, p: casework.custodial_care_start(u, p, mode="home", started_on=DAY)
        )
    ],
    "一人一案": [
        Step(
            child_of,
            lambda u, child: casework.education_plan_save(
                u, child, placement="home_teaching", verified_on=DAY
            ),
        )
    ],
    "监测对象决定（建立、纳入、不予纳入、消除）": [
        Step(household_of, lambda u, hh: casework.case_open(u, hh, reason="家庭收入骤降")),
        Step(
            case_opened,
            lambda u, case: casework.case_include(
                u, case, category="marginal", risk_types=["因病"], reason="核实属实", on=DAY
            ),
        ),
        Step(case_opened, lambda u, case: casework.case_reject(u, case, reason="收入达标", on=DAY)),
        Step(
            case_assisting,
            lambda u, case: casework.case_clear(
                u, case, method="assistance", reason="风险消除", on=DAY
            ),
        ),
    ],
    "帮扶措施": [
        Step(
            household_of,
            lambda u, hh: casework.assistance_add(
                u, hh, kind="health", responsible_unit="镇卫生院", started_on=DAY
            ),
        )
    ],
    "走访照片": [Step(visit_of, add_then_remove_photo)],
    "帮扶措施、无障碍改造照片": [
        Step(measure_of, add_then_remove_photo),
        Step(
            modification_in_construction,
            lambda u, modification: add_then_remove_photo(u, modification, stage="construction"),
        ),
    ],
    "结对帮扶": [
        Step(
            household_of,
            lambda u, hh: casework.pairing_start(
                u, hh, helper_name="王书记", helper_kind="cadre", started_on=DAY
            ),
        )
    ],
    "救助补贴申请（申请、审核、批准、落实）": [
        Step(
            person_of,
            lambda u, p: benefits.benefit_application_create(
                u, p, benefit_type="dibao", applied_on=DAY
            ),
        ),
        Step(
            application_applied,
            lambda u, app: benefits.benefit_application_review(
                u, app, note="材料齐全", reviewed_on=DAY
            ),
            needs=(benefits, "benefit_application_review"),
        ),
        Step(
            application_reviewed,
            lambda u, app: benefits.benefit_application_decide(
                u, app, approved=True, decided_on=DAY, monthly_amount="300"
            ),
            needs=(benefits, "benefit_application_review"),
        ),
        Step(
            application_approved,
            lambda u, app: benefits.benefit_application_deliver(
                u, app, note="首月已发放", delivered_on=DAY
            ),
            needs=(benefits, "benefit_application_deliver"),
        ),
    ],
    "救助补贴记录（登记、停保）": [
        Step(
            person_of,
            lambda u, p: benefits.benefit_record_save(
                u, p, benefit_type="living_subsidy", monthly_amount="100", start_month=DAY
            ),
        ),
        Step(
            benefit_recorded,
            lambda u, record: benefits.benefit_record_stop(
                u, record, end_month=DAY, reason="迁出本县"
            ),
        ),
    ],
    "转办": [
        Step(
            measure_of,
            lambda u, measure: referrals.referral_create(
                u, measure.household, unit=first_unit(), request="请落实医疗救助", measure=measure
            ),
            needs=(referrals, "referral_create"),
        ),
        Step(
            referred,
            lambda u, referral: referrals.referral_update_status(u, referral, status="accepted"),
            needs=(referrals, "referral_update_status"),
        ),
    ],
    "转办单位": [
        Step(
            nothing,
            lambda u, _: referrals.referral_unit_save(u, None, name=f"测试单位{next(_names)}"),
            needs=(referrals, "referral_unit_save"),
        )
    ],
    "比对发现（处理、不予处理、建立监测对象）": [
        Step(finding_of, lambda u, f: findings.finding_handle(f, u, "已入户核实")),
        Step(finding_of, lambda u, f: findings.finding_dismiss(f, u, "收入数据有误")),
        Step(finding_of, lambda u, f: finding_actions.finding_open_case(u, f)),
    ],
    "财政花名册下载": [
        Step(
            lambda a, place: place.township,
            lambda u, township: rosters.write_pension_roster(
                BytesIO(), timezone.localdate().year, township=township, user=u
            ),
        )
    ],
    "导入": [Step(nothing, importer)],
    "比对运行": [Step(nothing, lambda u, _: page(u, "get", reverse("staff:run_list")))],
    "政策参数": [Step(nothing, lambda u, _: page(u, "get", reverse("staff:policy_list")))],
    "政策测算": [Step(nothing, lambda u, _: page(u, "get", reverse("staff:whatif_create")))],
    "账号锁定": [Step(nothing, lambda u, _: page(u, "get", reverse("staff:lock_list")))],
    "管理后台": [Step(nothing, admin_site)],
}


def expected(cell: str, user, place: Place) -> bool:
    scope = scope_for(user)
    if cell in (ANYWHERE, YES):
        return True
    if cell == NO:
        return False
    if cell == TOWNSHIP:
        return place.township.pk == scope.township_id
    assert cell == VILLAGE, cell
    return place.village.pk == scope.village_id


def outcome(step: Step, admin, user, place: Place) -> bool:
    prepared = step.prepare(admin, place)
    try:
        step.call(user, prepared)
    except REFUSED:
        return False
    return True


@pytest.mark.parametrize("fixture", list(USERS))
@pytest.mark.parametrize("action", list(MATRIX))
def test_each_role_may_do_exactly_what_the_matrix_says(request, county_admin, fixture, action):
    user = request.getfixturevalue(fixture)
    cell = MATRIX[action][USERS[fixture]]
    steps = ROWS[action]
    missing = [name for module, name in (s.needs for s in steps if s.needs) if module is None]
    missing += [
        name
        for module, name in (s.needs for s in steps if s.needs)
        if module is not None and getattr(module, name, None) is None
    ]
    if missing:
        pytest.skip(f"not built yet: {', '.join(missing)}")
    placeless = set(MATRIX[action]) <= {YES, NO}
    places = [Place("东关村")] if placeless else [Place(key) for key in PLACES]
    wrong = []
    for number, step in enumerate(steps, 1):
        for place in places:
            want = expected(cell, user, place)
            got = outcome(step, county_admin, user, place)
            if got != want:
                verdict = "allowed" if got else "refused"
                wrong.append(f"step {number} in {place.key}: {verdict}, matrix says {cell}")
    assert not wrong, f"{action} as {fixture}: " + "; ".join(wrong)


def test_every_row_of_the_matrix_has_its_calls():
    assert set(ROWS) == set(MATRIX)
    assert set(USERS.values()) == set(range(len(ROLES)))


# --- docs/ROLES.md and this table are the same table ---


def doc_table() -> tuple[list[str], dict[str, tuple[str, ...]]]:
    lines = [line.strip() for line in DOC.read_text(encoding="utf-8").splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("| 操作 |"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = tuple(cells[1 : 1 + len(ROLES)])
    return header, rows


def test_docs_roles_md_is_this_matrix():
    header, rows = doc_table()
    assert tuple(header[1 : 1 + len(ROLES)]) == ROLES
    assert rows == MATRIX


def test_every_cell_of_the_doc_is_one_of_the_five_words():
    _, rows = doc_table()
    words = {ANYWHERE, TOWNSHIP, VILLAGE, YES, NO}
    bad = [(action, cell) for action, cells in rows.items() for cell in cells if cell not in words]
    assert bad == []


def test_each_doc_row_names_the_function_that_enforces_it():
    text = DOC.read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| 操作") and "|---" not in line:
            enforcer = line.strip("|").split("|")[-1]
            assert re.search(r"`[\w.]+", enforcer), line
