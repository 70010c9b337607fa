"""Typed environment variables that fail loudly.

Settings read every value through these helpers so that a typo in a deployment
(`DEBUG=ture`, `DATABASE_URL=postgress://…`) stops the process at start-up with a
message naming the variable, instead of running with a silent default.
"""

import os
from datetime import timedelta
from urllib.parse import urlsplit

import dj_database_url


class ImproperEnv(Exception):
    """A variable is present but its value cannot be used."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperEnv(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperEnv(f"{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperEnv(f"{name}={number} is below the minimum {minimum}")
    return number


def env_minutes(name: str, default: int, minimum: int | None = None) -> timedelta:
    """A duration given in whole minutes (`AXES_COOLOFF_MINUTES=30`)."""
    return timedelta(minutes=env_int(name, default, minimum=minimum))


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


_DB_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql"}


def env_database(name: str, default_sqlite_path: str) -> dict:
    """Parse a database URL; only SQLite and PostgreSQL are supported."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return dj_database_url.parse(f"sqlite:///{default_sqlite_path}")
    scheme = urlsplit(value).scheme
    if scheme not in _DB_SCHEMES:
        raise ImproperEnv(
            f"{name} has scheme {scheme!r}; expected sqlite:///path or postgres://user@host:port/name"
        )
    config = dj_database_url.parse(value, conn_max_age=60 if scheme != "sqlite" else 0)
    if scheme != "sqlite" and not config.get("NAME"):
        raise ImproperEnv(f"{name} names no database (postgres://user@host:5432/NAME)")
    return config


def env_redis_url(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    scheme = urlsplit(value).scheme
    if scheme not in {"redis", "rediss"}:
        raise ImproperEnv(f"{name}={value!r} must start with redis:// or rediss://")
    return value
