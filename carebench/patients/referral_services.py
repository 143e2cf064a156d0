"""Writes for imaging and referral orders: placing one (reason coded in billable ICD-10-CM, the
prior authorization flagged where the payer's rules ask for one), then moving it along:
sent -> scheduled -> result received (the report or consult note filed as a Document attached
to the order) -> reviewed by a provider; or cancelled with a reason.

Keyword-only with the `Actor` first, one transaction, one audit event; bad input raises a
`ValidationError` naming the field and the rule before anything is written; another
organization's rows raise `PermissionError`. A move from a status the order has left (someone
else moved it first) is refused, not applied twice: each move is a conditional UPDATE.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.terminology.selectors import get_icd10, normalize_icd10

from . import document_services as docs
from . import validation as v
from .document_models import Document, DocumentCategory
from .models import Patient
from .referral_models import OutsideOrder

if TYPE_CHECKING:
    from carebench.scheduling.models import Provider

Status = OutsideOrder.Status
MAX_DIAGNOSES = 12
_CPT = re.compile(r"\d{4}[0-9A-Z]")
# Where each move may start from.
MOVES_FROM: dict[str, tuple[str, ...]] = {
    Status.SENT: (Status.ORDERED,),
    Status.SCHEDULED: (Status.ORDERED, Status.SENT, Status.SCHEDULED),
    Status.RESULT_RECEIVED: (Status.ORDERED, Status.SENT, Status.SCHEDULED),
    Status.REVIEWED: (Status.RESULT_RECEIVED,),
    Status.CANCELLED: (Status.ORDERED, Status.SENT, Status.SCHEDULED),
}
RESULT_CATEGORY = {
    OutsideOrder.Kind.IMAGING: DocumentCategory.IMAGING_REPORT,
    OutsideOrder.Kind.REFERRAL: DocumentCategory.CONSULT_NOTE,
}


def _audit(actor: Actor, action: str, order: OutsideOrder, detail: dict[str, Any]) -> None:
    audit.record_for_actor(
        actor,
        action=action,
        patient_id=order.patient_id,
        resource_type="OutsideOrder",
        resource_id=order.pk,
        detail=detail,
    )


def clean_diagnoses(raw: Iterable[str], errors: FieldErrors) -> list[str]:
    """ICD-10-CM codes, normalized (E11.9), known and billable; at least one."""
    codes: list[str] = []
    for item in raw:
        for part in re.split(r"[\s,;]+", item):
            if part.strip():
                code = normalize_icd10(part)
                if code not in codes:
                    codes.append(code)
    if not codes:
        errors.add("diagnosis_codes", "give at least one ICD-10-CM code for the reason")
    if len(codes) > MAX_DIAGNOSES:
        errors.add("diagnosis_codes", f"at most {MAX_DIAGNOSES} codes")
    for code in codes:
        found = get_icd10(code)
        if found is None:
            errors.add("diagnosis_codes", f"{code} is not an ICD-10-CM code")
        elif not found.billable:
            errors.add(
                "diagnosis_codes", f"{code} is a category, not billable: choose a specific code"
            )
    return codes


def prior_auth_warnings(actor: Actor, patient: Patient, cpt_code: str, on: date) -> list[str]:
    """The billing rules' warnings for this code with the patient's primary payer (none
    without a CPT code or without coverage)."""
    if not cpt_code:
        return []
    # billing sits above patients; asked at run time, as the encounter is in meds.services
    from carebench.billing.auth_selectors import missing_auth_warnings

    return missing_auth_warnings(
        org=actor.organization, patient=patient, codes=[cpt_code], on_date=on
    )


def place_order(
    *,
    actor: Actor,
    patient: Patient,
    kind: str,
    requested: str,
    diagnosis_codes: Iterable[str],
    ordering_provider: Provider,
    modality: str = "",
    specialty: str = "",
    cpt_code: str = "",
    priority: str = OutsideOrder.Priority.ROUTINE,
    destination_name: str = "",
    destination_phone: str = "",
    destination_fax: str = "",
    patient_instructions: str = "",
    note: str = "",
) -> OutsideOrder:
    """An imaging study or a referral to a specialist. When the payer's rules say the CPT code
    needs a prior authorization and none approved covers today, the order is flagged
    (`needs_prior_auth`) and keeps the warnings."""
    actor.check_owns(patient, "patient")
    actor.check_owns(ordering_provider, "provider")
    errors = FieldErrors()
    if patient.voided_at is not None:
        errors.add("__all__", "this patient was registered in error (voided)")
    if kind not in OutsideOrder.Kind.values:
        errors.add("kind", "choose imaging or referral")
    specialty = " ".join(specialty.split())
    if kind == OutsideOrder.Kind.IMAGING:
        if modality not in OutsideOrder.Modality.values:
            errors.add("modality", "choose the kind of study (X-ray, ultrasound, CT, MRI, ...)")
        specialty = ""
    elif kind == OutsideOrder.Kind.REFERRAL:
        if not specialty:
            errors.add("specialty", "is required: which specialty is the patient referred to")
        elif len(specialty) > 100:
            errors.add("specialty", "at most 100 characters")
        modality = ""
    requested = " ".join(requested.split())
    if not requested:
        errors.add("requested", "is required: the study or the specialist asked for")
    elif len(requested) > 300:
        errors.add("requested", "at most 300 characters")
    cpt_code = cpt_code.strip().upper()
    if cpt_code and not _CPT.fullmatch(cpt_code):
        errors.add("cpt_code", "a CPT code is five characters: 71046, 0042T")
    codes = clean_diagnoses(diagnosis_codes, errors)
    if priority not in OutsideOrder.Priority.values:
        errors.add("priority", "choose routine, urgent or STAT")
    phones = {}
    for field, value in (
        ("destination_phone", destination_phone),
        ("destination_fax", destination_fax),
    ):
        phones[field] = errors.check(field, v.normalize_phone, value) or ""
    if len(destination_name.strip()) > 200:
        errors.add("destination_name", "at most 200 characters")
    if not ordering_provider.is_active:
        errors.add("ordering_provider", f"{ordering_provider} no longer works here")
    errors.raise_if_any()
    today = docs.organization_today(actor)
    warnings = prior_auth_warnings(actor, patient, cpt_code, today)
    with transaction.atomic():
        order = OutsideOrder.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            patient=patient,
            kind=kind,
            modality=modality,
            specialty=specialty,
            requested=requested,
            cpt_code=cpt_code,
            diagnosis_codes=codes,
            priority=priority,
            destination_name=" ".join(destination_name.split()),
            destination_phone=phones["destination_phone"],
            destination_fax=phones["destination_fax"],
            ordering_provider=ordering_provider,
            patient_instructions=patient_instructions.strip(),
            note=note.strip(),
            needs_prior_auth=bool(warnings),
            prior_auth_warnings=warnings,
            ordered_at=clock.now(),
        )
        _audit(
            actor,
            Action.CREATE,
            order,
            {
                "kind": kind,
                "requested": requested,
                "cpt": cpt_code,
                "diagnoses": codes,
                "needs_prior_auth": bool(warnings),
            },
        )
    return order


def _refuse_move(order: OutsideOrder, to: str) -> None:
    if order.voided_at is not None:
        raise _error("__all__", "this order was voided")
    if order.status not in MOVES_FROM[to]:
        raise _error(
            "__all__",
            f"the order is {order.get_status_display().lower()}: it cannot be marked "
            f"{Status(to).label.lower()}",
        )


def _error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _move(
    actor: Actor, order: OutsideOrder, to: str, detail: dict[str, Any], **changes: Any
) -> OutsideOrder:
    """Inside a transaction: the conditional UPDATE from the statuses the move may start from,
    then the audit event."""
    now = clock.now()
    if not OutsideOrder.objects.filter(
        pk=order.pk, status__in=MOVES_FROM[to], voided_at__isnull=True
    ).update(status=to, updated_at=now, **changes):
        raise _error("__all__", "someone else just changed this order: reload it")
    for name, value in changes.items():
        setattr(order, name, value)
    order.status, order.updated_at = to, now
    _audit(actor, Action.UPDATE, order, {"status": to, **detail})
    return order


def mark_sent(*, actor: Actor, order: OutsideOrder, via: str = "") -> OutsideOrder:
    """The order went to the imaging center or the specialist (fax, portal, e-referral...)."""
    actor.check_owns(order, "order")
    _refuse_move(order, Status.SENT)
    via = " ".join(via.split())[:40]
    with transaction.atomic():
        return _move(
            actor,
            order,
            Status.SENT,
            {"via": via},
            sent_at=clock.now(),
            sent_by=actor.user,
            sent_via=via,
        )


def schedule(*, actor: Actor, order: OutsideOrder, on: date | None) -> OutsideOrder:
    """The destination booked the study or the visit on this date (again to reschedule)."""
    actor.check_owns(order, "order")
    errors = FieldErrors()
    if on is None:
        errors.add("scheduled_on", "is required: the date of the study or visit")
    elif on < order.ordered_at.date():
        errors.add("scheduled_on", "cannot be before the day the order was placed")
    errors.raise_if_any()
    assert on is not None
    _refuse_move(order, Status.SCHEDULED)
    with transaction.atomic():
        return _move(actor, order, Status.SCHEDULED, {"on": on.isoformat()}, scheduled_on=on)


def receive_result(
    *,
    actor: Actor,
    order: OutsideOrder,
    data: bytes,
    filename: str,
    title: str = "",
    document_date: date | None = None,
    category: str = "",
) -> Document:
    """The report or consult note came back: filed in the chart as a document attached to the
    order (checked as every upload is), and the order waits for a provider's review."""
    actor.check_owns(order, "order")
    _refuse_move(order, Status.RESULT_RECEIVED)
    category = category or RESULT_CATEGORY[OutsideOrder.Kind(order.kind)]
    errors = FieldErrors()
    kind = docs.check_file(data, errors)
    title = docs.check_details(
        actor, errors, category=category, title=title, document_date=document_date
    )
    errors.raise_if_any()
    assert kind is not None
    patient = Patient.objects.get(pk=order.patient_id)
    with transaction.atomic():
        document = docs.store(
            actor,
            patient=patient,
            data=data,
            content_type=kind,
            filename=filename,
            category=category,
            title=title or f"{order.what}: {order.requested}"[:200],
            document_date=document_date,
            order=order,
        )
        _move(
            actor,
            order,
            Status.RESULT_RECEIVED,
            {"document": document.pk, "content_type": kind, "bytes": len(data)},
            result_received_at=clock.now(),
        )
    return document


def review_result(*, actor: Actor, order: OutsideOrder, note: str = "") -> OutsideOrder:
    """A provider read the result or consult note (the last step)."""
    from carebench.scheduling.models import Provider

    actor.check_owns(order, "order")
    if not Provider.objects.for_org(actor.organization).filter(user=actor.user).exists():
        raise _error("__all__", "only a provider reviews results")
    _refuse_move(order, Status.REVIEWED)
    note = note.strip()
    with transaction.atomic():
        return _move(
            actor,
            order,
            Status.REVIEWED,
            {"note": bool(note)},
            reviewed_at=clock.now(),
            reviewed_by=actor.user,
            review_note=note,
        )


def cancel_order(*, actor: Actor, order: OutsideOrder, reason: str) -> OutsideOrder:
    """Cancelled before the result came back (the patient declined, the provider changed the
    plan...), with the reason."""
    actor.check_owns(order, "order")
    reason = " ".join(reason.split())
    errors = FieldErrors()
    if not reason:
        errors.add("reason", "is required: say why the order is cancelled")
    elif len(reason) > 500:
        errors.add("reason", "at most 500 characters")
    errors.raise_if_any()
    _refuse_move(order, Status.CANCELLED)
    with transaction.atomic():
        return _move(
            actor,
            order,
            Status.CANCELLED,
            {"reason": reason},
            cancelled_at=clock.now(),
            cancel_reason=reason,
        )
