"""The checks a claim must pass before it may go (status ready): each failure names the claim,
the field and the fix, so the biller can correct it without guessing.

Checked: the billing set-up (profile, organization NPI and tax id, ZIP+4), the rendering
provider's NPI check digit, the patient's and the subscriber's required fields, the coverage in
force on the service date and the payer's ID, the diagnoses (1-12, ICD-10-CM, valid and
billable, no repeats), every line (code, modifiers, units, charge, pointers), the claim total
against its lines, the service date (not in the future, within the payer's timely-filing
limit), and prior authorization where a rule needs one.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from carebench.core.npi import validate_npi
from carebench.terminology.models import Icd10CmCode
from carebench.terminology.selectors import normalize_icd10

from .models import BillingProfile, Claim, ClaimLine, ProcedureCode
from .superbill import check_pointers

MAX_DIAGNOSES = 12
MAX_LINES = 50
CPT = re.compile(r"^\d{4}[0-9FTU]$")
HCPCS = re.compile(r"^[A-V]\d{4}$")
MODIFIER = re.compile(r"^[0-9A-Z]{2}$")


@dataclass(frozen=True)
class ClaimProblem:
    claim: str
    field: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.claim}: {self.field}: {self.message} (fix: {self.fix})"


def is_procedure_code(code: str) -> bool:
    return bool(CPT.match(code) or HCPCS.match(code))


def check_claim(
    claim: Claim, *, today: date, lines: list[ClaimLine] | None = None
) -> list[ClaimProblem]:
    """Every reason the claim may not go yet ([] when it may)."""
    problems: list[ClaimProblem] = []

    def add(field: str, message: str, fix: str) -> None:
        problems.append(ClaimProblem(claim.number, field, message, fix))

    lines = lines if lines is not None else list(claim.lines.order_by("number"))
    _check_setup(claim, add)
    _check_people(claim, add)
    _check_diagnoses(claim, add)
    _check_lines(claim, lines, add)
    total = sum((line.charge for line in lines), Decimal("0.00"))
    if total != claim.total_charge:
        add(
            "total charge",
            f"the claim says ${claim.total_charge}, its lines add up to ${total}",
            "save the claim again so the total is recomputed from the lines",
        )
    if claim.service_date > today:
        add("service date", f"{claim.service_date} is in the future", "bill after the visit")
    limit = claim.payer.timely_filing_days
    deadline = claim.service_date + timedelta(days=limit)
    if today > deadline:
        add(
            "service date",
            f"{claim.service_date} is past {claim.payer.name}'s timely-filing limit "
            f"of {limit} days (deadline {deadline})",
            "send proof of timely filing with an appeal, or write the charge off",
        )
    _check_prior_auth(claim, lines, add)
    return problems


def _check_setup(claim: Claim, add: Any) -> None:
    org = claim.organization
    profile = BillingProfile.objects.filter(organization=org).first()
    if profile is None:
        add("billing profile", "the organization has no billing set-up", "fill in Billing > Set-up")
    else:
        digits = re.sub(r"\D", "", profile.postal_code)
        if len(digits) != 9:
            add(
                "billing provider ZIP+4",
                f"'{profile.postal_code}' is not a nine-digit ZIP+4 (5010 requires it)",
                "enter the billing address's ZIP+4 in Billing > Set-up",
            )
    try:
        validate_npi(org.npi or "")
    except ValueError as exc:
        add("billing provider NPI", f"'{org.npi}': {exc}", "correct the organization's NPI")
    if len(re.sub(r"\D", "", org.tax_id or "")) != 9:
        add(
            "billing provider tax ID",
            f"'{org.tax_id}' is not a nine-digit EIN",
            "enter the organization's EIN",
        )
    try:
        validate_npi(claim.rendering_provider.npi)
    except ValueError as exc:
        add(
            "rendering provider NPI",
            f"{claim.rendering_provider.display_name} '{claim.rendering_provider.npi}': {exc}",
            "correct the provider's NPI under Scheduling > Providers",
        )
    if not claim.payer.payer_code:
        add(
            "payer ID",
            f"{claim.payer.name} has no payer ID",
            "enter the payer's electronic payer ID (from the clearinghouse's payer list)",
        )


def _check_people(claim: Claim, add: Any) -> None:
    patient = claim.patient
    coverage = claim.coverage
    for field, value in (
        ("patient address", patient.address_line1),
        ("patient city", patient.city),
        ("patient state", patient.state),
        ("patient ZIP code", patient.postal_code),
    ):
        if not value:
            add(field, "is missing", "complete the patient's address in the chart")
    if patient.sex not in ("female", "male", "unknown", "F", "M", "U"):
        add("patient sex", f"'{patient.sex}' cannot go on a claim", "record F, M or unknown")
    if coverage.voided_at is not None:
        add("coverage", "the coverage was voided", "pick the patient's current coverage")
    if not coverage.member_id:
        add("subscriber member ID", "is missing", "copy it from the insurance card")
    if coverage.payer_id != claim.payer_id:
        add("payer", "the claim's payer is not the coverage's payer", "rebuild the claim")
    day = claim.service_date
    if (coverage.start_date and coverage.start_date > day) or (
        coverage.end_date and coverage.end_date < day
    ):
        add(
            "coverage dates",
            f"the coverage ({coverage.start_date or '…'} to {coverage.end_date or '…'}) "
            f"was not in force on {day}",
            "check eligibility and bill the coverage in force that day, or the patient",
        )
    if coverage.relationship != "self":
        if not coverage.subscriber_name:
            add(
                "subscriber name",
                "the patient is a dependant but the subscriber's name is missing",
                "enter the subscriber's name on the coverage",
            )
        if coverage.subscriber_birth_date is None:
            add(
                "subscriber birth date",
                "the patient is a dependant but the subscriber's birth date is missing",
                "enter it on the coverage",
            )


def _check_diagnoses(claim: Claim, add: Any) -> None:
    codes = [normalize_icd10(str(c)) for c in claim.diagnosis_codes]
    if not codes:
        add("diagnoses", "the claim has no diagnosis", "code at least the principal diagnosis")
        return
    if len(codes) > MAX_DIAGNOSES:
        add(
            "diagnoses",
            f"{len(codes)} diagnoses: an 837P and the CMS-1500 carry at most {MAX_DIAGNOSES}",
            "keep the 12 that the lines point at",
        )
    known = dict(Icd10CmCode.objects.filter(code__in=codes).values_list("code", "billable"))
    seen: set[str] = set()
    for position, code in enumerate(codes, start=1):
        if code in seen:
            add(f"diagnosis {position}", f"{code} is listed twice", "remove the repeat")
        seen.add(code)
        if code not in known:
            add(
                f"diagnosis {position}",
                f"{code} is not an ICD-10-CM code",
                "search the code set and pick a valid code",
            )
        elif not known[code]:
            add(
                f"diagnosis {position}",
                f"{code} is a category, not a billable code",
                "pick a more specific code under it",
            )


def _check_lines(claim: Claim, lines: list[ClaimLine], add: Any) -> None:
    if not lines:
        add("lines", "the claim has no service line", "add the services from the encounter form")
        return
    if len(lines) > MAX_LINES:
        add("lines", f"{len(lines)} lines: an 837P claim carries at most {MAX_LINES}", "split it")
    codes = {line.code for line in lines}
    catalog = dict(
        ProcedureCode.objects.filter(organization=claim.organization, code__in=codes).values_list(
            "code", "is_active"
        )
    )
    has_catalog = (
        bool(catalog) or ProcedureCode.objects.filter(organization=claim.organization).exists()
    )
    diagnosis_count = len(claim.diagnosis_codes)
    for line in lines:
        where = f"line {line.number} ({line.code})"
        if not is_procedure_code(line.code):
            add(
                f"{where} code",
                f"'{line.code}' is not a CPT (five digits) or HCPCS (a letter and four digits) code",
                "correct the code",
            )
        elif has_catalog and line.code not in catalog:
            add(
                f"{where} code",
                f"{line.code} is not in the clinic's procedure codes",
                "import it with the clinic's code file, or correct the code",
            )
        elif has_catalog and not catalog[line.code]:
            add(f"{where} code", f"{line.code} is marked inactive", "use its replacement")
        modifiers = list(line.modifiers)
        if len(modifiers) > 4:
            add(f"{where} modifiers", f"{len(modifiers)} modifiers: at most 4", "keep four")
        for modifier in modifiers:
            if not MODIFIER.match(str(modifier)):
                add(
                    f"{where} modifiers",
                    f"'{modifier}' is not a two-character modifier",
                    "correct it (25, 59, QW, ...)",
                )
        if line.units <= 0:
            add(f"{where} units", "must be more than 0", "enter the units given")
        if line.charge < 0:
            add(f"{where} charge", "cannot be negative", "enter the fee")
        elif line.charge == 0 and "SL" not in modifiers:
            add(
                f"{where} charge",
                "is $0.00",
                "add the code to the fee schedule (only state-supplied vaccines, modifier SL, go at $0)",
            )
        problem = check_pointers([int(p) for p in line.pointers], diagnosis_count)
        if problem:
            add(f"{where} diagnosis pointers", problem, "point the line at the diagnoses it treats")
        if (
            line.service_date != claim.service_date
            and line.service_date > claim.service_date + timedelta(days=1)
        ):
            add(f"{where} service date", "is not the visit's date", "correct the date")


def _check_prior_auth(claim: Claim, lines: list[ClaimLine], add: Any) -> None:
    if claim.prior_auth_number:
        return
    from .auth_selectors import missing_auth_warnings

    for warning in missing_auth_warnings(
        org=claim.organization,
        patient=claim.patient,
        codes=[line.code for line in lines],
        on_date=claim.service_date,
    ):
        add(
            "prior authorization",
            warning,
            "request the authorization, or enter its number on the claim",
        )
