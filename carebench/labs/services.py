"""Writes for the lab corner: the catalog, orders and co-signature, specimens and their life,
courier manifests.

Every function is keyword-only with the `Actor` first, runs in one transaction and writes one
audit event. Bad input raises a `ValidationError` naming the field and the rule (nothing is
written); a row of another organization raises `PermissionError`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.patients.models import Patient
from carebench.staff.services import require_task, work_facility
from carebench.terminology.selectors import get_icd10, normalize_icd10

from . import draw, hl7_services
from .models import (
    Container,
    LabCounter,
    LabOrder,
    LabOrderItem,
    LabTest,
    Manifest,
    Specimen,
    SpecimenEvent,
)

if TYPE_CHECKING:
    from carebench.accounts.models import User
    from carebench.core.models import Organization
    from carebench.encounters.models import Encounter
    from carebench.scheduling.models import Provider

CATALOG_FILE = Path(__file__).parent / "data" / "test_catalog.csv"
MAX_TESTS_PER_ORDER = 30
MAX_DIAGNOSES = 12
MAX_ATTEMPTS = 5  # venipuncture attempts recorded on one specimen; policy is usually two

# --- numbers ------------------------------------------------------------------------------------


def _next_number(organization: Organization, field: str, prefix: str) -> str:
    """The next number of a per-organization sequence, taken under a row lock."""
    LabCounter.objects.get_or_create(organization=organization)
    counter = LabCounter.objects.select_for_update().get(organization=organization)
    value: int = getattr(counter, field)
    LabCounter.objects.filter(pk=counter.pk).update(**{field: value + 1})
    return f"{prefix}{value:06d}"


def _user(actor: Actor) -> User:
    assert actor.user is not None, "lab work is credited to a user, never the system alone"
    return actor.user


# --- the catalog --------------------------------------------------------------------------------

REQUIRED_COLUMNS = [
    "code",
    "name",
    "loinc",
    "specimen_type",
    "container",
    "min_volume_ml",
    "fasting",
    "performed",
]
OPTIONAL_COLUMNS = ["timing_note", "stability", "cpt_hint", "notes"]
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
_LOINC = re.compile(r"^\d{1,7}-\d$")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}
MAX_VOLUME_ML = Decimal(100)
_LIMITS = {
    "name": 200,
    "specimen_type": 40,
    "timing_note": 200,
    "stability": 200,
    "performed": 100,
    "cpt_hint": 40,
    "notes": 300,
}


def loinc_check_digit_ok(code: str) -> bool:
    """LOINC's mod-10 check digit (the Luhn rule over the number with its check digit)."""
    digits = [int(ch) for ch in code if ch.isdigit()]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


@dataclass(frozen=True)
class CatalogLoad:
    created: int
    updated: int


MAX_CATALOG_PROBLEMS = 20  # problems listed for a refused catalog (the rest: "... and more")


def _parse_catalog(text: str, errors: FieldErrors) -> list[dict[str, Any]]:
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        errors.add("file", f"row {line} holds a NUL byte: a CSV is text (is it UTF-16 or binary?)")
        return []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        errors.add("file", f"row 1 (header): missing column(s) {', '.join(missing)}")
        return []
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        if len(errors.errors.get("file", [])) >= MAX_CATALOG_PROBLEMS:
            errors.add("file", "... and more: fix these rows first")
            break
        if raw is None or not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue
        cells = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}

        def bad(column: str, message: str, line: int = line) -> None:
            errors.add("file", f"row {line}, column {column}: {message}")

        row: dict[str, Any] = {}
        code = cells.get("code", "").upper()
        if not _CODE.match(code):
            bad("code", "is required: 1-20 letters, digits, - or _")
        elif code in seen:
            bad("code", f"{code} is already on row {seen[code]}")
        else:
            seen[code] = line
        row["code"] = code
        for column in ("name", "specimen_type", "performed"):
            if not cells.get(column):
                bad(column, "is required")
        for column, limit in _LIMITS.items():
            value = cells.get(column, "")
            if len(value) > limit:
                bad(column, f"must be {limit} characters or fewer")
            row[column] = value
        loinc = cells.get("loinc", "")
        if loinc and not _LOINC.match(loinc):
            bad("loinc", f"{loinc!r} is not a LOINC code (digits, a hyphen, a check digit)")
        elif loinc and not loinc_check_digit_ok(loinc):
            bad("loinc", f"{loinc}: the check digit is wrong")
        row["loinc"] = loinc
        container = cells.get("container", "")
        if container not in Container.values:
            bad("container", f"{container!r} must be one of {', '.join(Container.values)}")
        row["container"] = container
        try:
            volume = Decimal(cells.get("min_volume_ml") or "0")
        except InvalidOperation:
            bad("min_volume_ml", "must be a number of mL")
            volume = Decimal(0)
        if not volume.is_finite() or volume < 0 or volume > MAX_VOLUME_ML:
            bad("min_volume_ml", f"must be 0 to {MAX_VOLUME_ML} mL")
            volume = Decimal(0)
        row["min_volume_ml"] = volume.quantize(Decimal("0.1"))
        fasting = cells.get("fasting", "").lower()
        if fasting not in _YES | _NO:
            bad("fasting", "must be yes or no")
        row["fasting_required"] = fasting in _YES
        rows.append(row)
    if not rows and not errors.errors:
        errors.add("file", "has no tests")
    return rows


def load_catalog_csv(*, actor: Actor, text: str) -> CatalogLoad:
    """Check every row, then create or update the organization's tests by code, all or nothing.

    Errors name the row (the file's line number, the header being row 1) and the column.
    """
    errors = FieldErrors()
    rows = _parse_catalog(text, errors)
    errors.raise_if_any()
    created = updated = 0
    with transaction.atomic():
        existing = {t.code: t for t in LabTest.objects.for_org(actor.organization)}
        new: list[LabTest] = []
        changed: list[LabTest] = []
        for row in rows:
            test = existing.get(row["code"])
            if test is None:
                new.append(LabTest(organization=actor.organization, created_by=actor.user, **row))
                continue
            for key, value in row.items():
                setattr(test, key, value)
            test.is_active = True
            changed.append(test)
        LabTest.objects.bulk_create(new)
        if changed:
            LabTest.objects.bulk_update(
                changed, [*(k for k in rows[0] if k != "code"), "is_active", "updated_at"]
            )
        created, updated = len(new), len(changed)
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            resource_type="LabTest",
            detail={"catalog": "csv", "created": created, "updated": updated},
        )
    return CatalogLoad(created, updated)


def load_shipped_catalog(*, actor: Actor) -> CatalogLoad:
    return load_catalog_csv(actor=actor, text=CATALOG_FILE.read_text(encoding="utf-8"))


# --- orders -------------------------------------------------------------------------------------


def _check_diagnoses(codes: list[str], errors: FieldErrors) -> list[str]:
    clean: list[str] = []
    for raw in codes:
        if not raw.strip():
            continue
        code = normalize_icd10(raw)
        found = get_icd10(code)
        if found is None:
            errors.add("diagnosis_codes", f"{code} is not an ICD-10-CM code")
        elif not found.billable:
            errors.add(
                "diagnosis_codes", f"{code} is a category, not billable: choose a specific code"
            )
        elif code not in clean:
            clean.append(code)
    if not clean and "diagnosis_codes" not in errors.errors:
        errors.add("diagnosis_codes", "give at least one reason (ICD-10-CM code) for the order")
    if len(clean) > MAX_DIAGNOSES:
        errors.add("diagnosis_codes", f"at most {MAX_DIAGNOSES} diagnoses per order")
    return clean


def place_order(
    *,
    actor: Actor,
    patient: Patient,
    provider: Provider,
    tests: list[LabTest],
    basis: str,
    diagnosis_codes: list[str],
    priority: str = LabOrder.Priority.ROUTINE,
    fasting_confirmed: bool | None = None,
    encounter: Encounter | None = None,
    note: str = "",
) -> LabOrder:
    """Order tests for a patient. A provider orders for themself; anyone else enters the order
    under a standing or verbal order, and it waits for the provider's co-signature."""
    actor.check_owns(patient, "patient")
    errors = FieldErrors()
    user = _user(actor)
    if provider.organization_id != actor.organization.pk:
        errors.add("ordering_provider", "is not a provider of this organization")
    elif not provider.is_active:
        errors.add("ordering_provider", f"{provider.display_name} is no longer active")
    if basis not in LabOrder.Basis.values:
        errors.add("basis", f"must be one of {', '.join(LabOrder.Basis.values)}")
    elif basis == LabOrder.Basis.PROVIDER and provider.user_id != user.pk:
        errors.add(
            "basis",
            "only the ordering provider may enter a provider order: "
            "choose standing order or verbal order (the provider co-signs it later)",
        )
    if priority not in LabOrder.Priority.values:
        errors.add("priority", f"must be one of {', '.join(LabOrder.Priority.values)}")
    unique_tests = list({t.pk: t for t in tests}.values())
    if not unique_tests:
        errors.add("tests", "choose at least one test")
    elif len(unique_tests) > MAX_TESTS_PER_ORDER:
        errors.add("tests", f"at most {MAX_TESTS_PER_ORDER} tests per order")
    for test in unique_tests:
        if test.organization_id != actor.organization.pk:
            errors.add("tests", f"{test.code} is not in this organization's catalog")
        elif not test.is_active:
            errors.add("tests", f"{test.code} is no longer offered")
    if encounter is not None:
        actor.check_owns(encounter, "encounter")
        if encounter.patient_id != patient.pk:
            errors.add("encounter", "belongs to another patient")
    codes = _check_diagnoses(diagnosis_codes, errors)
    note = " ".join(note.split())
    if len(note) > 300:
        errors.add("note", "must be 300 characters or fewer")
    errors.raise_if_any()
    with transaction.atomic():
        order = LabOrder.objects.create(
            organization=actor.organization,
            created_by=user,
            number=_next_number(actor.organization, "next_order", "L"),
            patient=patient,
            encounter=encounter,
            ordering_provider=provider,
            entered_by=user,
            ordered_at=clock.now(),
            basis=basis,
            diagnosis_codes=codes,
            priority=priority,
            fasting_confirmed=fasting_confirmed,
            note=note,
        )
        LabOrderItem.objects.bulk_create(
            [
                LabOrderItem(
                    organization=actor.organization,
                    created_by=user,
                    order=order,
                    test=test,
                    code=test.code,
                    name=test.name,
                    loinc=test.loinc,
                    container=test.container,
                    min_volume_ml=test.min_volume_ml,
                    fasting_required=test.fasting_required,
                    timing_note=test.timing_note,
                    performed=test.performed,
                )
                for test in unique_tests
            ]
        )
        # the ORM^O01 for the reference lab's tests waits in the outbox (none if all are POC)
        outbound = hl7_services.create_order_message(actor=actor, order=order)
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            patient_id=patient.pk,
            resource_type="LabOrder",
            resource_id=order.pk,
            detail={
                "hl7": outbound.control_id if outbound is not None else None,
                "number": order.number,
                "tests": [t.code for t in unique_tests],
                "basis": basis,
                "priority": priority,
                "diagnoses": codes,
            },
        )
    return order


def cosign_order(*, actor: Actor, order: LabOrder) -> LabOrder:
    """The ordering provider signs an order a MAT entered under a standing or verbal order."""
    actor.check_owns(order, "order")
    user = _user(actor)
    errors = FieldErrors()
    if order.basis == LabOrder.Basis.PROVIDER:
        errors.add("__all__", "the provider entered this order: it needs no co-signature")
    elif order.cosigned_at is not None:
        errors.add("__all__", "this order is already co-signed")
    elif order.ordering_provider.user_id != user.pk:
        errors.add(
            "__all__",
            f"only the ordering provider ({order.ordering_provider.display_name}) may co-sign",
        )
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        count = LabOrder.objects.filter(pk=order.pk, cosigned_at__isnull=True).update(
            cosigned_by=user, cosigned_at=now, updated_at=now
        )
        if count:
            audit.record_for_actor(
                actor,
                action=Action.UPDATE,
                patient_id=order.patient_id,
                resource_type="LabOrder",
                resource_id=order.pk,
                detail={"cosigned": True, "number": order.number},
            )
    order.refresh_from_db()
    return order


# --- specimens ----------------------------------------------------------------------------------


def needs_for(items: list[LabOrderItem]) -> list[draw.TestNeed]:
    return [
        draw.TestNeed(
            key=str(item.pk),
            code=item.code,
            container=item.container,
            min_volume_ml=item.min_volume_ml,
            fasting=item.fasting_required,
            timing_note=item.timing_note,
            name=item.name,
        )
        for item in items
    ]


def _where(actor: Actor, order: LabOrder) -> str:
    if order.encounter_id is not None:
        return order.encounter.facility.name  # type: ignore[union-attr]
    facility = getattr(actor.user, "default_facility", None)
    return facility.name if facility is not None else ""


def _event(
    actor: Actor, specimen: Specimen, kind: str, *, at: datetime, location: str = "", detail=""
) -> SpecimenEvent:
    return SpecimenEvent(
        organization=actor.organization,
        created_by=actor.user,
        specimen=specimen,
        kind=kind,
        at=at,
        by=actor.user,
        location=location[:100],
        detail=detail[:300],
    )


def create_specimens(*, actor: Actor, order: LabOrder, winged_set: bool = False) -> list[Specimen]:
    """Make the draw plan's tubes real: one specimen (and one accession number) per tube."""
    actor.check_owns(order, "order")
    errors = FieldErrors()
    if order.status != LabOrder.Status.ACTIVE or order.is_voided:
        errors.add("__all__", f"order {order.number} is {order.get_status_display().lower()}")
    if order.specimens.exclude(status=Specimen.Status.REJECTED).exists():
        errors.add(
            "__all__", "this order's specimens are already labelled: reprint their labels instead"
        )
    errors.raise_if_any()
    items = list(order.items.all())
    plan = draw.plan_draw(needs_for(items), winged_set=winged_set)
    by_key = {str(item.pk): item for item in items}
    now = clock.now()
    where = _where(actor, order)
    created: list[Specimen] = []
    with transaction.atomic():
        links = []
        events = []
        for tube in plan.all:
            sequence = tube.sequence if tube.container.venous else 100 + tube.sequence
            specimen = Specimen.objects.create(
                organization=actor.organization,
                created_by=actor.user,
                accession=_next_number(actor.organization, "next_specimen", "S"),
                order=order,
                patient_id=order.patient_id,
                container=tube.container.code,
                volume_ml=tube.draw_ml,
                draw_sequence=sequence,
            )
            created.append(specimen)
            links += [
                Specimen.items.through(specimen_id=specimen.pk, laborderitem_id=by_key[n.key].pk)
                for n in tube.tests
            ]
            events.append(
                _event(
                    actor,
                    specimen,
                    SpecimenEvent.Kind.LABELED,
                    at=now,
                    location=where,
                    detail=f"{tube.container.label}: {', '.join(tube.codes)}",
                )
            )
        Specimen.items.through.objects.bulk_create(links)
        SpecimenEvent.objects.bulk_create(events)
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            patient_id=order.patient_id,
            resource_type="Specimen",
            detail={"order": order.number, "accessions": [s.accession for s in created]},
        )
    return created


# --- specimen life ------------------------------------------------------------------------------

_VERBS = {
    "collect": "collect",
    "process": "process",
    "store": "store",
    "pack": "pack",
    "receive": "receive",
    "reject": "reject",
}
ALLOWED_FROM: dict[str, set[str]] = {
    "collect": {Specimen.Status.PENDING},
    "process": {Specimen.Status.COLLECTED},
    "store": {Specimen.Status.COLLECTED, Specimen.Status.PROCESSED},
    "pack": {Specimen.Status.COLLECTED, Specimen.Status.PROCESSED, Specimen.Status.STORED},
    "receive": {
        Specimen.Status.COLLECTED,
        Specimen.Status.PROCESSED,
        Specimen.Status.STORED,
        Specimen.Status.IN_TRANSIT,
    },
    "reject": {
        Specimen.Status.COLLECTED,
        Specimen.Status.PROCESSED,
        Specimen.Status.STORED,
        Specimen.Status.PACKED,
        Specimen.Status.IN_TRANSIT,
        Specimen.Status.RECEIVED,
    },
}


def transition_error(specimen: Specimen, action: str) -> str | None:
    """Why `action` cannot be done to this specimen now, in words (None when it can)."""
    status = specimen.status
    if status in ALLOWED_FROM[action]:
        return None
    name = f"specimen {specimen.accession}"
    if status == Specimen.Status.PENDING:
        return f"{name} was never collected: record its collection first"
    if status == Specimen.Status.REJECTED:
        return f"{name} was rejected: work with its re-collection instead"
    if status == Specimen.Status.RECEIVED:
        return f"{name} is already received by the lab"
    if status == Specimen.Status.PACKED and action == "receive":
        return f"{name} is packed on a manifest that the courier has not picked up yet"
    label = Specimen.Status(status).label.lower()
    return f"cannot {_VERBS[action]} {name}: it is {label}"


def _locked(actor: Actor, specimen: Specimen, action: str, errors: FieldErrors) -> Specimen:
    """The specimen as it is now (locked on PostgreSQL), with the transition checked."""
    actor.check_owns(specimen, "specimen")
    current = Specimen.objects.select_for_update().get(pk=specimen.pk)
    problem = transition_error(current, action)
    if problem:
        errors.add("status", problem)
    return current


def collect_specimen(
    *,
    actor: Actor,
    specimen: Specimen,
    site: str,
    attempts: int = 1,
    collected_at: datetime | None = None,
) -> Specimen:
    """The MAT drew (or received from the patient) this specimen."""
    user = _user(actor)
    actor.check_owns(specimen, "specimen")
    container = draw.CONTAINERS.get(specimen.container)
    if container is not None and container.venous:
        require_task(
            actor=actor,
            task="venipuncture",
            facility=work_facility(actor, specimen.order.encounter),
            patient_id=specimen.patient_id,
        )
    now = clock.now()
    collected_at = collected_at or now
    with transaction.atomic():
        errors = FieldErrors()
        current = _locked(actor, specimen, "collect", errors)
        site = " ".join(site.split())
        if not site:
            errors.add("site", "where was it collected from? (e.g. left antecubital)")
        elif len(site) > 60:
            errors.add("site", "must be 60 characters or fewer")
        if not 1 <= attempts <= MAX_ATTEMPTS:
            errors.add("attempts", f"must be 1 to {MAX_ATTEMPTS}")
        if collected_at > now + timedelta(minutes=5):
            errors.add("collected_at", "cannot be in the future")
        elif collected_at < current.created_at - timedelta(days=1):
            errors.add("collected_at", "is before the specimen was labelled")
        errors.raise_if_any()
        Specimen.objects.filter(pk=current.pk).update(
            status=Specimen.Status.COLLECTED,
            collected_at=collected_at,
            collected_by=user,
            collection_site=site,
            attempts=attempts,
            updated_at=now,
        )
        detail = f"site {site}; {attempts} attempt{'s' if attempts != 1 else ''}"
        if attempts > 2:
            detail += " (more than two attempts: tell the supervisor)"
        _event(
            actor,
            current,
            SpecimenEvent.Kind.COLLECTED,
            at=collected_at,
            location=_where(actor, current.order),
            detail=detail,
        ).save()
        _audit(actor, current, "collected", {"site": site, "attempts": attempts})
    current.refresh_from_db()
    return current


def process_specimen(
    *, actor: Actor, specimen: Specimen, centrifuged: bool, aliquoted: bool, note: str = ""
) -> Specimen:
    actor.check_owns(specimen, "specimen")
    require_task(
        actor=actor,
        task="specimen_processing",
        facility=work_facility(actor, specimen.order.encounter),
    )
    with transaction.atomic():
        errors = FieldErrors()
        current = _locked(actor, specimen, "process", errors)
        if not (centrifuged or aliquoted):
            errors.add("centrifuged", "say what was done: centrifuged, aliquoted or both")
        errors.raise_if_any()
        now = clock.now()
        Specimen.objects.filter(pk=current.pk).update(
            status=Specimen.Status.PROCESSED,
            centrifuged=centrifuged,
            aliquoted=aliquoted,
            updated_at=now,
        )
        done = [w for w, on in (("centrifuged", centrifuged), ("aliquoted", aliquoted)) if on]
        detail = " and ".join(done) + (f"; {' '.join(note.split())}" if note.strip() else "")
        _event(
            actor,
            current,
            SpecimenEvent.Kind.PROCESSED,
            at=now,
            location=_where(actor, current.order),
            detail=detail,
        ).save()
        _audit(actor, current, "processed", {"centrifuged": centrifuged, "aliquoted": aliquoted})
    current.refresh_from_db()
    return current


def store_specimen(
    *, actor: Actor, specimen: Specimen, temperature: str, location: str = ""
) -> Specimen:
    with transaction.atomic():
        errors = FieldErrors()
        current = _locked(actor, specimen, "store", errors)
        if temperature not in Specimen.Temperature.values:
            errors.add("temperature", f"must be one of {', '.join(Specimen.Temperature.values)}")
        location = " ".join(location.split())
        if len(location) > 100:
            errors.add("location", "must be 100 characters or fewer")
        errors.raise_if_any()
        now = clock.now()
        Specimen.objects.filter(pk=current.pk).update(
            status=Specimen.Status.STORED, storage_temperature=temperature, updated_at=now
        )
        _event(
            actor,
            current,
            SpecimenEvent.Kind.STORED,
            at=now,
            location=location or _where(actor, current.order),
            detail=Specimen.Temperature(temperature).label,
        ).save()
        _audit(actor, current, "stored", {"temperature": temperature})
    current.refresh_from_db()
    return current


def receive_specimen(*, actor: Actor, specimen: Specimen, location: str = "") -> Specimen:
    """The lab has the specimen (entered by hand until results arrive over HL7)."""
    with transaction.atomic():
        errors = FieldErrors()
        current = _locked(actor, specimen, "receive", errors)
        errors.raise_if_any()
        now = clock.now()
        Specimen.objects.filter(pk=current.pk).update(
            status=Specimen.Status.RECEIVED, received_at=now, updated_at=now
        )
        where = " ".join(location.split())[:100] or (
            current.manifest.destination if current.manifest_id else "Lab"  # type: ignore
        )
        _event(actor, current, SpecimenEvent.Kind.RECEIVED, at=now, location=where).save()
        _audit(actor, current, "received", {"location": where})
    current.refresh_from_db()
    return current


def reject_specimen(*, actor: Actor, specimen: Specimen, reason: str, note: str = "") -> Specimen:
    """Reject the specimen and create its re-collection (same tests, a new accession)."""
    with transaction.atomic():
        errors = FieldErrors()
        current = _locked(actor, specimen, "reject", errors)
        note = " ".join(note.split())
        if reason not in Specimen.Rejection.values:
            errors.add("reason", f"must be one of {', '.join(Specimen.Rejection.values)}")
        elif reason == Specimen.Rejection.OTHER and not note:
            errors.add("note", "say why the specimen was rejected")
        if len(note) > 300:
            errors.add("note", "must be 300 characters or fewer")
        errors.raise_if_any()
        now = clock.now()
        Specimen.objects.filter(pk=current.pk).update(
            status=Specimen.Status.REJECTED,
            rejected_at=now,
            rejection_reason=reason,
            rejection_note=note,
            updated_at=now,
        )
        again = Specimen.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            accession=_next_number(actor.organization, "next_specimen", "S"),
            order_id=current.order_id,
            patient_id=current.patient_id,
            container=current.container,
            volume_ml=current.volume_ml,
            draw_sequence=current.draw_sequence,
            recollect_of=current,
        )
        again.items.set(current.items.all())
        label = Specimen.Rejection(reason).label
        SpecimenEvent.objects.bulk_create(
            [
                _event(
                    actor,
                    current,
                    SpecimenEvent.Kind.REJECTED,
                    at=now,
                    detail=label + (f": {note}" if note else ""),
                ),
                _event(
                    actor,
                    current,
                    SpecimenEvent.Kind.RECOLLECT,
                    at=now,
                    detail=f"re-collect as {again.accession}",
                ),
                _event(
                    actor,
                    again,
                    SpecimenEvent.Kind.LABELED,
                    at=now,
                    detail=f"re-collection of {current.accession} ({label.lower()})",
                ),
            ]
        )
        _audit(
            actor,
            current,
            "rejected",
            {"reason": reason, "recollection": again.accession},
        )
    return again


def _audit(actor: Actor, specimen: Specimen, what: str, detail: dict[str, Any]) -> None:
    audit.record_for_actor(
        actor,
        action=Action.UPDATE,
        patient_id=specimen.patient_id,
        resource_type="Specimen",
        resource_id=specimen.pk,
        detail={"accession": specimen.accession, "event": what, **detail},
    )


# --- manifests ----------------------------------------------------------------------------------


def create_manifest(
    *,
    actor: Actor,
    courier: str,
    specimens: list[Specimen],
    pickup_at: datetime | None = None,
    destination: str = "Reference lab",
) -> Manifest:
    """Pack specimens for the courier: each goes on the manifest and is marked packed."""
    errors = FieldErrors()
    courier = " ".join(courier.split())
    destination = " ".join(destination.split()) or "Reference lab"
    if not courier:
        errors.add("courier", "is required (the courier company or driver)")
    elif len(courier) > 100:
        errors.add("courier", "must be 100 characters or fewer")
    if len(destination) > 100:
        errors.add("destination", "must be 100 characters or fewer")
    if not specimens:
        errors.add("specimens", "choose at least one specimen to pack")
    with transaction.atomic():
        current: list[Specimen] = []
        for specimen in {s.pk: s for s in specimens}.values():
            actor.check_owns(specimen, "specimen")
            locked = Specimen.objects.select_for_update().get(pk=specimen.pk)
            problem = transition_error(locked, "pack")
            if problem:
                errors.add("specimens", problem)
            current.append(locked)
        errors.raise_if_any()
        now = clock.now()
        manifest = Manifest.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            number=_next_number(actor.organization, "next_manifest", "M"),
            courier=courier,
            pickup_at=pickup_at,
            destination=destination,
        )
        Specimen.objects.filter(pk__in=[s.pk for s in current]).update(
            status=Specimen.Status.PACKED, manifest=manifest, updated_at=now
        )
        SpecimenEvent.objects.bulk_create(
            [
                _event(
                    actor,
                    s,
                    SpecimenEvent.Kind.PACKED,
                    at=now,
                    detail=f"manifest {manifest.number} for {courier}",
                )
                for s in current
            ]
        )
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            resource_type="Manifest",
            resource_id=manifest.pk,
            detail={
                "number": manifest.number,
                "courier": courier,
                "accessions": [s.accession for s in current],
                "patients": sorted({s.patient_id for s in current}),
            },
        )
    return manifest


def pick_up_manifest(*, actor: Actor, manifest: Manifest) -> Manifest:
    """The courier has taken the box: its specimens are in transit."""
    actor.check_owns(manifest, "manifest")
    with transaction.atomic():
        current = Manifest.objects.select_for_update().get(pk=manifest.pk)
        errors = FieldErrors()
        if current.status != Manifest.Status.OPEN:
            errors.add("__all__", f"manifest {current.number} was already picked up")
        packed = list(current.specimens.filter(status=Specimen.Status.PACKED))
        if not packed and not errors.errors:
            errors.add("__all__", "this manifest has no packed specimens left")
        errors.raise_if_any()
        now = clock.now()
        Manifest.objects.filter(pk=current.pk).update(
            status=Manifest.Status.PICKED_UP, picked_up_at=now, pickup_at=now, updated_at=now
        )
        Specimen.objects.filter(pk__in=[s.pk for s in packed]).update(
            status=Specimen.Status.IN_TRANSIT, updated_at=now
        )
        SpecimenEvent.objects.bulk_create(
            [
                _event(
                    actor,
                    s,
                    SpecimenEvent.Kind.PICKED_UP,
                    at=now,
                    location=current.courier,
                    detail=f"manifest {current.number} to {current.destination}",
                )
                for s in packed
            ]
        )
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            resource_type="Manifest",
            resource_id=current.pk,
            detail={"picked_up": True, "accessions": [s.accession for s in packed]},
        )
    current.refresh_from_db()
    return current
