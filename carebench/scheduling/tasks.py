"""Background tasks (django-tasks; run by `carebench worker`)."""

from __future__ import annotations

from django_tasks import task

from . import services


@task()
def send_due_reminders() -> dict[str, int]:
    return services.send_due_reminders()
