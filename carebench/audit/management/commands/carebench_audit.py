"""`carebench audit verify`: check every audit chain; exit 1 if any event was edited or removed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carebench.audit.verify import verify_all


class Command(BaseCommand):
    help = "Audit tools. verify: check the hash chains (exit status 1 if anything is wrong)."
    # An operations tool: it must work even when a page or URL module is broken.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"], help="verify: check every chain")

    def handle(self, *args: Any, **options: Any) -> None:
        reports = verify_all()
        total = sum(report.events for report in reports)
        problems = [problem for report in reports for problem in report.problems]
        for report in reports:
            state = "ok" if not report.problems else f"{len(report.problems)} problem(s)"
            self.stdout.write(f"chain {report.chain}: {report.events} events, {state}")
        for problem in problems:
            self.stdout.write(f"PROBLEM {problem}")
        if problems:
            broken = sum(1 for report in reports if report.problems)
            raise CommandError(
                f"audit chain BROKEN: {len(problems)} problem(s) in {broken} of "
                f"{len(reports)} chain(s); {total} events checked"
            )
        self.stdout.write(f"audit chain intact: {total} events in {len(reports)} chains")
