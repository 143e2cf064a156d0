"""Writes for patients and their charts. Each call: one transaction, one audit event.

Clinical rows are never deleted: `void_entry` keeps them with who, when and why, and
`correct_entry` voids the old row and links the new one to it (`replaces`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any, TypeVar

from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors, full_clean
from carebench.core.models import Organization
from carebench.terminology.selectors import get_icd10, normalize_icd10

from . import validation as v
from .models import (
    Allergy,
    Coverage,
    HistoryEntry,
    MedicationStatement,
    Patient,
    Payer,
    Problem,
)

ClinicalEntry = TypeVar(
    "ClinicalEntry", Allergy, MedicationStatement, Problem, HistoryEntry, Coverage
)


@dataclass
class PatientDetails:
    """Demographics as entered; the services validate and normalize them."""

    family_name: str
    given_name: str
    birth_date: date
    sex: str
    middle_name: str = ""
    suffix: str = ""
    preferred_name: str = ""
    sex_at_birth: str = ""
    gender_identity: str = ""
    phone_mobile: str = ""
    phone_home: str = ""
    email: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    preferred_language: str = "en"
    emergency_contact_name: str = ""
    emergency_contact_relationship: str = ""
    emergency_contact_phone: str = ""

    @classmethod
    def from_patient(cls, patient: Patient) -> PatientDetails:
        return cls(**{f.name: getattr(patient, f.name) for f in fields(cls)})


DEMOGRAPHIC_FIELDS = [f.name for f in fields(PatientDetails)]


def _clean_details(details: PatientDetails, errors: FieldErrors) -> dict[str, Any]:
    data = asdict(details)
    for name in ("family_name", "given_name"):
        data[name] = errors.check(name, v.clean_name, data[name] or "") or ""
    for name in ("middle_name", "preferred_name"):
        data[name] = errors.check(name, v.clean_name, data[name] or "", required=False) or ""
    for name in ("phone_mobile", "phone_home", "emergency_contact_phone"):
        data[name] = errors.check(name, v.normalize_phone, data[name] or "") or ""
    if details.birth_date is None:
        errors.add("birth_date", "is required")
    else:
        errors.check("birth_date", v.check_birth_date, details.birth_date, today=clock.today())
    data["state"] = errors.check("state", v.clean_state, data["state"] or "") or ""
    data["postal_code"] = errors.check("postal_code", v.clean_zip, data["postal_code"] or "") or ""
    data["email"] = (data["email"] or "").strip().lower()
    for key in (
        "suffix",
        "address_line1",
        "address_line2",
        "city",
        "emergency_contact_name",
        "emergency_contact_relationship",
    ):
        data[key] = " ".join((data[key] or "").split())
    return data


def _apply_search_keys(patient: Patient) -> None:
    patient.family_key = v.search_key(patient.family_name)
    patient.given_key = v.search_key(patient.given_name)
    patient.preferred_key = v.search_key(patient.preferred_name)
    patient.mobile_key = v.phone_key(patient.phone_mobile)
    patient.home_key = v.phone_key(patient.phone_home)


def _next_mrn(organization: Organization) -> str:
    """Take the next MRN for the organization, under a row lock (IMMEDIATE on SQLite).

    FOR NO KEY UPDATE, not FOR UPDATE: every row of the organization points at this one, and
    PostgreSQL checks those (deferred) foreign keys at COMMIT with FOR KEY SHARE, after the
    writer took the audit chain's head; FOR UPDATE blocks that, and the two writers deadlocked.
    """
    org = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
    mrn = org.next_mrn
    Organization.objects.filter(pk=org.pk).update(next_mrn=mrn + 1)
    return str(mrn)


def register_patient(*, actor: Actor, details: PatientDetails) -> Patient:
    errors = FieldErrors()
    data = _clean_details(details, errors)
    patient = Patient(organization=actor.organization, created_by=actor.user, mrn="pending", **data)
    full_clean(patient, errors, exclude=["organization", "created_by", "family_key", "given_key"])
    errors.raise_if_any()
    _apply_search_keys(patient)
    with transaction.atomic():
        patient.mrn = _next_mrn(actor.organization)
        patient.save()
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            patient_id=patient.pk,
            resource_type="Patient",
            resource_id=patient.pk,
            detail={"mrn": patient.mrn},
        )
    return patient


def update_patient(*, actor: Actor, patient: Patient, details: PatientDetails) -> Patient:
    """Change demographics; the audit event keeps every old value beside the new one."""
    errors = FieldErrors()
    data = _clean_details(details, errors)
    before = {name: getattr(patient, name) for name in DEMOGRAPHIC_FIELDS}
    for name, value in data.items():
        setattr(patient, name, value)
    full_clean(patient, errors, exclude=["organization", "created_by", "family_key", "given_key"])
    if errors.errors:
        for name, value in before.items():
            setattr(patient, name, value)
        errors.raise_if_any()
    changes = {
        name: {"old": str(before[name]), "new": str(data[name])}
        for name in DEMOGRAPHIC_FIELDS
        if before[name] != data[name]
    }
    if not changes:
        return patient
    _apply_search_keys(patient)
    with transaction.atomic():
        patient.save()
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            patient_id=patient.pk,
            resource_type="Patient",
            resource_id=patient.pk,
            detail={"changes": changes},
        )
    return patient


# --- clinical entries --------------------------------------------------------------------------


def _create_entry(
    actor: Actor, entry: ClinicalEntry, errors: FieldErrors, *, exclude: list[str] | None = None
) -> ClinicalEntry:
    full_clean(entry, errors, exclude=["organization", "created_by", "patient", *(exclude or [])])
    errors.raise_if_any()
    with transaction.atomic():
        entry.save()
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            patient_id=entry.patient_id,
            resource_type=type(entry).__name__,
            resource_id=entry.pk,
        )
    return entry


def _entry_base(actor: Actor, patient: Patient) -> dict[str, Any]:
    if patient.organization_id != actor.organization.pk:
        raise PermissionError("patient belongs to another organization")
    return {"organization": actor.organization, "created_by": actor.user, "patient": patient}


def _void(actor: Actor, entry: Any, reason: str) -> None:
    entry.voided_at = clock.now()
    entry.voided_by = actor.user
    entry.void_reason = reason
    entry.save(update_fields=["voided_at", "voided_by", "void_reason", "updated_at"])


def void_entry(*, actor: Actor, entry: ClinicalEntry, reason: str) -> ClinicalEntry:
    errors = FieldErrors()
    reason = " ".join(reason.split())
    if not reason:
        errors.add("reason", "is required: say why this entry is voided")
    if entry.voided_at is not None:
        errors.add("__all__", "this entry is already voided")
    if entry.organization_id != actor.organization.pk:
        raise PermissionError("entry belongs to another organization")
    errors.raise_if_any()
    with transaction.atomic():
        _void(actor, entry, reason)
        audit.record_for_actor(
            actor,
            action=Action.VOID,
            patient_id=entry.patient_id,
            resource_type=type(entry).__name__,
            resource_id=entry.pk,
            detail={"reason": reason},
        )
    return entry


def correct_entry(
    *, actor: Actor, entry: ClinicalEntry, changes: dict[str, Any], reason: str
) -> ClinicalEntry:
    """Replace an entry with a corrected copy; the old one is voided and kept."""
    errors = FieldErrors()
    reason = " ".join(reason.split())
    if not reason:
        errors.add("reason", "is required: say what was corrected")
    if entry.voided_at is not None:
        errors.add("__all__", "a voided entry cannot be corrected")
    model = type(entry)
    editable = {f.name for f in model._meta.concrete_fields if f.editable} - {
        "id",
        "organization",
        "patient",
        "created_by",
        "created_at",
        "updated_at",
        "voided_at",
        "voided_by",
        "void_reason",
        "replaces",
    }
    for name in changes:
        if name not in editable:
            errors.add(name, "cannot be changed by a correction")
    errors.raise_if_any()
    values = {name: getattr(entry, name) for name in editable} | changes
    replacement = model(
        organization=entry.organization,
        patient=entry.patient,
        created_by=actor.user,
        replaces=entry,
        **values,
    )
    if isinstance(replacement, Problem):
        _check_problem_code(replacement, errors)
    full_clean(replacement, errors, exclude=["organization", "created_by", "patient", "replaces"])
    errors.raise_if_any()
    with transaction.atomic():
        _void(actor, entry, f"corrected: {reason}")
        replacement.save()
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            patient_id=entry.patient_id,
            resource_type=model.__name__,
            resource_id=replacement.pk,
            detail={
                "replaces": entry.pk,
                "reason": reason,
                "changes": {
                    k: {"old": str(getattr(entry, k)), "new": str(v)}
                    for k, v in changes.items()
                    if getattr(entry, k) != v
                },
            },
        )
    return replacement


def _active_no_known(patient: Patient) -> list[Allergy]:
    return list(
        Allergy.objects.filter(patient=patient, kind=Allergy.Kind.NO_KNOWN, voided_at__isnull=True)
    )


def record_no_known_allergies(*, actor: Actor, patient: Patient) -> Allergy:
    """The explicit statement that the patient has no known allergies."""
    errors = FieldErrors()
    active = Allergy.objects.filter(
        patient=patient, voided_at__isnull=True, status=Allergy.Status.ACTIVE
    ).exclude(kind=Allergy.Kind.NO_KNOWN)
    if active.exists():
        errors.add(
            "kind",
            "the patient has active allergies on file; mark them inactive or void them first",
        )
    if _active_no_known(patient):
        errors.add("kind", "no known allergies is already recorded")
    errors.raise_if_any()
    entry = Allergy(
        **_entry_base(actor, patient),
        kind=Allergy.Kind.NO_KNOWN,
        substance="No known allergies",
        substance_code="716186003",
    )
    return _create_entry(actor, entry, FieldErrors())


def add_allergy(
    *,
    actor: Actor,
    patient: Patient,
    substance: str,
    kind: str = Allergy.Kind.ALLERGY,
    category: str = "",
    substance_code: str = "",
    reaction: str = "",
    severity: str = "",
    status: str = Allergy.Status.ACTIVE,
    onset_date: date | None = None,
    note: str = "",
) -> Allergy:
    errors = FieldErrors()
    if kind == Allergy.Kind.NO_KNOWN:
        errors.add("kind", "use 'no known allergies' to record that statement")
    substance = " ".join(substance.split())
    if not substance:
        errors.add("substance", "is required")
    if onset_date and onset_date > clock.today():
        errors.add("onset_date", "cannot be in the future")
    entry = Allergy(
        **_entry_base(actor, patient),
        kind=kind,
        category=category,
        substance=substance,
        substance_code=substance_code.strip(),
        reaction=reaction.strip(),
        severity=severity,
        status=status,
        onset_date=onset_date,
        note=note.strip(),
    )
    full_clean(entry, errors, exclude=["organization", "created_by", "patient"])
    errors.raise_if_any()
    with transaction.atomic():
        for statement in _active_no_known(patient):
            _void(actor, statement, f"allergy recorded: {substance}")
            audit.record_for_actor(
                actor,
                action=Action.VOID,
                patient_id=patient.pk,
                resource_type="Allergy",
                resource_id=statement.pk,
                detail={"reason": "allergy recorded"},
            )
        return _create_entry(actor, entry, errors)


def add_medication(
    *,
    actor: Actor,
    patient: Patient,
    medication: str,
    rxnorm_code: str = "",
    dose: str = "",
    route: str = "",
    frequency: str = "",
    status: str = MedicationStatement.Status.ACTIVE,
    start_date: date | None = None,
    end_date: date | None = None,
    prescriber: str = "",
    note: str = "",
) -> MedicationStatement:
    errors = FieldErrors()
    medication = " ".join(medication.split())
    if not medication:
        errors.add("medication", "is required")
    if rxnorm_code and not rxnorm_code.strip().isdigit():
        errors.add("rxnorm_code", "an RxNorm code is digits only")
    if start_date and end_date and end_date < start_date:
        errors.add("end_date", "cannot be before the start date")
    entry = MedicationStatement(
        **_entry_base(actor, patient),
        medication=medication,
        rxnorm_code=rxnorm_code.strip(),
        dose=dose.strip(),
        route=route.strip(),
        frequency=frequency.strip(),
        status=status,
        start_date=start_date,
        end_date=end_date,
        prescriber=prescriber.strip(),
        note=note.strip(),
    )
    return _create_entry(actor, entry, errors)


def reconcile_medications(*, actor: Actor, patient: Patient) -> int:
    """Mark every active medication-list entry as reviewed with the patient now."""
    now = clock.now()
    with transaction.atomic():
        count = MedicationStatement.objects.filter(patient=patient, voided_at__isnull=True).update(
            reconciled_at=now, reconciled_by=actor.user
        )
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            patient_id=patient.pk,
            resource_type="MedicationStatement",
            detail={"reconciled": count},
        )
    return count


def _check_problem_code(entry: Problem | HistoryEntry, errors: FieldErrors) -> None:
    if not entry.icd10_code:
        if isinstance(entry, Problem):
            errors.add("icd10_code", "is required")
        return
    code = get_icd10(entry.icd10_code)
    if code is None:
        errors.add("icd10_code", f"'{entry.icd10_code}' is not an ICD-10-CM code")
    elif not code.billable:
        errors.add("icd10_code", f"{code.code} is a category; choose a billable code below it")
    else:
        entry.icd10_code = code.code
        if isinstance(entry, Problem) and not entry.description:
            entry.description = code.description


def add_problem(
    *,
    actor: Actor,
    patient: Patient,
    icd10_code: str,
    description: str = "",
    status: str = Problem.Status.ACTIVE,
    onset_date: date | None = None,
    resolved_date: date | None = None,
    note: str = "",
) -> Problem:
    errors = FieldErrors()
    entry = Problem(
        **_entry_base(actor, patient),
        icd10_code=normalize_icd10(icd10_code),
        description=" ".join(description.split()),
        status=status,
        onset_date=onset_date,
        resolved_date=resolved_date,
        note=note.strip(),
    )
    _check_problem_code(entry, errors)
    if onset_date and onset_date > clock.today():
        errors.add("onset_date", "cannot be in the future")
    if onset_date and resolved_date and resolved_date < onset_date:
        errors.add("resolved_date", "cannot be before the onset date")
    return _create_entry(actor, entry, errors)


def add_history(
    *,
    actor: Actor,
    patient: Patient,
    kind: str,
    description: str = "",
    icd10_code: str = "",
    relative: str = "",
    tobacco_status: str = "",
    occurred: str = "",
    note: str = "",
) -> HistoryEntry:
    errors = FieldErrors()
    entry = HistoryEntry(
        **_entry_base(actor, patient),
        kind=kind,
        description=" ".join(description.split()),
        icd10_code=normalize_icd10(icd10_code) if icd10_code.strip() else "",
        relative=relative.strip(),
        tobacco_status=tobacco_status,
        occurred=occurred.strip(),
        note=note.strip(),
    )
    if kind == HistoryEntry.Kind.TOBACCO:
        if not tobacco_status:
            errors.add("tobacco_status", "is required for tobacco use")
        else:
            entry.description = (
                entry.description
                or HistoryEntry(tobacco_status=tobacco_status).get_tobacco_status_display()
            )
    elif tobacco_status:
        errors.add("tobacco_status", "belongs on a tobacco-use entry only")
    if kind == HistoryEntry.Kind.FAMILY and not entry.relative:
        errors.add("relative", "is required for family history (for example mother)")
    _check_problem_code(entry, errors)
    with transaction.atomic():
        if kind == HistoryEntry.Kind.TOBACCO and not errors.errors:
            # One current tobacco status: the previous one is kept, voided as superseded.
            for old in HistoryEntry.objects.filter(
                patient=patient, kind=HistoryEntry.Kind.TOBACCO, voided_at__isnull=True
            ):
                _void(actor, old, "superseded by a newer tobacco status")
        return _create_entry(actor, entry, errors)


def get_or_create_payer(*, actor: Actor, name: str, payer_code: str = "") -> Payer:
    name = " ".join(name.split())
    errors = FieldErrors()
    if not name:
        errors.add("payer", "is required")
    errors.raise_if_any()
    payer, _ = Payer.objects.get_or_create(
        organization=actor.organization,
        name=name,
        defaults={"payer_code": payer_code.strip(), "created_by": actor.user},
    )
    return payer


def add_coverage(
    *,
    actor: Actor,
    patient: Patient,
    payer: Payer,
    member_id: str,
    plan_name: str = "",
    group_number: str = "",
    priority: int = Coverage.Priority.PRIMARY,
    relationship: str = Coverage.Relationship.SELF,
    subscriber_name: str = "",
    subscriber_birth_date: date | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
) -> Coverage:
    errors = FieldErrors()
    if payer.organization_id != actor.organization.pk:
        errors.add("payer", "is not one of this organization's payers")
    member_id = member_id.strip()
    if not member_id:
        errors.add("member_id", "is required")
    elif not all(ch.isalnum() or ch in "-" for ch in member_id):
        errors.add("member_id", "may hold letters, digits and hyphens only")
    if relationship != Coverage.Relationship.SELF and not subscriber_name.strip():
        errors.add("subscriber_name", "is required when the patient is not the subscriber")
    if start_date and end_date and end_date < start_date:
        errors.add("end_date", "cannot be before the start date")
    if subscriber_birth_date and subscriber_birth_date > clock.today():
        errors.add("subscriber_birth_date", "cannot be in the future")
    taken = Coverage.objects.filter(patient=patient, priority=priority, voided_at__isnull=True)
    if end_date is None or end_date >= clock.today():
        taken = taken.filter(end_date__isnull=True) | taken.filter(end_date__gte=clock.today())
        if taken.exists():
            errors.add(
                "priority",
                f"the patient already has active "
                f"{Coverage.Priority(priority).label.lower()} coverage; "
                "end or void it first",
            )
    entry = Coverage(
        **_entry_base(actor, patient),
        payer=payer,
        member_id=member_id,
        plan_name=plan_name.strip(),
        group_number=group_number.strip(),
        priority=priority,
        relationship=relationship,
        subscriber_name=subscriber_name.strip(),
        subscriber_birth_date=subscriber_birth_date,
        start_date=start_date,
        end_date=end_date,
    )
    return _create_entry(actor, entry, errors, exclude=["payer"])
