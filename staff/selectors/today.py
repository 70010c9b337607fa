"""The home page's "今日工作": what is waiting on the signed-in worker today, in their scope.

Five counts, one query each, read through the same definitions as the pages they link to
(overdue visits from `monitoring.visits_due`, open findings in the queue's urgency order,
pending applications, accessibility modifications in progress, open referrals), so a number
here and the list behind its link cannot disagree.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Q

from cases.models import AccessibilityModification, Household
from cases.scope import AnyUser, scoped
from monitoring.models import Finding
from monitoring.rules import REGISTRY
from monitoring.visits_due import overdue_household
from staff.selectors.findings import URGENCY_RANK
from subsidies.models import BenefitApplication, Referral

# The rules shown by name on the card: the most urgent of those with open findings.
URGENT_RULES_SHOWN = 3

IN_PROGRESS = (
    AccessibilityModification.Status.APPLIED,
    AccessibilityModification.Status.ASSESSED,
    AccessibilityModification.Status.CONSTRUCTION,
)


@dataclass
class WorkToday:
    overdue_households: int = 0
    open_findings: int = 0
    urgent_rules: list[tuple[str, str, int]] = field(default_factory=list)  # code, name, count
    applications_pending: int = 0
    applications_to_deliver: int = 0
    accessibility_in_progress: int = 0
    referrals_open: int = 0

    @property
    def anything(self) -> bool:
        return any(
            (
                self.overdue_households,
                self.open_findings,
                self.applications_pending,
                self.applications_to_deliver,
                self.accessibility_in_progress,
                self.referrals_open,
            )
        )


def work_today(user: AnyUser, on: date) -> WorkToday:
    work = WorkToday()
    work.overdue_households = scoped(user, Household.objects.filter(overdue_household(on))).count()
    by_rule = (
        scoped(user, Finding.objects.filter(status=Finding.Status.OPEN))
        .values_list("rule")
        .annotate(n=Count("pk"))
    )
    counts = dict(by_rule)
    work.open_findings = sum(counts.values())
    ordered = sorted(counts, key=lambda code: (URGENCY_RANK.get(code, 99), code))
    work.urgent_rules = [
        (code, REGISTRY[code].name if code in REGISTRY else "", counts[code])
        for code in ordered[:URGENT_RULES_SHOWN]
    ]
    applications = scoped(user, BenefitApplication.objects.all()).aggregate(
        pending=Count("pk", filter=Q(status__in=BenefitApplication.PENDING)),
        to_deliver=Count("pk", filter=Q(status=BenefitApplication.Status.APPROVED)),
    )
    work.applications_pending = applications["pending"]
    work.applications_to_deliver = applications["to_deliver"]
    work.accessibility_in_progress = scoped(
        user, AccessibilityModification.objects.filter(status__in=IN_PROGRESS)
    ).count()
    work.referrals_open = scoped(user, Referral.objects.filter(status__in=Referral.OPEN)).count()
    return work
