"""`carebench demo`: a ready-to-try install with the Riverbend Health demo data.

Creates var/, migrates the SQLite database, loads ICD-10-CM, builds the demo organization once
(see carebench/core/demo.py) and prints the demo logins. Run again, it keeps the data and starts
at once. `carebench demo otp admin` prints the current 6-digit code of a demo authenticator.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from carebench.core import demo
from carebench.terminology.models import CodeSetVersion
from carebench.terminology.services import CVX_CODE_SET, ICD10CM_CODE_SET, MVX_CODE_SET

from .carebench_serve import (
    DEFAULT_HOST,
    add_server_arguments,
    default_port,
    migrate_if_needed,
    site_url,
)
from .carebench_serve import serve as run_server


class Command(BaseCommand):
    help = (
        "Set up the demo (Riverbend Health, demo users and synthetic patients) and optionally "
        "serve it. `carebench demo otp USERNAME` prints a demo user's current MFA code."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action",
            nargs="?",
            choices=["otp"],
            help="otp USERNAME: print the demo authenticator's current code",
        )
        parser.add_argument("username", nargs="?", help="with otp: admin or manager")
        parser.add_argument("--serve", action="store_true", help="run the server afterwards")
        parser.add_argument(
            "--patients",
            type=int,
            default=demo.DEFAULT_PATIENTS,
            help=f"synthetic patients to create (default {demo.DEFAULT_PATIENTS})",
        )
        parser.add_argument(
            "--skip-icd10",
            action="store_true",
            help="do not load ICD-10-CM (problems then use no codes)",
        )
        add_server_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "otp":
            self.print_otp(options["username"])
            return
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        migrate_if_needed(self.stdout)
        if (
            not options["skip_icd10"]
            and not CodeSetVersion.objects.filter(code_set=ICD10CM_CODE_SET).exists()
        ):
            self.stdout.write("Loading ICD-10-CM (once)...")
            call_command("load_icd10cm", stdout=self.stdout)
        # The vaccine code sets are small (CVX, MVX shipped in terminology/data/): load once.
        for code_set, command in ((CVX_CODE_SET, "load_cvx"), (MVX_CODE_SET, "load_mvx")):
            if not CodeSetVersion.objects.filter(code_set=code_set).exists():
                call_command(command, stdout=self.stdout)
        if demo.demo_exists():
            self.stdout.write(f"Demo organization {demo.DEMO_ORG_NAME} is already set up.")
        else:
            count = max(0, options["patients"])
            self.stdout.write(f"Creating {demo.DEMO_ORG_NAME} with {count} synthetic patients...")
            with Progress(transient=True) as bar:
                task = bar.add_task("Creating demo patients", total=count)
                demo.build_demo(patients=count, progress=lambda n: bar.update(task, completed=n))
        self.prepare_schedule()
        port = options.get("port") or default_port()
        self.print_logins(site_url(options.get("host") or DEFAULT_HOST, port))
        if options["serve"]:
            run_server(self, {**options, "with_worker": True})

    def prepare_schedule(self) -> None:
        """The demo clinic's schedule (once) and today's flow board (once a day)."""
        from carebench.scheduling import demo as schedule_demo

        org = demo.demo_organization()
        if org is None:
            return
        from carebench.staff import demo as staff_demo

        # first: the example scope rules and the staff's credentials the other builders rely on
        staff_demo.build(org)
        schedule_demo.build_schedule(org)
        from carebench.labs import demo as labs_demo

        labs_demo.load_catalog(org)
        labs_demo.ensure_poc_today(org)
        from carebench.meds import demo as meds_demo

        meds_demo.build(org)
        from carebench.meds import emar_demo

        emar_demo.build(org)
        from carebench.compliance import demo as compliance_demo

        compliance_demo.build(org)
        from carebench.encounters import procedure_demo

        procedure_demo.build(org)
        from carebench.billing import demo as billing_demo

        billing = billing_demo.build(org)
        if billing is not None and billing.claims:
            counts = ", ".join(f"{n} {status}" for status, n in billing.claims.items())
            self.stdout.write(f"Set up billing with demo claims: {counts}.")
        booked = schedule_demo.ensure_today(org)
        if booked:
            self.stdout.write(f"Booked today's clinic: {booked} visits on the flow board.")

    def print_otp(self, username: str | None) -> None:
        if not username:
            raise CommandError("usage: carebench demo otp USERNAME (for example admin)")
        try:
            code = demo.demo_otp_code(username)
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(code)

    def print_logins(self, url: str) -> None:
        buffer = io.StringIO()
        console = Console(
            file=buffer, force_terminal=False, width=110, color_system=None, highlight=False
        )
        table = Table(title="DEMO CREDENTIALS - synthetic data only, never for real patients")
        for column in ("username", "password", "role", "note"):
            table.add_column(column)
        for row in demo.login_rows():
            table.add_row(*row)
        console.print(f"\ncarebench demo: {url}")
        console.print(table)
        console.print(
            "admin and manager also need a 6-digit code at sign-in; print the current "
            "one with\n    .venv/bin/carebench demo otp admin    (or manager)"
        )
        console.print(
            "These are DEMO credentials for the synthetic demo organization "
            f"{demo.DEMO_ORG_NAME};\nnever keep real patients in this database.\n"
        )
        self.stdout.write(buffer.getvalue(), ending="")
