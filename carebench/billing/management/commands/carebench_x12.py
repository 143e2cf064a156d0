"""`carebench x12 ...`: read and check X12 files from the command line.

    carebench x12 check FILE [--no-pyx12] [--filing-limit-days N]
    carebench x12 read-271 FILE [--json]
    carebench x12 read-835 FILE [--json]
    carebench x12 read-999 FILE
    carebench x12 read-277ca FILE
    carebench x12 import-835 FILE [--org SLUG] [--user USERNAME]
    carebench x12 import-999 FILE [--org SLUG] [--user USERNAME]
    carebench x12 import-277ca FILE [--org SLUG] [--user USERNAME]

`check` runs our 837P checks (NPI check digits, ICD-10-CM codes valid and, when the code set
is loaded, billable; claim totals; diagnosis pointers; required segments; timely filing) and
pyx12's 5010 validation, and prints every problem with the claim, the segment and its position,
and the fix; it exits 1 when there is any. The readers print each answer in plain words (or as
JSON). A malformed file is refused with the segment and its position; nothing is written.

The importers post the file (`billing.remit_services`): an 835 onto the claims it pays, a 999
onto the 837P batch it answers, a 277CA onto the claims it acknowledges; they print a summary
and exit 1 with the reason when the file is refused (unreadable, already posted, not
balanced). --org takes a slug or an id (without it: the user's organization, else the only
one); --user is the username the work is credited to (without it: the system).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

MAX_FILE_BYTES = 50 * 1024 * 1024  # as on the X12 upload page


def _read(path: str) -> str:
    try:
        if Path(path).stat().st_size > MAX_FILE_BYTES:
            raise CommandError(f"{path}: over 50 MB (the upload page's limit too)")
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CommandError(f"{path}: cannot read ({exc.strerror})") from None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class Command(BaseCommand):
    help = "X12 5010 files: check an 837P, read 271, 835, 999 and 277CA answers."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="our checks and pyx12's on an 837P")
        check.add_argument("file")
        check.add_argument("--no-pyx12", action="store_true", help="only our own checks (fast)")
        check.add_argument("--filing-limit-days", type=int, default=365)
        for name in ("read-271", "read-835"):
            reader = sub.add_parser(name)
            reader.add_argument("file")
            reader.add_argument("--json", action="store_true")
        for name in ("read-999", "read-277ca"):
            sub.add_parser(name).add_argument("file")
        for name, what in (
            ("import-835", "post an 835 remittance onto the claims"),
            ("import-999", "post a 999 onto the 837P batch it answers"),
            ("import-277ca", "post a 277CA onto the claims it acknowledges"),
        ):
            importer = sub.add_parser(name, help=what)
            importer.add_argument("file")
            importer.add_argument("--org", default=None, help="the organization's slug or id")
            importer.add_argument("--user", default=None, help="the username credited")

    def handle(self, *args: Any, **options: Any) -> None:
        from carebench.billing.x12.parse import X12Error

        action = options["action"]
        text = _read(options["file"])
        if action.startswith("import-"):
            self._import(action, text, options)
            return
        try:
            if action == "check":
                self._check(text, options)
            elif action == "read-271":
                self._read_271(text, options["json"])
            elif action == "read-835":
                self._read_835(text, options["json"])
            elif action == "read-999":
                self._read_999(text)
            else:
                self._read_277ca(text)
        except X12Error as exc:
            raise CommandError(f"{options['file']}: {exc}") from None

    def _actor(self, options: dict[str, Any]) -> Any:
        from carebench.accounts.models import User
        from carebench.core.actor import Actor
        from carebench.core.models import Organization

        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
        org_value = options["org"]
        if org_value:
            query = Organization.objects.filter(slug=org_value)
            if org_value.isdigit():
                query = Organization.objects.filter(pk=int(org_value)) | query
            org = query.first()
            if org is None:
                raise CommandError(f"no organization {org_value!r} (give its slug or id)")
        elif user is not None and user.organization is not None:
            org = user.organization
        else:
            organizations = list(Organization.objects.all()[:2])
            if len(organizations) != 1:
                raise CommandError("say which organization with --org SLUG")
            org = organizations[0]
        if user is not None and user.organization_id != org.pk:
            raise CommandError(f"user {user.username!r} is not in {org.slug!r}")
        return Actor(user=user, organization=org, channel="cli")

    def _import(self, action: str, text: str, options: dict[str, Any]) -> None:
        from django.core.exceptions import ValidationError

        from carebench.billing import remit_services
        from carebench.core.errors import messages_of

        actor = self._actor(options)
        name = Path(options["file"]).name
        try:
            if action == "import-835":
                remittances = remit_services.post_835(actor=actor, text=text, file_name=name)
            elif action == "import-999":
                result = remit_services.post_999(actor=actor, text=text, file_name=name)
            else:
                result = remit_services.post_277ca(actor=actor, text=text, file_name=name)
        except ValidationError as exc:
            raise CommandError(f"{options['file']}: {messages_of(exc)}") from None
        if action != "import-835":
            for line in result.lines():
                self.stdout.write(line)
            return
        for r in remittances:
            payments = r.payments.all()
            denied = payments.filter(claim__isnull=False, claim__status="denied").count()
            self.stdout.write(
                f"{r.payer_name} {r.trace_number}: {r.claim_count - r.unmatched_count} claim(s) "
                f"posted, ${r.total_paid:,.2f} paid, {denied} denied, "
                f"{r.unmatched_count} unmatched"
            )
            for payment in payments.filter(claim__isnull=True):
                self.stdout.write(
                    f"  unmatched: {payment.patient_control_number} "
                    f"(${payment.paid:,.2f} of ${payment.charge:,.2f})"
                )

    def _check(self, text: str, options: dict[str, Any]) -> None:
        from django.db import DatabaseError

        from carebench.billing.x12 import check837
        from carebench.terminology.models import Icd10CmCode

        is_billable = None
        try:
            loaded = Icd10CmCode.objects.exists()
        except DatabaseError:  # no database set up: the code shapes are still checked
            loaded = False
        if not loaded:
            self.stdout.write("ICD-10-CM not loaded: diagnosis codes checked for shape only")
        else:

            def is_billable(code: str) -> bool:
                return Icd10CmCode.objects.filter(
                    code__in=[code, f"{code[:3]}.{code[3:]}"], billable=True
                ).exists()

        problems = check837.check_837p(
            text, is_billable=is_billable, filing_limit_days=options["filing_limit_days"]
        )
        for p in problems:
            claim = f"claim {p.claim_id}" if p.claim_id else "batch"
            self.stdout.write(
                f"{claim}, segment {p.position} ({p.segment}) {p.field}: {p.message}. Fix: {p.fix}"
            )
        pyx12_errors = [] if options["no_pyx12"] else check837.validate_with_pyx12(text)
        for line in pyx12_errors:
            self.stdout.write(f"pyx12: {line}")
        total = len(problems) + len(pyx12_errors)
        checked = "our checks" + ("" if options["no_pyx12"] else " and pyx12")
        self.stdout.write(f"{total} problem(s) found by {checked}")
        if total:
            raise SystemExit(1)

    def _read_271(self, text: str, as_json: bool) -> None:
        from carebench.billing.x12 import elig

        results = elig.read_271(text)
        if as_json:
            self.stdout.write(
                json.dumps([elig.to_json(r) for r in results], indent=2, default=_plain)
            )
            return
        for result in results:
            self.stdout.write(
                f"{result.patient_name or result.subscriber_name} ({result.member_id}):"
            )
            for line in result.summary():
                self.stdout.write(f"  {line}")

    def _read_835(self, text: str, as_json: bool) -> None:
        from carebench.billing.x12 import remit835

        remittances = remit835.read_835(text)
        if as_json:
            out = [
                {
                    "payer": r.payer.name,
                    "trace_number": r.trace_number,
                    "total_paid": r.total_paid,
                    "payment_date": r.payment_date,
                    "claims": [
                        {
                            "claim": c.patient_control_number,
                            "status": c.status,
                            "charge": c.charge,
                            "paid": c.paid,
                            "patient_responsibility": c.patient_responsibility,
                            "reasons": c.reasons(),
                        }
                        for c in r.claims
                    ],
                    "balance_problems": remit835.balance_problems(r),
                }
                for r in remittances
            ]
            self.stdout.write(json.dumps(out, indent=2, default=_plain))
            return
        for r in remittances:
            self.stdout.write(
                f"{r.payer.name}: ${r.total_paid:.2f} paid, trace {r.trace_number}, {len(r.claims)} claim(s)"
            )
            for claim in r.claims:
                self.stdout.write(
                    f"  claim {claim.patient_control_number}: {claim.status}; charged ${claim.charge:.2f}, "
                    f"paid ${claim.paid:.2f}, patient owes ${claim.patient_responsibility or 0:.2f}"
                )
                for reason in claim.reasons():
                    self.stdout.write(f"    {reason}")
            for problem in remit835.balance_problems(r):
                self.stdout.write(f"  does not balance: {problem}")

    def _read_999(self, text: str) -> None:
        from carebench.billing.x12 import ack

        for answer in ack.read_999(text):
            for line in answer.describe():
                self.stdout.write(line)

    def _read_277ca(self, text: str) -> None:
        from carebench.billing.x12 import ack

        for status in ack.read_277ca(text):
            for line in status.describe():
                self.stdout.write(line)
