from cases.scope import scope_for


def user_scope(request):
    """Expose the user's scope (label and role) to every template."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"user_scope": scope_for(user)}
