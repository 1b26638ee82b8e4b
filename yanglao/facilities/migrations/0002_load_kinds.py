"""Load the facility kinds of DOMAIN.md §4 from kinds.yaml (insert, or update the rules of a kind
already present). Reversing leaves the rows: facilities may point at them."""

from django.db import migrations


def load(apps, schema_editor):
    from yanglao.facilities.kinds import load_kinds

    load_kinds(apps.get_model("facilities", "FacilityKind"))


class Migration(migrations.Migration):
    dependencies = [("facilities", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
