"""Background tasks (django-tasks; run by `carebench worker`)."""

from __future__ import annotations

from django_tasks import task

from . import services


@task()
def send_credential_notices() -> dict[str, int]:
    """Expiry warnings 90, 60 and 30 days ahead (idempotent: once per credential and threshold)."""
    return services.send_credential_notices()
