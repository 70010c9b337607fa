"""monitoring.findings: a person's decisions on findings, with events, scope and reasons."""

from datetime import date
from decimal import Decimal

import pytest

from monitoring.crosscheck import run_crosscheck
from monitoring.findings import (
    FindingError,
    finding_dismiss,
    finding_handle,
    findings_dismiss_bulk,
    findings_handle_bulk,
)
from monitoring.models import Finding, FindingEvent
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def chengguan_finding():
    f.certified_person(income_per_capita=Decimal(3000))
    run_crosscheck(date(2026, 6, 30))
    return Finding.objects.get()


def test_handle_records_action_decider_and_event(chengguan_finding, chengguan_user):
    finding = finding_handle(chengguan_finding, chengguan_user, "  已上报纳入监测  ")
    assert finding.status == Finding.Status.HANDLED
    assert finding.action_taken == "已上报纳入监测"
    assert finding.decided_by == chengguan_user and finding.decided_at is not None
    event = finding.events.latest("id")
    assert (event.from_status, event.to_status, event.actor) == ("open", "handled", chengguan_user)
    assert event.note == "已上报纳入监测" and event.run is None


def test_dismiss_needs_a_reason(chengguan_finding, chengguan_user):
    with pytest.raises(FindingError, match="不予处理必须填写原因"):
        finding_dismiss(chengguan_finding, chengguan_user, "   ")
    with pytest.raises(FindingError, match="请填写处理措施"):
        finding_handle(chengguan_finding, chengguan_user, "")
    chengguan_finding.refresh_from_db()
    assert chengguan_finding.status == Finding.Status.OPEN
    finding = finding_dismiss(chengguan_finding, chengguan_user, "已核实收入为误填")
    assert finding.status == Finding.Status.DISMISSED
    assert finding.dismiss_reason == "已核实收入为误填"
    # a later change of mind: handled replaces the dismissal
    finding = finding_handle(finding, chengguan_user, "重新核实后上报")
    assert finding.status == Finding.Status.HANDLED and finding.dismiss_reason == ""
    assert finding.events.count() == 3


def test_out_of_scope_or_read_only_users_cannot_decide(
    chengguan_finding, hekou_user, viewer_user, village_user
):
    with pytest.raises(FindingError, match="不在您的数据范围内"):
        finding_handle(chengguan_finding, hekou_user, "处理")
    for user in (viewer_user, village_user):
        with pytest.raises(FindingError, match="没有处理比对发现的权限"):
            finding_dismiss(chengguan_finding, user, "原因")
    chengguan_finding.refresh_from_db()
    assert chengguan_finding.status == Finding.Status.OPEN
    assert chengguan_finding.events.count() == 1


def test_a_cleared_finding_cannot_be_decided(chengguan_finding, admin_user):
    Finding.objects.filter(pk=chengguan_finding.pk).update(status=Finding.Status.CLEARED)
    with pytest.raises(FindingError, match="已消除"):
        finding_handle(chengguan_finding, admin_user, "处理")


def test_bulk_decisions_skip_what_is_out_of_scope_or_cleared(chengguan_user, admin_user):
    for township in ("城关镇", "城关镇", "城关镇", "河口镇"):
        f.certified_person(township=township, income_per_capita=Decimal(3000))
    run_crosscheck(date(2026, 6, 30))
    ids = list(Finding.objects.order_by("id").values_list("id", flat=True))
    Finding.objects.filter(pk=ids[2]).update(status=Finding.Status.CLEARED)
    result = findings_handle_bulk([*ids, 999999], chengguan_user, "批量上报")
    assert result == {"updated": 2, "skipped": 3}
    assert set(Finding.objects.filter(status="handled").values_list("id", flat=True)) == set(
        ids[:2]
    )
    assert FindingEvent.objects.filter(to_status="handled").count() == 2
    result = findings_dismiss_bulk(ids, admin_user, "县级统一核实")
    assert result == {"updated": 3, "skipped": 1}
    assert Finding.objects.filter(status="dismissed").count() == 3
    with pytest.raises(FindingError):
        findings_dismiss_bulk(ids, admin_user, "")
