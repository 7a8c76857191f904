"""Who did it: the plain values rule functions record, whatever the caller hands them."""


def code_of(value) -> str | None:
    """A choice's stored code from a Choice member or a plain string."""
    return getattr(value, "value", value)


def username_of(user) -> str | None:
    """A username from an AppUser, flask-login's current_user proxy, a plain string, or None."""
    if user is None:
        return None
    if hasattr(user, "_get_current_object"):
        user = user._get_current_object()
    name = getattr(user, "username", user)
    return str(name) if isinstance(name, str) and name else None


def person(username: str | None) -> str:
    """The name printed for a stamped username (slips carry 姓名, not login names); the username if unknown."""
    if not username:
        return ""
    from schema.org import AppUser

    from .extensions import db

    name = db.session.execute(db.select(AppUser.display_name).where(AppUser.username == username)).scalar()
    return name or username
