"""Pages of the monitoring app, namespaced `monitoring:`."""

from django.urls import path

from . import views, views_findings, views_runs

app_name = "monitoring"
urlpatterns = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/status/", views.import_status, name="import_status"),
    path(
        "imports/<int:pk>/download/<str:kind>/",
        views.import_download,
        name="import_download",
    ),
    # issue 6: the work queue of findings and the cross-check runs
    path("findings/", views_findings.finding_list, name="finding_list"),
    path("findings/export.xlsx", views_findings.finding_export, name="finding_export"),
    path("findings/bulk/", views_findings.finding_bulk, name="finding_bulk"),
    path("findings/<int:pk>/", views_findings.finding_detail, name="finding_detail"),
    path("findings/<int:pk>/handle/", views_findings.finding_handle_view, name="finding_handle"),
    path("findings/<int:pk>/dismiss/", views_findings.finding_dismiss_view, name="finding_dismiss"),
    path(
        "findings/<int:pk>/open-case/",
        views_findings.finding_open_case_view,
        name="finding_open_case",
    ),
    path("runs/", views_runs.run_list, name="run_list"),
    path("runs/start/", views_runs.run_start, name="run_start"),
    path("runs/<int:pk>/", views_runs.run_detail, name="run_detail"),
]
