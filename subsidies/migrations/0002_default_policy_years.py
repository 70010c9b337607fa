from decimal import Decimal

from django.db import migrations

# A fresh installation carries defaults for 2021–2030, marked as defaults for the
# county to confirm (docs/RULES.md#policy).
DEFAULTS = {
    "monitoring_line": Decimal("7000"),
    "rigid_expenditure_threshold": Decimal("20000"),
    "pension_contribution_tier": Decimal("200"),
    "care_subsidy_includes_grade3_mental": False,
    "is_default": True,
}


def create_defaults(apps, schema_editor):
    PolicyYear = apps.get_model("subsidies", "PolicyYear")
    for year in range(2021, 2031):
        PolicyYear.objects.get_or_create(year=year, defaults=DEFAULTS)


def remove_defaults(apps, schema_editor):
    PolicyYear = apps.get_model("subsidies", "PolicyYear")
    PolicyYear.objects.filter(year__range=(2021, 2030), is_default=True).delete()


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, remove_defaults)]
