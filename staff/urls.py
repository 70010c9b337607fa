"""Pages of the staff app, namespaced `staff:`.

Site-level names without a namespace (`login`, `logout`, `home`) live in huoqiu/urls.py.
The paths are those the pages always had (`/persons/`, `/monitoring/findings/`, …).
The task-area pages keep their routes beside their views (`routes` of `person_work`,
`person_care`, `household_work`, `task_lists`), one list per area, added at the end.
"""

from django.urls import path

from .views import (
    dashboard,
    findings,
    floor,
    household_work,
    households,
    imports,
    locks,
    offline,
    person_care,
    person_work,
    persons,
    photos,
    policy,
    printing,
    runs,
    stats_export,
    task_lists,
    visits,
    whatif,
)

app_name = "staff"
urlpatterns = [
    path("persons/", persons.persons, name="person_list"),
    path("persons/export.xlsx", persons.persons_export, name="person_export"),
    path("persons/<int:pk>/", persons.person, name="person_detail"),
    path("persons/<int:pk>/reveal/<str:field>/", persons.person_reveal, name="person_reveal"),
    path("persons/<int:pk>/education-plan/", persons.education_plan, name="education_plan"),
    path(
        "persons/<int:pk>/rehab-services/new/",
        persons.rehab_service_create,
        name="rehab_service_create",
    ),
    path(
        "subsidies/persons/<int:pk>/benefits/new/",
        persons.benefit_create,
        name="benefit_create",
    ),
    path(
        "subsidies/persons/<int:pk>/benefits/<int:record_pk>/stop/",
        persons.benefit_stop,
        name="benefit_stop",
    ),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("stats/", dashboard.stats, name="stats"),
    path("stats/export.xlsx", stats_export.stats_export, name="stats_export"),
    path("households/", households.households, name="household_list"),
    path("households/export.xlsx", households.households_export, name="household_export"),
    path("households/<int:pk>/", households.household, name="household_detail"),
    path("households/<int:pk>/visits/new/", visits.visit_create, name="visit_create"),
    path(
        "households/<int:pk>/assistance/new/",
        households.assistance_create,
        name="assistance_create",
    ),
    path("households/<int:pk>/pairing/new/", households.pairing_create, name="pairing_create"),
    path("households/<int:pk>/pairing/end/", households.pairing_end, name="pairing_end"),
    path("households/<int:pk>/case/", households.case_step, name="case_step"),
    path("visits/", visits.visits, name="visit_list"),
    path("visits/export.xlsx", visits.visits_export, name="visit_export"),
    # Offline visit capture (docs/FIELDWORK.md).
    path("visits/offline/", offline.offline_visits, name="offline_visits"),
    path("visits/offline/pick/", offline.offline_pick, name="offline_pick"),
    path("visits/offline/pack/", offline.offline_pack, name="offline_pack"),
    path("visits/offline/csrf/", offline.offline_csrf, name="offline_csrf"),
    path("visits/offline/sync/", offline.offline_sync, name="offline_sync"),
    path("monitoring/imports/", imports.import_list, name="import_list"),
    path("monitoring/imports/sweep/", imports.import_sweep, name="import_sweep"),
    path("monitoring/imports/<int:pk>/", imports.import_detail, name="import_detail"),
    path("monitoring/imports/<int:pk>/status/", imports.import_status, name="import_status"),
    path(
        "monitoring/imports/<int:pk>/download/<str:kind>/",
        imports.import_download,
        name="import_download",
    ),
    path("monitoring/findings/", findings.finding_list, name="finding_list"),
    path("monitoring/findings/export.xlsx", findings.finding_export, name="finding_export"),
    path("monitoring/findings/bulk/", findings.finding_bulk, name="finding_bulk"),
    path("monitoring/findings/<int:pk>/", findings.finding_detail, name="finding_detail"),
    path(
        "monitoring/findings/<int:pk>/evidence/<int:batch_id>/",
        findings.finding_evidence_file,
        name="finding_evidence_file",
    ),
    path(
        "monitoring/findings/<int:pk>/handle/",
        findings.finding_handle_view,
        name="finding_handle",
    ),
    path(
        "monitoring/findings/<int:pk>/dismiss/",
        findings.finding_dismiss_view,
        name="finding_dismiss",
    ),
    path(
        "monitoring/findings/<int:pk>/open-case/",
        findings.finding_open_case_view,
        name="finding_open_case",
    ),
    path(
        "monitoring/findings/<int:pk>/act/<str:action>/",
        findings.finding_act,
        name="finding_act",
    ),
    path("monitoring/runs/", runs.run_list, name="run_list"),
    path("monitoring/runs/start/", runs.run_start, name="run_start"),
    path("monitoring/runs/<int:pk>/", runs.run_detail, name="run_detail"),
    path("subsidies/policy/", policy.policy_list, name="policy_list"),
    path("subsidies/policy/new/", policy.policy_create, name="policy_create"),
    path("subsidies/policy/<int:pk>/", policy.policy_edit, name="policy_edit"),
    # Policy what-if (政策测算, docs/WHATIF.zh.md).
    path("subsidies/policy/whatif/", whatif.whatif_create, name="whatif_create"),
    path("subsidies/policy/whatif/<int:pk>/", whatif.whatif_detail, name="whatif_detail"),
    path("subsidies/policy/whatif/<int:pk>/status/", whatif.whatif_status, name="whatif_status"),
    path(
        "subsidies/policy/whatif/<int:pk>/export.xlsx", whatif.whatif_export, name="whatif_export"
    ),
    path("accounts/locks/", locks.lock_list, name="lock_list"),
    path("accounts/locks/<int:pk>/lift/", locks.lock_lift, name="lock_lift"),
    # The load bench's floor: an authenticated empty page (bench/load_bench.py).
    path("bench/floor/", floor.floor, name="bench_floor"),
    # Printable forms (docs/PRINTING.md).
    path("visits/<int:pk>/print/", printing.visit_print, name="print_visit"),
    path("visits/due/print/", printing.due_visits_print, name="print_due_visits"),
    path("households/<int:pk>/case/print/", printing.case_print, name="print_case"),
    path("persons/<int:pk>/plan/print/", printing.child_plan_print, name="print_child_plan"),
]
urlpatterns += person_work.routes + person_care.routes + household_work.routes + task_lists.routes
urlpatterns += photos.routes  # photo evidence (docs/SECURITY.md)
