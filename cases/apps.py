from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "残疾人与家庭"

    def ready(self):
        # sessions: auth signals, one session per account and the audit of logins
        # (docs/SECURITY.md); checks: `check --deploy` refuses a placeholder or weak SECRET_KEY.
        from . import checks, sessions  # noqa: F401
