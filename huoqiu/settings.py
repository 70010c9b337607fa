"""The one settings module. Every deploy-specific value comes from a typed env variable."""

from pathlib import Path

from monitoring.schedule import BEAT_SCHEDULE
from staff.schedule import BEAT_SCHEDULE as STAFF_BEAT_SCHEDULE

from .env import (
    ImproperEnv,
    env_bool,
    env_database,
    env_int,
    env_list,
    env_minutes,
    env_redis_url,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# Unset SECRET_KEY falls back to a key that `check --deploy` flags (its
# "django-insecure-" prefix trips security.W009), so production cannot miss it.
SECRET_KEY = env_str("SECRET_KEY") or "django-insecure-development-key-set-SECRET_KEY-in-production"
if len(SECRET_KEY) < 32:
    raise ImproperEnv("SECRET_KEY is shorter than 32 characters")
# Key rotation: the previous key(s), comma-separated, keep sessions and signed links valid
# while the new SECRET_KEY takes over (docs/OPERATIONS.md).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "import_export",
    "axes",
    "cases",
    "monitoring",
    "subsidies",
    "staff",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Cache-Control: no-store on every authenticated response (cases/http.py); needs the user.
    "cases.http.NoStoreMiddleware",
    # The idle timeout, renewing the session at most once a minute (cases/http.py).
    "cases.http.IdleSessionMiddleware",
    # Audit trail: every page is recorded (cases.audit); after authentication.
    "cases.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Axes must be last: it turns a lockout raised by the backend into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "huoqiu.urls"
WSGI_APPLICATION = "huoqiu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "staff.context_processors.user_scope",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env_database("DATABASE_URL", str(VAR_DIR / "db.sqlite3"))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the in-process task runner and the dev server read while an import writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    # A write transaction takes SQLite's one write lock when it begins (BEGIN IMMEDIATE),
    # not at its first write: a transaction that read first and then found another writer
    # fails at once with "database is locked" whatever the timeout, while one that asks
    # first waits for it, up to `timeout` seconds. An import's write phase and page views
    # (audit events, sessions) thus take turns instead of failing (docs/IMPORTS.md).
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["OPTIONS"]["timeout"] = env_int("SQLITE_TIMEOUT_SECONDS", 60, minimum=1)
else:
    # PostgreSQL's JIT compiles plans whose estimated cost is high, such as the dashboard's
    # and indicators' grouped counts with EXISTS filters: compiling took ~2.3 s of a 2.5 s
    # query that runs in ~0.2 s without it (docs/PERFORMANCE.md, Pages). Off for this app.
    # plan_cache_mode: see PREPARED_PAGE_QUERIES below.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        "-c jit=off -c plan_cache_mode=force_generic_plan"
    )
# The household and person pages run SQL compiled once per scope (staff/selectors/timeline.py
# `run_compiled`); on PostgreSQL each is also PREPAREd once per connection, so the server
# plans it once instead of on every view (planning was 2–9 ms of a page's queries that run
# in 0.3 ms: docs/PERFORMANCE.md, Pages). A pooler that hands a session's statements to
# different server connections (PgBouncer in transaction mode) loses them: set 0 there.
# PostgreSQL would still plan a prepared statement anew on each of its first five runs
# (custom plans), and a worker sees a rare shape (a child in hardship) a few times a day:
# the generic plan is used at once. Only these statements are prepared (psycopg2 never
# prepares), so the setting touches nothing else; their parameters are record ids and
# scope constants, for which the generic plan is the custom one.
PREPARED_PAGE_QUERIES = env_bool("PREPARED_PAGE_QUERIES", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend that loads the StaffProfile (scope) with the user (cases/backends.py).
    "cases.backends.ScopedModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        # Django's, with a Chinese message (cases/passwords.py).
        "NAME": "cases.passwords.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Blank, one repeated character, the county's name (cases/passwords.py).
    {"NAME": "cases.passwords.HuoqiuPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock a username *from one address* after 5 failed logins, for AXES_COOLOFF_MINUTES; a
# county admin can lift it earlier (/accounts/locks/). A township office shares one NAT
# address but a stranger does not, so a stranger's failures cannot lock the office's user
# out, and no lock lasts for ever (docs/ARCHITECTURE.md, docs/SECURITY.md).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = env_minutes("AXES_COOLOFF_MINUTES", 30, minimum=1)
AXES_RESET_ON_SUCCESS = True
# The address the audit trail records: behind the TLS proxy REMOTE_ADDR is the proxy itself,
# which would put every client on one address.
AXES_CLIENT_IP_CALLABLE = "cases.audit.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"

# Audit trail retention (cases.audit.prune_audit): at least six months.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365, minimum=183)
# The audit trail's hash chain key (cases.audit_chain, docs/SECURITY.md): unset, one is
# derived from SECRET_KEY (and SECRET_KEY_FALLBACKS) under its own label; set it (50+ random
# characters) so the chain stays verifiable across SECRET_KEY rotations.
AUDIT_CHAIN_KEY = env_str("AUDIT_CHAIN_KEY") or None
AUDIT_CHAIN_KEY_FALLBACKS = env_list("AUDIT_CHAIN_KEY_FALLBACKS", [])
if any(len(key) < 32 for key in [AUDIT_CHAIN_KEY or "", *AUDIT_CHAIN_KEY_FALLBACKS] if key):
    raise ImproperEnv("AUDIT_CHAIN_KEY or AUDIT_CHAIN_KEY_FALLBACKS is shorter than 32 characters")
# The audit table owner's database URL, for `manage.py prune_audit` only
# (deploy/postgres-roles.sql); checked like DATABASE_URL.
AUDIT_OWNER_DATABASE_URL = env_str("AUDIT_OWNER_DATABASE_URL") or None
if AUDIT_OWNER_DATABASE_URL:
    env_database("AUDIT_OWNER_DATABASE_URL", "")

# Idle timeout: the session lives 30 minutes past the last request.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 1800, minimum=60)
# The idle timeout is kept by cases.http.IdleSessionMiddleware: the session is saved (its
# expiry renewed) at most once per SESSION_REFRESH_SECONDS, not on every page view.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = env_int("SESSION_REFRESH_SECONDS", 60, minimum=1)
if SESSION_REFRESH_SECONDS >= SESSION_COOKIE_AGE:
    raise ImproperEnv(
        "SESSION_REFRESH_SECONDS must be shorter than SESSION_IDLE_SECONDS "
        f"({SESSION_REFRESH_SECONDS} >= {SESSION_COOKIE_AGE})"
    )
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# WhiteNoise warns on every request when the folder is missing (before collectstatic).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media-not-served/"  # uploads hold personal data: only served through scoped views
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_MB", 200, minimum=1) * 1024 * 1024
# What an import file may declare or unpack to, checked before it is read
# (monitoring/importing/readers.py ReadLimits; docs/IMPORTS.md "Limits").
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 300_000, minimum=1)
IMPORT_MAX_COLUMNS = env_int("IMPORT_MAX_COLUMNS", 200, minimum=1)
IMPORT_MAX_UNPACKED_BYTES = env_int("IMPORT_MAX_UNPACKED_MB", 500, minimum=1) * 1024 * 1024
IMPORT_MAX_ZIP_RATIO = env_int("IMPORT_MAX_ZIP_RATIO", 100, minimum=2)
# An unfinished import batch with no heartbeat for this long is marked failed by the
# sweeper (monitoring/import_sweeper.py): nightly, `import_sweep`, the imports page.
IMPORT_STALE_MINUTES = env_minutes("IMPORT_STALE_MINUTES", 15, minimum=1)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Celery: with REDIS_URL the broker is Redis; without it tasks run in-process (eager)
# so that a newcomer runs everything with no services.
REDIS_URL = env_redis_url("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = 86400
# The nightly cross-check at 02:00 (monitoring/schedule.py), then the indicator snapshot at
# 04:30 (staff/schedule.py).
CELERY_BEAT_SCHEDULE = {**BEAT_SCHEDULE, **STAFF_BEAT_SCHEDULE}

# How long the county dashboard's and the 统计 tables' figures are kept before they are
# computed again; a finished import or cross-check renews them at once
# (staff/selectors/figures.py, docs/PERFORMANCE.md "Pages").
FIGURES_CACHE_SECONDS = env_int("FIGURES_CACHE_SECONDS", 600, minimum=0)

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Tests that need PostgreSQL or Redis fail instead of skipping when this is on (CI).
REQUIRE_SERVICES = env_bool("REQUIRE_SERVICES", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # ID and phone numbers never reach a log line unmasked.
    "filters": {"mask_personal": {"()": "cases.masking.MaskingFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_personal"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
