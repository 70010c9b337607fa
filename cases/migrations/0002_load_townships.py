from django.db import migrations


def load_townships(apps, schema_editor):
    from cases.geography import TOWNSHIPS, short_name, township_code

    Township = apps.get_model("cases", "Township")
    for index, (name, kind) in enumerate(TOWNSHIPS):
        Township.objects.update_or_create(
            code=township_code(index),
            defaults={"name": name, "short_name": short_name(name), "kind": kind},
        )


def unload_townships(apps, schema_editor):
    from cases.geography import TOWNSHIPS

    Township = apps.get_model("cases", "Township")
    Township.objects.filter(name__in=[name for name, _ in TOWNSHIPS], villages=None).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(load_townships, unload_townships)]
