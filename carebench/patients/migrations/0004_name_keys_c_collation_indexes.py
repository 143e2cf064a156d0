"""PostgreSQL only: name-key indexes in the "C" collation, so a prefix search is an index range
scan that also yields rows in name order (patients/selectors.py `_prefix`). SQLite already
compares bytes and uses the indexes of migration 0001/0003."""

from django.db import migrations

INDEXES = {
    "pt_org_family_c": '(organization_id, family_key COLLATE "C", given_key COLLATE "C", '
    "birth_date)",
    "pt_org_given_c": '(organization_id, given_key COLLATE "C", family_key COLLATE "C")',
    "pt_org_preferred_c": '(organization_id, preferred_key COLLATE "C", family_key COLLATE "C")',
}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, columns in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON patients_patient {columns}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("patients", "0003_patient_pt_org_preferred")]
    operations = [migrations.RunPython(forwards, backwards)]
