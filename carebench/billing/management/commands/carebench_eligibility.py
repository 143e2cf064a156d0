"""`carebench eligibility ...`: ask payers about coverage through the clearinghouse folders.

    carebench eligibility check --patient MRN [--date YYYY-MM-DD] [--org SLUG] [--user U]
    carebench eligibility batch --date YYYY-MM-DD|today|tomorrow [--within-days 7]
                                [--org SLUG] [--user U]
    carebench eligibility poll [--org SLUG] [--user U]

`check` sends a 270 for the patient's primary coverage; `batch` sends one 270 file for every
booked visit that day whose primary coverage was not checked in the last `--within-days` days;
`poll` records the 271 answers waiting in the inbox and prints them in plain words (835, 999
and 277 files are left for their importers). The folders are the billing profile's
clearinghouse outbox and inbox.

--org takes a slug or an id; without it, the only organization. --user names the user the
work is credited to (in that organization); without it, the command itself ("cli").
Refusals print the field and the rule and exit 1; nothing is written.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser


def _actor(options: dict[str, Any]) -> Any:
    from carebench.core.cli import cli_actor, organization_from

    return cli_actor(organization_from(options.get("org"), flag="--org"), options.get("user"))


def _day(value: str) -> date:
    from carebench.core import clock

    today = clock.today()
    if value == "today":
        return today
    if value == "tomorrow":
        return today + timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date {value!r}: YYYY-MM-DD, today or tomorrow") from None


def _refusal(exc: ValidationError) -> CommandError:
    if hasattr(exc, "error_dict"):
        said = "; ".join(f"{k}: {m}" for k, ms in exc.message_dict.items() for m in ms)
    else:
        said = "; ".join(exc.messages)
    return CommandError(said)


class Command(BaseCommand):
    help = "Eligibility (270/271): check a patient, batch a day's visits, poll the answers."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="send a 270 for one patient's primary coverage")
        check.add_argument("--patient", required=True, help="the patient's MRN")
        check.add_argument("--date", default="today", help="date of service (default today)")
        batch = sub.add_parser("batch", help="one 270 file for a day's booked visits")
        batch.add_argument("--date", required=True, help="YYYY-MM-DD, today or tomorrow")
        batch.add_argument("--within-days", type=int, default=7, help="skip checks this recent")
        sub.add_parser("poll", help="record the 271 answers waiting in the inbox")
        for command in sub.choices.values():
            command.add_argument("--org", default=None, help="organization slug or id")
            command.add_argument("--user", default=None, help="username the work is credited to")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = _actor(options)
        try:
            if options["action"] == "check":
                self._check(actor, options["patient"], _day(options["date"]))
            elif options["action"] == "batch":
                self._batch(actor, _day(options["date"]), options["within_days"])
            else:
                self._poll(actor)
        except ValidationError as exc:
            raise _refusal(exc) from None
        except PermissionError as exc:
            raise CommandError(str(exc)) from None

    def _check(self, actor: Any, mrn: str, day: date) -> None:
        from carebench.billing import elig_services
        from carebench.billing.elig_selectors import primary_coverage
        from carebench.patients.models import Patient

        patient = Patient.objects.filter(organization=actor.organization, mrn=mrn).first()
        if patient is None:
            raise CommandError(f"no patient with MRN {mrn!r} in {actor.organization.slug}")
        coverage = primary_coverage(patient, day)
        if coverage is None:
            raise CommandError(f"{patient}: no active primary coverage on {day:%Y-%m-%d}")
        check = elig_services.request_eligibility(actor=actor, coverage=coverage, service_date=day)
        self.stdout.write(
            f"sent 270 for {patient} ({coverage.payer.name}, member {coverage.member_id}), "
            f"trace {check.trace_number}; run `carebench eligibility poll` for the answer"
        )

    def _batch(self, actor: Any, day: date, within_days: int) -> None:
        from carebench.billing import elig_services

        summary = elig_services.batch_eligibility(actor=actor, day=day, within_days=within_days)
        self.stdout.write(
            f"{day:%Y-%m-%d}: {summary.appointments} visits, {summary.sent} sent, "
            f"{summary.already_checked} checked lately, {summary.no_coverage} without coverage"
        )
        for line in summary.refused:
            self.stdout.write(f"  not sent: {line}")
        if summary.file:
            self.stdout.write(f"  file: {summary.file}")

    def _poll(self, actor: Any) -> None:
        from carebench.billing import elig_services

        summary = elig_services.poll_clearinghouse(actor=actor)
        for check in summary.checks:
            self.stdout.write(f"{check.patient} ({check.trace_number}): {check.status}")
            for sentence in check.summary:
                self.stdout.write(f"  {sentence}")
        for trace in summary.unknown:
            self.stdout.write(f"no check for trace number {trace}")
        for name, kind in summary.left:
            self.stdout.write(f"left in the inbox: {name} ({kind})")
        for name, reason in summary.failed:
            self.stdout.write(f"set aside: {name}: {reason}")
        self.stdout.write(f"{len(summary.files)} file(s) recorded, {len(summary.checks)} answers")
