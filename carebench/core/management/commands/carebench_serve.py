"""`carebench serve`: migrate if needed, then run gunicorn on this machine.

Static files come from WhiteNoise. In development it serves them from the app folders; the
production settings use hashed, compressed files from a manifest, which `serve` collects (into
var/static) before starting when the manifest is missing or older than the sources. SQLite
allows one writer at a time, so a few processes with a few threads each is the right shape.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

DEFAULT_PORT = 8000
DEFAULT_HOST = "127.0.0.1"
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4


def default_port() -> int:
    value = os.environ.get("PORT", "")
    return int(value) if value.isdigit() else DEFAULT_PORT


def unapplied_migrations() -> list[str]:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def migrate_if_needed(stdout: Any = None) -> int:
    """Run `migrate --noinput` only when something is unapplied; return how many were."""
    pending = unapplied_migrations()
    if pending:
        if stdout is not None:
            stdout.write(f"Applying {len(pending)} database migration(s)...")
        call_command("migrate", interactive=False, verbosity=0)
    return len(pending)


def collect_static_if_needed(stdout: Any = None) -> bool:
    """With a manifest static-files storage (the production settings), run `collectstatic`
    when the manifest is missing or a source file is newer; without it every page is a 500."""
    from django.contrib.staticfiles.finders import get_finders
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage

    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return False
    manifest = Path(settings.STATIC_ROOT) / staticfiles_storage.manifest_name
    if manifest.exists():
        built = manifest.stat().st_mtime
        newest = max(
            (
                Path(storage.path(path)).stat().st_mtime
                for finder in get_finders()
                for path, storage in finder.list([])
            ),
            default=0.0,
        )
        if newest <= built:
            return False
    if stdout is not None:
        stdout.write("Collecting static files...")
    call_command("collectstatic", interactive=False, verbosity=0)
    return True


def gunicorn_argv(*, host: str, port: int, workers: int, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "carebench.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--timeout",
        "60",
        "--graceful-timeout",
        "20",
        "--access-logfile",
        "-",
        "--forwarded-allow-ips",
        "127.0.0.1",
    ]


def site_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in {"0.0.0.0", ""} else host  # noqa: S104 - only for display
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def add_server_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"port to listen on (default: $PORT or {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}, this machine only)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"worker processes (default {DEFAULT_WORKERS}, {DEFAULT_THREADS} threads each)",
    )
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="threads per worker")
    parser.add_argument(
        "--with-worker",
        action="store_true",
        help="also run the background worker (reminders) beside the server",
    )
    parser.add_argument(
        "--print-command",
        action="store_true",
        help="print the gunicorn command instead of running it",
    )


def serve(command: BaseCommand, options: dict[str, Any]) -> None:
    """Migrate if needed, print the URL and replace this process with gunicorn."""
    port = options.get("port") or default_port()
    host = options.get("host") or DEFAULT_HOST
    workers = max(1, int(options.get("workers") or DEFAULT_WORKERS))
    threads = max(1, int(options.get("threads") or DEFAULT_THREADS))
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    migrate_if_needed(command.stdout)
    collect_static_if_needed(command.stdout)
    argv = gunicorn_argv(host=host, port=port, workers=workers, threads=threads)
    if options.get("print_command"):
        command.stdout.write(" ".join(argv))
        return
    if options.get("with_worker"):
        # The worker leaves when this process (soon gunicorn's master, same pid) is gone.
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "carebench.cli",
                "worker",  # noqa: S603
                "--exit-with-parent",
            ]
        )
        command.stdout.write("background worker started (appointment reminders)")
    command.stdout.write(f"carebench is running at {site_url(host, port)}  (Ctrl-C stops it)")
    command.stdout.flush()
    sys.stderr.flush()
    connections.close_all()
    os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter, fixed arguments


class Command(BaseCommand):
    help = "Run the web application with gunicorn (migrating the database first if needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_server_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        serve(self, options)
