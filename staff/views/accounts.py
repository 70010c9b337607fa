"""Signing in and the home page: what waits on the worker today, then their persons."""

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.views.decorators.http import require_GET

from cases.casework_base import today
from cases.scope import scope_for, scope_safe
from staff.forms.accounts import LoginForm
from staff.selectors.today import work_today
from staff.views.persons import person_list_page


class HuoqiuLoginView(LoginView):
    """Django's LoginView with the Chinese form; django-axes locks by username."""

    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@scope_safe(how="certified persons via selectors.person_list; today's work via scoped() counts")
@login_required
@require_GET
def home(request):
    """The landing page: today's work in the user's scope (counts linking to the lists),
    then the certified persons in it."""
    extra = {}
    if not scope_for(request.user).sees_nothing:
        extra["work"] = work_today(request.user, today())
    return person_list_page(request, "staff/home.html", "home", **extra)
