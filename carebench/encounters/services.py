"""Writes for encounters: open and close the visit, rooming items, vital signs, alerts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.patients.models import Patient
from carebench.staff.services import require_task, work_facility

from . import vitals as rules
from .models import Alert, Encounter, Observation, RoomingItem, VitalSigns

if TYPE_CHECKING:
    from carebench.accounts.models import User
    from carebench.core.models import Facility
    from carebench.scheduling.models import Appointment


def _recorded_by(actor: Actor) -> User:
    """Who rooming items and vital signs are credited to: a user, never the system alone."""
    assert actor.user is not None, "rooming and vital signs need the user who did them"
    return actor.user


def open_encounter(*, actor: Actor, appointment: Appointment) -> Encounter:
    """Open the visit's encounter at check-in (once; a second call returns the same one)."""
    existing = Encounter.objects.filter(appointment=appointment).first()
    if existing:
        return existing
    with transaction.atomic():
        encounter = Encounter.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            patient=appointment.patient,
            appointment=appointment,
            facility=appointment.facility,
            provider=appointment.provider,
            started_at=clock.now(),
            chief_complaint=appointment.reason,
        )
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            patient_id=appointment.patient_id,
            resource_type="Encounter",
            resource_id=encounter.pk,
        )
    return encounter


def open_walk_in(*, actor: Actor, patient: Patient, chief_complaint: str = "") -> Encounter:
    if patient.organization_id != actor.organization.pk:
        raise PermissionError("patient belongs to another organization")
    facility: Facility | None = (
        getattr(actor.user, "default_facility", None) or actor.organization.facilities.first()
    )
    assert facility is not None, "the organization has no facility"
    with transaction.atomic():
        encounter = Encounter.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            patient=patient,
            facility=facility,
            started_at=clock.now(),
            chief_complaint=chief_complaint.strip(),
        )
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            patient_id=patient.pk,
            resource_type="Encounter",
            resource_id=encounter.pk,
        )
    return encounter


def close_encounter_for(*, actor: Actor, appointment: Appointment) -> None:
    with transaction.atomic():
        count = Encounter.objects.filter(
            appointment=appointment, status=Encounter.Status.IN_PROGRESS
        ).update(status=Encounter.Status.FINISHED, ended_at=clock.now(), updated_at=clock.now())
        if count:
            audit.record_for_actor(
                actor,
                action=Action.UPDATE,
                patient_id=appointment.patient_id,
                resource_type="Encounter",
                detail={"status": "finished", "appointment": appointment.pk},
            )


def _check_encounter(actor: Actor, encounter: Encounter, errors: FieldErrors) -> None:
    if encounter.organization_id != actor.organization.pk:
        raise PermissionError("encounter belongs to another organization")
    if encounter.status != Encounter.Status.IN_PROGRESS:
        errors.add("encounter", "this visit is closed")


def set_chief_complaint(*, actor: Actor, encounter: Encounter, text: str) -> Encounter:
    errors = FieldErrors()
    _check_encounter(actor, encounter, errors)
    text = " ".join(text.split())
    if not text:
        errors.add("chief_complaint", "is required (in the patient's words)")
    if len(text) > 300:
        errors.add("chief_complaint", "must be 300 characters or fewer")
    errors.raise_if_any()
    with transaction.atomic():
        old = encounter.chief_complaint
        Encounter.objects.filter(pk=encounter.pk).update(
            chief_complaint=text, updated_at=clock.now()
        )
        encounter.chief_complaint = text
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            patient_id=encounter.patient_id,
            resource_type="Encounter",
            resource_id=encounter.pk,
            detail={"chief_complaint": {"old": old, "new": text}},
        )
    return encounter


PHQ2_MAX = 6
FALL_RISK_MAX = 3  # STEADI's three key questions, each yes = 1


def complete_rooming_item(
    *, actor: Actor, encounter: Encounter, item: str, score: int | None = None, result: str = ""
) -> RoomingItem:
    errors = FieldErrors()
    _check_encounter(actor, encounter, errors)
    if item not in RoomingItem.Item.values:
        errors.add("item", f"must be one of {', '.join(RoomingItem.Item.values)}")
    if item == RoomingItem.Item.PHQ2:
        if score is None or not 0 <= score <= PHQ2_MAX:
            errors.add("score", "a PHQ-2 score is 0 to 6")
        elif not result:
            result = "positive: full PHQ-9 advised" if score >= 3 else "negative"
    if item == RoomingItem.Item.FALL_RISK:
        if score is None or not 0 <= score <= FALL_RISK_MAX:
            errors.add("score", "a fall-risk screen counts 0 to 3 yes answers")
        elif not result:
            result = "at risk" if score >= 1 else "not at risk"
    errors.raise_if_any()
    with transaction.atomic():
        done = RoomingItem.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            encounter=encounter,
            item=item,
            done_at=clock.now(),
            done_by=_recorded_by(actor),
            score=score,
            result=result[:300],
        )
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            patient_id=encounter.patient_id,
            resource_type="RoomingItem",
            resource_id=done.pk,
            detail={"item": item, "score": score},
        )
    return done


def _age_months(patient: Patient, on: datetime) -> int:
    born = patient.birth_date
    months = (on.year - born.year) * 12 + on.month - born.month
    if on.day < born.day:
        months -= 1
    return max(months, 0)


def record_vitals(
    *,
    actor: Actor,
    patient: Patient,
    entry: rules.VitalsEntry,
    encounter: Encounter | None = None,
    taken_at: datetime | None = None,
    note: str = "",
) -> VitalSigns:
    """Check, convert and store a set of vital signs; a critical value raises an alert."""
    errors = FieldErrors()
    if patient.organization_id != actor.organization.pk:
        raise PermissionError("patient belongs to another organization")
    if encounter is not None:
        _check_encounter(actor, encounter, errors)
        if encounter.patient_id != patient.pk:
            errors.add("encounter", "belongs to another patient")
    require_task(
        actor=actor, task="vitals", facility=work_facility(actor, encounter), patient_id=patient.pk
    )
    now = clock.now()
    taken_at = taken_at or now
    if taken_at > now + timedelta(minutes=5):
        errors.add("taken_at", "cannot be in the future")
    errors.raise_if_any()
    try:
        assessment = rules.assess(entry, age_months=_age_months(patient, taken_at))
    except rules.VitalsError as exc:
        for field, messages in exc.errors.items():
            for message in messages:
                errors.add(field, message)
        errors.raise_if_any()
        raise  # unreachable: errors is not empty
    if not assessment.readings:
        errors.add("__all__", "enter at least one vital sign")
        errors.raise_if_any()
    units = {
        "temperature": entry.temperature_unit,
        "weight": entry.weight_unit,
        "height": entry.height_unit,
        "head_circumference": entry.head_circumference_unit,
    }
    with transaction.atomic():
        vital_set = VitalSigns.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            patient=patient,
            encounter=encounter,
            taken_at=taken_at,
            taken_by=_recorded_by(actor),
            bp_position=entry.bp_position,
            bp_arm=entry.bp_arm,
            bp_cuff_size=entry.bp_cuff_size,
            temperature_route=entry.temperature_route,
            units=units,
            bp_category=assessment.bp_category,
            bmi_category=assessment.bmi_category,
            critical=assessment.critical,
            note=note.strip()[:300],
            recheck_due_at=(
                taken_at + timedelta(minutes=assessment.recheck_bp_in_minutes)
                if assessment.recheck_bp_in_minutes
                else None
            ),
        )
        rows: list[Observation] = []
        readings = dict(assessment.readings)
        common = {
            "organization": actor.organization,
            "created_by": actor.user,
            "patient": patient,
            "encounter": encounter,
            "vital_signs": vital_set,
            "effective_at": taken_at,
        }
        if "systolic" in readings:
            sys_r, dia_r = readings.pop("systolic"), readings.pop("diastolic")
            rows.append(
                Observation(
                    code=rules.BP_PANEL_LOINC,
                    name="blood_pressure",
                    value=sys_r.value,
                    value2=dia_r.value,
                    unit="mm[Hg]",
                    flag=sys_r.flag.value,
                    flag2=dia_r.flag.value,
                    note=sys_r.note[:200],
                    **common,
                )
            )
        for name, reading in readings.items():
            rows.append(
                Observation(
                    code=reading.kind.loinc,
                    name=name,
                    value=reading.value,
                    unit=reading.kind.unit,
                    flag=reading.flag.value,
                    note=reading.note[:200],
                    **common,
                )
            )
        Observation.objects.bulk_create(rows)
        for message in assessment.alerts:
            recipient = None
            if encounter is not None and encounter.provider_id:
                recipient = encounter.provider.user  # type: ignore[union-attr]
            Alert.objects.create(
                organization=actor.organization,
                created_by=actor.user,
                patient=patient,
                encounter=encounter,
                recipient=recipient,
                message=message,
                raised_at=now,
            )
        if encounter is not None:
            RoomingItem.objects.create(
                organization=actor.organization,
                created_by=actor.user,
                encounter=encounter,
                item=RoomingItem.Item.VITALS,
                done_at=now,
                done_by=_recorded_by(actor),
                result="critical" if assessment.critical else "",
            )
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            patient_id=patient.pk,
            resource_type="VitalSigns",
            resource_id=vital_set.pk,
            detail={"observations": len(rows), "alerts": assessment.alerts or None},
        )
    return vital_set


def acknowledge_alert(*, actor: Actor, alert: Alert) -> Alert:
    if alert.organization_id != actor.organization.pk:
        raise PermissionError("alert belongs to another organization")
    if alert.acknowledged_at is None:
        with transaction.atomic():
            Alert.objects.filter(pk=alert.pk).update(
                acknowledged_at=clock.now(), acknowledged_by=actor.user
            )
            audit.record_for_actor(
                actor,
                action=Action.UPDATE,
                patient_id=alert.patient_id,
                resource_type="Alert",
                resource_id=alert.pk,
                detail={"acknowledged": True},
            )
        alert.refresh_from_db()
    return alert
