"""Pages of the cases app, namespaced `cases:`.

Site-level names without a namespace (`login`, `logout`, `home`) live in huoqiu/urls.py.
"""

from django.urls import path

from . import (
    views,
    views_dashboard,
    views_exports,
    views_forms,
    views_household,
    views_security,
)

app_name = "cases"
urlpatterns = [
    path("persons/", views.persons, name="person_list"),
    path("persons/<int:pk>/", views_household.person, name="person_detail"),
    # issue 7: the audited reveal of a full ID or phone number (POST)
    path(
        "persons/<int:pk>/reveal/<str:field>/",
        views_security.person_reveal,
        name="person_reveal",
    ),
    # issue 6: the staff app (dashboard, households, visits, forms, exports)
    path("dashboard/", views_dashboard.dashboard, name="dashboard"),
    path("stats/", views_dashboard.stats, name="stats"),
    path("persons/export.xlsx", views_exports.persons_export, name="person_export"),
    path("persons/<int:pk>/education-plan/", views_forms.education_plan, name="education_plan"),
    path(
        "persons/<int:pk>/rehab-services/new/",
        views_forms.rehab_service_create,
        name="rehab_service_create",
    ),
    path("households/", views_household.households, name="household_list"),
    path("households/export.xlsx", views_exports.households_export, name="household_export"),
    path("households/<int:pk>/", views_household.household, name="household_detail"),
    path("households/<int:pk>/visits/new/", views_forms.visit_create, name="visit_create"),
    path(
        "households/<int:pk>/assistance/new/",
        views_forms.assistance_create,
        name="assistance_create",
    ),
    path("households/<int:pk>/pairing/new/", views_forms.pairing_create, name="pairing_create"),
    path("households/<int:pk>/pairing/end/", views_forms.pairing_end, name="pairing_end"),
    path("households/<int:pk>/case/", views_forms.case_step, name="case_step"),
    path("visits/", views_household.visits, name="visit_list"),
    path("visits/export.xlsx", views_exports.visits_export, name="visit_export"),
]
