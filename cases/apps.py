from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "残疾人与家庭"
