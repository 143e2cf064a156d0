"""Writes for claims: the claim's trail and status changes, procedure codes and fee schedules,
the superbill turned into a claim, the checks before a claim may go, and 837P batches.

Every function is keyword-only with the `Actor` first and runs in one transaction; bad input
raises a `ValidationError` naming the field and the rule (nothing is written); a row of another
organization raises `PermissionError`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.encounters.models import Encounter
from carebench.patients.models import Coverage, Payer
from carebench.terminology.models import Icd10CmCode
from carebench.terminology.selectors import normalize_icd10

from . import elig_selectors, selectors
from .claim_checks import ClaimProblem, check_claim, is_procedure_code
from .claim_files import build_batch, claim_total, cms1500_claim
from .cms1500 import render_cms1500
from .models import (
    BillingProfile,
    Claim,
    ClaimBatch,
    ClaimEvent,
    ClaimLine,
    Fee,
    FeeSchedule,
    ProcedureCode,
)
from .superbill import build_lines, check_pointers
from .x12.check837 import check_837p
from .x12.write837 import FILING_INDICATORS, write_837p


def _audit(
    actor: Actor, action: str, row: Any, detail: dict[str, Any], patient_id: int | None
) -> None:
    audit.record_for_actor(
        actor,
        action=action,
        patient_id=patient_id,
        resource_type=type(row).__name__,
        resource_id=row.pk,
        detail=detail,
    )


@transaction.atomic
def add_event(
    claim: Claim,
    *,
    actor: Actor,
    to_status: str = "",
    note: str = "",
    source: str = "",
) -> ClaimEvent:
    """Write one entry in the claim's trail; with `to_status`, move the claim to it (saved)."""
    actor.check_owns(claim, "claim")
    from_status = claim.status
    if to_status and to_status != claim.status:
        claim.status = to_status
        claim.save(update_fields=["status", "updated_at"])
    return ClaimEvent.objects.create(
        claim=claim,
        at=clock.now(),
        by=actor.user,
        from_status=from_status if to_status else "",
        to_status=to_status,
        note=note[:500],
        source=source[:200],
    )


# --- set-up: the billing profile, procedure codes, fee schedules --------------------------------

PROFILE_FIELDS = (
    "submitter_name",
    "submitter_id",
    "contact_name",
    "contact_phone",
    "contact_email",
    "receiver_name",
    "receiver_id",
    "billing_name",
    "address_line",
    "city",
    "state",
    "postal_code",
    "phone",
    "taxonomy",
    "place_of_service",
    "usage",
    "clearinghouse_outbox",
    "clearinghouse_inbox",
)
REQUIRED_PROFILE_FIELDS = (
    "submitter_name",
    "submitter_id",
    "contact_name",
    "receiver_name",
    "receiver_id",
    "billing_name",
    "address_line",
    "city",
    "state",
    "postal_code",
)


@transaction.atomic
def save_billing_profile(*, actor: Actor, **values: str) -> BillingProfile:
    """Create or update the organization's billing profile (who it is on its claims)."""
    errors = FieldErrors()
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"unknown billing profile field(s): {', '.join(sorted(unknown))}")
    profile = (
        BillingProfile.objects.select_for_update().filter(organization=actor.organization).first()
    )
    current = {f: getattr(profile, f) for f in PROFILE_FIELDS} if profile else {}
    merged = {**current, **{k: (v or "").strip() for k, v in values.items()}}
    for field in REQUIRED_PROFILE_FIELDS:
        if not merged.get(field):
            errors.add(field, "is required")
    if merged.get("postal_code") and len(_digits(merged["postal_code"])) != 9:
        errors.add("postal_code", "must be the nine-digit ZIP+4 (5010 requires it)")
    if merged.get("state") and not re.fullmatch(r"[A-Z]{2}", merged["state"].upper()):
        errors.add("state", "must be a two-letter USPS code")
    if merged.get("usage", "T") not in ("T", "P"):
        errors.add("usage", "must be T (test) or P (production)")
    if (
        not merged.get("contact_phone")
        and not merged.get("contact_email")
        and "contact_name" in merged
    ):
        errors.add("contact_phone", "a phone or an e-mail for the billing contact is required")
    errors.raise_if_any()
    merged["state"] = merged["state"].upper()
    merged["postal_code"] = _digits(merged["postal_code"])
    if profile is None:
        profile = BillingProfile(organization=actor.organization, created_by=actor.user)
    for field, value in merged.items():
        setattr(profile, field, value)
    profile.save()
    _audit(actor, Action.UPDATE, profile, {"fields": sorted(values)}, None)
    return profile


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


MAX_CSV_ROWS = 50_000  # rows of a code or fee file
MAX_CSV_PROBLEMS = 20  # problems listed for a refused file (the rest: "... and more")


def _csv_rows(text: str, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValidationError(
            {"file": [f"line {line} holds a NUL byte: a CSV is text (is it UTF-16 or binary?)"]}
        )
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise ValidationError({"file": [f"the header needs the column(s): {', '.join(missing)}"]})
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, str]]] = []
    errors = FieldErrors()
    for number, row in enumerate(reader, start=2):
        if len(rows) >= MAX_CSV_ROWS:
            raise ValidationError({"file": [f"has more than {MAX_CSV_ROWS} rows: split it"]})
        if len(errors.errors) >= MAX_CSV_PROBLEMS:
            break
        if row.get(None):  # type: ignore[call-overload]
            errors.add(
                f"row {number}",
                f"has more values than the header's {len(header)} columns "
                "(put a value with a comma in double quotes)",
            )
        rows.append((number, {k: (v or "").strip() for k, v in row.items() if k}))
    errors.raise_if_any()
    return rows


@transaction.atomic
def import_procedure_codes(*, actor: Actor, text: str, source: str = "") -> dict[str, int]:
    """Load the clinic's CPT/HCPCS code file (CSV: code,label[,kind][,active]); codes already
    there get the new label. Any bad row refuses the whole file, naming the row and field."""
    errors = FieldErrors()
    rows = _csv_rows(text, ("code", "label"))
    if not rows:
        errors.add("file", "has no rows under its header")
    parsed: dict[str, tuple[str, str, bool]] = {}
    for number, row in rows:
        if len(errors.errors) >= MAX_CSV_PROBLEMS:
            errors.add("file", "... and more: fix these rows first")
            break
        code = row.get("code", "").upper()
        label = row.get("label", "")
        if not is_procedure_code(code):
            errors.add(
                f"row {number} code",
                f"'{code}' is not a CPT (five digits) or HCPCS Level II (a letter and four "
                "digits) code",
            )
            continue
        if not label:
            errors.add(f"row {number} label", "is required (the clinic's own short label)")
        elif len(label) > 200:
            errors.add(f"row {number} label", "is longer than 200 characters")
        kind = row.get("kind", "").lower() or (
            ProcedureCode.Kind.HCPCS if code[0].isalpha() else ProcedureCode.Kind.CPT
        )
        if kind not in ProcedureCode.Kind.values:
            errors.add(f"row {number} kind", f"'{kind}' is not cpt or hcpcs")
        active_text = row.get("active", "").lower() or "yes"
        if active_text not in ("yes", "no", "y", "n", "true", "false", "1", "0"):
            errors.add(f"row {number} active", f"'{active_text}' is not yes or no")
        if code in parsed:
            errors.add(f"row {number} code", f"{code} appears twice in the file")
        parsed[code] = (label, kind, active_text in ("yes", "y", "true", "1"))
    errors.raise_if_any()
    existing = {
        pc.code: pc
        for pc in ProcedureCode.objects.filter(organization=actor.organization, code__in=parsed)
    }
    new: list[ProcedureCode] = []
    changed: list[ProcedureCode] = []
    for code, (label, kind, active) in parsed.items():
        known = existing.get(code)
        if known is None:
            new.append(
                ProcedureCode(
                    organization=actor.organization,
                    created_by=actor.user,
                    code=code,
                    label=label,
                    kind=kind,
                    is_active=active,
                    source=source[:200],
                )
            )
        else:
            known.label, known.kind, known.is_active = label, kind, active
            known.source = source[:200]
            changed.append(known)
    ProcedureCode.objects.bulk_create(new)
    ProcedureCode.objects.bulk_update(changed, ["label", "kind", "is_active", "source"])
    counts = {"added": len(new), "updated": len(changed)}
    audit.record_for_actor(
        actor,
        action=Action.CREATE,
        resource_type="ProcedureCode",
        resource_id="import",
        detail={"source": source, **counts},
    )
    return counts


@transaction.atomic
def update_payer_billing(
    *,
    actor: Actor,
    payer: Payer,
    payer_code: str,
    filing_indicator: str,
    timely_filing_days: int,
) -> Payer:
    """How the clinic bills a payer: its electronic payer ID, the claim filing indicator
    (SBR09) and how many days after the service a claim must reach it."""
    actor.check_owns(payer, "payer")
    errors = FieldErrors()
    payer_code = payer_code.strip().upper()
    if not re.fullmatch(r"[0-9A-Z]{2,20}", payer_code):
        errors.add("payer_code", "the payer ID is 2-20 letters and digits (from the payer list)")
    filing_indicator = filing_indicator.strip().upper()
    if filing_indicator not in FILING_INDICATORS:
        errors.add("filing_indicator", f"'{filing_indicator}' is not an X12 claim filing indicator")
    if not 30 <= timely_filing_days <= 1095:
        errors.add("timely_filing_days", "must be between 30 and 1,095 days")
    errors.raise_if_any()
    before = (payer.payer_code, payer.filing_indicator, payer.timely_filing_days)
    payer.payer_code = payer_code
    payer.filing_indicator = filing_indicator
    payer.timely_filing_days = timely_filing_days
    payer.save(update_fields=["payer_code", "filing_indicator", "timely_filing_days", "updated_at"])
    _audit(
        actor,
        Action.UPDATE,
        payer,
        {"before": before, "after": (payer_code, filing_indicator, timely_filing_days)},
        None,
    )
    return payer


@transaction.atomic
def create_fee_schedule(
    *,
    actor: Actor,
    name: str,
    effective_from: date,
    payer: Payer | None = None,
    effective_to: date | None = None,
) -> FeeSchedule:
    errors = FieldErrors()
    name = name.strip()
    if not name:
        errors.add("name", "is required")
    elif FeeSchedule.objects.filter(organization=actor.organization, name=name).exists():
        errors.add("name", f"a fee schedule called '{name}' already exists")
    if effective_to is not None and effective_to < effective_from:
        errors.add("effective_to", "cannot be before the start date")
    if payer is not None:
        actor.check_owns(payer, "payer")
    errors.raise_if_any()
    schedule = FeeSchedule.objects.create(
        organization=actor.organization,
        created_by=actor.user,
        name=name,
        payer=payer,
        effective_from=effective_from,
        effective_to=effective_to,
    )
    _audit(actor, Action.CREATE, schedule, {"name": name}, None)
    return schedule


@transaction.atomic
def import_fees(*, actor: Actor, schedule: FeeSchedule, text: str) -> dict[str, int]:
    """Load a fee schedule's charges (CSV: code,amount[,modifier]); a code already priced gets
    the new amount. Any bad row refuses the whole file, naming the row and field."""
    actor.check_owns(schedule, "fee schedule")
    errors = FieldErrors()
    rows = _csv_rows(text, ("code", "amount"))
    parsed: dict[tuple[str, str], Decimal] = {}
    for number, row in rows:
        if len(errors.errors) >= MAX_CSV_PROBLEMS:
            errors.add("file", "... and more: fix these rows first")
            break
        code = row.get("code", "").upper()
        modifier = row.get("modifier", "").upper()
        if not is_procedure_code(code):
            errors.add(f"row {number} code", f"'{code}' is not a CPT or HCPCS code")
        if modifier and not re.fullmatch(r"[0-9A-Z]{2}", modifier):
            errors.add(f"row {number} modifier", f"'{modifier}' is not a two-character modifier")
        try:
            amount = Decimal(row.get("amount", "").replace("$", "").replace(",", ""))
        except InvalidOperation:
            errors.add(f"row {number} amount", f"'{row.get('amount', '')}' is not an amount")
            continue
        if amount < 0 or amount != amount.quantize(Decimal("0.01")):
            errors.add(f"row {number} amount", "must be zero or more, in dollars and cents")
            continue
        if (code, modifier) in parsed:
            errors.add(f"row {number} code", f"{code} {modifier} appears twice in the file")
        parsed[(code, modifier)] = amount
    errors.raise_if_any()
    existing = {(f.code, f.modifier): f for f in schedule.fees.all()}
    new = [
        Fee(schedule=schedule, code=c, modifier=m, amount=a)
        for (c, m), a in parsed.items()
        if (c, m) not in existing
    ]
    changed = []
    for key, amount in parsed.items():
        if key in existing:
            existing[key].amount = amount
            changed.append(existing[key])
    Fee.objects.bulk_create(new)
    Fee.objects.bulk_update(changed, ["amount"])
    counts = {"added": len(new), "updated": len(changed)}
    _audit(actor, Action.UPDATE, schedule, counts, None)
    return counts


# --- claims ---------------------------------------------------------------------------------------

EDITABLE = (Claim.Status.DRAFT, Claim.Status.READY, Claim.Status.REJECTED)
# Where a claim may go by hand (the files move it the rest of the way).
MANUAL_MOVES: dict[str, set[str]] = {
    Claim.Status.DRAFT: {Claim.Status.VOID},
    Claim.Status.READY: {Claim.Status.DRAFT, Claim.Status.VOID},
    Claim.Status.REJECTED: {Claim.Status.DRAFT, Claim.Status.VOID},
    Claim.Status.DENIED: {Claim.Status.APPEALED},
    Claim.Status.APPEALED: {Claim.Status.PAID, Claim.Status.DENIED},
    Claim.Status.SUBMITTED: {Claim.Status.REJECTED},
}


@dataclass(frozen=True)
class LineInput:
    """A service line as the coder enters it; `charge` None prices it from the fee schedule."""

    code: str
    pointers: tuple[int, ...] = (1,)
    modifiers: tuple[str, ...] = ()
    units: Decimal = Decimal(1)
    charge: Decimal | None = None
    description: str = ""
    service_date: date | None = None
    ndc: str = ""
    ndc_quantity: Decimal | None = None
    ndc_unit: str = ""
    source: str = ""


def _next_claim_number(organization_id: int) -> str:
    profile = (
        BillingProfile.objects.select_for_update().filter(organization_id=organization_id).first()
    )
    if profile is None:
        raise ValidationError({"billing profile": ["set up billing first (Billing > Set-up)"]})
    number = profile.next_claim_number
    profile.next_claim_number = number + 1
    profile.save(update_fields=["next_claim_number", "updated_at"])
    return f"CB{number:06d}"


def _priced_lines(
    actor: Actor, claim: Claim, lines: list[LineInput], errors: FieldErrors
) -> list[ClaimLine]:
    rows: list[ClaimLine] = []
    for number, entry in enumerate(lines, start=1):
        where = f"line {number}"
        code = entry.code.strip().upper()
        modifiers = [m.strip().upper() for m in entry.modifiers if m.strip()]
        if not is_procedure_code(code):
            errors.add(f"{where} code", f"'{entry.code}' is not a CPT or HCPCS code")
            continue
        if entry.units <= 0:
            errors.add(f"{where} units", "must be more than 0")
            continue
        if len(modifiers) > 4:
            errors.add(f"{where} modifiers", "at most 4")
        for modifier in modifiers:
            if not re.fullmatch(r"[0-9A-Z]{2}", modifier):
                errors.add(f"{where} modifiers", f"'{modifier}' is not a two-character modifier")
        problem = check_pointers(list(entry.pointers), len(claim.diagnosis_codes))
        if problem:
            errors.add(f"{where} diagnosis pointers", problem)
        charge = entry.charge
        if charge is None:
            if "SL" in modifiers:
                charge = Decimal("0.00")
            else:
                fee = selectors.fee_for(
                    actor.organization, claim.payer, code, modifiers, claim.service_date
                )
                if fee is None:
                    errors.add(
                        f"{where} charge",
                        f"{code} has no fee in the standard or {claim.payer.name} schedule: "
                        "enter the charge or add the fee",
                    )
                    continue
                charge = (fee * entry.units).quantize(Decimal("0.01"))
        if charge < 0:
            errors.add(f"{where} charge", "cannot be negative")
            continue
        rows.append(
            ClaimLine(
                organization=actor.organization,
                created_by=actor.user,
                number=number,
                code=code,
                modifiers=modifiers,
                units=entry.units,
                charge=charge,
                pointers=list(entry.pointers),
                service_date=entry.service_date or claim.service_date,
                description=entry.description[:200],
                ndc=entry.ndc,
                ndc_quantity=entry.ndc_quantity,
                ndc_unit=entry.ndc_unit,
                source=entry.source[:40],
            )
        )
    return rows


def _diagnoses(codes: list[str], errors: FieldErrors) -> list[str]:
    normal = [normalize_icd10(c) for c in codes if c.strip()]
    if not normal:
        errors.add("diagnoses", "code at least the principal diagnosis")
    if len(normal) > 12:
        errors.add("diagnoses", f"{len(normal)} diagnoses: at most 12 on a claim")
    if len(set(normal)) != len(normal):
        errors.add("diagnoses", "a diagnosis is listed twice")
    known = dict(Icd10CmCode.objects.filter(code__in=normal).values_list("code", "billable"))
    for position, code in enumerate(normal, start=1):
        if code not in known:
            errors.add(f"diagnosis {position}", f"{code} is not an ICD-10-CM code")
        elif not known[code]:
            errors.add(f"diagnosis {position}", f"{code} is a category, not a billable code")
    return normal


MEDICARE_FILING = ("MB", "MA")


def superbill_lines(
    encounter: Encounter, *, em_code: str = "", payer: Payer | None = None
) -> list[LineInput]:
    """The encounter form: what was documented at the visit, as lines to bill to `payer`."""
    zone = ZoneInfo(encounter.facility.time_zone)
    try:
        suggested = build_lines(
            selectors.documented_items(encounter),
            em_code=em_code,
            em_date=encounter.started_at.astimezone(zone).date(),
            medicare=payer is not None and payer.filing_indicator in MEDICARE_FILING,
        )
    except ValueError as exc:
        raise ValidationError({"em_code": [str(exc)]}) from exc
    return [
        LineInput(
            code=s.code,
            modifiers=s.modifiers,
            units=s.units,
            charge=Decimal("0.00") if s.no_charge else None,
            description=s.description,
            service_date=s.service_date,
            ndc=s.ndc,
            ndc_quantity=s.ndc_quantity,
            ndc_unit=s.ndc_unit,
            source=s.source,
        )
        for s in suggested
    ]


@transaction.atomic
def create_claim(
    *,
    actor: Actor,
    encounter: Encounter,
    diagnoses: list[str],
    em_code: str = "",
    coverage: Coverage | None = None,
    lines: list[LineInput] | None = None,
    prior_auth_number: str = "",
) -> Claim:
    """A draft claim for the visit: the superbill's lines (or `lines`), priced from the payer's
    fee schedule, the copay collected at check-in, the rendering provider the visit's."""
    actor.check_owns(encounter, "encounter")
    errors = FieldErrors()
    zone = ZoneInfo(encounter.facility.time_zone)
    service_date = encounter.started_at.astimezone(zone).date()
    if coverage is None:
        coverage = elig_selectors.primary_coverage(encounter.patient, service_date)
        if coverage is None:
            errors.add(
                "coverage",
                "the patient has no primary coverage in force on the visit date: add it, "
                "or bill the patient",
            )
    elif coverage.patient_id != encounter.patient_id:
        errors.add("coverage", "is another patient's coverage")
    if encounter.provider is None:
        errors.add("rendering provider", "the visit has no provider: set who saw the patient")
    if (
        coverage is not None
        and Claim.objects.filter(encounter=encounter, coverage=coverage)
        .exclude(status=Claim.Status.VOID)
        .exists()
    ):
        errors.add("encounter", "already has a claim to this coverage: open it instead")
    codes = _diagnoses(diagnoses, errors)
    errors.raise_if_any()
    assert coverage is not None and encounter.provider is not None
    if lines is None:
        lines = superbill_lines(encounter, em_code=em_code, payer=coverage.payer)
    if not lines:
        raise ValidationError(
            {"lines": ["nothing billable was documented: choose the E/M level or add lines"]}
        )
    appointment = getattr(encounter, "appointment", None)
    copay = (
        appointment.copay_amount
        if appointment is not None and appointment.copay_collected and appointment.copay_amount
        else Decimal("0.00")
    )
    profile = BillingProfile.objects.filter(organization=actor.organization).first()
    claim = Claim(
        organization=actor.organization,
        created_by=actor.user,
        number="",
        patient=encounter.patient,
        encounter=encounter,
        coverage=coverage,
        payer=coverage.payer,
        facility=encounter.facility,
        rendering_provider=encounter.provider,
        service_date=service_date,
        place_of_service=profile.place_of_service if profile else "11",
        diagnosis_codes=codes,
        patient_paid=copay,
        prior_auth_number=prior_auth_number.strip(),
    )
    rows = _priced_lines(actor, claim, lines, errors)
    errors.raise_if_any()
    claim.number = _next_claim_number(actor.organization.pk)
    claim.total_charge = claim_total(rows)
    claim.save()
    for row in rows:
        row.claim = claim
    ClaimLine.objects.bulk_create(rows)
    ClaimEvent.objects.create(
        claim=claim,
        at=clock.now(),
        by=actor.user,
        to_status=Claim.Status.DRAFT,
        note=f"Created from the visit: {len(rows)} lines, ${claim.total_charge}",
    )
    _audit(
        actor,
        Action.CREATE,
        claim,
        {"number": claim.number, "lines": [r.code for r in rows], "total": str(claim.total_charge)},
        claim.patient_id,
    )
    return claim


@transaction.atomic
def update_claim(
    *,
    actor: Actor,
    claim: Claim,
    diagnoses: list[str],
    lines: list[LineInput],
    prior_auth_number: str | None = None,
) -> Claim:
    """Replace the claim's diagnoses and lines (a draft, ready or rejected claim; it goes back
    to draft and must pass the checks again)."""
    actor.check_owns(claim, "claim")
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    if claim.status not in EDITABLE:
        raise ValidationError(
            {
                "status": [
                    f"a {claim.get_status_display().lower()} claim cannot be edited: "
                    "send a replacement claim (frequency 7) instead"
                ]
            }
        )
    errors = FieldErrors()
    claim.diagnosis_codes = _diagnoses(diagnoses, errors)
    if not lines:
        errors.add("lines", "a claim needs at least one line")
    rows = _priced_lines(actor, claim, lines, errors)
    errors.raise_if_any()
    old = list(claim.lines.order_by("number"))
    if any(line.paid_amount or line.payments.exists() for line in old):
        raise ValidationError({"lines": ["payments are posted to these lines: they cannot change"]})
    # Lines of an unsent claim are rewritten in place; nothing has been sent or paid on them.
    ClaimLine.objects.filter(claim=claim).delete()
    for row in rows:
        row.claim = claim
    ClaimLine.objects.bulk_create(rows)
    if prior_auth_number is not None:
        claim.prior_auth_number = prior_auth_number.strip()
    claim.total_charge = claim_total(rows)
    claim.problems = []
    previous = claim.status
    claim.status = Claim.Status.DRAFT
    claim.save()
    ClaimEvent.objects.create(
        claim=claim,
        at=clock.now(),
        by=actor.user,
        from_status=previous,
        to_status=Claim.Status.DRAFT,
        note=f"Edited: {len(rows)} lines, ${claim.total_charge}",
    )
    _audit(
        actor,
        Action.UPDATE,
        claim,
        {"lines": [r.code for r in rows], "diagnoses": claim.diagnosis_codes},
        claim.patient_id,
    )
    return claim


@transaction.atomic
def mark_ready(*, actor: Actor, claim: Claim) -> list[ClaimProblem]:
    """Run the checks; a claim that passes becomes ready to send. Returns the problems (the
    claim stays where it was and keeps them to show) — [] when it is ready."""
    actor.check_owns(claim, "claim")
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    if claim.status not in (Claim.Status.DRAFT, Claim.Status.REJECTED, Claim.Status.READY):
        raise ValidationError(
            {"status": [f"a {claim.get_status_display().lower()} claim is past this step"]}
        )
    problems = check_claim(claim, today=clock.today(claim.facility.time_zone))
    claim.problems = [p.as_dict() for p in problems]
    claim.save(update_fields=["problems", "updated_at"])
    if not problems:
        add_event(claim, actor=actor, to_status=Claim.Status.READY, note="Passed the checks")
    _audit(
        actor, Action.UPDATE, claim, {"checked": True, "problems": len(problems)}, claim.patient_id
    )
    return problems


@transaction.atomic
def move_claim(*, actor: Actor, claim: Claim, to_status: str, note: str) -> Claim:
    """A status change by hand: back to draft, void, appealed, rejected by phone..., with why."""
    actor.check_owns(claim, "claim")
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    allowed = MANUAL_MOVES.get(claim.status, set())
    if to_status not in allowed:
        names = ", ".join(sorted(allowed)) or "nothing (the files move it from here)"
        raise ValidationError(
            {"status": [f"a {claim.status} claim can go to {names}, not {to_status}"]}
        )
    if not note.strip():
        raise ValidationError({"note": ["say why (it goes in the claim's trail)"]})
    add_event(claim, actor=actor, to_status=to_status, note=note.strip())
    _audit(
        actor, Action.UPDATE, claim, {"status": to_status, "note": note.strip()}, claim.patient_id
    )
    return claim


@transaction.atomic
def export_837p(*, actor: Actor, claim_ids: list[int] | None = None) -> ClaimBatch | None:
    """Write every ready claim (or the given ones, all ready) as one 837P batch: control
    numbers from the profile, the claims submitted, the file kept. None when nothing is ready.
    The written file is read back by our own 837P checks before anything is marked sent."""
    profile = (
        BillingProfile.objects.select_for_update().filter(organization=actor.organization).first()
    )
    if profile is None:
        raise ValidationError({"billing profile": ["set up billing first (Billing > Set-up)"]})
    rows = Claim.objects.select_for_update().filter(
        organization=actor.organization, status=Claim.Status.READY
    )
    if claim_ids is not None:
        rows = rows.filter(pk__in=claim_ids)
    claims = list(
        rows.select_related("patient", "coverage", "payer", "rendering_provider")
        .prefetch_related("lines")
        .order_by("number")
    )
    if claim_ids is not None and len(claims) != len(set(claim_ids)):
        raise ValidationError({"claims": ["only claims that are ready can be sent"]})
    if not claims:
        return None
    now = clock.now()
    control = profile.next_interchange_control
    profile.next_interchange_control = control + 1 if control < 999_999_999 else 1
    profile.save(update_fields=["next_interchange_control", "updated_at"])
    batch = build_batch(
        actor.organization, profile, claims, interchange_control=control, created_at=now
    )
    try:
        text = write_837p(batch)
    except ValueError as exc:
        raise ValidationError({"claims": [str(exc)]}) from exc
    problems = check_837p(text, today=clock.today(claims[0].facility.time_zone))
    if problems:
        raise ValidationError(
            {"claims": [f"{p.claim_id} {p.field}: {p.message} ({p.fix})" for p in problems]}
        )
    record = ClaimBatch.objects.create(
        organization=actor.organization,
        created_by=actor.user,
        interchange_control=control,
        group_control=control,
        created_at=now,
        claim_count=len(claims),
        total_charge=sum((c.total_charge for c in claims), Decimal("0.00")),
        content=text,
        file_name=f"837P_{control:09d}.x12",
    )
    Claim.objects.filter(pk__in=[c.pk for c in claims]).update(
        status=Claim.Status.SUBMITTED, batch=record, submitted_at=now, updated_at=now
    )
    ClaimEvent.objects.bulk_create(
        [
            ClaimEvent(
                claim=c,
                at=now,
                by=actor.user,
                from_status=Claim.Status.READY,
                to_status=Claim.Status.SUBMITTED,
                note=f"Sent in 837P interchange {control:09d}",
                source=record.file_name,
            )
            for c in claims
        ]
    )
    audit.record_for_actor(
        actor,
        action=Action.EXPORT,
        resource_type="ClaimBatch",
        resource_id=record.pk,
        detail={"claims": [c.number for c in claims], "interchange": control},
    )
    return record


def cms1500_pdf(*, actor: Actor, claim: Claim, draw_form: bool = True) -> bytes:
    """The claim printed on the CMS-1500 (02/12); the printing is audited."""
    actor.check_owns(claim, "claim")
    profile = BillingProfile.objects.filter(organization=actor.organization).first()
    if profile is None:
        raise ValidationError({"billing profile": ["set up billing first (Billing > Set-up)"]})
    try:
        pdf = render_cms1500(
            cms1500_claim(claim, profile, today=clock.today(claim.facility.time_zone)),
            draw_form=draw_form,
        )
    except ValueError as exc:
        raise ValidationError({"claim": [str(exc)]}) from exc
    _audit(actor, Action.EXPORT, claim, {"format": "CMS-1500"}, claim.patient_id)
    return pdf
