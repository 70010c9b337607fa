"""The user's data scope, applied in the query layer.

Every read of personal data goes through `scoped()` (a selector building block)
or `get_in_scope_or_404()` (the one access helper for detail pages). Scope
lives in `StaffProfile`: county roles see every township, township staff their
township, village members their village; no profile means nothing at all.

A model says how it reaches its township and village with a class attribute
`SCOPE_PATHS = ("township", "village")` (ORM lookup paths); `scoped()` reads it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.http import Http404

from .models import Role, StaffProfile


@dataclass(frozen=True)
class Scope:
    role: str | None
    township_id: int | None = None
    village_id: int | None = None
    label: str = "无数据权限"

    @property
    def is_county(self) -> bool:
        return self.role in (Role.COUNTY_ADMIN, Role.COUNTY_VIEWER)

    @property
    def is_county_admin(self) -> bool:
        return self.role == Role.COUNTY_ADMIN

    @property
    def can_write(self) -> bool:
        """County viewers are read-only; village members may record visits only."""
        return self.role in (Role.COUNTY_ADMIN, Role.TOWNSHIP_STAFF)

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role else "未分配角色"

    @property
    def sees_nothing(self) -> bool:
        return self.role is None


NO_SCOPE = Scope(role=None)

# What `request.user` is. Reads take it (an anonymous user simply sees nothing);
# writes take `User`, because they store the acting user on the record.
AnyUser: TypeAlias = User | AnonymousUser

_M = TypeVar("_M", bound=Model)
_F = TypeVar("_F", bound=Callable[..., Any])


def scope_for(user: AnyUser | None) -> Scope:
    """The scope of a user, cached on the user object for the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NO_SCOPE
    cached = getattr(user, "_huoqiu_scope", None)
    if cached is not None:
        return cached
    profile = (
        StaffProfile.objects.select_related("township", "village__township")
        .filter(user=user)
        .first()
    )
    scope = _scope_from_profile(profile)
    user._huoqiu_scope = scope  # type: ignore[attr-defined]  # a per-request cache on the object
    return scope


def _scope_from_profile(profile: StaffProfile | None) -> Scope:
    if profile is None:
        return NO_SCOPE
    if profile.role in (Role.COUNTY_ADMIN, Role.COUNTY_VIEWER):
        return Scope(role=profile.role, label="霍邱县（全县）")
    # Both places are select_related by scope_for(), so testing the objects costs no query.
    if profile.role == Role.TOWNSHIP_STAFF and (township := profile.township) is not None:
        return Scope(role=profile.role, township_id=township.pk, label=township.name)
    if profile.role == Role.VILLAGE_MEMBER and (village := profile.village) is not None:
        return Scope(
            role=profile.role,
            township_id=village.township_id,
            village_id=village.pk,
            label=f"{village.township.name}{village.name}",
        )
    return NO_SCOPE


def scope_paths(model: type[Model]) -> tuple[str, str]:
    paths = getattr(model, "SCOPE_PATHS", None)
    if paths is None:
        raise TypeError(
            f"{model.__name__} declares no SCOPE_PATHS; personal data must say how it is scoped"
        )
    return paths


def scoped(user: AnyUser | None, queryset: QuerySet[_M]) -> QuerySet[_M]:
    """Restrict a queryset to what the user may see."""
    scope = scope_for(user)
    if scope.sees_nothing:
        return queryset.none()
    if scope.is_county:
        return queryset
    township_path, village_path = scope_paths(queryset.model)
    if scope.village_id is not None:
        return queryset.filter(**{village_path: scope.village_id})
    return queryset.filter(**{township_path: scope.township_id})


def in_scope_exists(user: AnyUser | None, queryset: QuerySet, ref: str) -> Exists:
    """An annotation: is the row of `queryset` that `ref` (a path of the outer query to
    its primary key) points at inside the user's scope?

    For a record in scope that points at one outside it (a person of this township whose
    household is recorded in another): the page shows that a link exists, never what is
    behind it, decided by the same `scoped()` filter in the same query.
    """
    return Exists(scoped(user, queryset.filter(pk=OuterRef(ref))))


def get_in_scope_or_404(
    user: AnyUser | None, queryset_or_model: QuerySet[_M] | type[_M], **lookup: Any
) -> _M:
    """Load one record the user may see, or raise 404 (never 403: existence is private)."""
    queryset: QuerySet[_M] = (
        queryset_or_model._default_manager.all()
        if isinstance(queryset_or_model, type)
        else queryset_or_model
    )
    try:
        return scoped(user, queryset).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError):  # type: ignore[attr-defined]  # every model has it
        raise Http404("不存在或不在您的数据范围内") from None


# --- The scope-safety marker every view carries (checked over all URLs by tests/test_scope.py) ---

SCOPE_SAFE_ATTR = "scope_safe"


def scope_safe(view: _F | None = None, *, how: str = "") -> Any:
    """Mark a view as having declared how it applies the user's scope.

    Use as `@scope_safe` or `@scope_safe(how="persons via person_list()")`, on a
    function view or a class-based view (the mark is read from `as_view()`'s
    `view_class` too). The mark is a promise checked by review and by the URL
    walk in tests/test_scope.py: every personal-data read in the view goes through
    `scoped()`, a selector built on it, or `get_in_scope_or_404()`. A view that
    shows no personal data at all still says so (`how="no personal data"`).
    """

    def mark(target: _F) -> _F:
        setattr(target, SCOPE_SAFE_ATTR, how or True)
        return target

    if view is not None:
        return mark(view)
    return mark


def is_scope_safe(callback: object) -> bool:
    """True when a URL callback (function or `as_view()` result) carries the mark."""
    if getattr(callback, SCOPE_SAFE_ATTR, False):
        return True
    view_class = getattr(callback, "view_class", None)
    return bool(view_class is not None and getattr(view_class, SCOPE_SAFE_ATTR, False))
