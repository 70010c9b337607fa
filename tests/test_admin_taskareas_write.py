"""A change typed into a task-area admin form is saved through its service or refused with a
Chinese message: never dropped without a word.

The bug this guards: an accessibility modification saved as 验收 stayed 申请. A step that is
not the next one now reaches `casework.accessibility_advance`, which refuses it with its own
reason; a value typed into a field the chosen step does not write (施工单位 outside 施工,
改造费用 outside 验收) is refused instead of being dropped; and no admin form offers a field
that its save does not pass on.
"""

from datetime import date

import pytest
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.test import RequestFactory
from django.urls import reverse

from cases import casework
from cases.admin_base import ServiceAdmin
from cases.models import AccessibilityModification, ChangeRecord

from . import factories

pytestmark = pytest.mark.django_db

A = AccessibilityModification.Status


@pytest.fixture
def mod(admin_client):
    person = factories.certified_person(household=True, name="孙秀英").person
    return casework.accessibility_apply(
        admin_client.user, person, applied_on=date(2026, 3, 1), items="卫生间扶手"
    )


def change_url(mod) -> str:
    return reverse("admin:cases_accessibilitymodification_change", args=[mod.pk])


def field_errors(response) -> dict:
    form = response.context["adminform"].form
    return {name: [str(m) for m in messages] for name, messages in form.errors.items()}


def history_rows(mod) -> int:
    return ChangeRecord.objects.filter(
        model="cases.accessibilitymodification", object_id=str(mod.pk)
    ).count()


def test_jumping_from_applied_to_accepted_is_refused_with_the_services_message(admin_client, mod):
    before = history_rows(mod)
    response = admin_client.post(
        change_url(mod), {"to_status": "accepted", "on": "2026-03-05", "cost": "3000"}
    )
    assert response.status_code == 200
    assert field_errors(response)["to_status"] == [
        "无障碍改造当前进度为“申请”，不能变更为“验收”。允许的下一步：评估、已终止"
    ]
    mod.refresh_from_db()
    assert (mod.status, mod.accepted_on, mod.cost) == (A.APPLIED, None, None)
    assert history_rows(mod) == before


def test_an_unknown_status_is_refused_by_the_form(admin_client, mod):
    response = admin_client.post(change_url(mod), {"to_status": "done", "on": "2026-03-05"})
    assert response.status_code == 200
    assert "to_status" in field_errors(response)
    mod.refresh_from_db()
    assert mod.status == A.APPLIED


def test_walking_the_steps_one_by_one_reaches_accepted(admin_client, mod):
    url = change_url(mod)
    steps = [
        {"to_status": "assessed", "on": "2026-03-05", "assessment": "需加装扶手"},
        {"to_status": "construction", "on": "2026-03-10", "contractor": "城关建筑队"},
        {"to_status": "accepted", "on": "2026-03-20", "cost": "3200", "change_reason": "验收合格"},
    ]
    for data in steps:
        page = admin_client.get(url).context["adminform"].form
        # The form starts from the record (assessment, items, contractor, cost kept).
        posted = {
            name: page.initial.get(name) or ""
            for name in ("assessment", "items", "contractor", "cost")
        }
        response = admin_client.post(url, {**posted, **data})
        assert response.status_code == 302, field_errors(response)
    mod.refresh_from_db()
    assert mod.status == A.ACCEPTED
    assert (mod.assessed_on, mod.construction_started_on, mod.accepted_on) == (
        date(2026, 3, 5),
        date(2026, 3, 10),
        date(2026, 3, 20),
    )
    assert (mod.contractor, str(mod.cost)) == ("城关建筑队", "3200.00")
    last = ChangeRecord.objects.filter(
        model="cases.accessibilitymodification", object_id=str(mod.pk)
    ).latest("id")
    assert (last.source, last.reason) == ("管理后台", "验收合格")
    # Done: the page is view-only now.
    assert admin_client.post(url, {"to_status": "cancelled", "on": "2026-03-21"}).status_code == 403


def test_a_contractor_typed_at_the_assessment_step_is_refused_not_dropped(admin_client, mod):
    response = admin_client.post(
        change_url(mod),
        {
            "to_status": "assessed",
            "on": "2026-03-05",
            "assessment": "需加装扶手",
            "items": "卫生间扶手",
            "contractor": "城关建筑队",
        },
    )
    assert response.status_code == 200
    assert field_errors(response)["contractor"] == [
        "施工单位在“施工”这一步填写，本次办理不会保存它"
    ]
    mod.refresh_from_db()
    assert (mod.status, mod.contractor) == (A.APPLIED, "")


def test_a_cost_typed_before_acceptance_is_refused_not_dropped(admin_client, mod):
    user = admin_client.user
    casework.accessibility_advance(user, mod, "assessed", on=date(2026, 3, 5), assessment="需改")
    response = admin_client.post(
        change_url(mod),
        {
            "to_status": "construction",
            "on": "2026-03-10",
            "contractor": "城关建筑队",
            "items": "卫生间扶手",
            "cost": "3000",
        },
    )
    assert response.status_code == 200
    assert field_errors(response)["cost"] == ["改造费用在“验收”这一步填写，本次办理不会保存它"]
    mod.refresh_from_db()
    assert (mod.status, mod.cost) == (A.ASSESSED, None)


def test_cancelling_needs_the_reason_on_the_reason_field(admin_client, mod):
    response = admin_client.post(change_url(mod), {"to_status": "cancelled", "on": "2026-03-05"})
    assert response.status_code == 200
    assert field_errors(response)["change_reason"] == ["终止原因不能为空"]
    response = admin_client.post(
        change_url(mod), {"to_status": "cancelled", "on": "2026-03-05", "change_reason": "户主放弃"}
    )
    assert response.status_code == 302
    mod.refresh_from_db()
    assert (mod.status, mod.cancel_reason) == (A.CANCELLED, "户主放弃")


# --- every service admin: what the form lets you edit is what the save passes on ---


def service_admins():
    return sorted(
        (
            (model, model_admin)
            for model, model_admin in admin.site._registry.items()
            if isinstance(model_admin, ServiceAdmin)
        ),
        key=lambda pair: pair[0]._meta.label,
    )


def editable_fields(model_admin, request, obj) -> set[str]:
    fields = set(flatten_fieldsets(model_admin.get_fieldsets(request, obj)))
    readonly = set(model_admin.get_readonly_fields(request, obj))
    return fields - readonly - {"change_reason"}


def passed_on_add(model_admin) -> set[str]:
    if model_admin.save_service is not None:
        return set(model_admin.change_fields) | {model_admin.save_key} - {None}
    return set(model_admin.add_fields)


def test_no_service_admin_offers_a_field_its_save_ignores(county_admin):
    request = RequestFactory().get("/admin/")
    request.user = county_admin
    silent = []
    admins = service_admins()
    assert len(admins) >= 15  # the task-area and benefit admins are all found
    for model, model_admin in admins:
        own_create = model_admin._implements("create") and model_admin.save_service is None
        if model_admin.has_add_permission(request) and not own_create:
            extra = editable_fields(model_admin, request, None) - passed_on_add(model_admin)
            silent += [f"{model._meta.label} (新增): {name}" for name in sorted(extra)]
        obj = model()  # a fresh record: open, first step (what a change page is offered for)
        if model_admin.has_change_permission(request, obj):
            extra = editable_fields(model_admin, request, obj) - set(model_admin.change_fields)
            silent += [f"{model._meta.label} (修改): {name}" for name in sorted(extra)]
    assert silent == [], "admin fields whose changes the save would drop: " + "; ".join(silent)


def test_the_guard_sees_a_dropped_field():
    """The check above can fail: a field on the form but not in `change_fields` is found."""

    class Leaky(ServiceAdmin):
        change_fields = ("note",)

        def get_fieldsets(self, request, obj=None):
            return [(None, {"fields": ["note", "post"]})]

        def get_readonly_fields(self, request, obj=None):
            return []

    leaky = Leaky(AccessibilityModification, admin.site)
    assert editable_fields(leaky, None, object()) - set(leaky.change_fields) == {"post"}
