"""Writes for lab results: store a report's values with their flags, raise critical alerts, the
provider's review, and cancelling an order.

Point-of-care entry (`poc_services`) and the HL7 interface (`hl7_services`) both store results
through `store_results`, so flags, corrections, critical alerts and the order's status behave the
same whichever way a result arrives. Conventions as in `services`: keyword-only, one transaction,
one audit event, `ValidationError` naming the field, `PermissionError` for another organization.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.encounters.models import Alert, Encounter
from carebench.patients.models import Patient

from . import flags
from .models import (
    Hl7Message,
    LabOrder,
    LabOrderItem,
    LabResult,
    PocDevice,
    PocKitLot,
    QcRun,
    ResultReview,
    Specimen,
)

if TYPE_CHECKING:
    from carebench.accounts.models import User

MAX_VALUE = Decimal("1e10")


@dataclass(frozen=True)
class ResultValue:
    """One analyte as reported: a number (with comparator) or text, its unit and ranges."""

    code: str
    name: str
    value: Decimal | None = None
    text: str = ""
    comparator: str = ""
    unit: str = ""
    reference_low: Decimal | None = None
    reference_high: Decimal | None = None
    reference_text: str = ""
    lab_flag: str | None = None
    status: str = LabResult.Status.FINAL
    code_system: str = "LN"
    observed_at: datetime | None = None
    note: str = ""
    order_item: LabOrderItem | None = None
    # A flag decided by a rule of our own (a POC pad's "positive" is abnormal), when not numeric.
    flag: str | None = None


def _check(value: ResultValue, index: int, errors: FieldErrors) -> None:
    field = f"results[{index}]"
    if not value.code.strip():
        errors.add(f"{field}.code", "is required")
    if not value.name.strip():
        errors.add(f"{field}.name", "is required")
    if value.value is None and not value.text.strip():
        errors.add(f"{field}.value", f"{value.name or value.code}: a number or a text result")
    if value.value is not None and (not value.value.is_finite() or abs(value.value) >= MAX_VALUE):
        errors.add(f"{field}.value", f"{value.name}: {value.value} is not a possible value")
    if value.comparator not in {"", "<", "<=", ">", ">="}:
        errors.add(f"{field}.comparator", "must be <, <=, > or >=")
    if value.status not in LabResult.Status.values:
        errors.add(f"{field}.status", f"must be one of {', '.join(LabResult.Status.values)}")
    if value.flag is not None and value.flag not in flags.ALL_FLAGS:
        errors.add(f"{field}.flag", f"must be one of {', '.join(sorted(flags.ALL_FLAGS))}")
    if len(value.text) > 500:
        errors.add(f"{field}.text", "must be 500 characters or fewer")


def flag_for(value: ResultValue) -> str:
    if value.flag is not None:
        return value.flag
    return flags.flag_value(
        value.value,
        low=value.reference_low,
        high=value.reference_high,
        critical=flags.CRITICAL_LIMITS.get(value.code),
        lab_flag=value.lab_flag,
    )


def _alert_encounter(patient: Patient, order: LabOrder | None) -> Encounter | None:
    """The visit a critical result shows on: the order's, else the patient's open visit today."""
    if order is not None and order.encounter_id is not None:
        return order.encounter
    return (
        Encounter.objects.filter(patient=patient, status=Encounter.Status.IN_PROGRESS)
        .order_by("-started_at")
        .first()
    )


def store_results(
    *,
    actor: Actor,
    patient: Patient,
    values: list[ResultValue],
    source: str,
    order: LabOrder | None = None,
    specimen: Specimen | None = None,
    message: Hl7Message | None = None,
    kit_lot: PocKitLot | None = None,
    device: PocDevice | None = None,
    qc_run: QcRun | None = None,
    performed_by: User | None = None,
    performing_lab: str = "",
) -> list[LabResult]:
    """Store one report's values. A value for a code the order already has replaces (and voids)
    the earlier one; critical values raise an alert for the ordering provider at once; an order
    whose every test has a final result becomes completed."""
    if patient.organization_id != actor.organization.pk:
        raise PermissionError("patient belongs to another organization")
    errors = FieldErrors()
    if source not in LabResult.Source.values:
        errors.add("source", f"must be one of {', '.join(LabResult.Source.values)}")
    if not values:
        errors.add("results", "at least one result")
    if order is not None:
        if order.organization_id != actor.organization.pk:
            raise PermissionError("order belongs to another organization")
        if order.patient_id != patient.pk:
            errors.add("order", f"order {order.number} belongs to another patient")
        if order.status == LabOrder.Status.CANCELLED:
            errors.add("order", f"order {order.number} was cancelled")
    for index, value in enumerate(values):
        _check(value, index, errors)
        if value.order_item is not None and (
            order is None or value.order_item.order_id != order.pk
        ):
            errors.add(f"results[{index}].order_item", "is not a test of this order")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        earlier: dict[str, LabResult] = {}
        if order is not None:
            for row in LabResult.objects.select_for_update().filter(
                order=order, voided_at__isnull=True
            ):
                earlier[row.code] = row
        rows: list[LabResult] = []
        for sequence, value in enumerate(values):
            replaced = earlier.get(value.code)
            status = value.status
            if (
                replaced is not None
                and status == LabResult.Status.FINAL
                and replaced.status != LabResult.Status.PRELIMINARY
            ):
                status = LabResult.Status.CORRECTED
            if replaced is not None:
                LabResult.objects.filter(pk=replaced.pk).update(
                    voided_at=now,
                    voided_by=actor.user,
                    void_reason="replaced by a later result",
                    updated_at=now,
                )
            row = LabResult.objects.create(
                organization=actor.organization,
                created_by=actor.user,
                patient=patient,
                order=order,
                order_item=value.order_item,
                specimen=specimen,
                sequence=sequence,
                code=value.code.strip()[:20],
                code_system=value.code_system[:10],
                name=value.name.strip()[:200],
                value_numeric=value.value,
                value_text=value.text.strip(),
                comparator=value.comparator,
                unit=value.unit[:30],
                reference_low=value.reference_low,
                reference_high=value.reference_high,
                reference_text=value.reference_text[:60],
                flag=flag_for(value),
                status=status,
                source=source,
                observed_at=value.observed_at or now,
                performed_by=performed_by,
                performing_lab=performing_lab[:100],
                kit_lot=kit_lot,
                device=device,
                qc_run=qc_run,
                message=message,
                note=value.note[:500],
                replaces=replaced,
            )
            rows.append(row)
        criticals = [row for row in rows if row.is_critical]
        if criticals:
            _raise_critical_alert(actor, patient, order, criticals, now)
        if order is not None:
            _complete_if_resulted(order, now)
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            patient_id=patient.pk,
            resource_type="LabResult",
            resource_id=rows[0].pk,
            detail={
                "order": order.number if order is not None else None,
                "source": source,
                "codes": [row.code for row in rows],
                "critical": [row.code for row in criticals],
            },
        )
    return rows


def _raise_critical_alert(
    actor: Actor,
    patient: Patient,
    order: LabOrder | None,
    criticals: list[LabResult],
    now: datetime,
) -> None:
    values = "; ".join(f"{row.name} {row.display_value} ({row.flag})" for row in criticals)
    recipient = order.ordering_provider.user if order is not None else None
    where = f" on {order.number}" if order is not None else ""
    Alert.objects.create(
        organization=actor.organization,
        created_by=actor.user,
        patient=patient,
        encounter=_alert_encounter(patient, order),
        recipient=recipient,
        message=f"Critical lab{where}: {values}"[:300],
        raised_at=now,
    )


def _complete_if_resulted(order: LabOrder, now: datetime) -> None:
    item_ids = set(order.items.values_list("pk", flat=True))
    final = set(
        LabResult.objects.filter(
            order=order,
            voided_at__isnull=True,
            order_item__isnull=False,
            status__in=[LabResult.Status.FINAL, LabResult.Status.CORRECTED],
        ).values_list("order_item_id", flat=True)
    )
    if item_ids and item_ids <= final and order.status == LabOrder.Status.ACTIVE:
        LabOrder.objects.filter(pk=order.pk).update(
            status=LabOrder.Status.COMPLETED, updated_at=now
        )
        order.status = LabOrder.Status.COMPLETED


def review_results(*, actor: Actor, order: LabOrder, comment: str = "") -> ResultReview:
    """The provider reviews and signs an order's results (again after a corrected result)."""
    if order.organization_id != actor.organization.pk:
        raise PermissionError("order belongs to another organization")
    errors = FieldErrors()
    user = actor.user
    if user is None:
        errors.add("__all__", "a review is signed by a person")
    if not LabResult.objects.filter(order=order, voided_at__isnull=True).exists():
        errors.add("__all__", f"order {order.number} has no results to review")
    comment = " ".join(comment.split())
    if len(comment) > 500:
        errors.add("comment", "must be 500 characters or fewer")
    errors.raise_if_any()
    assert user is not None
    now = clock.now()
    with transaction.atomic():
        review = ResultReview.objects.create(
            organization=actor.organization,
            created_by=user,
            order=order,
            reviewed_by=user,
            reviewed_at=now,
            comment=comment,
        )
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            patient_id=order.patient_id,
            resource_type="LabOrder",
            resource_id=order.pk,
            detail={"number": order.number, "results_reviewed": True},
        )
    return review


def cancel_order(*, actor: Actor, order: LabOrder, reason: str) -> LabOrder:
    """Cancel an order nobody has drawn or resulted yet; the reason is kept."""
    if order.organization_id != actor.organization.pk:
        raise PermissionError("order belongs to another organization")
    errors = FieldErrors()
    reason = " ".join(reason.split())
    if not reason:
        errors.add("reason", "say why the order is cancelled")
    elif len(reason) > 300:
        errors.add("reason", "must be 300 characters or fewer")
    if order.status != LabOrder.Status.ACTIVE:
        errors.add("__all__", f"order {order.number} is {order.get_status_display().lower()}")
    if order.specimens.exclude(status=Specimen.Status.PENDING).exists():
        errors.add("__all__", "a specimen was already collected: reject it instead")
    if LabResult.objects.filter(order=order, voided_at__isnull=True).exists():
        errors.add("__all__", "the order has results")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        count = LabOrder.objects.filter(pk=order.pk, status=LabOrder.Status.ACTIVE).update(
            status=LabOrder.Status.CANCELLED,
            cancelled_at=now,
            cancelled_by=actor.user,
            cancel_reason=reason,
            updated_at=now,
        )
        if count:
            audit.record_for_actor(
                actor,
                action=Action.UPDATE,
                patient_id=order.patient_id,
                resource_type="LabOrder",
                resource_id=order.pk,
                detail={"number": order.number, "cancelled": reason},
            )
    order.refresh_from_db()
    return order
