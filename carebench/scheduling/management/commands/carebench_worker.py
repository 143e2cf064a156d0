"""`carebench worker`: runs background tasks (django-tasks database worker) and, every minute,
queues the periodic jobs (appointment reminders)."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections


def _tick(interval: float, stop: threading.Event) -> None:
    from carebench.scheduling.tasks import send_due_reminders

    while not stop.is_set():
        try:
            send_due_reminders.enqueue()
        except Exception as exc:  # noqa: BLE001 - keep ticking; the worker logs the task
            print(f"could not queue reminders: {exc}")
        finally:
            close_old_connections()
        stop.wait(interval)


class Command(BaseCommand):
    help = "Run the background worker: reminders and other queued tasks."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tick", type=float, default=60.0,
                            help="seconds between periodic jobs (default 60)")
        parser.add_argument("--once", action="store_true",
                            help="queue the periodic jobs once, run every ready task, and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            from carebench.scheduling.tasks import send_due_reminders

            send_due_reminders.enqueue()
            call_command("db_worker", "--batch", "--interval", "0")
            return
        stop = threading.Event()
        ticker = threading.Thread(target=_tick, args=(options["tick"], stop), daemon=True)
        ticker.start()
        self.stdout.write(f"carebench worker: periodic jobs every {options['tick']:.0f} s")
        try:
            call_command("db_worker", "--interval", "1")
        finally:
            stop.set()
            time.sleep(0)
