"""Writes for EKGs: attach a recording (import, measure, store), confirm and sign, void.

Each write takes an `Actor`, checks everything first (a bad file is a ValidationError on `file`
and nothing is stored), then writes in one transaction with one audit event.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.encounters.models import Encounter
from carebench.patients.models import Patient
from carebench.staff.services import require_task, work_facility

from . import analysis, files
from .models import MEASUREMENTS, EkgRecording
from .recording import Recording, RecordingError

SIGN_PERMISSION = "ekg.sign_ekgrecording"
MAX_INTERPRETATION = 5000
# Values outside these are impossible (a typo or a unit mix-up) and refused; anything inside
# is accepted, abnormal or not.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "heart_rate_bpm": (15, 350),
    "pr_ms": (40, 600),
    "qrs_ms": (30, 300),
    "qt_ms": (120, 800),
    "qtc_bazett_ms": (150, 900),
    "qtc_fridericia_ms": (150, 900),
    "axis_deg": (-180, 180),
}


def _zone(actor: Actor) -> ZoneInfo:
    facility = (
        getattr(actor.user, "default_facility", None) or actor.organization.facilities.first()
    )
    name = facility.time_zone if facility else settings.CAREBENCH_DEFAULT_TIME_ZONE
    return ZoneInfo(name)


def _acquired_at(actor: Actor, recording: Recording, errors: FieldErrors) -> datetime:
    """When the tracing was taken: the file's time (local clock time read in the facility's
    zone when the file gives no offset), else now."""
    now = clock.now()
    text = (recording.acquired_at or "").strip()
    if not text:
        return now
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return now
    if when.tzinfo is None:
        when = when.replace(tzinfo=_zone(actor))
    if when > now + timedelta(minutes=10):
        errors.add("file", f"the recording's time {text} is in the future (check the cart's clock)")
    return when


def computer_measurements(result: dict[str, Any]) -> dict[str, Any]:
    """What is stored as the computer's measurements: everything but the per-beat lists."""
    return {k: v for k, v in result.items() if k not in ("r_peaks", "rr_ms")}


def attach_ekg(
    *,
    actor: Actor,
    patient: Patient,
    encounter: Encounter | None = None,
    filename: str,
    data: bytes,
) -> EkgRecording:
    """Import, measure and store an EKG for a patient (and visit); it joins the review queue."""
    if patient.organization_id != actor.organization.pk:
        raise PermissionError("patient belongs to another organization")
    errors = FieldErrors()
    if patient.voided_at is not None:
        errors.add("patient", "this patient record was voided")
    if encounter is not None:
        if encounter.organization_id != actor.organization.pk:
            raise PermissionError("encounter belongs to another organization")
        if encounter.patient_id != patient.pk:
            errors.add("encounter", "belongs to another patient")
    require_task(
        actor=actor, task="ekg", facility=work_facility(actor, encounter), patient_id=patient.pk
    )
    digest = hashlib.sha256(data).hexdigest()
    earlier = (
        EkgRecording.objects.for_org(actor.organization)
        .filter(patient=patient, sha256=digest, voided_at__isnull=True)
        .only("pk", "created_at")
        .first()
    )
    if earlier is not None:
        errors.add(
            "file",
            f"this file is already attached to this patient (EKG {earlier.pk}, "
            f"{earlier.created_at:%m/%d/%Y})",
        )
    errors.raise_if_any()
    try:
        recording = files.load_bytes(filename, data)
        result = analysis.analyze(recording).to_dict()
    except RecordingError as exc:
        raise ValidationError({"file": [str(exc)]}) from None
    acquired_at = _acquired_at(actor, recording, errors)
    errors.raise_if_any()
    leads = recording.lead_names
    # a rhythm strip (1-3 leads) is 93040; a 12-lead read here is 93000
    recorded = [lead for lead in leads if lead not in recording.derived_leads]
    billing = EkgRecording.Billing.RHYTHM if len(recorded) <= 3 else EkgRecording.Billing.GLOBAL
    name = files.safe_name(filename)
    try:
        with transaction.atomic():
            row = EkgRecording.objects.create(
                organization=actor.organization,
                created_by=actor.user,
                patient=patient,
                encounter=encounter,
                uploaded_by=actor.user,
                acquired_at=acquired_at,
                source_format=recording.source_format,
                original_filename=name,
                sampling_rate_hz=recording.sampling_rate_hz,
                lead_names=leads,
                derived_leads=list(recording.derived_leads),
                duration_s=round(recording.duration_s, 3),
                device="".join(ch for ch in recording.device if ch.isprintable())[:200],
                data=data,
                size_bytes=len(data),
                sha256=digest,
                measurements=computer_measurements(result),
                r_peaks=result.get("r_peaks", []),
                billing_code=billing,
            )
            audit.record_for_actor(
                actor,
                action=Action.CREATE,
                patient_id=patient.pk,
                resource_type="EkgRecording",
                resource_id=row.pk,
                detail={
                    "file": name,
                    "format": recording.source_format,
                    "sha256": digest,
                    "encounter": encounter.pk if encounter else None,
                    "rhythm": result.get("rhythm"),
                },
            )
    except IntegrityError:
        # the same file attached at the same moment by someone else (the unique constraint)
        raise ValidationError({"file": ["this file is already attached to this patient"]}) from None
    return row


def _number(key: str, value: Any, errors: FieldErrors) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.add(key, f"'{value}' is not a number")
        return None
    low, high = PLAUSIBLE[key]
    if not low <= number <= high:
        label, unit = MEASUREMENTS[key]
        errors.add(key, f"{label} must be {low:g}-{high:g} {unit}; {number:g} is not possible")
        return None
    return round(number, 1)


def confirm_and_sign(
    *,
    actor: Actor,
    recording: EkgRecording,
    corrections: dict[str, Any],
    interpretation: str,
    billing_code: str | None = None,
) -> EkgRecording:
    """The provider confirms (or corrects) the measurements, interprets, and signs."""
    if recording.organization_id != actor.organization.pk:
        raise PermissionError("EKG belongs to another organization")
    if actor.user is None or not actor.user.has_perm(SIGN_PERMISSION):
        raise PermissionDenied("only a provider may confirm and sign an EKG")
    errors = FieldErrors()
    if recording.voided_at is not None:
        errors.add("__all__", "this EKG was voided")
    if recording.status == EkgRecording.Status.SIGNED:
        errors.add("__all__", "this EKG is already signed")
    text = interpretation.strip()
    if not text:
        errors.add("interpretation", "is required: write the interpretation before signing")
    elif len(text) > MAX_INTERPRETATION:
        errors.add("interpretation", f"must be {MAX_INTERPRETATION} characters or fewer")
    for key in corrections:
        if key not in MEASUREMENTS:
            errors.add("__all__", f"{key} is not a measurement that can be corrected")
    if billing_code is not None and billing_code not in EkgRecording.Billing.values:
        errors.add("billing_code", f"must be one of {', '.join(EkgRecording.Billing.values)}")
    computer = recording.measurements
    confirmed: dict[str, Any] = {}
    changed: dict[str, dict[str, Any]] = {}
    for key in MEASUREMENTS:
        value = _number(key, corrections.get(key), errors) if key in corrections else None
        old = computer.get(key)
        if value is None:
            confirmed[key] = old
        else:
            confirmed[key] = value
            if old is None or abs(float(old) - value) > 0.05:
                changed[key] = {"old": old, "new": value}
    errors.raise_if_any()
    now = clock.now()
    confirmed["corrected"] = sorted(changed)
    old_status = recording.status
    with transaction.atomic():
        count = (
            EkgRecording.objects.filter(pk=recording.pk, voided_at__isnull=True)
            .exclude(status=EkgRecording.Status.SIGNED)
            .update(
                status=EkgRecording.Status.SIGNED,
                confirmed_measurements=confirmed,
                interpretation=text,
                signed_by=actor.user,
                signed_at=now,
                billing_code=billing_code or recording.billing_code,
                updated_at=now,
            )
        )
        if count != 1:  # signed (or voided) by someone else a moment ago
            raise ValidationError({"__all__": ["this EKG was signed or voided meanwhile"]})
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            patient_id=recording.patient_id,
            resource_type="EkgRecording",
            resource_id=recording.pk,
            detail={
                "status": {"old": old_status, "new": EkgRecording.Status.SIGNED},
                "corrections": changed or None,
                "billing_code": billing_code or recording.billing_code,
            },
        )
    recording.refresh_from_db()
    return recording


def void_ekg(*, actor: Actor, recording: EkgRecording, reason: str) -> EkgRecording:
    """Void an EKG attached in error (wrong patient, bad tracing), with the reason."""
    if recording.organization_id != actor.organization.pk:
        raise PermissionError("EKG belongs to another organization")
    errors = FieldErrors()
    reason = " ".join(reason.split())
    if not reason:
        errors.add("reason", "is required: say why this EKG is voided")
    elif len(reason) > 500:
        errors.add("reason", "must be 500 characters or fewer")
    if recording.voided_at is not None:
        errors.add("__all__", "this EKG is already voided")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        EkgRecording.objects.filter(pk=recording.pk).update(
            voided_at=now, voided_by=actor.user, void_reason=reason, updated_at=now
        )
        audit.record_for_actor(
            actor,
            action=Action.VOID,
            patient_id=recording.patient_id,
            resource_type="EkgRecording",
            resource_id=recording.pk,
            detail={"reason": reason, "status": recording.status},
        )
    recording.refresh_from_db()
    return recording
