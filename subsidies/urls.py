"""Pages of the subsidies app, namespaced `subsidies:` (issue 6)."""

from django.urls import path

from . import views

app_name = "subsidies"
urlpatterns = [
    path("persons/<int:pk>/benefits/new/", views.benefit_create, name="benefit_create"),
    path("policy/", views.policy_list, name="policy_list"),
    path("policy/new/", views.policy_create, name="policy_create"),
    path("policy/<int:pk>/", views.policy_edit, name="policy_edit"),
]
