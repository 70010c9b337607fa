"""家庭无障碍改造 on the person page: 申请 → 评估 → 施工 → 验收 (or 终止), one form per step,
no step skipped, who and when shown per step; scope and role."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import casework
from cases.casework_base import CaseworkError, TransitionError
from cases.models import AccessibilityModification, ChangeRecord

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def apply_url(person):
    return reverse("staff:accessibility_apply", args=[person.pk])


def step_url(mod, step):
    return reverse("staff:accessibility_step", args=[mod.pk, step])


def page(client, person):
    return client.get(reverse("staff:person_detail", args=[person.pk])).content.decode()


@pytest.fixture
def writer(client, hekou_user):
    hekou_user.last_name, hekou_user.first_name = "王", "芳"
    hekou_user.save()
    client.force_login(hekou_user)
    return hekou_user


def history_count(mod=None):
    rows = ChangeRecord.objects.filter(model="cases.accessibilitymodification")
    return rows.filter(object_id=str(mod.pk)).count() if mod else rows.count()


def test_the_four_steps_in_order_with_who_and_when(client, writer, home):
    person = home.head
    day = TODAY().isoformat()
    response = client.post(apply_url(person), {"applied_on": day, "items": "卫生间扶手"})
    assert response.status_code == 302
    mod = AccessibilityModification.objects.get(person=person)
    assert mod.status == "applied"

    html = page(client, person)
    assert 'data-testid="accessibility-next-assessed"' in html
    assert 'data-testid="accessibility-next-cancelled"' in html
    assert 'data-testid="accessibility-next-construction"' not in html
    assert 'data-testid="accessibility-apply"' not in html  # one open modification at a time

    steps = [
        ("assessed", {"on": day, "assessment": "需加装扶手和坡道"}),
        ("construction", {"on": day, "contractor": "县建安公司", "items": "扶手、坡道"}),
        ("accepted", {"on": day, "cost": "3200.50"}),
    ]
    for step, data in steps:
        response = client.post(step_url(mod, step), data)
        assert response.status_code == 302, response.content.decode()[:1500]
        mod.refresh_from_db()
        assert mod.status == step
    assert (mod.assessment, mod.contractor, mod.items) == (
        "需加装扶手和坡道",
        "县建安公司",
        "扶手、坡道",
    )
    assert str(mod.cost) == "3200.50" and mod.accepted_on == TODAY()

    html = page(client, person)
    for step in ("applied", "assessed", "construction", "accepted"):
        assert f'data-testid="step-{step}">{TODAY():%Y-%m-%d} · 王芳<' in html
    assert 'data-testid="accessibility-next-' not in html  # finished: no further step
    assert 'data-testid="accessibility-apply"' in html  # a new application may follow
    assert set(
        ChangeRecord.objects.filter(model="cases.accessibilitymodification").values_list(
            "actor", flat=True
        )
    ) == {writer.pk}


def test_a_step_cannot_be_skipped(client, writer, home):
    mod = casework.accessibility_apply(writer, home.head, applied_on=TODAY())
    before = history_count(mod)
    for step, data in (
        ("construction", {"on": TODAY().isoformat(), "contractor": "甲", "items": "扶手"}),
        ("accepted", {"on": TODAY().isoformat(), "cost": "100"}),
    ):
        response = client.post(step_url(mod, step), data)
        assert response.status_code == 400
        assert "无障碍改造当前进度为“申请”" in response.content.decode()
    mod.refresh_from_db()
    assert mod.status == "applied" and history_count(mod) == before
    with pytest.raises(TransitionError, match="不能变更为“验收”"):
        casework.accessibility_advance(writer, mod, "accepted", on=TODAY(), cost="1")
    assert client.get(step_url(mod, "no-such-step")).status_code == 404


def advanced(user, person, to):
    mod = casework.accessibility_apply(user, person, applied_on=TODAY() - timedelta(days=3))
    if to in ("assessed", "construction"):
        casework.accessibility_advance(user, mod, "assessed", on=TODAY(), assessment="需改造")
    if to == "construction":
        casework.accessibility_advance(
            user, mod, "construction", on=TODAY(), contractor="甲", items="扶手"
        )
    return mod


@pytest.mark.parametrize(
    ("status", "step", "data", "field", "message"),
    [
        ("applied", "assessed", {"assessment": ""}, "assessment", "请填写评估意见"),
        (
            "assessed",
            "construction",
            {"contractor": "", "items": "扶手"},
            "contractor",
            "请填写施工单位",
        ),
        ("assessed", "construction", {"contractor": "甲", "items": ""}, "items", "请填写改造内容"),
        ("construction", "accepted", {"cost": ""}, "cost", "请填写改造费用（元）"),
        ("construction", "accepted", {"cost": "-5"}, "cost", "改造费用（元）不能为负数"),
        ("construction", "accepted", {"cost": "100", "on": ""}, "on", "请填写验收日期"),
        ("applied", "cancelled", {"reason": ""}, "reason", "请填写终止原因"),
        (
            "applied",
            "assessed",
            {"assessment": "x", "on": "2026-13-01"},
            "on",
            "评估日期格式不正确",
        ),
    ],
)
def test_each_step_checks_its_own_fields(client, writer, home, status, step, data, field, message):
    mod = advanced(writer, home.head, status)
    before = history_count(mod)
    response = client.post(step_url(mod, step), {"on": TODAY().isoformat(), **data})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    mod.refresh_from_db()
    assert mod.status == status and history_count(mod) == before


def test_the_service_refuses_acceptance_without_cost_and_assessment_without_opinion(writer, home):
    mod = advanced(writer, home.head, "construction")
    with pytest.raises(CaseworkError, match="请填写改造费用"):
        casework.accessibility_advance(writer, mod, "accepted", on=TODAY())
    fresh = advanced(writer, home.spouse, "applied")
    with pytest.raises(CaseworkError, match="评估须填写评估意见"):
        casework.accessibility_advance(writer, fresh, "assessed", on=TODAY())
    mod.refresh_from_db()
    assert mod.status == "construction" and mod.cost is None


def test_cancel_from_applied_or_assessed_only(client, writer, home):
    mod = advanced(writer, home.head, "applied")
    response = client.post(
        step_url(mod, "cancelled"), {"on": TODAY().isoformat(), "reason": "家属放弃"}
    )
    assert response.status_code == 302
    mod.refresh_from_db()
    assert (mod.status, mod.cancel_reason) == ("cancelled", "家属放弃")
    html = page(client, home.head)
    assert 'data-testid="step-cancelled"' in html and "家属放弃" in html

    building = advanced(writer, home.head, "construction")
    response = client.post(
        step_url(building, "cancelled"), {"on": TODAY().isoformat(), "reason": "放弃"}
    )
    assert response.status_code == 400
    building.refresh_from_db()
    assert building.status == "construction"


def test_a_second_open_application_is_refused(client, writer, home):
    advanced(writer, home.head, "applied")
    response = client.post(apply_url(home.head), {"applied_on": TODAY().isoformat()})
    assert response.status_code == 400
    assert "已有进行中的无障碍改造" in response.content.decode()
    assert AccessibilityModification.objects.count() == 1


def test_scope_404_and_read_only_403(client, home, chengguan_user, viewer_user, hekou_user):
    mod = advanced(hekou_user, home.head, "applied")
    client.force_login(chengguan_user)
    assert client.get(apply_url(home.head)).status_code == 404
    assert client.post(apply_url(home.head), {"applied_on": TODAY().isoformat()}).status_code == 404
    assert (
        client.post(
            step_url(mod, "assessed"), {"on": TODAY().isoformat(), "assessment": "x"}
        ).status_code
        == 404
    )
    client.force_login(viewer_user)
    assert client.get(apply_url(home.head)).status_code == 403
    assert (
        client.post(
            step_url(mod, "assessed"), {"on": TODAY().isoformat(), "assessment": "x"}
        ).status_code
        == 403
    )
    html = page(client, home.head)
    assert 'data-testid="accessibility-next-' not in html
    mod.refresh_from_db()
    assert mod.status == "applied" and AccessibilityModification.objects.count() == 1
