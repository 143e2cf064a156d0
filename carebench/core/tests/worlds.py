"""Worlds of rows for the route-by-route tests (audit completeness, isolation, schemathesis).

The tenancy test (`test_tenancy.py`) builds one organization's world: a patient with a chart,
a visit with vitals and an alert, a lab order, an EKG, and, on first use, vaccines, a home with
residents, billing, documents, procedures, staff, compliance and inbox rows. This module adds
what the other route walkers need on top of it: a user who holds every role, a "full" world with
every lazily made part built (and a lab result and a claim payment, which the FHIR API reads), and
the FHIR API's read routes with how to fill their ids from a world.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from carebench.accounts.roles import ROLE_LABELS
from carebench.core.tests.test_tenancy import (
    ROUTES,
    _billing,
    _compliance,
    _documents,
    _emar,
    _inbox,
    _kit_lot,
    _meds,
    _procedures,
    _staff,
    _world,
)
from carebench.testing import UserFactory, actor_for

__all__ = ["FHIR_ROUTES", "NPIS", "PARTS", "ROUTES", "everyone", "full_world", "part", "world"]

# One NPI per organization: two worlds must not share a provider's NPI.
NPIS = ("1234567893", "1245319599")
# The parts of a world made on first use, by name.
PARTS: dict[str, Callable[[SimpleNamespace], Any]] = {
    "kit_lot": _kit_lot,
    "meds": _meds,
    "emar": _emar,
    "billing": _billing,
    "inbox_item": _inbox,
    "compliance": _compliance,
    "documents": _documents,
    "staff": _staff,
    "procedures": _procedures,
}
EXTRAS = tuple(PARTS.values())


def part(w: SimpleNamespace, name: str) -> Any:
    """One part of the world (`meds`, `emar`, `billing`...), made if it is not there yet."""
    return PARTS[name](w)


def world(org: Any, npi: str = NPIS[0]) -> SimpleNamespace:
    """The tenancy test's world of one organization (its parts beyond the chart made on use)."""
    return _world(org, npi)


def everyone(org: Any) -> Any:
    """A user of `org` who holds every role: authorised for every page of the organization."""
    return UserFactory(organization=org, username=f"everyone-{org.slug}", roles=list(ROLE_LABELS))


def full_world(org: Any, npi: str = NPIS[0]) -> SimpleNamespace:
    """A world with every part built, a final lab result and a payer's claim payment."""
    w = world(org, npi)
    for build in EXTRAS:
        build(w)
    w.lab_result = _lab_result(w)
    w.payment = _payment(w)
    return w


def _lab_result(w: SimpleNamespace) -> Any:
    from carebench.labs.result_services import ResultValue, store_results

    item = w.lab.order.items.get()
    return store_results(
        actor=actor_for(w.user),
        patient=w.patient,
        values=[
            ResultValue(
                code="718-7",
                name="Hemoglobin",
                value=Decimal("13.5"),
                unit="g/dL",
                reference_low=Decimal("12.0"),
                reference_high=Decimal("16.0"),
                order_item=item,
            )
        ],
        source="hl7",
        order=w.lab.order,
        specimen=w.lab.specimen,
        performing_lab="Reference lab",
    )[0]


def _payment(w: SimpleNamespace) -> Any:
    from carebench.fhir.tests.test_claim_fhir import pay

    return pay(w.billing.claim)


def _ekg_part(w: SimpleNamespace) -> str:
    from carebench.fhir.ekg import PARTS, measurement

    return next(part for part in PARTS if measurement(w.ekg, part) is not None)


# The FHIR API's routes with an id in the path, and how to fill it from a full world.
FHIR_ROUTES: dict[str, Callable[[SimpleNamespace], dict[str, Any]]] = {
    "fhir:read_patient": lambda w: {"patient_id": w.patient.pk},
    "fhir:update_patient": lambda w: {"patient_id": w.patient.pk},
    "fhir:read_allergy": lambda w: {"entry_id": w.entries["allergies"].pk},
    "fhir:read_condition": lambda w: {"entry_id": w.entries["problems"].pk},
    "fhir:read_medication": lambda w: {"entry_id": w.entries["medications"].pk},
    "fhir:read_coverage": lambda w: {"entry_id": w.entries["coverage"].pk},
    "fhir:read_practitioner": lambda w: {"practitioner_id": w.provider.pk},
    "fhir:read_location": lambda w: {"location_id": w.encounter.facility_id},
    "fhir:read_schedule": lambda w: {"schedule_id": w.provider.pk},
    "fhir:read_appointment": lambda w: {"appointment_id": w.appt.pk},
    "fhir:update_appointment": lambda w: {"appointment_id": w.appt.pk},
    "fhir:read_encounter": lambda w: {"encounter_id": w.encounter.pk},
    "fhir:read_lab_observation": lambda w: {"result_id": w.lab_result.pk},
    "fhir:read_lab_report": lambda w: {"order_id": w.lab.order.pk},
    "fhir:read_ekg_observation": lambda w: {"recording_id": w.ekg.pk, "part": _ekg_part(w)},
    "fhir:read_report": lambda w: {"report_id": w.ekg.pk},
    "fhir:read_observation": lambda w: {
        "observation_id": w.encounter.vital_signs.get().observations.first().pk
    },
    "fhir:read_service_request": lambda w: {"request_id": w.lab.order.items.get().pk},
    "fhir:read_specimen": lambda w: {"specimen_id": w.lab.specimen.pk},
    "fhir:read_immunization": lambda w: {"immunization_id": w.meds.dose.pk},
    # (a vaccine given is an Immunization; a home's dose record is a MedicationAdministration)
    "fhir:read_medication_administration": lambda w: {
        "administration_id": f"emar-{w.emar.dose.pk}"
    },
    "fhir:read_medication_request": lambda w: {"request_id": w.meds.order.pk},
    "fhir:read_claim": lambda w: {"claim_id": w.billing.claim.pk},
    "fhir:read_claim_response": lambda w: {"response_id": w.payment.pk},
    "fhir:read_explanation_of_benefit": lambda w: {"eob_id": w.billing.claim.pk},
    "fhir:read_document_reference": lambda w: {"document_id": w.documents.document.pk},
    "fhir:read_binary": lambda w: {"binary_id": w.documents.document.pk},
    "fhir:read_procedure": lambda w: {"procedure_id": w.procedures.procedure.pk},
    "fhir:read_consent": lambda w: {"consent_id": w.procedures.consent.pk},
}
