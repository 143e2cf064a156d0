"""Meds data for the FHIR medication tests: a vaccine clinic, a patient, doses given, refused and
reported, and an injectable (ketorolac) with a lot on the shelf."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from carebench.core import clock
from carebench.meds import services
from carebench.meds.models import Administration, MedicationOrder
from carebench.terminology.models import VaccineCode
from carebench.testing import NO_TO_ALL, actor_for, make_patient, make_vaccine_clinic

KETOROLAC_NDC = "0409-3795-01"


@pytest.fixture
def clinic(mat: Any, provider: Any) -> SimpleNamespace:
    """`make_vaccine_clinic` plus a patient, the MAT's and the provider's actors."""
    found = make_vaccine_clinic(mat, provider)
    found.patient = make_patient(mat)
    found.mat = found.actor
    found.doc = actor_for(provider)
    return found


def standing_flu_order(clinic: SimpleNamespace, patient: Any = None) -> MedicationOrder:
    return services.start_standing_order(
        actor=clinic.mat,
        protocol=clinic.standing,
        patient=patient or clinic.patient,
        product=clinic.flu,
        answers=NO_TO_ALL,
    )


def give_flu(clinic: SimpleNamespace, patient: Any = None, **kw: Any) -> Administration:
    """A flu shot given under the standing order, left deltoid, not VFC eligible."""
    order = standing_flu_order(clinic, patient)
    options: dict[str, Any] = {
        "actor": clinic.mat,
        "order": order,
        "patient_check": services.PatientCheck(scanned=order.patient.mrn),
        "lot": clinic.good_lot,
        "dose_amount": Decimal("0.5"),
        "dose_unit": "mL",
        "route": "C28161",
        "site": "LD",
        "eligibility": "V01",
        "vis_given_on": clock.today(),
    }
    options.update(kw)
    return services.administer(**options)


def refuse_flu(clinic: SimpleNamespace, reason: str = "03") -> Administration:
    order = standing_flu_order(clinic)
    return services.record_refusal(
        actor=clinic.mat, patient=clinic.patient, reason=reason, order=order
    )


def historical(clinic: SimpleNamespace, cvx: str = "115", days_ago: int = 400) -> Administration:
    return services.record_historical(
        actor=clinic.mat,
        patient=clinic.patient,
        vaccine_code=VaccineCode.objects.get(cvx=cvx),
        given_on=clock.today() - timedelta(days=days_ago),
        source="02",
        lot_number="ab123",
    )


def ketorolac(clinic: SimpleNamespace) -> SimpleNamespace:
    """An injectable product with a lot in the fridge."""
    product = services.add_product(
        actor=clinic.mat,
        kind="injectable",
        name="Ketorolac 30 mg/mL",
        ndc=KETOROLAC_NDC,
        dose_amount=Decimal("30"),
        dose_unit="mg",
        route="C28161",
        strength="30 mg/mL",
        billing_code="J1885",
    )
    lot = services.receive_stock(
        actor=clinic.mat,
        product=product,
        lot_number="KT100",
        expires_on=clock.today() + timedelta(days=300),
        ndc=KETOROLAC_NDC,
        funding="private",
        storage_unit=clinic.fridge,
        doses=5,
    )
    return SimpleNamespace(product=product, lot=lot)


def order_ketorolac(clinic: SimpleNamespace, drug: SimpleNamespace, **kw: Any) -> MedicationOrder:
    return services.order_medication(
        actor=clinic.doc,
        patient=kw.pop("patient", clinic.patient),
        product=drug.product,
        provider=clinic.provider,
        instructions=kw.pop("instructions", "For pain. No NSAIDs for 6 hours."),
        **kw,
    )


def give_ketorolac(clinic: SimpleNamespace, drug: SimpleNamespace, **kw: Any) -> Administration:
    order = order_ketorolac(clinic, drug, **kw)
    return services.administer(
        actor=clinic.mat,
        order=order,
        patient_check=services.PatientCheck(scanned=order.patient.mrn),
        lot=drug.lot,
        dose_amount=Decimal("30"),
        dose_unit="mg",
        route="C28161",
        site="RG",
    )
