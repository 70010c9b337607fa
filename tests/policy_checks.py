"""What both editors of a policy year (the Django admin and the staff page) must show after
raising 2026's monitoring line from the default 7000 to 7600 yuan through `policy_set`."""

from decimal import Decimal

from cases.models import ChangeRecord

RAISED_2026 = {
    "monitoring_line": "7600",
    "rigid_expenditure_threshold": "20000",
    "pension_contribution_tier": "200",
    "visit_due_days": "30",  # the admin's form renders the current value; the page's may be blank
}


def assert_monitoring_line_raised(client, url, policy, actor, reason):
    """Saved (no longer the default), one change record naming `actor` and `reason`, and the
    edit page at `url` shows the reason and the change."""
    policy.refresh_from_db()
    assert policy.monitoring_line == Decimal("7600") and policy.is_default is False
    record = ChangeRecord.objects.get(model="subsidies.policyyear", object_id=str(policy.pk))
    assert record.actor == actor and record.reason == reason
    assert record.changes["monitoring_line"] == ["7000.00", "7600.00"]
    page = client.get(url).content.decode()
    assert reason in page and "防返贫监测收入线：7000.00 → 7600.00" in page
