"""Reads for prior authorization: which codes a payer wants an authorization for, the units an
authorization has left, and the warnings for a visit or a claim that has none.

Codes are CPT (five digits; or four digits and a letter: Category II F, Category III T, PLA U,
M) or HCPCS Level II (a letter and four digits). A rule's range holds codes of its own kind: the
same pattern and the same letter, compared as text (`99202-99215`, `J0120-J9999`, `0001U-0100U`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet, Sum

from carebench.core import clock
from carebench.core.models import Organization
from carebench.patients.models import Patient, Payer
from carebench.scheduling.models import Appointment

from .elig_selectors import primary_coverage
from .models import Claim, ClaimLine, PriorAuth, PriorAuthRule

_CPT = re.compile(r"\d{5}")
_CPT_LETTER = re.compile(r"\d{4}[A-Z]")
_HCPCS = re.compile(r"[A-Z]\d{4}")


def normalize_code(code: str) -> str:
    return code.strip().upper()


def code_kind(code: str) -> str:
    """ "cpt" (5 digits), "cpt-F" (4 digits and the letter F...), "hcpcs-J" (J and 4 digits), or
    "" for anything else. Two codes can share a range only when their kinds are equal."""
    code = normalize_code(code)
    if _CPT.fullmatch(code):
        return "cpt"
    if _CPT_LETTER.fullmatch(code):
        return f"cpt-{code[-1]}"
    if _HCPCS.fullmatch(code):
        return f"hcpcs-{code[0]}"
    return ""


def code_problem(code: str) -> str:
    """Why `code` is not a procedure code, or ""."""
    if code_kind(code):
        return ""
    return (
        f"{code.strip()!r} is not a procedure code: CPT is five digits (99213) or four digits "
        "and a letter (0001U), HCPCS a letter and four digits (J1030)"
    )


def rule_matches(rule: PriorAuthRule, code: str) -> bool:
    code = normalize_code(code)
    if not rule.code_to:
        return code == rule.code_from
    kind = code_kind(code)
    return (
        bool(kind)
        and kind == code_kind(rule.code_from)
        and (rule.code_from <= code <= rule.code_to)
    )


def rule_text(rule: PriorAuthRule) -> str:
    """ "99202-99215 for Acme Health: all office visits" """
    codes = f"{rule.code_from}-{rule.code_to}" if rule.code_to else rule.code_from
    who = rule.payer.name if rule.payer_id and rule.payer is not None else "every payer"
    return f"{codes} for {who}" + (f": {rule.note}" if rule.note else "")


def active_rules(organization: Organization | int, payer: Payer | None) -> list[PriorAuthRule]:
    """The organization's active rules for `payer` and for every payer (payer's first)."""
    org_id = organization if isinstance(organization, int) else organization.pk
    wanted = Q(payer__isnull=True)
    if payer is not None:
        wanted |= Q(payer=payer)
    rows = (
        PriorAuthRule.objects.filter(wanted, organization_id=org_id, is_active=True)
        .select_related("payer")
        .order_by("code_from", "pk")
    )
    return sorted(rows, key=lambda r: r.payer_id is None)


def rules_needing_auth(
    org: Organization | int, payer: Payer | None, codes: Iterable[str]
) -> dict[str, PriorAuthRule]:
    """Each of `codes` that needs a prior authorization with `payer`, and the rule that says
    so (the payer's own rule before an every-payer rule)."""
    rules = active_rules(org, payer)
    out: dict[str, PriorAuthRule] = {}
    for raw in codes:
        code = normalize_code(raw)
        if not code or code in out:
            continue
        rule = next((r for r in rules if rule_matches(r, code)), None)
        if rule is not None:
            out[code] = rule
    return out


# --- authorizations -----------------------------------------------------------------------------


def auths_for_patient(patient: Patient) -> QuerySet[PriorAuth]:
    return (
        PriorAuth.objects.filter(organization_id=patient.organization_id, patient=patient)
        .select_related("coverage", "coverage__payer")
        .order_by("-submitted_at", "-pk")
    )


def units_used(auth: PriorAuth) -> Decimal:
    """Units billed against the authorization: the lines of the patient's claims to the same
    payer (not void) with one of its codes, served within its dates."""
    if auth.start_date is None or not auth.codes:
        return Decimal(0)
    lines = ClaimLine.objects.filter(
        organization_id=auth.organization_id,
        claim__patient_id=auth.patient_id,
        claim__payer_id=auth.coverage.payer_id,
        code__in=[normalize_code(c) for c in auth.codes],
        service_date__gte=auth.start_date,
    ).exclude(claim__status=Claim.Status.VOID)
    if auth.end_date is not None:
        lines = lines.filter(service_date__lte=auth.end_date)
    total = lines.aggregate(total=Sum("units"))["total"]
    return Decimal(total or 0)


def units_left(auth: PriorAuth) -> Decimal | None:
    """Units approved less units used (never below 0); None when no unit limit was given."""
    if auth.units_approved is None:
        return None
    return max(Decimal(auth.units_approved) - units_used(auth), Decimal(0))


def is_expired(auth: PriorAuth, today: date | None = None) -> bool:
    """Its end date has passed (computed, never stored)."""
    day = today or clock.today()
    return auth.end_date is not None and auth.end_date < day


def covers(auth: PriorAuth, code: str, on_date: date) -> bool:
    """Approved, for this code, and the date within its dates (units not counted)."""
    return (
        auth.status == PriorAuth.Status.APPROVED
        and normalize_code(code) in {normalize_code(c) for c in auth.codes}
        and auth.start_date is not None
        and auth.start_date <= on_date
        and (auth.end_date is None or on_date <= auth.end_date)
    )


def missing_auth_warnings(
    *, org: Organization | int, patient: Patient, codes: Iterable[str], on_date: date
) -> list[str]:
    """A plain warning for each code a rule says needs a prior authorization from the patient's
    primary payer when no approved authorization covers `on_date` with units left:

    "99214 needs a prior authorization from Acme Health (rule: 99214 for Acme Health); none
    approved covers 2026-12-01". Without a primary coverage (self-pay) there is none to ask.
    """
    org_id = org if isinstance(org, int) else org.pk
    if patient.organization_id != org_id:
        raise PermissionError("patient belongs to another organization")
    coverage = primary_coverage(patient, on_date)
    if coverage is None:
        return []
    needed = rules_needing_auth(org_id, coverage.payer, codes)
    if not needed:
        return []
    auths = list(
        PriorAuth.objects.filter(
            organization_id=org_id,
            patient=patient,
            coverage__payer_id=coverage.payer_id,
            status=PriorAuth.Status.APPROVED,
        )
        .select_related("coverage")
        .order_by("-start_date", "-pk")
    )
    out = []
    for code, rule in needed.items():
        lead = (
            f"{code} needs a prior authorization from {coverage.payer.name} "
            f"(rule: {rule_text(rule)})"
        )
        mine = [a for a in auths if code in {normalize_code(c) for c in a.codes}]
        covering = [a for a in mine if covers(a, code, on_date)]
        if any(_has_units(a) for a in covering):
            continue
        if covering:
            auth = covering[0]
            out.append(
                f"{lead}; authorization {auth.number} has no units left "
                f"({_units(units_used(auth))} of {auth.units_approved} used)"
            )
            continue
        ended = [a for a in mine if a.end_date is not None and a.end_date < on_date]
        if ended:
            auth = max(ended, key=lambda a: a.end_date or on_date)
            out.append(
                f"{lead}; authorization {auth.number} expired on {auth.end_date:%Y-%m-%d}, "
                f"none approved covers {on_date:%Y-%m-%d}"
            )
            continue
        out.append(f"{lead}; none approved covers {on_date:%Y-%m-%d}")
    return out


def _has_units(auth: PriorAuth) -> bool:
    left = units_left(auth)
    return left is None or left > 0


def _units(value: Decimal) -> str:
    return f"{value.normalize():f}"


def appointment_auth_warnings(appointment: Appointment) -> list[str]:
    """`missing_auth_warnings` for the codes the visit's type usually bills, on its day."""
    codes = appointment.appointment_type.procedure_codes.replace(",", " ").split()
    if not codes:
        return []
    day = appointment.start.astimezone(ZoneInfo(appointment.facility.time_zone)).date()
    return missing_auth_warnings(
        org=appointment.organization_id, patient=appointment.patient, codes=codes, on_date=day
    )
