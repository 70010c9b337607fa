"""Pages of the cases app, namespaced `cases:`.

Site-level names without a namespace (`login`, `logout`, `home`) live in huoqiu/urls.py.
"""

from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("persons/", views.persons, name="person_list"),
    path("persons/<int:pk>/", views.person, name="person_detail"),
]
