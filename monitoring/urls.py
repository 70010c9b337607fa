"""Pages of the monitoring app, namespaced `monitoring:`."""

from django.urls import path

from . import views

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
]
