"""`carebench worker`: runs background tasks (django-tasks database worker) and, every minute,
queues the periodic jobs (appointment reminders; once a day, the credential-expiry warnings)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections


def _tick(interval: float, stop: threading.Event, parent: int | None) -> None:
    """Queue the periodic jobs every `interval` seconds; leave when the parent is gone."""
    from carebench.scheduling.tasks import send_due_reminders
    from carebench.staff.tasks import send_credential_notices

    next_run = 0.0
    notices_day = None
    while not stop.is_set():
        if parent is not None and os.getppid() != parent:
            os._exit(0)  # the server that started us is gone
        if time.monotonic() >= next_run:
            next_run = time.monotonic() + interval
            try:
                send_due_reminders.enqueue()
                if notices_day != time.strftime("%Y-%m-%d"):
                    notices_day = time.strftime("%Y-%m-%d")
                    send_credential_notices.enqueue()
            except Exception as exc:  # noqa: BLE001 - keep ticking; the worker logs the task
                print(f"could not queue reminders: {exc}")
            finally:
                close_old_connections()
        stop.wait(1.0)


class Command(BaseCommand):
    help = "Run the background worker: reminders and other queued tasks."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--tick", type=float, default=60.0, help="seconds between periodic jobs (default 60)"
        )
        parser.add_argument(
            "--exit-with-parent",
            action="store_true",
            help="stop when the process that started the worker stops",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="queue the periodic jobs once, run every ready task, and exit",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            from carebench.scheduling.tasks import send_due_reminders
            from carebench.staff.tasks import send_credential_notices

            send_due_reminders.enqueue()
            send_credential_notices.enqueue()
            call_command("db_worker", "--batch", "--interval", "0")
            return
        stop = threading.Event()
        parent = os.getppid() if options["exit_with_parent"] else None
        ticker = threading.Thread(target=_tick, args=(options["tick"], stop, parent), daemon=True)
        ticker.start()
        self.stdout.write(f"carebench worker: periodic jobs every {options['tick']:.0f} s")
        try:
            call_command("db_worker", "--interval", "1")
        finally:
            stop.set()
            time.sleep(0)
