"""`python manage.py import_survey FILE [--skip-invalid] [--errors-out PATH] [--json]` (docs/IMPORTS.md)."""

from monitoring.models import Source

from ._import import ImportCommand


class Command(ImportCommand):
    help = "导入持证残疾人基本状况调查数据"
    source = Source.SURVEY
