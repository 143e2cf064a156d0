"""Writes for injections and immunizations: products and stock by lot, orders and standing
orders, giving a dose with the five rights checked, refusals, doses reported from elsewhere,
reactions, and voiding an entry made in error.

Every function is keyword-only with the `Actor` first, runs in one transaction and writes one
audit event. Bad input raises a `ValidationError` naming the field and the rule (nothing is
written); a row of another organization raises `PermissionError`. Each vaccine dose given,
refused, reported, corrected or voided queues a VXU message for the registry
(`registry.queue_for`), in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.core.models import Facility
from carebench.patients.models import Allergy, Patient
from carebench.staff.services import require_task
from carebench.terminology.models import Manufacturer, VaccineCode

from . import registry, scan
from .models import (
    ELIGIBILITY,
    REACTION_CODES,
    REFUSAL_REASONS,
    ROUTES,
    SITELESS_ROUTES,
    SITES,
    SOURCES,
    Administration,
    AdverseReaction,
    MedicationOrder,
    Product,
    StandingOrder,
    StockLot,
    StockMovement,
    StorageUnit,
)

if TYPE_CHECKING:
    from carebench.accounts.models import User
    from carebench.encounters.models import Encounter
    from carebench.scheduling.models import Provider

MAX_DOSES_PER_RECEIPT = 10_000
MAX_ADJUSTMENT = 1_000
VFC_MAX_AGE_YEARS = 18  # VFC covers children through 18
VFC_ELIGIBLE = {"V02", "V03", "V04", "V05"}
# Words an allergy entry may use for a whole vaccine group ("flu vaccine", "tetanus shot").
GROUP_ALLERGY_WORDS: dict[str, tuple[str, ...]] = {
    "FLU": ("influenza", "flu vaccine", "flu shot"),
    "COVID-19": ("covid", "sars-cov-2"),
    "TDAP": ("tetanus", "diphtheria", "pertussis", "tdap"),
    "DTAP": ("tetanus", "diphtheria", "pertussis", "dtap"),
    "TD": ("tetanus", "diphtheria"),
    "HPV": ("hpv", "papillomavirus", "gardasil"),
    "MMR": ("measles", "mumps", "rubella", "mmr"),
    "VZV": ("varicella", "chickenpox"),
    "HEPA": ("hepatitis a",),
    "HEPB": ("hepatitis b",),
    "PNEUMO": ("pneumococcal", "prevnar", "pneumovax"),
    "ZOSTER": ("zoster", "shingles", "shingrix"),
}
DEFAULT_OBSERVATION_MINUTES = 15
# A dose documented more than this long after it was given is late entry, not a typo in the
# time; we still take it, but refuse a time in the future or older than a day on this path.
MAX_LATE_ENTRY_HOURS = 24


def _user(actor: Actor) -> User:
    assert actor.user is not None, "medication work is credited to a user, never the system alone"
    return actor.user


def zone_for(actor: Actor, encounter: Encounter | None = None) -> str:
    facility = facility_for(actor, encounter)
    return facility.time_zone if facility is not None else settings.CAREBENCH_DEFAULT_TIME_ZONE


def facility_for(actor: Actor, encounter: Encounter | None = None) -> Facility | None:
    """Where the work happens: the visit's facility, else the user's, else the first."""
    if encounter is not None:
        return encounter.facility
    facility = getattr(actor.user, "default_facility", None)
    return facility or actor.organization.facilities.first()


def current_encounter(actor: Actor, patient: Patient) -> Encounter | None:
    """The patient's visit in progress today, which an order given now belongs to."""
    from carebench.encounters.models import Encounter

    return (
        Encounter.objects.filter(
            organization=actor.organization,
            patient=patient,
            status=Encounter.Status.IN_PROGRESS,
            started_at__gte=clock.now() - timedelta(hours=16),
        )
        .select_related("facility")
        .order_by("-started_at")
        .first()
    )


def _audit(
    actor: Actor,
    action: str,
    row: Any,
    detail: dict[str, Any],
    patient_id: int | None = None,
) -> None:
    audit.record_for_actor(
        actor,
        action=action,
        patient_id=patient_id,
        resource_type=type(row).__name__,
        resource_id=row.pk,
        detail=detail,
    )


# --- products and storage -----------------------------------------------------------------------


def add_product(
    *,
    actor: Actor,
    kind: str,
    name: str,
    ndc: str,
    dose_amount: Decimal,
    dose_unit: str,
    route: str,
    vaccine_code: VaccineCode | None = None,
    manufacturer: Manufacturer | None = None,
    strength: str = "",
    billing_code: str = "",
    billing_units: Decimal = Decimal(1),
    vis_edition_date: date | None = None,
    allergy_terms: str = "",
    min_age_months: int | None = None,
    max_age_years: int | None = None,
) -> Product:
    errors = FieldErrors()
    if billing_units is None or billing_units <= 0:
        errors.add("billing_units", "must be more than zero")
    if kind == Product.Kind.VACCINE and vaccine_code is None:
        errors.add("vaccine_code", "a vaccine needs its CVX code")
    if kind == Product.Kind.VACCINE and manufacturer is None:
        errors.add("manufacturer", "a vaccine needs its manufacturer (MVX)")
    if vaccine_code is not None and not vaccine_code.is_active:
        errors.add("vaccine_code", f"CVX {vaccine_code.cvx} is {vaccine_code.status}, not active")
    if not scan.valid_ndc(ndc):
        errors.add("ndc", "write the NDC with its dashes: 4-4-2, 5-3-2, 5-4-1 or 5-4-2")
    elif Product.objects.for_org(actor.organization).filter(ndc=ndc.strip()).exists():
        errors.add("ndc", f"a product with NDC {ndc} already exists")
    if dose_amount is None or dose_amount <= 0:
        errors.add("dose_amount", "the dose must be more than zero")
    if route not in ROUTES:
        errors.add("route", f"unknown route {route!r}")
    if not name.strip():
        errors.add("name", "give the product's name as on the label")
    errors.raise_if_any()
    with transaction.atomic():
        product = Product.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            kind=kind,
            name=name.strip(),
            ndc=ndc.strip(),
            dose_amount=dose_amount,
            dose_unit=dose_unit,
            route=route,
            vaccine_code=vaccine_code,
            manufacturer=manufacturer,
            strength=strength,
            billing_code=billing_code,
            billing_units=billing_units,
            vis_edition_date=vis_edition_date,
            allergy_terms=allergy_terms,
            min_age_months=min_age_months,
            max_age_years=max_age_years,
        )
        _audit(actor, Action.CREATE, product, {"name": product.name, "ndc": product.ndc})
    return product


def add_storage_unit(*, actor: Actor, facility: Facility, name: str, kind: str) -> StorageUnit:
    actor.check_owns(facility, "facility")
    errors = FieldErrors()
    if not name.strip():
        errors.add("name", "name the unit (e.g. Vaccine fridge 1)")
    elif (
        StorageUnit.objects.for_org(actor.organization)
        .filter(facility=facility, name=name.strip())
        .exists()
    ):
        errors.add("name", f"{facility} already has a unit named {name.strip()}")
    if kind not in StorageUnit.Kind.values:
        errors.add("kind", f"unknown kind {kind!r}")
    errors.raise_if_any()
    with transaction.atomic():
        unit = StorageUnit.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            facility=facility,
            name=name.strip(),
            kind=kind,
        )
        _audit(actor, Action.CREATE, unit, {"name": unit.name})
    return unit


# --- stock --------------------------------------------------------------------------------------


def _move(
    actor: Actor,
    lot: StockLot,
    kind: str,
    doses: int,
    reason: str = "",
    administration: Administration | None = None,
) -> StockMovement:
    """Change a locked lot's doses on hand and write the ledger line (inside a transaction)."""
    lot.doses_on_hand += doses
    StockLot.objects.filter(pk=lot.pk).update(
        doses_on_hand=lot.doses_on_hand, updated_at=clock.now()
    )
    return StockMovement.objects.create(
        organization=lot.organization,
        created_by=actor.user,
        lot=lot,
        kind=kind,
        doses=doses,
        balance=lot.doses_on_hand,
        reason=reason,
        administration=administration,
    )


def receive_stock(
    *,
    actor: Actor,
    product: Product,
    lot_number: str,
    expires_on: date | None,
    ndc: str,
    funding: str,
    storage_unit: StorageUnit,
    doses: int,
    received_on: date | None = None,
) -> StockLot:
    """Doses of a lot arrive: a new lot row, or more doses on the same lot, funding and unit."""
    actor.check_owns(product, "product")
    actor.check_owns(storage_unit, "storage unit")
    today = clock.today(zone_for(actor))
    received_on = received_on or today
    lot_number = lot_number.strip().upper()
    errors = FieldErrors()
    if not lot_number:
        errors.add("lot_number", "give the lot number printed on the box")
    elif len(lot_number) > 20:
        errors.add("lot_number", "a lot number has at most 20 characters")
    if expires_on is None:
        errors.add("expires_on", "give the expiry date printed on the box")
    elif expires_on < today:
        errors.add("expires_on", f"this lot expired on {expires_on:%Y-%m-%d}: do not receive it")
    if not scan.valid_ndc(ndc):
        errors.add("ndc", "write the NDC with its dashes: 4-4-2, 5-3-2, 5-4-1 or 5-4-2")
    elif not scan.same_product(ndc, product.ndc):
        errors.add("ndc", f"NDC {ndc} is not {product} ({product.ndc}): check the box")
    if funding not in StockLot.Funding.values:
        errors.add("funding", f"unknown funding source {funding!r}")
    if not 1 <= doses <= MAX_DOSES_PER_RECEIPT:
        errors.add("doses", f"doses received must be 1 to {MAX_DOSES_PER_RECEIPT}")
    if received_on > today:
        errors.add("received_on", "the receipt date cannot be in the future")
    if not storage_unit.is_active:
        errors.add("storage_unit", f"{storage_unit} is out of service")
    if not product.is_active:
        errors.add("product", f"{product} is no longer stocked")
    errors.raise_if_any()
    assert expires_on is not None
    with transaction.atomic():
        lot, created = StockLot.objects.select_for_update().get_or_create(
            organization=actor.organization,
            product=product,
            lot_number=lot_number,
            funding=funding,
            storage_unit=storage_unit,
            defaults={
                "created_by": actor.user,
                "expires_on": expires_on,
                "ndc": ndc.strip(),
                "doses_received": doses,
                "doses_on_hand": 0,
                "received_on": received_on,
            },
        )
        if not created:
            if lot.expires_on != expires_on:
                raise _field_error(
                    "expires_on",
                    f"lot {lot_number} is on record expiring {lot.expires_on:%Y-%m-%d}, "
                    "not this date: check the box",
                )
            StockLot.objects.filter(pk=lot.pk).update(doses_received=lot.doses_received + doses)
            lot.doses_received += doses
        _move(actor, lot, StockMovement.Kind.RECEIVED, doses, f"received {received_on:%Y-%m-%d}")
        _audit(
            actor,
            Action.CREATE if created else Action.UPDATE,
            lot,
            {"lot": lot_number, "doses": doses, "funding": funding, "product": product.name},
        )
    return lot


def _field_error(field: str, message: str) -> Exception:
    from django.core.exceptions import ValidationError

    return ValidationError({field: [message]})


def set_lot_status(*, actor: Actor, lot: StockLot, status: str, reason: str = "") -> StockLot:
    """Quarantine a lot (a temperature excursion, a recall), release it, or retire it."""
    actor.check_owns(lot, "lot")
    errors = FieldErrors()
    if status not in StockLot.Status.values:
        errors.add("status", f"unknown status {status!r}")
    if status != StockLot.Status.AVAILABLE and not reason.strip():
        errors.add("reason", "say why (for example: fridge at 11 °C overnight; recall notice)")
    if lot.status == StockLot.Status.RETIRED:
        errors.add("status", "a retired lot stays retired")
    errors.raise_if_any()
    with transaction.atomic():
        before = lot.status
        if (
            not StockLot.objects.filter(pk=lot.pk)
            .exclude(status=StockLot.Status.RETIRED)
            .update(status=status, status_reason=reason.strip(), updated_at=clock.now())
        ):
            raise _field_error("status", "a retired lot stays retired")
        lot.status, lot.status_reason = status, reason.strip()
        _audit(actor, Action.UPDATE, lot, {"status": [before, status], "reason": reason.strip()})
    return lot


def adjust_stock(*, actor: Actor, lot: StockLot, kind: str, doses: int, reason: str) -> StockLot:
    """Doses wasted (a dropped syringe, an opened vial past its time) or a count corrected."""
    actor.check_owns(lot, "lot")
    errors = FieldErrors()
    if kind not in (StockMovement.Kind.WASTED, StockMovement.Kind.ADJUSTED):
        errors.add("kind", "choose wasted or count adjusted")
    if kind == StockMovement.Kind.WASTED and doses >= 0:
        errors.add("doses", "wasted doses are taken out: give a negative number")
    if doses == 0:
        errors.add("doses", "the change cannot be zero")
    elif abs(doses) > MAX_ADJUSTMENT:
        errors.add("doses", f"one adjustment is at most {MAX_ADJUSTMENT} doses either way")
    if not reason.strip():
        errors.add("reason", "say what happened")
    errors.raise_if_any()
    with transaction.atomic():
        locked = StockLot.objects.select_for_update().get(pk=lot.pk)
        if locked.doses_on_hand + doses < 0:
            raise _field_error(
                "doses", f"only {locked.doses_on_hand} dose(s) on hand: cannot take out {-doses}"
            )
        _move(actor, locked, kind, doses, reason.strip())
        _audit(actor, Action.UPDATE, locked, {"kind": kind, "doses": doses, "reason": reason})
    return locked


# --- standing orders and orders -----------------------------------------------------------------


def add_standing_order(
    *,
    actor: Actor,
    name: str,
    products: list[Product],
    signed_by: Provider,
    valid_from: date,
    valid_until: date,
    vaccine_group: str = "",
    min_age_years: int = 0,
    min_age_months: int = 0,
    max_age_years: int | None = None,
    screening_questions: list[str] | None = None,
    instructions: str = "",
) -> StandingOrder:
    actor.check_owns(signed_by, "provider")
    for product in products:
        actor.check_owns(product, "product")
    errors = FieldErrors()
    if not name.strip():
        errors.add("name", "name the protocol")
    if not products:
        errors.add("products", "choose at least one product the protocol covers")
    if valid_until < valid_from:
        errors.add("valid_until", "the end date is before the start date")
    if max_age_years is not None and max_age_years < min_age_years:
        errors.add("max_age_years", "the maximum age is below the minimum age")
    questions = [q.strip() for q in screening_questions or [] if q.strip()]
    errors.raise_if_any()
    with transaction.atomic():
        protocol = StandingOrder.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            name=name.strip(),
            vaccine_group=vaccine_group,
            min_age_years=min_age_years,
            min_age_months=min_age_months,
            max_age_years=max_age_years,
            valid_from=valid_from,
            valid_until=valid_until,
            screening_questions=questions,
            instructions=instructions,
            signed_by=signed_by,
        )
        protocol.products.set(products)
        _audit(actor, Action.CREATE, protocol, {"name": protocol.name})
    return protocol


def allergy_conflicts(patient: Patient, product: Product) -> list[str]:
    """The patient's active allergies that name one of the product's components (or the
    product itself): 'egg (hives)'."""
    terms = product.allergy_list + [product.name.lower()]
    if product.vaccine_code_id is not None:
        code = product.vaccine_code
        assert code is not None
        terms.append(code.short_name.lower())
        for group in filter(None, code.groups.split("|") + [code.group]):
            terms.extend(GROUP_ALLERGY_WORDS.get(group.upper(), ()))
    found = []
    for allergy in Allergy.objects.filter(
        patient=patient, voided_at__isnull=True, status=Allergy.Status.ACTIVE
    ).exclude(kind=Allergy.Kind.NO_KNOWN):
        substance = allergy.substance.lower()
        if any(term and (term in substance or substance in term) for term in terms):
            found.append(allergy.substance + (f" ({allergy.reaction})" if allergy.reaction else ""))
    return found


def _age_months(birth: date, on: date) -> int:
    months = (on.year - birth.year) * 12 + on.month - birth.month
    return months - 1 if on.day < birth.day else months


def protocol_problems(
    protocol: StandingOrder, patient: Patient, product: Product, on: date, answers: dict[str, bool]
) -> list[tuple[str, str]]:
    """Why a patient does not meet a standing order today, as (field, message) pairs."""
    problems: list[tuple[str, str]] = []
    if not protocol.is_active or not protocol.valid_from <= on <= protocol.valid_until:
        problems.append(
            (
                "standing_order",
                f"the standing order '{protocol.name}' is valid {protocol.valid_from:%Y-%m-%d} "
                f"to {protocol.valid_until:%Y-%m-%d}: the provider must order it",
            )
        )
    if not protocol.products.filter(pk=product.pk).exists():
        problems.append(("product", f"{product} is not covered by '{protocol.name}'"))
    months = _age_months(patient.birth_date, on)
    minimum = protocol.min_age_years * 12 + protocol.min_age_months
    if months < minimum:
        problems.append(
            ("patient", f"the patient is younger than the protocol allows ({minimum} months)")
        )
    if protocol.max_age_years is not None and months // 12 > protocol.max_age_years:
        problems.append(
            ("patient", f"the patient is older than the protocol allows ({protocol.max_age_years})")
        )
    for question in protocol.screening_questions:
        if question not in answers:
            problems.append(("screening", f"answer the screening question: {question}"))
        elif answers[question]:
            problems.append(
                ("screening", f"'yes' to '{question}': the provider must decide, not the protocol")
            )
    conflicts = allergy_conflicts(patient, product)
    if conflicts:
        problems.append(
            (
                "allergy",
                "allergy on record: " + "; ".join(conflicts) + ". The provider must decide.",
            )
        )
    return problems


def order_medication(
    *,
    actor: Actor,
    patient: Patient,
    product: Product,
    provider: Provider,
    dose_amount: Decimal | None = None,
    dose_unit: str = "",
    route: str = "",
    encounter: Encounter | None = None,
    instructions: str = "",
    allergy_reviewed: bool = False,
) -> MedicationOrder:
    """The provider orders one dose. Allergies on record that match the product must be
    acknowledged (`allergy_reviewed`)."""
    for row, what in ((patient, "patient"), (product, "product"), (provider, "provider")):
        actor.check_owns(row, what)
    user = _user(actor)
    errors = FieldErrors()
    if provider.user_id != user.pk:
        errors.add("provider", "a provider order is entered by that provider")
    dose_amount = dose_amount if dose_amount is not None else product.dose_amount
    if dose_amount <= 0:
        errors.add("dose_amount", "the dose must be more than zero")
    route = route or product.route
    if route not in ROUTES:
        errors.add("route", f"unknown route {route!r}")
    if not product.is_active:
        errors.add("product", f"{product} is no longer stocked")
    conflicts = allergy_conflicts(patient, product)
    if conflicts and not allergy_reviewed:
        errors.add(
            "allergy_reviewed",
            "allergy on record: " + "; ".join(conflicts) + ". Confirm you reviewed it to order.",
        )
    errors.raise_if_any()
    return _create_order(
        actor,
        patient=patient,
        product=product,
        provider=provider,
        dose_amount=dose_amount,
        dose_unit=dose_unit or product.dose_unit,
        route=route,
        encounter=encounter or current_encounter(actor, patient),
        instructions=instructions,
        basis=MedicationOrder.Basis.PROVIDER,
        allergy_reviewed=bool(conflicts) and allergy_reviewed,
        standing_order=None,
    )


def start_standing_order(
    *,
    actor: Actor,
    protocol: StandingOrder,
    patient: Patient,
    product: Product,
    answers: dict[str, bool],
    encounter: Encounter | None = None,
    cosigner: Provider | None = None,
) -> MedicationOrder:
    """A MAT runs a standing order for a patient who meets it; the order then waits for the
    provider's co-signature (by default the protocol's signer)."""
    for row, what in ((protocol, "standing order"), (patient, "patient"), (product, "product")):
        actor.check_owns(row, what)
    _user(actor)
    today = clock.today(zone_for(actor, encounter))
    errors = FieldErrors()
    for field, message in protocol_problems(protocol, patient, product, today, answers):
        errors.add(field, message)
    errors.raise_if_any()
    provider = cosigner or protocol.signed_by
    actor.check_owns(provider, "provider")
    return _create_order(
        actor,
        patient=patient,
        product=product,
        provider=provider,
        dose_amount=product.dose_amount,
        dose_unit=product.dose_unit,
        route=product.route,
        encounter=encounter or current_encounter(actor, patient),
        instructions=protocol.instructions,
        basis=MedicationOrder.Basis.STANDING,
        allergy_reviewed=False,
        standing_order=protocol,
        screening=answers,
    )


def _create_order(actor: Actor, **fields: Any) -> MedicationOrder:
    encounter = fields.get("encounter")
    if encounter is not None:
        actor.check_owns(encounter, "visit")
        if encounter.patient_id != fields["patient"].pk:
            raise _field_error("encounter", "the visit is another patient's")
    screening = fields.pop("screening", None)
    patient, product = fields["patient"], fields["product"]
    if MedicationOrder.objects.filter(
        patient=patient,
        product=product,
        status=MedicationOrder.Status.ACTIVE,
        voided_at__isnull=True,
    ).exists():
        raise _field_error(
            "product", f"{product} is already ordered for this patient and not yet given"
        )
    with transaction.atomic():
        order = MedicationOrder.objects.create(
            screening=screening or {},
            organization=actor.organization,
            created_by=actor.user,
            entered_by=_user(actor),
            ordered_at=clock.now(),
            ordering_provider=fields.pop("provider"),
            **fields,
        )
        detail: dict[str, Any] = {
            "product": order.product.name,
            "basis": order.basis,
            "dose": f"{order.dose_amount.normalize()} {order.dose_unit}",
        }
        if screening is not None:
            detail["screening"] = screening
        _audit(actor, Action.CREATE, order, detail, order.patient_id)
    return order


def cosign_order(*, actor: Actor, order: MedicationOrder) -> MedicationOrder:
    """The provider signs an order a MAT started under a standing order."""
    actor.check_owns(order, "order")
    user = _user(actor)
    errors = FieldErrors()
    if order.basis == MedicationOrder.Basis.PROVIDER:
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
        if MedicationOrder.objects.filter(pk=order.pk, cosigned_at__isnull=True).update(
            cosigned_by=user, cosigned_at=now, updated_at=now
        ):
            _audit(actor, Action.UPDATE, order, {"cosigned": True}, order.patient_id)
    order.refresh_from_db()
    return order


def cancel_order(*, actor: Actor, order: MedicationOrder, reason: str) -> MedicationOrder:
    actor.check_owns(order, "order")
    errors = FieldErrors()
    if order.status != MedicationOrder.Status.ACTIVE:
        errors.add("__all__", f"the order is {order.get_status_display().lower()}, not active")
    if not reason.strip():
        errors.add("reason", "say why the order is cancelled")
    errors.raise_if_any()
    with transaction.atomic():
        if not MedicationOrder.objects.filter(
            pk=order.pk, status=MedicationOrder.Status.ACTIVE
        ).update(
            status=MedicationOrder.Status.CANCELLED,
            cancel_reason=reason.strip(),
            updated_at=clock.now(),
        ):
            raise _field_error("__all__", "the order was just given or closed by someone else")
        order.status = MedicationOrder.Status.CANCELLED
        _audit(actor, Action.UPDATE, order, {"cancelled": reason.strip()}, order.patient_id)
    return order


# --- giving a dose: the five rights -------------------------------------------------------------


@dataclass(frozen=True)
class PatientCheck:
    """How the patient was identified at the chair: a scanned wristband or card (the MRN), or
    two identifiers spoken and checked (full name and date of birth)."""

    scanned: str = ""
    name: str = ""
    birth_date: date | None = None


def _patient_matches(patient: Patient, check: PatientCheck) -> tuple[bool, str]:
    if check.scanned.strip():
        value = check.scanned.strip().upper()
        ok = value in (patient.mrn.upper(), f"P{patient.mrn}".upper())
        return ok, f"scanned {value}"
    typed = " ".join(check.name.lower().replace(",", " ").split())
    names = {
        f"{patient.given_name} {patient.family_name}".lower(),
        f"{patient.family_name} {patient.given_name}".lower(),
    }
    ok = typed in names and check.birth_date == patient.birth_date
    return ok, "name and date of birth"


def find_lot(
    actor: Actor, product: Product, scanned: str, *, public: bool | None = None
) -> StockLot | None:
    """The lot of this product a scanned vial or box names (GS1 code, or a typed lot number).
    A lot held as both public and private stock is picked by `public` (the patient's
    eligibility). A GS1 code whose expiry is past, or differs from the lot on record, is
    refused (ValueError): the vial in hand is what counts."""
    lots = StockLot.objects.for_org(actor.organization).select_related("product")
    text = scanned.replace("\x00", "").strip()
    code = None
    if scan.looks_like_gs1(text):
        code = scan.parse_gs1(text)
        candidates = [
            lot
            for lot in lots.filter(lot_number=code.lot.upper())
            if code.ndc10 == ""
            or code.ndc10 in scan.ndc10_forms(lot.ndc) | scan.ndc10_forms(lot.product.ndc)
        ]
    else:
        candidates = list(lots.filter(lot_number=text.upper()[:40]))
    mine = [lot for lot in candidates if lot.product_id == product.pk] or candidates
    if public is not None:
        mine.sort(key=lambda lot: lot.is_public != public)
    found = mine[0] if mine else None
    if found is not None and code is not None and code.expires_on is not None:
        today = clock.today(zone_for(actor))
        if code.expires_on < today:
            raise ValueError(
                f"the vial says it expired on {code.expires_on:%Y-%m-%d}: do not give it"
            )
        if code.expires_on != found.expires_on:
            raise ValueError(
                f"the vial says it expires {code.expires_on:%Y-%m-%d}, lot {found.lot_number} on "
                f"record {found.expires_on:%Y-%m-%d}: check the vial and the stock record"
            )
    return found


def administer(
    *,
    actor: Actor,
    order: MedicationOrder,
    patient_check: PatientCheck,
    lot: StockLot,
    dose_amount: Decimal,
    dose_unit: str,
    route: str,
    site: str,
    given_at: datetime | None = None,
    eligibility: str = "",
    vis_given_on: date | None = None,
    observation_minutes: int = DEFAULT_OBSERVATION_MINUTES,
    note: str = "",
) -> Administration:
    """Give one dose against an active order, checking the five rights (patient, drug, dose,
    route, time), the allergy screen and the lot; the lot loses one dose and, for a vaccine,
    a VXU is queued for the registry, all in one transaction."""
    actor.check_owns(order, "order")
    actor.check_owns(lot, "lot")
    user = _user(actor)
    patient = order.patient
    product = order.product
    now = clock.now()
    given_at = given_at or now
    encounter = order.encounter
    require_task(
        actor=actor,
        task="immunization" if product.is_vaccine else "injection",
        facility=facility_for(actor, encounter),
        patient_id=patient.pk,
    )
    today = clock.today(zone_for(actor, encounter))
    errors = FieldErrors()
    # Right patient
    ok, how = _patient_matches(patient, patient_check)
    if not ok:
        errors.add(
            "patient",
            "wrong patient: the scan or the name and date of birth do not match "
            f"{patient.display_name} (MRN {patient.mrn}). Stop and check the wristband.",
        )
    # Right order, right time
    if order.status != MedicationOrder.Status.ACTIVE:
        errors.add("order", f"the order is {order.get_status_display().lower()}, not active")
    if order.voided_at is not None:
        errors.add("order", "the order was voided")
    if given_at > now + _minutes(5):
        errors.add("given_at", "the time given cannot be in the future")
    elif (now - given_at).total_seconds() > MAX_LATE_ENTRY_HOURS * 3600:
        errors.add("given_at", f"more than {MAX_LATE_ENTRY_HOURS} hours ago: record it as history")
    elif given_at < order.ordered_at - _minutes(5):
        errors.add("given_at", "the time given is before the order was written")
    # Right drug, and a lot that may be used
    if lot.product_id != product.pk:
        errors.add(
            "lot", f"wrong drug: lot {lot.lot_number} is {lot.product}, the order is {product}"
        )
    if lot.expires_on < today:
        errors.add(
            "lot", f"lot {lot.lot_number} expired on {lot.expires_on:%Y-%m-%d}: do not give it"
        )
    if lot.status == StockLot.Status.QUARANTINED:
        errors.add(
            "lot", f"lot {lot.lot_number} is quarantined ({lot.status_reason}): do not give it"
        )
    elif lot.status == StockLot.Status.RETIRED:
        errors.add("lot", f"lot {lot.lot_number} is retired: do not give it")
    if eligibility and eligibility not in ELIGIBILITY:
        errors.add("eligibility", f"unknown eligibility {eligibility!r}")
    if product.is_vaccine and not eligibility:
        errors.add("eligibility", "record the patient's VFC eligibility (V01 if not eligible)")
    age_years = patient.age_on(today)
    if lot.funding == StockLot.Funding.VFC and (
        eligibility not in VFC_ELIGIBLE or age_years > VFC_MAX_AGE_YEARS
    ):
        errors.add(
            "lot",
            f"lot {lot.lot_number} is VFC stock: only for VFC-eligible patients under 19; "
            "use private stock",
        )
    elif lot.is_public and eligibility == "V01" and age_years <= VFC_MAX_AGE_YEARS:
        errors.add(
            "lot",
            f"lot {lot.lot_number} is publicly funded ({lot.get_funding_display()}): "
            "this patient is not eligible; use private stock",
        )
    months = _age_months(patient.birth_date, today)
    if product.min_age_months is not None and months < product.min_age_months:
        errors.add(
            "patient", f"{product} is for patients {product.min_age_months} months and older"
        )
    if product.max_age_years is not None and age_years > product.max_age_years:
        errors.add("patient", f"{product} is for patients up to {product.max_age_years} years")
    if (
        order.basis == MedicationOrder.Basis.STANDING
        and order.ordered_at.astimezone(ZoneInfo(zone_for(actor, encounter))).date() != today
    ):
        errors.add(
            "order",
            "this standing order was started on another day: screen the patient again "
            "(start the standing order again)",
        )
    if vis_given_on is not None and vis_given_on > today:
        errors.add("vis_given_on", "the VIS date cannot be in the future")
    repeat = _same_day_dose(patient, product, given_at)
    if repeat is not None:
        errors.add(
            "order",
            f"{repeat.product_name} was already given at {repeat.occurred_at.astimezone(ZoneInfo(zone_for(actor, encounter))):%H:%M}"
            " in the last 24 hours: a second dose needs the provider",
        )
    # Right dose, right route
    if dose_amount != order.dose_amount or dose_unit != order.dose_unit:
        errors.add(
            "dose_amount",
            f"wrong dose: the order is {order.dose_amount.normalize()} {order.dose_unit}, "
            f"not {dose_amount.normalize() if dose_amount is not None else '?'} {dose_unit}",
        )
    if route != order.route:
        errors.add(
            "route",
            f"wrong route: the order is {ROUTES.get(order.route, order.route)}, "
            f"not {ROUTES.get(route, route)}",
        )
    if route in SITELESS_ROUTES:
        if site:
            errors.add("site", f"{ROUTES[route].lower()} has no injection site: leave it empty")
    elif site not in SITES:
        errors.add("site", "choose the injection site")
    # Allergies (a provider order may go ahead after the provider reviewed them)
    conflicts = allergy_conflicts(patient, product)
    if conflicts and not order.allergy_reviewed:
        errors.add("allergy", "allergy on record: " + "; ".join(conflicts) + ". Ask the provider.")
    if product.is_vaccine and vis_given_on is None:
        errors.add("vis_given_on", "give the patient the VIS and record the date")
    if not 0 <= observation_minutes <= 120:
        errors.add("observation_minutes", "the observation period is 0 to 120 minutes")
    errors.raise_if_any()
    with transaction.atomic():
        locked = StockLot.objects.select_for_update().get(pk=lot.pk)
        if locked.doses_on_hand < 1:
            raise _field_error(
                "lot", f"lot {lot.lot_number} has no doses left on record: count the stock"
            )
        if locked.status != StockLot.Status.AVAILABLE:
            raise _field_error(
                "lot", f"lot {lot.lot_number} was just {locked.get_status_display().lower()}"
            )
        # Only one dose per order, even if two people press Give at once.
        if not MedicationOrder.objects.filter(
            pk=order.pk, status=MedicationOrder.Status.ACTIVE
        ).update(status=MedicationOrder.Status.COMPLETED, updated_at=now):
            raise _field_error("order", "this order was just given or closed by someone else")
        order.status = MedicationOrder.Status.COMPLETED
        administration = Administration.objects.create(
            organization=actor.organization,
            created_by=user,
            patient=patient,
            encounter=encounter,
            kind=Administration.Kind.GIVEN,
            order=order,
            product=product,
            vaccine_code=product.vaccine_code,
            product_name=product.name,
            lot=locked,
            lot_number=locked.lot_number,
            expires_on=locked.expires_on,
            manufacturer=product.manufacturer,
            ndc=locked.ndc,
            dose_amount=dose_amount,
            dose_unit=dose_unit,
            route=route,
            site=site,
            occurred_at=given_at,
            source="00",
            given_by=user,
            ordering_provider=order.ordering_provider,
            facility=facility_for(actor, encounter),
            vis_edition_date=product.vis_edition_date if product.is_vaccine else None,
            vis_given_on=vis_given_on,
            eligibility=eligibility,
            funding=locked.funding,
            observation_minutes=observation_minutes,
            patient_check=how,
            screening=order.screening,
            note=note,
        )
        _move(actor, locked, StockMovement.Kind.ADMINISTERED, -1, "", administration)
        _audit(
            actor,
            Action.CREATE,
            administration,
            {
                "product": product.name,
                "lot": locked.lot_number,
                "dose": f"{dose_amount.normalize()} {dose_unit}",
                "route": route,
                "site": site,
                "patient_check": how,
            },
            patient.pk,
        )
        if administration.is_vaccine:
            registry.queue_for(actor, administration, "A")
    return administration


def _same_day_dose(patient: Patient, product: Product, at: datetime) -> Administration | None:
    """A dose of the same product (or, for a vaccine, the same vaccine group) given to the
    patient in the 24 hours around `at`."""
    recent = Administration.objects.filter(
        patient=patient,
        kind=Administration.Kind.GIVEN,
        voided_at__isnull=True,
        occurred_at__gte=at - timedelta(hours=24),
        occurred_at__lte=at + timedelta(hours=24),
    ).select_related("vaccine_code")
    group = product.vaccine_code.group if product.vaccine_code is not None else ""
    for row in recent:
        if row.product_id == product.pk or (
            group and row.vaccine_code is not None and row.vaccine_code.group == group
        ):
            return row
    return None


def _minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


def record_refusal(
    *,
    actor: Actor,
    patient: Patient,
    reason: str,
    order: MedicationOrder | None = None,
    vaccine_code: VaccineCode | None = None,
    note: str = "",
) -> Administration:
    """The patient (or parent) declines a dose: kept on the record and sent to the registry."""
    actor.check_owns(patient, "patient")
    user = _user(actor)
    errors = FieldErrors()
    if order is not None:
        actor.check_owns(order, "order")
        if order.patient_id != patient.pk:
            errors.add("order", "the order is for another patient")
        if order.status != MedicationOrder.Status.ACTIVE:
            errors.add("order", f"the order is {order.get_status_display().lower()}, not active")
        vaccine_code = vaccine_code or order.product.vaccine_code
    if vaccine_code is None and order is None:
        errors.add("vaccine_code", "say which vaccine was refused")
    if reason not in REFUSAL_REASONS:
        errors.add("reason", "choose the reason: " + ", ".join(REFUSAL_REASONS.values()))
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        if order is not None:
            if not MedicationOrder.objects.filter(
                pk=order.pk, status=MedicationOrder.Status.ACTIVE
            ).update(status=MedicationOrder.Status.REFUSED, updated_at=now):
                raise _field_error("order", "this order was just given or closed by someone else")
            order.status = MedicationOrder.Status.REFUSED
        product = order.product if order is not None else None
        administration = Administration.objects.create(
            organization=actor.organization,
            created_by=user,
            patient=patient,
            encounter=order.encounter if order is not None else None,
            kind=Administration.Kind.REFUSED,
            order=order,
            product=product,
            vaccine_code=vaccine_code,
            product_name=product.name
            if product
            else (vaccine_code.short_name if vaccine_code else ""),
            occurred_at=now,
            given_by=user,
            ordering_provider=order.ordering_provider if order is not None else None,
            facility=facility_for(actor, order.encounter if order is not None else None),
            refusal_reason=reason,
            note=note,
        )
        _audit(
            actor,
            Action.CREATE,
            administration,
            {"refused": REFUSAL_REASONS[reason], "product": administration.product_name},
            patient.pk,
        )
        if administration.is_vaccine:
            registry.queue_for(actor, administration, "A")
    return administration


def record_historical(
    *,
    actor: Actor,
    patient: Patient,
    vaccine_code: VaccineCode,
    given_on: date,
    source: str = "01",
    lot_number: str = "",
    manufacturer: Manufacturer | None = None,
    date_is_estimated: bool = False,
    note: str = "",
    channel_detail: str = "",
) -> Administration:
    """A dose given elsewhere, from a record or the patient's recall."""
    actor.check_owns(patient, "patient")
    errors = FieldErrors()
    today = clock.today(zone_for(actor))
    if given_on > today:
        errors.add("given_on", "a dose given elsewhere cannot be dated in the future")
    if given_on < patient.birth_date:
        errors.add("given_on", "the date is before the patient was born")
    if source not in SOURCES or source == "00":
        errors.add("source", "say where the record came from (history sources 01-08)")
    if vaccine_code.nonvaccine:
        errors.add("vaccine_code", f"CVX {vaccine_code.cvx} is not a vaccine")
    errors.raise_if_any()

    zone = ZoneInfo(zone_for(actor))
    occurred = datetime(given_on.year, given_on.month, given_on.day, 12, tzinfo=zone)
    with transaction.atomic():
        administration = Administration.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            patient=patient,
            kind=Administration.Kind.HISTORICAL,
            vaccine_code=vaccine_code,
            product_name=vaccine_code.short_name,
            lot_number=lot_number.strip().upper(),
            manufacturer=manufacturer,
            occurred_at=occurred,
            date_is_estimated=date_is_estimated,
            source=source,
            facility=facility_for(actor),
            note=note,
        )
        _audit(
            actor,
            Action.CREATE,
            administration,
            {
                "historical": vaccine_code.cvx,
                "given_on": given_on.isoformat(),
                "via": channel_detail,
            },
            patient.pk,
        )
        registry.queue_for(actor, administration, "A")
    return administration


def record_reaction(
    *,
    actor: Actor,
    administration: Administration,
    onset_at: datetime,
    description: str,
    severity: str,
    code: str = "",
    treatment: str = "",
    reported_to_vaers: bool = False,
) -> AdverseReaction:
    """A reaction after a dose; the registry gets an update carrying it."""
    actor.check_owns(administration, "dose")
    errors = FieldErrors()
    if administration.kind == Administration.Kind.REFUSED:
        errors.add("administration", "a refused dose cannot cause a reaction")
    if administration.is_voided:
        errors.add("administration", "this entry was voided")
    if onset_at < administration.occurred_at - _minutes(1):
        errors.add("onset_at", "the reaction cannot start before the dose")
    if onset_at > clock.now() + _minutes(5):
        errors.add("onset_at", "the onset cannot be in the future")
    if not description.strip():
        errors.add("description", "describe the reaction")
    if severity not in AdverseReaction.Severity.values:
        errors.add("severity", "choose mild, moderate or severe")
    if code and code not in REACTION_CODES:
        errors.add("code", f"unknown reaction code {code!r}")
    errors.raise_if_any()
    with transaction.atomic():
        reaction = AdverseReaction.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            administration=administration,
            onset_at=onset_at,
            code=code,
            description=description.strip(),
            severity=severity,
            treatment=treatment.strip(),
            reported_to_vaers=reported_to_vaers,
        )
        _audit(
            actor,
            Action.CREATE,
            reaction,
            {"severity": severity, "vaers": reported_to_vaers},
            administration.patient_id,
        )
        if administration.is_vaccine:
            registry.queue_for(actor, administration, "U")
    return reaction


def void_administration(
    *, actor: Actor, administration: Administration, reason: str
) -> Administration:
    """An entry made in error (wrong chart, never given): voided, the dose put back on the lot,
    the order reopened, and the registry told to delete it."""
    actor.check_owns(administration, "dose")
    errors = FieldErrors()
    if administration.is_voided:
        errors.add("__all__", "already voided")
    if not reason.strip():
        errors.add("reason", "say why the entry is voided")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        if not Administration.objects.filter(pk=administration.pk, voided_at__isnull=True).update(
            voided_at=now, voided_by=actor.user, void_reason=reason.strip(), updated_at=now
        ):
            raise _field_error("__all__", "already voided")
        administration.voided_at, administration.void_reason = now, reason.strip()
        if administration.lot_id is not None and administration.kind == Administration.Kind.GIVEN:
            locked = StockLot.objects.select_for_update().get(pk=administration.lot_id)
            _move(actor, locked, StockMovement.Kind.RETURNED, 1, reason.strip(), administration)
        if administration.order_id is not None:
            MedicationOrder.objects.filter(pk=administration.order_id).update(
                status=MedicationOrder.Status.ACTIVE, updated_at=now
            )
        _audit(
            actor,
            Action.VOID,
            administration,
            {"reason": reason.strip()},
            administration.patient_id,
        )
        if administration.is_vaccine:
            registry.queue_for(actor, administration, "D")
    return administration
