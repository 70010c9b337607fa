"""Page benchmark of the staff app (targets: docs/PERFORMANCE.md), run by `make bench` or on its own:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python bench/pages_bench.py
    python bench/pages_bench.py --persons 60000 --requests 40

In the database DATABASE_URL names (emptied of registry, import, findings and case-work
rows first): `seed_demo --persons N` (a synthetic county and its demo logins), some
case work on top (visits, measures, pairings, monitoring cases, so household pages have
a timeline), then one cross-check. Then, with Django's test Client (`force_login`, the
whole middleware stack: session, audit, CSP…), each page is requested `--requests`
times after two warm-up requests and timed in-process; the query count of one request
is captured separately. Prints one JSON line of figures:

    {"bench": "pages", "pages": {"queue_township": {"p50_ms": …, "p95_ms": …,
     "queries": …, "n": …}, …}, "targets_met": true, …}

Targets: ≤ 10 queries for the dashboard, work queue, household and person pages; p95
≤ 300 ms server time for the work queue and the household page. Exit status 1 when a
target is missed.
"""

import argparse
import json
import math
import random
import statistics
import sys
import time
from datetime import timedelta

import harness

ROOT = harness.ROOT

QUERY_BUDGET = 10
P95_TARGET_MS = 300.0
BUDGETED = ("dashboard", "queue", "household", "person")
TIMED = ("queue", "household")


def setup_django():
    harness.setup_django()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test Client's host, in-memory e-mail; nothing else


def empty_tables():
    """Remove earlier rows (the bench database only): registry, imports, findings, case work."""
    from django.apps import apps
    from django.db import connection

    keep = {"cases.township", "cases.village", "cases.auditevent", "subsidies.policyyear"}
    models = [
        model
        for label in ("cases", "monitoring", "subsidies")
        for model in apps.get_app_config(label).get_models()
        if model._meta.label_lower not in keep and not model._meta.proxy
    ]
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "TRUNCATE " + ", ".join(connection.ops.quote_name(t) for t in tables) + " CASCADE"
            )
            return
    with connection.constraint_checks_disabled():
        for model in models:
            model.objects.all()._raw_delete(model.objects.db)


def add_case_work(seed: int = 6) -> dict:
    """Visits, measures, pairings and monitoring cases on part of the households (bulk)."""
    from django.db import transaction
    from django.utils import timezone

    from cases.models import (
        AssistanceMeasure,
        Household,
        MonitoringCase,
        MonitoringCaseStep,
        Pairing,
        TrackingVisit,
    )

    rng = random.Random(seed)
    today = timezone.localdate()
    ids = list(Household.objects.order_by("pk").values_list("pk", flat=True))
    # The demo county has pairings and cases of its own: one open of each per household.
    paired = set(
        Pairing.objects.filter(ended_on__isnull=True).values_list("household_id", flat=True)
    )
    with_case = set(
        MonitoringCase.objects.filter(status__in=["pending", "included", "assisting"]).values_list(
            "household_id", flat=True
        )
    )
    visits, measures, pairings, cases = [], [], [], []
    for pk in ids:
        if rng.random() < 0.35:
            for _ in range(rng.randint(1, 3)):
                visited = today - timedelta(days=rng.randint(1, 400))
                visits.append(
                    TrackingVisit(
                        household_id=pk,
                        visited_on=visited,
                        visitor_name="走访员",
                        water=rng.choice(["ok", "problem", ""]),
                        housing=rng.choice(["ok", "problem", ""]),
                        notes="入户了解家庭收入和两不愁三保障情况",
                        next_due=visited + timedelta(days=rng.choice([30, 60, 90])),
                    )
                )
        if rng.random() < 0.2:
            measures.append(
                AssistanceMeasure(
                    household_id=pk,
                    kind=rng.choice(["employment", "health", "safety_net", "housing"]),
                    responsible_unit="镇残联",
                    started_on=today - timedelta(days=rng.randint(1, 300)),
                )
            )
        if rng.random() < 0.25 and pk not in paired:
            pairings.append(
                Pairing(
                    household_id=pk,
                    helper_name="帮扶干部",
                    helper_kind="cadre",
                    started_on=today - timedelta(days=rng.randint(30, 700)),
                )
            )
        if rng.random() < 0.05 and pk not in with_case:
            cases.append(
                MonitoringCase(
                    household_id=pk,
                    status="pending",
                    opened_on=today - timedelta(days=rng.randint(1, 90)),
                    opening_reason="入户核实收入",
                )
            )
    with transaction.atomic():
        TrackingVisit.objects.bulk_create(visits, batch_size=2000)
        AssistanceMeasure.objects.bulk_create(measures, batch_size=2000)
        Pairing.objects.bulk_create(pairings, batch_size=2000)
        created = MonitoringCase.objects.bulk_create(cases, batch_size=2000)
        steps = [
            MonitoringCaseStep(
                case_id=case.pk,
                from_status="",
                to_status="pending",
                acted_on=case.opened_on,
                reason="建立",
            )
            for case in created
        ]
        MonitoringCaseStep.objects.bulk_create(steps, batch_size=2000)
    return {
        "visits": len(visits),
        "measures": len(measures),
        "pairings": len(pairings),
        "cases": len(created),
    }


def timed(client, url: str, n: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm-up (caches, first compile of templates)
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return {"samples": samples, "queries": len(captured.captured_queries)}


def summarise(runs: list[dict]) -> dict:
    samples = sorted(sample for run in runs for sample in run["samples"])
    index = max(0, math.ceil(0.95 * len(samples)) - 1)  # nearest rank
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[index], 1),
        "max_ms": round(samples[-1], 1),
        "queries": max(run["queries"] for run in runs),
    }


def bench_pages(requests: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from cases.models import Household, Person
    from monitoring.models import Finding

    User = get_user_model()
    township_user = User.objects.get(username="chengguan")
    county_user = User.objects.get(username="admin")
    township_id = township_user.staff_profile.township_id
    rng = random.Random(7)
    households = list(
        Household.objects.filter(township_id=township_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    persons = list(
        Person.objects.filter(township_id=township_id, certificate__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # Households with findings are the ones staff open most: half of the sample.
    with_findings = list(
        Finding.objects.filter(township_id=township_id, household__isnull=False)
        .order_by("household_id")
        .values_list("household_id", flat=True)
        .distinct()
    )
    sample = rng.sample(households, min(len(households), requests // 2)) + rng.sample(
        with_findings, min(len(with_findings), requests - requests // 2)
    )
    people = rng.sample(persons, min(len(persons), requests))

    pages: dict[str, list[dict]] = {}

    def run(name: str, user, urls: list[str], per_url: int):
        client = Client()
        client.force_login(user)
        pages.setdefault(name, []).extend(timed(client, url, per_url) for url in urls)

    queue = reverse("staff:finding_list")
    run("dashboard_township", township_user, [reverse("staff:dashboard")], requests)
    run("dashboard_county", county_user, [reverse("staff:dashboard")], max(5, requests // 4))
    run("queue_township", township_user, [queue], requests)
    run("queue_township_filtered", township_user, [f"{queue}?rule=S05&age=month"], requests)
    run("queue_county", county_user, [queue], requests)
    run("queue_county_page_5", county_user, [f"{queue}?page=5"], requests)
    run(
        "household_township",
        township_user,
        [reverse("staff:household_detail", args=[pk]) for pk in sample],
        1,
    )
    run(
        "person_township",
        township_user,
        [reverse("staff:person_detail", args=[pk]) for pk in people],
        1,
    )
    run("household_list_township", township_user, [reverse("staff:household_list")], requests)
    run("visit_list_township", township_user, [reverse("staff:visit_list")], requests)
    run("stats_county", county_user, [reverse("staff:stats")], 3)
    return {name: summarise(runs) for name, runs in pages.items()}


def check_targets(pages: dict) -> list[str]:
    missed = []
    for name, figures in pages.items():
        kind = name.split("_")[0]
        if kind in BUDGETED and figures["queries"] > QUERY_BUDGET:
            missed.append(f"{name}: {figures['queries']} queries > {QUERY_BUDGET}")
        if kind in TIMED and figures["p95_ms"] > P95_TARGET_MS:
            missed.append(f"{name}: p95 {figures['p95_ms']} ms > {P95_TARGET_MS} ms")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=60000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from monitoring.crosscheck import run_crosscheck
    from monitoring.models import Finding
    from staff.demo import build_demo_county

    figures = {"bench": "pages", "persons": args.persons, "backend": connection.vendor}
    started = time.perf_counter()
    empty_tables()
    summary = build_demo_county(persons=args.persons)
    figures["seed_s"] = round(time.perf_counter() - started, 1)
    figures["households"] = summary.households
    started = time.perf_counter()
    figures["case_work"] = add_case_work()
    figures["case_work_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    run = run_crosscheck(timezone.localdate())
    figures["crosscheck_s"] = round(time.perf_counter() - started, 1)
    figures["findings_open"] = Finding.objects.filter(status="open").count()
    figures["crosscheck_run"] = run.pk
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    figures["pages"] = bench_pages(args.requests)
    missed = check_targets(figures["pages"])
    figures["targets"] = {
        "queries_max": QUERY_BUDGET,
        "p95_ms_max": P95_TARGET_MS,
        "budgeted_pages": list(BUDGETED),
        "timed_pages": list(TIMED),
    }
    figures["targets_met"] = not missed
    figures["missed"] = missed
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
