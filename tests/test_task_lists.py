"""The task-area lists (业务清单): each list filters and counts in the user's scope, its export
is masked and audited, village members are refused, and the gap list is `coverage_gaps`."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from cases.identity import mask_id_number
from cases.models import (
    AccessibilityModification,
    AuditEvent,
    BaseEmployment,
    CustodialCare,
    EmploymentBase,
    ExemplaryStory,
    LabourProfile,
    RehabNeed,
    Township,
    TrackingVisit,
    WelfarePostPlacement,
)
from monitoring import eligibility
from staff.selectors import task_lists
from staff.selectors.indicators import rehab_service_rate
from staff.views.task_lists import TASK_LISTS

from . import factories as f
from .downloads import response_bytes

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)
Q = {"as_of": AS_OF.isoformat()}


def page(client, key, **params):
    response = client.get(reverse(f"staff:task_{key}"), {**Q, **params})
    assert response.status_code == 200, response.status_code
    return response


def count_of(response) -> int:
    return response.context["count"]


def names(response) -> set[str]:
    rows = response.context["page"].rows
    return {(getattr(row, "person", None) or row.household.head).name for row in rows}


def export_rows(client, key, **params):
    response = client.get(reverse(f"staff:task_{key}_export"), {**Q, **params})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(response_bytes(response))).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def child(name, birth, township="城关镇", **answers):
    return f.certified_person(birth=birth, township=township, name=name, **answers)


# --- a. school age ---


@pytest.fixture
def children():
    enrolled = child("在校甲", date(2015, 3, 1), in_school="yes")
    planned = child("方案乙", date(2012, 1, 1), in_school="no")
    f.EducationPlanFactory(person=planned.person, placement="home_teaching", school="")
    nothing = child("无案丙", date(2011, 1, 1), in_school="no")
    child("超龄丁", date(2010, 6, 30))  # 16 on the as-of date
    child("河口戊", date(2014, 1, 1), township="河口镇", in_school="no")
    return enrolled, planned, nothing


def test_school_age_list_status_filter_and_count(client, admin_user, children):
    client.force_login(admin_user)
    everything = page(client, "school_age")
    assert count_of(everything) == 4
    assert "超龄丁" not in names(everything)
    assert names(page(client, "school_age", status="enrolled")) == {"在校甲"}
    planned = page(client, "school_age", status="plan")
    assert names(planned) == {"方案乙"} and "送教上门" in planned.content.decode()
    assert count_of(page(client, "school_age", status="none")) == 2
    earlier = page(client, "school_age", as_of="2026-02-28", status="enrolled").context["page"]
    assert [row.age_on_date for row in earlier.rows] == [10]  # born 2015-03-01


def test_school_age_scope_township_user(client, chengguan_user, hekou_user, children):
    client.force_login(chengguan_user)
    assert names(page(client, "school_age")) == {"在校甲", "方案乙", "无案丙"}
    client.force_login(hekou_user)
    assert names(page(client, "school_age")) == {"河口戊"}


def test_bad_filter_shows_chinese_error_and_no_rows(client, admin_user, children):
    client.force_login(admin_user)
    response = page(client, "school_age", status="bogus")
    assert count_of(response) == 0
    assert response.context["filter"].errors["status"]
    response = page(client, "school_age", as_of="not-a-date")
    assert count_of(response) == 0
    assert (
        "日期" in str(response.context["filter"].errors["as_of"])
        or response.context["filter"].errors["as_of"]
    )


# --- b. working age ---


def test_working_age_able_willing_not_employed(client, admin_user):
    profile_in = f.certified_person(name="摸底甲", birth=date(1990, 1, 1))
    LabourProfile.objects.create(
        person=profile_in.person, ability="partial", willing=True, assessed_on=date(2026, 1, 5)
    )
    posted = f.certified_person(name="在岗乙", birth=date(1985, 1, 1))
    LabourProfile.objects.create(
        person=posted.person, ability="full", willing=True, assessed_on=date(2026, 1, 5)
    )
    WelfarePostPlacement.objects.create(
        person=posted.person, post="保洁", employer="镇政府", started_on=date(2026, 1, 1)
    )
    base_worker = f.certified_person(
        name="基地丙",
        birth=date(1985, 1, 1),
        employment_status="unemployed",
        employment_willing=True,
    )
    base = EmploymentBase.objects.create(
        name="合作社",
        kind="cooperative",
        township=Township.objects.get(name="城关镇"),
        leader_name="李",
    )
    BaseEmployment.objects.create(
        base=base, person=base_worker.person, job="种植", started_on=date(2026, 2, 1)
    )
    f.certified_person(
        name="调查丁",
        birth=date(1980, 1, 1),
        employment_status="unemployed",
        employment_willing=True,
    )
    f.certified_person(
        name="已就业戊",
        birth=date(1980, 1, 1),
        employment_status="flexible",
        employment_willing=True,
    )
    f.certified_person(
        name="六十己",
        birth=date(1966, 6, 30),
        employment_status="unemployed",
        employment_willing=True,
    )
    unable = f.certified_person(
        name="无能力庚",
        birth=date(1990, 1, 1),
        employment_status="unemployed",
        employment_willing=True,
    )
    LabourProfile.objects.create(
        person=unable.person, ability="none", willing=True, assessed_on=date(2026, 1, 5)
    )
    ended = f.certified_person(name="离岗辛", birth=date(1990, 1, 1))
    LabourProfile.objects.create(
        person=ended.person, ability="full", willing=True, assessed_on=date(2026, 1, 5)
    )
    WelfarePostPlacement.objects.create(
        person=ended.person,
        post="保洁",
        employer="镇政府",
        started_on=date(2025, 1, 1),
        ended_on=date(2026, 3, 1),
    )
    client.force_login(admin_user)
    response = page(client, "working_age")
    assert names(response) == {"摸底甲", "调查丁", "离岗辛"}
    assert count_of(response) == 3
    assert names(page(client, "working_age", source="survey")) == {"调查丁"}
    assert task_lists.working_age() == (16, 59)


# --- c. rehabilitation ---


def test_rehab_unmet_by_priority_group_agrees_with_the_indicator(client, admin_user):
    head = f.certified_person(
        name="重度甲", grade=1, household=True, rehab_needs=["康复训练"], rehab_received=False
    )
    f.certified_person(
        name="同户乙",
        grade=4,
        household=head.household,
        rehab_needs=["辅助器具"],
        income_per_capita=Decimal("3000"),
    )
    served = f.certified_person(name="已服务丙", grade=2, rehab_needs=["康复训练"])
    f.RehabServiceFactory(person=served.person, served_on=date(2026, 4, 1))
    staff_need = f.certified_person(name="登记丁", grade=2, category=6)
    RehabNeed.objects.create(
        person=staff_need.person, kind="device", identified_on=date(2026, 2, 1)
    )
    f.certified_person(name="无需求戊", grade=1)
    client.force_login(admin_user)
    response = page(client, "rehab_unmet")
    assert names(response) == {"重度甲", "同户乙", "登记丁"}
    by_group = {
        group: names(page(client, "rehab_unmet", group=group))
        for group, _ in task_lists.REHAB_PRIORITY_GROUPS
    }
    assert by_group == {
        "low_income": {"同户乙"},
        "severe": {"重度甲", "登记丁"},
        "severe_mental": {"登记丁"},
        "multi": {"重度甲", "同户乙"},
    }
    table = rehab_service_rate(admin_user, AS_OF)
    for group, members in by_group.items():
        rate = table.total.values[group]
        assert rate.denominator - rate.numerator == len(members), group


# --- d–g, j ---


def test_accessibility_by_step(client, chengguan_user):
    one = f.certified_person(name="申请甲")
    two = f.certified_person(name="验收乙")
    AccessibilityModification.objects.create(person=one.person, applied_on=date(2026, 1, 1))
    AccessibilityModification.objects.create(
        person=two.person,
        applied_on=date(2025, 5, 1),
        status="accepted",
        accepted_on=date(2025, 9, 1),
        cost=Decimal("4800"),
    )
    other = f.certified_person(name="河口丙", township="河口镇")
    AccessibilityModification.objects.create(person=other.person, applied_on=date(2026, 1, 1))
    client.force_login(chengguan_user)
    assert names(page(client, "accessibility")) == {"申请甲", "验收乙"}
    assert names(page(client, "accessibility", status="accepted")) == {"验收乙"}


def test_custodial_current_by_mode(client, admin_user):
    day = f.certified_person(name="日间甲")
    CustodialCare.objects.create(person=day.person, mode="day", started_on=date(2026, 1, 1))
    home = f.certified_person(name="居家乙")
    CustodialCare.objects.create(person=home.person, mode="home", started_on=date(2025, 1, 1))
    ended = f.certified_person(name="已结束丙")
    CustodialCare.objects.create(
        person=ended.person, mode="day", started_on=date(2025, 1, 1), ended_on=date(2026, 1, 1)
    )
    client.force_login(admin_user)
    assert names(page(client, "custodial")) == {"日间甲", "居家乙"}
    assert names(page(client, "custodial", mode="day")) == {"日间甲"}


def test_welfare_posts_current(client, admin_user):
    now = f.certified_person(name="在岗甲")
    WelfarePostPlacement.objects.create(
        person=now.person, post="护林员", employer="林业站", started_on=date(2026, 1, 1)
    )
    later = f.certified_person(name="未上岗乙")
    WelfarePostPlacement.objects.create(
        person=later.person, post="保洁", employer="镇政府", started_on=date(2026, 8, 1)
    )
    client.force_login(admin_user)
    assert names(page(client, "welfare_posts")) == {"在岗甲"}
    assert count_of(page(client, "welfare_posts", employer="林业")) == 1
    assert count_of(page(client, "welfare_posts", employer="民政")) == 0


def test_pairings_with_last_visit(client, admin_user):
    visited = f.certified_person(name="走访甲", household=True)
    quiet = f.certified_person(name="未访乙", household=True)
    f.PairingFactory(household=visited.household, helper_name="张书记")
    f.PairingFactory(household=quiet.household, helper_name="李干部")
    f.PairingFactory(
        household=f.certified_person(name="已结束丙", household=True).household,
        ended_on=date(2026, 1, 1),
    )
    for day in (date(2026, 3, 1), date(2026, 6, 1), date(2026, 7, 15)):
        TrackingVisit.objects.create(household=visited.household, visited_on=day, visitor_name="王")
    client.force_login(admin_user)
    response = page(client, "pairings")
    assert names(response) == {"走访甲", "未访乙"}
    last = {row.household.head.name: row.last_visit for row in response.context["page"].rows}
    assert last == {"走访甲": date(2026, 6, 1), "未访乙": None}
    assert names(page(client, "pairings", quiet_days=60)) == {"未访乙"}
    assert names(page(client, "pairings", quiet_days=10)) == {"走访甲", "未访乙"}


def test_stories_published_filter(client, hekou_user):
    hekou = Township.objects.get(name="河口镇")
    ExemplaryStory.objects.create(
        kind="self_reliant",
        name="自强甲",
        title="养殖致富",
        story="…",
        township=hekou,
        published_in="霍邱新闻",
        published_on=date(2026, 5, 1),
    )
    ExemplaryStory.objects.create(
        kind="helper", name="助残乙", title="帮扶", story="…", township=hekou
    )
    ExemplaryStory.objects.create(
        kind="helper",
        name="城关丙",
        title="帮扶",
        story="…",
        township=Township.objects.get(name="城关镇"),
    )
    client.force_login(hekou_user)
    response = page(client, "stories")
    assert {row.name for row in response.context["page"].rows} == {"自强甲", "助残乙"}
    published = page(client, "stories", published="true")
    assert {row.name for row in published.context["page"].rows} == {"自强甲"}
    assert "霍邱新闻" in published.content.decode()


# --- h. the gap list is coverage_gaps ---


def gap_county():
    f.certified_person(name="重度甲", grade=1, birth=date(1970, 1, 1), receives_care_subsidy=False)
    f.certified_person(name="重度乙", grade=2, birth=date(2000, 1, 1), pension_insured=None)
    f.certified_person(name="享受丙", grade=1, birth=date(1980, 1, 1), receives_care_subsidy=True)
    f.certified_person(
        name="低保丁",
        grade=3,
        receives_dibao=True,
        receives_living_subsidy=False,
        township="河口镇",
    )
    f.certified_person(name="死亡戊", grade=1, survival_status="deceased")
    f.certified_person(
        name="单人己",
        grade=1,
        birth=date(1975, 1, 1),
        employment_status="unemployed",
        income_per_capita=Decimal("2000"),
        receives_dibao=False,
        receives_tekun=False,
    )


@pytest.mark.parametrize("benefit", eligibility.COVERAGE_BENEFITS)
@pytest.mark.parametrize("known", [False, True])
def test_gap_list_is_coverage_gaps_person_for_person(client, admin_user, benefit, known):
    gap_county()
    expected = list(
        eligibility.coverage_gaps(admin_user, benefit, as_of=AS_OF, include_unknown=not known)
    )
    params = {"benefit": benefit, **({"known": "on"} if known else {})}
    client.force_login(admin_user)
    response = page(client, "gaps", **params)
    assert count_of(response) == len(expected)
    assert [r.pk for r in response.context["page"].rows] == [r.pk for r in expected]
    rows = export_rows(client, "gaps", **params)
    assert [row[4] for row in rows[1:]] == [mask_id_number(r.person.id_number) for r in expected]


def test_gap_list_scope_and_default_benefit(client, hekou_user, admin_user):
    gap_county()
    client.force_login(hekou_user)
    assert names(page(client, "gaps", benefit="living_subsidy")) == {"低保丁"}
    assert names(page(client, "gaps")) == set()  # 护理补贴: none in 河口镇
    client.force_login(admin_user)
    assert names(page(client, "gaps")) >= {"重度甲", "单人己"}
    assert "享受丙" not in names(page(client, "gaps")) and "死亡戊" not in names(
        page(client, "gaps")
    )


# --- index, exports, roles ---


def test_index_lists_every_list_with_counts(client, chengguan_user, children):
    client.force_login(chengguan_user)
    response = client.get(reverse("staff:task_index"))
    assert response.status_code == 200
    entries = {entry["task"].key: entry for entry in response.context["entries"]}
    assert entries["school_age"]["count"] == 3
    for task in TASK_LISTS:
        if task.select is not None:
            assert task.key in entries
    assert reverse("staff:roster_downloads") in response.content.decode()
    assert "业务清单" in response.content.decode()  # the navigation entry


def test_index_links_hardship_children_when_it_exists(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("staff:task_index"))
    keys = [entry["task"].key for entry in response.context["entries"]]
    try:
        reverse("staff:hardship_children")
    except Exception:
        assert "hardship_children" not in keys
    else:
        assert "hardship_children" in keys
        entry = response.context["entries"][keys.index("hardship_children")]
        assert entry["count"] == 0 and entry["url"] == reverse("staff:hardship_children")


EXPORT_LABELS = {task.key: task.audit_label for task in TASK_LISTS if task.select}


def test_export_is_masked_scoped_and_audited(client, hekou_user, children):
    mine = child("河口儿童", date(2013, 5, 5), township="河口镇", in_school="yes")
    client.force_login(hekou_user)
    rows = export_rows(client, "school_age")
    text = "\n".join(str(c) for row in rows for c in row if c is not None)
    assert mask_id_number(mine.person.id_number) in text
    assert mine.person.id_number not in text
    assert "在校甲" not in text
    assert len(rows) == 3  # header, 河口戊, 河口儿童
    event = AuditEvent.objects.get(action="export", target_label="task_lists.school_age")
    assert event.actor == hekou_user and event.details["rows"] == 2


@pytest.mark.parametrize("key", sorted(EXPORT_LABELS))
def test_every_list_page_and_export_answer_and_are_audited(client, viewer_user, key):
    client.force_login(viewer_user)
    page(client, key)
    assert (
        AuditEvent.objects.filter(target_label=EXPORT_LABELS[key]).exclude(action="export").exists()
    )
    export_rows(client, key)
    assert AuditEvent.objects.filter(action="export", target_label=EXPORT_LABELS[key]).exists()


@pytest.mark.parametrize("key", sorted(EXPORT_LABELS))
def test_village_member_is_refused(client, village_user, key):
    client.force_login(village_user)
    assert client.get(reverse(f"staff:task_{key}")).status_code == 403
    assert client.get(reverse(f"staff:task_{key}_export")).status_code == 403


def test_village_member_refused_index_and_no_nav(client, village_user):
    client.force_login(village_user)
    assert client.get(reverse("staff:task_index")).status_code == 403
    home = client.get(reverse("staff:visit_list")).content.decode()
    assert reverse("staff:task_index") not in home


def test_year_without_policy_is_a_message_not_an_error(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("staff:task_gaps"), {"as_of": "2040-01-01"})
    assert response.status_code == 200
    assert "2040" in response.content.decode()


@pytest.mark.parametrize("key", sorted(EXPORT_LABELS))
def test_list_page_query_budget(client, admin_user, children, django_assert_max_num_queries, key):
    client.force_login(admin_user)
    with django_assert_max_num_queries(11):  # +1: the audit chain's head (docs/SECURITY.md)
        page(client, key)


def test_index_query_budget(client, admin_user, children, django_assert_max_num_queries):
    client.force_login(admin_user)
    with django_assert_max_num_queries(
        13 + len(EXPORT_LABELS)
    ):  # +1: the audit chain's head (docs/SECURITY.md)
        assert client.get(reverse("staff:task_index")).status_code == 200


def test_count_spans_pages(client, admin_user):
    for index in range(52):
        child(f"儿童{index}", date(2014, 1, 1), in_school="yes")
    client.force_login(admin_user)
    first = page(client, "school_age")
    assert count_of(first) == 52 and len(first.context["page"].rows) == 50
    second = page(client, "school_age", page=2)
    assert count_of(second) == 52 and len(second.context["page"].rows) == 2
    assert count_of(page(client, "school_age", page=3)) == 52
