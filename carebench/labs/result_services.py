"""Writes for lab results: store a report's values with their flags, raise critical alerts, the
provider's review, and cancelling an order.

Point-of-care entry (`poc_services`) and the HL7 interface (`hl7_services`) both store results
through `store_results` (many reports at once: `store_results_many`), so flags, corrections, critical alerts and the order's status behave the
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
from carebench.core.bulk import bulk_insert
from carebench.core.errors import FieldErrors
from carebench.encounters.models import Alert, Encounter
from carebench.patients.models import Patient
from carebench.scheduling.models import Provider

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


_STATUSES = frozenset(LabResult.Status.values)
_SOURCES = frozenset(LabResult.Source.values)


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
    if value.status not in _STATUSES:
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


@dataclass(frozen=True)
class Report:
    """One report's values for one patient (and order, specimen, message ...), as
    `store_results` takes them; `store_results_many` stores many at once."""

    patient: Patient
    values: list[ResultValue]
    source: str
    order: LabOrder | None = None
    specimen: Specimen | None = None
    message: Hl7Message | None = None
    kit_lot: PocKitLot | None = None
    device: PocDevice | None = None
    qc_run: QcRun | None = None
    performed_by: User | None = None
    performing_lab: str = ""


def check_report(*, actor: Actor, report: Report) -> None:
    """The checks a report must pass before anything is written (no queries): `ValidationError`
    naming the field (`results[0].value` ...), `PermissionError` for another organization."""
    patient, order, values = report.patient, report.order, report.values
    if patient.organization_id != actor.organization.pk:
        raise PermissionError("patient belongs to another organization")
    errors = FieldErrors()
    if report.source not in _SOURCES:
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
    report = Report(
        patient=patient,
        values=values,
        source=source,
        order=order,
        specimen=specimen,
        message=message,
        kit_lot=kit_lot,
        device=device,
        qc_run=qc_run,
        performed_by=performed_by,
        performing_lab=performing_lab,
    )
    return store_results_many(actor=actor, reports=[report])[0]


def store_results_many(
    *,
    actor: Actor,
    reports: list[Report],
    item_ids: dict[int, set[int]] | None = None,
) -> list[list[LabResult]]:
    """Store several reports at once, as if `store_results` stored each in turn (a later report
    for the same order replaces what an earlier one stored), in one transaction with a fixed
    number of statements: every report is checked first (the first refusal is raised, nothing
    is written); then one SELECT ... FOR UPDATE of the orders' current results, one UPDATE
    voiding the replaced ones and one bulk INSERT of the new ones (per round: a second report
    for an order in the same call is a second round), one UPDATE of the completed orders, one
    bulk INSERT of the critical alerts and one append of the audit events (one per report).
    `item_ids` (order pk -> its item pks) saves the query for the orders' tests. The rows of
    each report are returned in the order of `reports`."""
    for report in reports:
        check_report(actor=actor, report=report)
    if not reports:
        return []
    now = clock.now()
    with transaction.atomic():
        return _write_reports(actor, reports, dict(item_ids or {}), now)


def _write_reports(
    actor: Actor, reports: list[Report], item_ids: dict[int, set[int]], now: datetime
) -> list[list[LabResult]]:
    orders: dict[int, LabOrder] = {r.order.pk: r.order for r in reports if r.order is not None}
    # The current (not voided) results of every order involved, locked until the commit.
    live: dict[int, list[LabResult]] = {pk: [] for pk in orders}
    if orders:
        for row in (
            LabResult.objects.select_for_update()
            .filter(order_id__in=list(orders), voided_at__isnull=True)
            .order_by("order_id", "sequence", "pk")
        ):
            if row.order_id is not None:
                live[row.order_id].append(row)
    # Reports for an order already seen in this call go to a later round: they replace rows
    # that must exist (have a pk) first.
    rounds: list[list[int]] = []
    seen: dict[int, int] = {}
    for index, report in enumerate(reports):
        key = report.order.pk if report.order is not None else None
        level = 0
        if key is not None:
            level = seen.get(key, 0)
            seen[key] = level + 1
        while len(rounds) <= level:
            rounds.append([])
        rounds[level].append(index)
    stored: list[list[LabResult]] = [[] for _ in reports]
    completed: list[LabOrder] = []
    for indexes in rounds:
        new_rows: list[LabResult] = []
        voided: list[int] = []
        for index in indexes:
            report = reports[index]
            order = report.order
            earlier: dict[str, LabResult] = {}
            if order is not None:
                for row in sorted(live[order.pk], key=lambda r: (r.sequence, r.pk)):
                    earlier[row.code] = row
            rows = []
            for sequence, value in enumerate(report.values):
                replaced = earlier.get(value.code)
                status = value.status
                if (
                    replaced is not None
                    and status == LabResult.Status.FINAL
                    and replaced.status != LabResult.Status.PRELIMINARY
                ):
                    status = LabResult.Status.CORRECTED
                if replaced is not None:
                    voided.append(replaced.pk)
                rows.append(_new_row(actor, report, sequence, value, status, replaced, now))
            if order is not None:
                gone = {row.replaces_id for row in rows if row.replaces_id is not None}
                live[order.pk] = [r for r in live[order.pk] if r.pk not in gone] + rows
            stored[index] = rows
            new_rows.extend(rows)
        if voided:
            LabResult.objects.filter(pk__in=voided).update(
                voided_at=now,
                voided_by=actor.user,
                void_reason="replaced by a later result",
                updated_at=now,
            )
        bulk_insert(new_rows)
        # Completion is decided after each report, as storing them one by one would.
        round_orders = [reports[i].order for i in indexes if reports[i].order is not None]
        _fill_item_ids(item_ids, [o for o in round_orders if o is not None])
        for order in round_orders:
            assert order is not None
            if _is_resulted(live[order.pk], item_ids[order.pk]) and (
                order.status == LabOrder.Status.ACTIVE
            ):
                order.status = LabOrder.Status.COMPLETED
                completed.append(order)
    if completed:
        LabOrder.objects.filter(pk__in=[o.pk for o in completed]).update(
            status=LabOrder.Status.COMPLETED, updated_at=now
        )
    _raise_critical_alerts(actor, reports, stored, now)
    audit.record_many_for_actor(
        actor,
        [
            {
                "action": Action.CREATE,
                "patient_id": report.patient.pk,
                "resource_type": "LabResult",
                "resource_id": rows[0].pk,
                "detail": {
                    "order": report.order.number if report.order is not None else None,
                    "source": report.source,
                    "codes": [row.code for row in rows],
                    "critical": [row.code for row in rows if row.is_critical],
                },
            }
            for report, rows in zip(reports, stored, strict=True)
        ],
    )
    return stored


def _new_row(
    actor: Actor,
    report: Report,
    sequence: int,
    value: ResultValue,
    status: str,
    replaced: LabResult | None,
    now: datetime,
) -> LabResult:
    # Foreign keys by id: the model's descriptors and unsaved-object checks cost more than the
    # INSERT itself when a batch stores a thousand rows (every related row is saved already).
    return LabResult(
        organization_id=actor.organization.pk,
        created_by_id=actor.user.pk if actor.user is not None else None,
        patient_id=report.patient.pk,
        order_id=report.order.pk if report.order is not None else None,
        order_item_id=value.order_item.pk if value.order_item is not None else None,
        specimen_id=report.specimen.pk if report.specimen is not None else None,
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
        source=report.source,
        observed_at=value.observed_at or now,
        performed_by_id=report.performed_by.pk if report.performed_by is not None else None,
        performing_lab=report.performing_lab[:100],
        kit_lot_id=report.kit_lot.pk if report.kit_lot is not None else None,
        device_id=report.device.pk if report.device is not None else None,
        qc_run_id=report.qc_run.pk if report.qc_run is not None else None,
        message_id=_saved_pk(report.message),
        note=value.note[:500],
        replaces_id=replaced.pk if replaced is not None else None,
    )


def _saved_pk(row: Hl7Message | None) -> int | None:
    if row is None:
        return None
    if row.pk is None:
        raise ValueError("the report's message must be saved before its results")
    return int(row.pk)


def _fill_item_ids(item_ids: dict[int, set[int]], orders: list[LabOrder]) -> None:
    """The ordered tests of the orders the caller did not give (one query)."""
    missing = {order.pk for order in orders if order.pk not in item_ids}
    if not missing:
        return
    for pk in missing:
        item_ids[pk] = set()
    for order_id, item_id in LabOrderItem.objects.filter(order_id__in=missing).values_list(
        "order_id", "pk"
    ):
        item_ids[order_id].add(item_id)


def _is_resulted(rows: list[LabResult], item_ids: set[int]) -> bool:
    """Every ordered test has a current final (or corrected) result."""
    final = {
        row.order_item_id
        for row in rows
        if row.order_item_id is not None
        and row.status in {LabResult.Status.FINAL, LabResult.Status.CORRECTED}
    }
    return bool(item_ids) and item_ids <= final


def _raise_critical_alerts(
    actor: Actor, reports: list[Report], stored: list[list[LabResult]], now: datetime
) -> None:
    """One alert per report with critical values, for the ordering provider, on the order's
    visit, else the patient's open visit (one query for all), else none."""
    wanted = [
        (report, criticals)
        for report, rows in zip(reports, stored, strict=True)
        if (criticals := [row for row in rows if row.is_critical])
    ]
    if not wanted:
        return
    visitless = {
        report.patient.pk
        for report, _ in wanted
        if report.order is None or report.order.encounter_id is None
    }
    open_visit: dict[int, int] = {}
    if visitless:
        for patient_id, visit_id in (
            Encounter.objects.filter(patient_id__in=visitless, status=Encounter.Status.IN_PROGRESS)
            .order_by("patient_id", "started_at")
            .values_list("patient_id", "pk")
        ):
            open_visit[patient_id] = visit_id  # the latest started wins
    providers = {
        report.order.ordering_provider_id
        for report, _ in wanted
        if report.order is not None and report.order.ordering_provider_id is not None
    }
    recipients: dict[int, int | None] = {}
    if providers:
        recipients = dict(
            Provider.objects.filter(pk__in=providers).order_by().values_list("pk", "user_id")
        )
    alerts = []
    for report, criticals in wanted:
        order = report.order
        values = "; ".join(f"{row.name} {row.display_value} ({row.flag})" for row in criticals)
        where = f" on {order.number}" if order is not None else ""
        if order is not None and order.encounter_id is not None:
            encounter_id: int | None = order.encounter_id
        else:
            encounter_id = open_visit.get(report.patient.pk)
        alerts.append(
            Alert(
                organization=actor.organization,
                created_by=actor.user,
                patient=report.patient,
                encounter_id=encounter_id,
                recipient_id=(
                    recipients.get(order.ordering_provider_id) if order is not None else None
                ),
                message=f"Critical lab{where}: {values}"[:300],
                raised_at=now,
            )
        )
    Alert.objects.bulk_create(alerts)


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
