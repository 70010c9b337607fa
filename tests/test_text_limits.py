"""Free text has a length limit, enforced by the services (and so by the staff forms, the
admin and the commands alike); a refused huge value does not reach the audit trail whole."""

import json
from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import casework
from cases.casework_base import NOTE_MAX_LENGTH, REASON_MAX_LENGTH, CaseworkError
from cases.models import (
    AssistanceMeasure,
    AuditEvent,
    ChangeRecord,
    ExemplaryStory,
    Household,
    TrackingVisit,
)
from monitoring.findings import FindingError, finding_dismiss
from subsidies.policy import PolicyError, policy_set

from . import factories

pytestmark = pytest.mark.django_db

HUGE = "长" * 1_000_000
TOO_LONG_NOTE = f"走访情况及发现问题不能超过{NOTE_MAX_LENGTH}个字（现有1000000个字）"


def visit_form(**overrides):
    data = {
        "visited_on": timezone.localdate().isoformat(),
        "kind": "tracking",
        "visitor_name": "李娟",
        "notes": "饮水仍未接通",
    }
    data.update(overrides)
    return data


def audit_row_size(event: AuditEvent) -> int:
    return len(json.dumps(event.details, ensure_ascii=False)) + len(event.target_label)


def test_a_million_character_visit_note_is_refused_on_the_form_and_writes_nothing(
    client, hekou_user, home
):
    client.force_login(hekou_user)
    visits, history = TrackingVisit.objects.count(), ChangeRecord.objects.count()
    # ASCII: a million Chinese characters would exceed Django's request size limit first.
    huge = "a" * 1_000_000
    response = client.post(
        reverse("staff:visit_create", args=[home.household.pk]), visit_form(notes=huge)
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["notes"] == [TOO_LONG_NOTE]
    assert TOO_LONG_NOTE in response.content.decode()
    assert TrackingVisit.objects.count() == visits
    assert ChangeRecord.objects.count() == history
    event = AuditEvent.objects.latest("id")
    assert event.method == "POST"
    assert audit_row_size(event) < 2_000
    assert event.details["form"]["notes"] == "a" * 200 + "…（已截断，原有1000000个字）"


def test_a_note_at_the_limit_is_accepted_one_more_is_not(client, hekou_user, home):
    client.force_login(hekou_user)
    url = reverse("staff:visit_create", args=[home.household.pk])
    page = client.get(url).content.decode()
    assert f'name="notes" cols="40" rows="4" maxlength="{NOTE_MAX_LENGTH}"' in page
    over = client.post(url, visit_form(notes="字" * (NOTE_MAX_LENGTH + 1)))
    assert over.status_code == 400
    note = "字" * NOTE_MAX_LENGTH
    response = client.post(url, visit_form(notes=note))
    assert response.status_code == 302
    assert TrackingVisit.objects.latest("id").notes == note


def test_the_visit_service_refuses_directly_and_keeps_line_breaks(hekou_user, home):
    household = home.household
    for name, label in (
        ("notes", "走访情况及发现问题"),
        ("members_situation", "家庭成员情况"),
        ("separated_children_situation", "分户子女家庭情况"),
    ):
        with pytest.raises(CaseworkError) as refused:
            casework.visit_record(
                hekou_user, household, visited_on=date(2026, 5, 1), **{name: HUGE}
            )
        assert refused.value.field == name
        assert str(refused.value) == f"{label}不能超过{NOTE_MAX_LENGTH}个字（现有1000000个字）"
    assert not TrackingVisit.objects.filter(household=household, visited_on=date(2026, 5, 1))
    visit = casework.visit_record(
        hekou_user, household, visited_on=date(2026, 5, 1), notes=" 一、饮水\r\n二、住房 "
    )
    assert visit.notes == "一、饮水\n二、住房"
    with pytest.raises(CaseworkError, match="修改原因不能超过500个字"):
        casework.visit_update(hekou_user, visit, reason=HUGE, notes="改")


def test_the_admin_refuses_through_the_service(admin_client):
    person = factories.certified_person(household=True, name="张德明").person
    household = Household.objects.get(head=person)
    response = admin_client.post(
        reverse("admin:cases_trackingvisit_add"),
        {
            "household": household.pk,
            "kind": "tracking",
            "visited_on": "2026-05-01",
            "visitor_name": "李娟",
            "notes": "a" * 1_000_000,
        },
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["notes"] == [TOO_LONG_NOTE]
    assert not TrackingVisit.objects.exists()
    assert not ChangeRecord.objects.filter(model="cases.trackingvisit").exists()


def test_other_free_texts_are_bounded(hekou_user, home, county_admin):
    with pytest.raises(CaseworkError) as refused:
        casework.story_save(
            hekou_user,
            kind="self_reliant",
            name="王",
            title="自强",
            story_text=HUGE,
            township=home.household.township,
        )
    assert refused.value.field == "story"
    assert not ExemplaryStory.objects.exists()
    with pytest.raises(CaseworkError, match="成效不能超过300个字"):
        casework.assistance_update(
            hekou_user, AssistanceMeasure.objects.get(household=home.household), result=HUGE
        )
    finding = next(iter(home.findings.values()))
    with pytest.raises(FindingError) as refused_finding:
        finding_dismiss(finding, hekou_user, HUGE)
    assert str(refused_finding.value) == (
        f"不予处理原因不能超过{REASON_MAX_LENGTH}个字（现有1000000个字）"
    )
    with pytest.raises(PolicyError, match="修改原因不能超过500个字"):
        policy_set(2026, actor=county_admin, reason=HUGE, monitoring_line="7000")
