"""Pages of the cases app, namespaced `cases:`.

Site-level names without a namespace (`login`, `logout`, `home`) live in huoqiu/urls.py.
"""

from django.urls import path

from . import views, views_security

app_name = "cases"
urlpatterns = [
    path("persons/", views.persons, name="person_list"),
    path("persons/<int:pk>/", views.person, name="person_detail"),
    # issue 7: the audited reveal of a full ID or phone number (POST)
    path(
        "persons/<int:pk>/reveal/<str:field>/",
        views_security.person_reveal,
        name="person_reveal",
    ),
]
