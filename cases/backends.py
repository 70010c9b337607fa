"""Authentication backend: Django's ModelBackend that loads the user's scope with the user.

Every request loads the session's user (`get_user`). Loading the `StaffProfile` (role,
township, village) in the same query and caching the computed `Scope` on the user the
way `cases.scope.scope_for` does saves one query on every page: pages hold a budget of
≤ 10 queries (session, user, audit event and the page's own reads). Nothing else
changes: `scope_for` returns the cached scope, and `cases.services._forget_scope`
still drops it when a profile changes.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from .scope import _scope_from_profile


class ScopedModelBackend(ModelBackend):
    def get_user(self, user_id):
        model = get_user_model()
        try:
            user = model._default_manager.select_related(
                "staff_profile__township", "staff_profile__village__township"
            ).get(pk=user_id)
        except model.DoesNotExist:
            return None
        if not self.user_can_authenticate(user):
            return None
        user._huoqiu_scope = _scope_from_profile(getattr(user, "staff_profile", None))
        return user
