"""`python manage.py import_civil FILE [--skip-invalid] [--errors-out PATH] [--json]` (docs/IMPORTS.md)."""

from monitoring.models import Source

from ._import import ImportCommand


class Command(ImportCommand):
    help = "导入民政救助与补贴名册"
    source = Source.CIVIL
