"""Writes for prior authorization: the rules saying which codes a payer wants authorized, the
requests sent to payers and the payers' decisions (see docs/subsystems/prior-auth.md).

Every function is keyword-only with the `Actor` first, runs in one transaction and writes one
audit event. Bad input raises a `ValidationError` naming the field and the rule (nothing is
written); a row of another organization raises `PermissionError`.

A request moves between statuses only along `TRANSITIONS`:

    submitted -> pending, approved, denied, cancelled
    pending   -> approved, denied, cancelled
    approved  -> approved (the payer extends or corrects it), cancelled
    denied    -> appealed
    appealed  -> pending, approved, denied, cancelled
    cancelled -> (nothing)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.patients.models import Coverage, Payer

from .auth_selectors import code_kind, code_problem, normalize_code, rule_text
from .models import PriorAuth, PriorAuthRule

Status = PriorAuth.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.SUBMITTED: frozenset({Status.PENDING, Status.APPROVED, Status.DENIED, Status.CANCELLED}),
    Status.PENDING: frozenset({Status.APPROVED, Status.DENIED, Status.CANCELLED}),
    Status.APPROVED: frozenset({Status.APPROVED, Status.CANCELLED}),
    Status.DENIED: frozenset({Status.APPEALED}),
    Status.APPEALED: frozenset({Status.PENDING, Status.APPROVED, Status.DENIED, Status.CANCELLED}),
    Status.CANCELLED: frozenset(),
}
_ICD10 = re.compile(r"[A-Z]\d[A-Z0-9][A-Z0-9]{0,4}")
MAX_CODES = 50
MAX_DIAGNOSES = 12


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


# --- rules --------------------------------------------------------------------------------------


def add_rule(
    *,
    actor: Actor,
    code_from: str,
    code_to: str = "",
    payer: Payer | None = None,
    note: str = "",
) -> PriorAuthRule:
    """A code (or a range of codes of one kind) that needs a prior authorization with `payer`,
    or with every payer when `payer` is None."""
    if payer is not None:
        actor.check_owns(payer, "payer")
    first, last = normalize_code(code_from), normalize_code(code_to)
    errors = FieldErrors()
    if problem := code_problem(first):
        errors.add("code_from", problem)
    if last:
        if problem := code_problem(last):
            errors.add("code_to", problem)
        elif not errors.errors:
            if code_kind(first) != code_kind(last):
                errors.add(
                    "code_to",
                    f"{first} and {last} are not the same kind of code: a range holds CPT or "
                    "HCPCS codes of one pattern and letter",
                )
            elif last < first:
                errors.add("code_to", f"the range ends ({last}) before it starts ({first})")
            elif last == first:
                last = ""
    if len(note) > 300:
        errors.add("note", "at most 300 characters")
    if not errors.errors:
        same = PriorAuthRule.objects.filter(
            organization=actor.organization,
            payer=payer,
            code_from=first,
            code_to=last,
            is_active=True,
        )
        if same.exists():
            errors.add("code_from", f"this rule already exists ({rule_text(same[0])})")
    errors.raise_if_any()
    with transaction.atomic():
        rule = PriorAuthRule.objects.create(
            organization=actor.organization,
            payer=payer,
            code_from=first,
            code_to=last,
            note=note.strip(),
        )
        _audit(actor, Action.CREATE, rule, {"rule": rule_text(rule)}, None)
    return rule


@transaction.atomic
def retire_rule(*, actor: Actor, rule: PriorAuthRule) -> PriorAuthRule:
    """Stop applying a rule (kept, inactive)."""
    actor.check_owns(rule, "prior authorization rule")
    if rule.is_active:
        rule.is_active = False
        rule.save(update_fields=["is_active", "updated_at"])
        _audit(actor, Action.UPDATE, rule, {"rule": rule_text(rule), "is_active": False}, None)
    return rule


# --- requests and decisions ---------------------------------------------------------------------


def _codes(raw: Iterable[str], errors: FieldErrors) -> list[str]:
    out: list[str] = []
    for item in raw:
        code = normalize_code(item)
        if not code:
            continue
        if problem := code_problem(code):
            errors.add("codes", problem)
        elif code not in out:
            out.append(code)
    if not out and "codes" not in errors.errors:
        errors.add("codes", "name at least one procedure code to authorize")
    if len(out) > MAX_CODES:
        errors.add("codes", f"at most {MAX_CODES} codes in one request")
    return out


def _diagnoses(raw: Iterable[str], errors: FieldErrors) -> list[str]:
    out: list[str] = []
    for item in raw:
        code = item.strip().upper().replace(".", "")
        if not code:
            continue
        if not _ICD10.fullmatch(code):
            errors.add(
                "diagnosis_codes",
                f"{item.strip()!r} is not an ICD-10-CM code (a letter, a digit, a letter or "
                "digit, then up to four letters or digits)",
            )
        elif code not in out:
            out.append(code)
    if not out and "diagnosis_codes" not in errors.errors:
        errors.add("diagnosis_codes", "name at least one diagnosis (ICD-10-CM)")
    if len(out) > MAX_DIAGNOSES:
        errors.add("diagnosis_codes", f"at most {MAX_DIAGNOSES} diagnoses")
    return out


def request_prior_auth(
    *,
    actor: Actor,
    coverage: Coverage,
    codes: Iterable[str],
    diagnosis_codes: Iterable[str],
    note: str = "",
) -> PriorAuth:
    """Record a prior authorization request sent to the coverage's payer (status submitted)."""
    actor.check_owns(coverage, "coverage")
    errors = FieldErrors()
    if coverage.voided_at is not None:
        errors.add("coverage", "this coverage was voided")
    procedures = _codes(codes, errors)
    diagnoses = _diagnoses(diagnosis_codes, errors)
    if len(note) > 500:
        errors.add("note", "at most 500 characters")
    errors.raise_if_any()
    with transaction.atomic():
        auth = PriorAuth.objects.create(
            organization=actor.organization,
            patient_id=coverage.patient_id,
            coverage=coverage,
            codes=procedures,
            diagnosis_codes=diagnoses,
            status=Status.SUBMITTED,
            submitted_at=clock.now(),
            submitted_by=actor.user,
            note=note.strip(),
        )
        _audit(
            actor,
            Action.CREATE,
            auth,
            {"codes": procedures, "diagnoses": diagnoses, "payer": coverage.payer_id},
            coverage.patient_id,
        )
    return auth


def record_decision(
    *,
    actor: Actor,
    auth: PriorAuth,
    status: str,
    number: str = "",
    units_approved: int | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    reference: str = "",
    note: str = "",
) -> PriorAuth:
    """The payer's answer (or the clinic's cancelling): move the request to `status` along
    `TRANSITIONS`. Approved needs the authorization number and the start date; the end date
    (when given) is not before the start; units (when given) are more than zero. Values not
    given keep what the request had."""
    actor.check_owns(auth, "prior authorization")
    errors = FieldErrors()
    if status not in Status.values:
        errors.add("status", f"{status!r} is not a status: {', '.join(Status.values)}")
        errors.raise_if_any()
    with transaction.atomic():
        auth = PriorAuth.objects.select_for_update().get(pk=auth.pk)
        current = auth.status
        if status not in TRANSITIONS[current]:
            allowed = sorted(TRANSITIONS[current])
            can = ", ".join(Status(s).label.lower() for s in allowed) if allowed else "nothing"
            errors.add(
                "status",
                f"a request that is {Status(current).label.lower()} cannot become "
                f"{Status(status).label.lower()} (it can become: {can})",
            )
        number = number.strip() or auth.number
        start = start_date or auth.start_date
        end = end_date or auth.end_date
        units = units_approved if units_approved is not None else auth.units_approved
        if status == Status.APPROVED:
            if not number:
                errors.add("number", "an approval needs the payer's authorization number")
            if start is None:
                errors.add("start_date", "an approval needs the date it starts")
        if start is not None and end is not None and end < start:
            errors.add(
                "end_date", f"the end date {end:%Y-%m-%d} is before the start {start:%Y-%m-%d}"
            )
        if units_approved is not None and units_approved <= 0:
            errors.add("units_approved", "units approved must be more than zero")
        if len(number) > 50:
            errors.add("number", "at most 50 characters")
        if len(reference.strip()) > 100:
            errors.add("reference", "at most 100 characters")
        if len(note) > 500:
            errors.add("note", "at most 500 characters")
        errors.raise_if_any()
        auth.status = status
        auth.number = number
        auth.start_date = start
        auth.end_date = end
        auth.units_approved = units
        auth.reference = reference.strip() or auth.reference
        auth.note = note.strip() or auth.note
        if status != Status.CANCELLED:
            auth.decided_at = clock.now()
        auth.save()
        _audit(
            actor,
            Action.UPDATE,
            auth,
            {
                "from": current,
                "to": status,
                "number": auth.number,
                "units_approved": auth.units_approved,
                "start": auth.start_date,
                "end": auth.end_date,
            },
            auth.patient_id,
        )
    return auth
