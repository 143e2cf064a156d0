"""`carebench claims ...`: claims from the command line.

    carebench claims export --format 837p -o FILE [--organization SLUG] [--user USERNAME]
    carebench claims check [--organization SLUG] [--user USERNAME]
    carebench claims list [--status STATUS] [--organization SLUG]

`export` writes every claim that is ready as one 837P batch to FILE (control numbers from the
billing profile; the claims become submitted and the batch is kept); with nothing ready it
writes nothing and says so. `check` runs the checks on every draft and rejected claim: those
that pass become ready, the others are listed with each problem's field and fix (exit status 1
when any failed). `list` prints the claims, newest first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from carebench.core.cli import cli_actor, organization_from


class Command(BaseCommand):
    help = "Export ready claims as an 837P, check drafts, list claims."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="write every ready claim as one 837P batch")
        export.add_argument("--format", default="837p", choices=["837p"])
        export.add_argument("-o", "--output", required=True, help="the file to write")
        check = sub.add_parser("check", help="check drafts; those that pass become ready")
        listing = sub.add_parser("list", help="print the claims")
        listing.add_argument("--status", default="")
        for p in (export, check, listing):
            p.add_argument("--organization", default=None)
            p.add_argument("--user", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organization_from(options["organization"])
        actor = cli_actor(organization, options["user"])
        getattr(self, f"_{options['action']}")(actor, options)

    def _export(self, actor: Any, options: dict[str, Any]) -> None:
        from carebench.billing import services

        try:
            batch = services.export_837p(actor=actor)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if batch is None:
            self.stdout.write("No claims are ready: nothing written.")
            return
        Path(options["output"]).write_text(batch.content, encoding="ascii")
        self.stdout.write(
            f"Wrote {options['output']}: interchange {batch.interchange_control:09d}, "
            f"{batch.claim_count} claims, ${batch.total_charge}"
        )

    def _check(self, actor: Any, options: dict[str, Any]) -> None:
        from carebench.billing import services
        from carebench.billing.models import Claim

        failed = 0
        claims = Claim.objects.filter(
            organization=actor.organization, status__in=[Claim.Status.DRAFT, Claim.Status.REJECTED]
        ).order_by("number")
        for claim in claims:
            problems = services.mark_ready(actor=actor, claim=claim)
            if problems:
                failed += 1
                for problem in problems:
                    self.stdout.write(str(problem))
            else:
                self.stdout.write(f"{claim.number}: ready")
        if failed:
            raise CommandError(f"{failed} claim(s) did not pass the checks")

    def _list(self, actor: Any, options: dict[str, Any]) -> None:
        from carebench.billing import selectors

        for claim in selectors.claims(actor.organization, status=options["status"], limit=10_000):
            self.stdout.write(
                f"{claim.number}  {claim.service_date}  {claim.status:<9}  "
                f"{claim.patient.display_name:<30}  {claim.payer.name:<20}  ${claim.total_charge}"
            )
