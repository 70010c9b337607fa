"""Scope holds everywhere: every URL declares its scope handling, and pages keep to it.

`iter_url_views()` walks the whole URL tree; test_url_scope_walk.py extends these checks over every view.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, include, path, reverse
from django.views import View

from cases.scope import is_scope_safe, scope_safe
from cases.selectors import person_list

from . import factories

# Views that need no scope mark, and why. Keep this list short and explained.
ALLOWED_NAMESPACES = {
    # The Django admin: restricted to county admins by its own permission checks (docs/SECURITY.md).
    "admin",
}
ALLOWED_NAMES = {
    "login",  # shows no personal data
    "logout",  # POST only, ends the session
}
ALLOWED_CALLBACKS = {
    # Static files (only routed in DEBUG): public assets, no personal data.
    "django.views.static.serve",
    "django.contrib.staticfiles.views.serve",
}


@dataclass(frozen=True)
class UrlView:
    route: str
    name: str | None  # namespaced, e.g. "staff:person_detail"
    namespace: str | None
    callback: object

    @property
    def dotted(self) -> str:
        view_class = getattr(self.callback, "view_class", None)
        target = view_class or self.callback
        return f"{target.__module__}.{target.__qualname__}"

    @property
    def allowed(self) -> bool:
        top_namespace = (self.namespace or "").split(":")[0]
        return (
            top_namespace in ALLOWED_NAMESPACES
            or self.name in ALLOWED_NAMES
            or self.dotted in ALLOWED_CALLBACKS
        )


def iter_url_views(resolver=None, prefix="", namespace=None) -> Iterator[UrlView]:
    """Every URL pattern under a resolver (the project's by default), includes followed."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from iter_url_views(pattern, route, inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name
            if name and namespace:
                name = f"{namespace}:{name}"
            yield UrlView(route, name, namespace, pattern.callback)


def unmarked_views(resolver=None) -> list[str]:
    return [
        f"/{view.route}  {view.name or '(unnamed)'}  {view.dotted}"
        for view in iter_url_views(resolver)
        if not view.allowed and not is_scope_safe(view.callback)
    ]


def test_every_view_declares_scope():
    views = list(iter_url_views())
    names = {view.name for view in views}
    # The walk reaches the project's own pages and the allow-listed ones.
    assert {"home", "login", "logout", "staff:person_list", "staff:person_detail"} <= names
    assert any(view.namespace == "admin" for view in views)
    missing = unmarked_views()
    assert not missing, "views without @scope_safe (see cases/scope.py):\n" + "\n".join(missing)


# --- the walker and the marker themselves ------------------------------------------------


def _unmarked(request):
    return HttpResponse("x")


@scope_safe
def _marked(request):
    return HttpResponse("x")


@scope_safe(how="no personal data")
@login_required
def _marked_outside_decorator(request):
    return HttpResponse("x")


@login_required
@scope_safe(how="inner")
def _marked_inside_decorator(request):
    return HttpResponse("x")


@scope_safe(how="class")
class _MarkedClassView(View):
    def get(self, request):
        return HttpResponse("x")


class _UnmarkedClassView(View):
    def get(self, request):
        return HttpResponse("x")


def test_walker_finds_unmarked_views_in_nested_includes():
    nested = (
        [
            path("a/", _marked, name="a"),
            path("b/", _unmarked, name="b"),
            path("deep/", include(([path("c/", _UnmarkedClassView.as_view())], "inner"))),
        ],
        "outer",
    )
    resolver = URLResolver(
        get_resolver().pattern,
        [
            path("top/", _unmarked, name="top"),
            path("ok/", _marked_outside_decorator),
            path("ok2/", _marked_inside_decorator),
            path("cbv/", _MarkedClassView.as_view()),
            path("x/", include(nested)),
            path("login/", _unmarked, name="login"),  # allow-listed by name
        ],
    )
    missing = unmarked_views(resolver)
    assert len(missing) == 3, missing
    assert any("/top/" in line for line in missing)
    assert any("/x/b/  outer:b" in line for line in missing)
    assert any("/x/deep/c/  (unnamed)" in line and "_UnmarkedClassView" in line for line in missing)


def test_scope_safe_marks_functions_and_classes():
    assert _marked.scope_safe is True
    assert _marked_outside_decorator.scope_safe == "no personal data"
    assert is_scope_safe(_marked_inside_decorator)  # functools.wraps copies the mark
    assert is_scope_safe(_MarkedClassView.as_view())
    assert not is_scope_safe(_UnmarkedClassView.as_view())
    assert not is_scope_safe(_unmarked)


# --- pages keep to the scope ----------------------------------------------------------------


def certified(name, township, village):
    person = factories.PersonFactory(
        name=name,
        township=factories.township(township),
        village=factories.village(township, village),
    )
    factories.CertificateFactory(person=person)
    return person


@pytest.fixture
def county(db):
    """Two townships, two villages in 城关镇 (the village user's 东关村 and another)."""
    return {
        "hekou": certified("河口甲", "河口镇", "东风村"),
        "dongguan": certified("东关乙", "城关镇", "东关村"),
        "xiguan": certified("西关丙", "城关镇", "西关村"),
    }


def listed_names(client, **params) -> str:
    response = client.get(reverse("staff:person_list"), params)
    assert response.status_code == 200
    return response.content.decode()


def main_part(response) -> str:
    return response.content.decode().split("<main", 1)[1].split("</main>", 1)[0]


def detail_status(client, person) -> int:
    return client.get(reverse("staff:person_detail", args=[person.pk])).status_code


def test_township_user_gets_404_for_another_townships_person(client, county, hekou_user):
    client.force_login(hekou_user)
    assert detail_status(client, county["hekou"]) == 200
    response = client.get(reverse("staff:person_detail", args=[county["dongguan"].pk]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "东关乙" not in html
    assert county["dongguan"].id_number[-4:] not in main_part(response)
    # Out of scope and non-existent look the same.
    missing = client.get(reverse("staff:person_detail", args=[999_999]))
    assert missing.status_code == 404
    assert main_part(missing) == main_part(response)


def test_township_user_never_sees_another_township_in_list_or_search(client, county, hekou_user):
    client.force_login(hekou_user)
    html = listed_names(client)
    assert "河口甲" in html
    assert "东关乙" not in html and "西关丙" not in html
    for query in ("东关乙", county["dongguan"].id_number, county["xiguan"].id_number[6:14]):
        html = listed_names(client, q=query)
        assert 'data-testid="no-results"' in html, query
        assert "person-table" not in html


def test_village_member_sees_only_their_village(client, county, village_user):
    client.force_login(village_user)
    html = listed_names(client)
    assert "东关乙" in html
    assert "西关丙" not in html and "河口甲" not in html
    assert detail_status(client, county["dongguan"]) == 200
    assert detail_status(client, county["xiguan"]) == 404
    assert detail_status(client, county["hekou"]) == 404
    assert "person-table" not in listed_names(client, q="西关丙")


def test_county_viewer_sees_all(client, county, viewer_user):
    client.force_login(viewer_user)
    html = listed_names(client)
    assert all(name in html for name in ("河口甲", "东关乙", "西关丙"))
    for person in county.values():
        assert detail_status(client, person) == 200


def test_user_without_profile_sees_nothing(client, county):
    nobody = factories.UserFactory(username="nobody")
    client.force_login(nobody)
    html = listed_names(client)
    assert not any(name in html for name in ("河口甲", "东关乙", "西关丙"))
    for person in county.values():
        assert detail_status(client, person) == 404
    assert list(person_list(nobody, "")) == []


def test_inactive_user_selector_returns_nothing(county, hekou_user):
    assert [p.name for p in person_list(hekou_user, "")] == ["河口甲"]
    hekou_user.is_active = False
    hekou_user.save()
    hekou_user._huoqiu_scope = None  # drop the per-request cache
    assert list(person_list(hekou_user, "")) == []


def test_selector_search_is_scoped(county, hekou_user, viewer_user):
    query = county["dongguan"].id_number
    assert list(person_list(hekou_user, query)) == []
    assert [p.name for p in person_list(viewer_user, query)] == ["东关乙"]
