"""`python manage.py import_roster FILE [--skip-invalid] [--errors-out PATH] [--json]` (docs/IMPORTS.md)."""

from monitoring.models import Source

from ._import import ImportCommand


class Command(ImportCommand):
    help = "导入防返贫监测对象名单"
    source = Source.ROSTER
