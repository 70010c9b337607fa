"""Signing in and the home page that sends each role to its first page."""

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.views.decorators.http import require_GET

from cases.scope import scope_safe
from staff.forms.accounts import LoginForm
from staff.views.persons import person_list_page


class HuoqiuLoginView(LoginView):
    """Django's LoginView with the Chinese form; django-axes locks by username."""

    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@scope_safe(how="certified persons via selectors.person_list (scoped)")
@login_required
@require_GET
def home(request):
    """The landing page: the user's scope and the certified persons in it."""
    return person_list_page(request, "staff/home.html", "home")
