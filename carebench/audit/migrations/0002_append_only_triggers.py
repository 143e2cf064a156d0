"""The database itself refuses UPDATE and DELETE on audit events (see audit/triggers.py)."""

from django.conf import settings
from django.db import migrations


def forwards(apps, schema_editor):
    from carebench.audit import triggers

    if getattr(settings, "CAREBENCH_AUDIT_DB_TRIGGERS", True):
        triggers.install(schema_editor.connection)


def backwards(apps, schema_editor):
    from carebench.audit import triggers

    triggers.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
