from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "残疾人与家庭"

    def ready(self):
        # Auth signals: one session per account and the audit of logins (docs/SECURITY.md).
        from . import sessions  # noqa: F401
