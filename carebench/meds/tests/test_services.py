"""Giving doses with the five rights, standing orders and co-signature, stock by lot, refusals,
history, reactions and voiding, and the VXU each queues."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from carebench.audit.models import AuditEvent
from carebench.core import clock
from carebench.labs.models import Hl7Message
from carebench.meds import services
from carebench.meds.models import Administration, MedicationOrder, StockLot, StockMovement
from carebench.meds.tests.vxu_helpers import vxu_errors
from carebench.patients import services as patient_services
from carebench.terminology.models import VaccineCode
from carebench.testing import NO_TO_ALL, actor_for, make_patient, make_vaccine_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(mat: Any, provider: Any) -> SimpleNamespace:
    setup = make_vaccine_clinic(mat, provider)
    setup.mat = actor_for(mat)
    setup.doctor = actor_for(provider)
    setup.patient = make_patient(
        mat, given_name="Maria", family_name="Lopez", birth_date=date(1970, 3, 4)
    )
    return setup


def _standing(clinic: SimpleNamespace, **kw: Any) -> MedicationOrder:
    options: dict[str, Any] = {
        "actor": clinic.mat,
        "protocol": clinic.standing,
        "patient": clinic.patient,
        "product": clinic.flu,
        "answers": NO_TO_ALL,
    }
    options.update(kw)
    return services.start_standing_order(**options)


def _give(clinic: SimpleNamespace, order: MedicationOrder, **kw: Any) -> Administration:
    options: dict[str, Any] = {
        "actor": clinic.mat,
        "order": order,
        "patient_check": services.PatientCheck(scanned=clinic.patient.mrn),
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


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


def _on_hand(lot: StockLot) -> int:
    lot.refresh_from_db()
    return lot.doses_on_hand


# --- giving -------------------------------------------------------------------------------------


def test_a_dose_given_under_the_standing_order_takes_one_dose_from_the_lot(clinic: Any) -> None:
    dose = _give(clinic, _standing(clinic))
    assert dose.kind == Administration.Kind.GIVEN
    assert _on_hand(clinic.good_lot) == 9
    movement = StockMovement.objects.get(administration=dose)
    assert (movement.kind, movement.doses, movement.balance) == ("administered", -1, 9)


def test_a_given_dose_records_lot_expiry_manufacturer_vis_and_who(clinic: Any, mat: Any) -> None:
    dose = _give(clinic, _standing(clinic))
    assert dose.lot_number == "FL7Y2"
    assert dose.expires_on == clinic.good_lot.expires_on
    assert dose.manufacturer is not None and dose.manufacturer.mvx == "SKB"
    assert dose.vaccine_code is not None and dose.vaccine_code.cvx == "140"
    assert dose.vis_edition_date == date(2023, 8, 6)
    assert dose.given_by == mat
    assert dose.observation_minutes == 15
    assert dose.patient_check.startswith("scanned")


def test_giving_completes_the_order(clinic: Any) -> None:
    order = _standing(clinic)
    _give(clinic, order)
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.COMPLETED


def test_a_given_vaccine_queues_a_vxu_that_hl7apy_accepts(clinic: Any) -> None:
    dose = _give(clinic, _standing(clinic))
    message = Hl7Message.objects.get(registry_entry__administration=dose)
    assert message.message_type == "VXU^V04"
    assert message.status == Hl7Message.Status.QUEUED
    assert "|FL7Y2|" in message.raw
    assert vxu_errors(message.raw) == []


def test_an_expired_lot_is_refused_and_nothing_is_written(clinic: Any) -> None:
    order = _standing(clinic)
    with pytest.raises(ValidationError) as exc:
        _give(clinic, order, lot=clinic.expired_lot)
    assert "expired" in " ".join(_errors(exc)["lot"])
    assert _on_hand(clinic.expired_lot) == 5
    assert not Administration.objects.exists()
    assert not Hl7Message.objects.exists()
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.ACTIVE


def test_a_quarantined_lot_is_refused(clinic: Any) -> None:
    services.set_lot_status(
        actor=clinic.mat, lot=clinic.good_lot, status="quarantined", reason="fridge at 11 °C"
    )
    with pytest.raises(ValidationError) as exc:
        _give(clinic, _standing(clinic))
    assert "quarantined (fridge at 11 °C)" in " ".join(_errors(exc)["lot"])


def test_a_wrong_route_is_refused(clinic: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        _give(clinic, _standing(clinic), route="C38299")
    assert "wrong route" in _errors(exc)["route"][0]


def test_a_wrong_dose_is_refused(clinic: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        _give(clinic, _standing(clinic), dose_amount=Decimal("0.25"))
    assert "wrong dose: the order is 0.5 mL, not 0.25 mL" in _errors(exc)["dose_amount"][0]


def test_a_lot_of_another_drug_is_refused(clinic: Any) -> None:
    tdap_lot = services.receive_stock(
        actor=clinic.mat,
        product=clinic.tdap,
        lot_number="TD44",
        expires_on=clock.today() + timedelta(days=100),
        ndc="58160-0842-52",
        funding="private",
        storage_unit=clinic.fridge,
        doses=3,
    )
    with pytest.raises(ValidationError) as exc:
        _give(clinic, _standing(clinic), lot=tdap_lot)
    assert "wrong drug" in _errors(exc)["lot"][0]


def test_the_wrong_patient_scan_is_refused(clinic: Any, mat: Any) -> None:
    other = make_patient(mat, given_name="Ana", family_name="Lopez")
    with pytest.raises(ValidationError) as exc:
        _give(clinic, _standing(clinic), patient_check=services.PatientCheck(scanned=other.mrn))
    assert "wrong patient" in _errors(exc)["patient"][0]


def test_two_identifiers_name_and_birth_date_identify_the_patient(clinic: Any) -> None:
    check = services.PatientCheck(name="maria lopez", birth_date=date(1970, 3, 4))
    dose = _give(clinic, _standing(clinic), patient_check=check)
    assert dose.patient_check == "name and date of birth"


def test_a_wrong_birth_date_is_refused(clinic: Any) -> None:
    check = services.PatientCheck(name="Maria Lopez", birth_date=date(1970, 4, 3))
    with pytest.raises(ValidationError) as exc:
        _give(clinic, _standing(clinic), patient_check=check)
    assert "patient" in _errors(exc)


def test_an_order_is_given_once(clinic: Any) -> None:
    order = _standing(clinic)
    _give(clinic, order)
    with pytest.raises(ValidationError) as exc:
        _give(clinic, order)
    assert "not active" in _errors(exc)["order"][0]
    assert _on_hand(clinic.good_lot) == 9


def test_publicly_funded_stock_is_refused_for_a_patient_not_eligible(clinic: Any) -> None:
    vfc = services.receive_stock(
        actor=clinic.mat,
        product=clinic.flu,
        lot_number="FL7Y2",
        expires_on=clinic.good_lot.expires_on,
        ndc="58160-0919-52",
        funding="vfc",
        storage_unit=clinic.fridge,
        doses=10,
    )
    with pytest.raises(ValidationError) as exc:
        _give(clinic, _standing(clinic), lot=vfc, eligibility="V01")
    assert "VFC stock" in _errors(exc)["lot"][0]


def test_a_vaccine_needs_the_vis_date_and_eligibility(clinic: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        _give(clinic, _standing(clinic), vis_given_on=None, eligibility="")
    assert {"vis_given_on", "eligibility"} <= set(_errors(exc))


def test_an_intramuscular_dose_needs_a_site(clinic: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        _give(clinic, _standing(clinic), site="")
    assert "site" in _errors(exc)


def test_an_empty_lot_is_refused(clinic: Any) -> None:
    services.adjust_stock(
        actor=clinic.mat, lot=clinic.good_lot, kind="wasted", doses=-10, reason="dropped tray"
    )
    with pytest.raises(ValidationError) as exc:
        _give(clinic, _standing(clinic))
    assert "no doses left" in _errors(exc)["lot"][0]


def test_a_dose_time_in_the_future_is_refused(clinic: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        _give(clinic, _standing(clinic), given_at=clock.now() + timedelta(hours=2))
    assert "future" in _errors(exc)["given_at"][0]


def test_another_organizations_lot_is_refused(clinic: Any, other_mat: Any) -> None:
    with pytest.raises(PermissionError):
        _give(clinic, _standing(clinic), actor=actor_for(other_mat))


def test_giving_writes_an_audit_event_on_the_patient(clinic: Any) -> None:
    dose = _give(clinic, _standing(clinic))
    event = AuditEvent.objects.get(resource_type="Administration", resource_id=str(dose.pk))
    assert event.patient_id == clinic.patient.pk
    assert json.loads(event.detail)["lot"] == "FL7Y2"


# --- standing orders ----------------------------------------------------------------------------


def test_a_yes_to_a_screening_question_sends_the_patient_to_the_provider(clinic: Any) -> None:
    answers = dict(NO_TO_ALL)
    answers["Moderate or severe illness today, with or without fever?"] = True
    with pytest.raises(ValidationError) as exc:
        _standing(clinic, answers=answers)
    assert "the provider must decide" in _errors(exc)["screening"][0]
    assert not MedicationOrder.objects.exists()


def test_an_unanswered_screening_question_is_refused(clinic: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        _standing(clinic, answers={})
    assert len(_errors(exc)["screening"]) == 3


def test_a_patient_younger_than_the_protocol_is_refused(clinic: Any, mat: Any) -> None:
    child = make_patient(mat, birth_date=clock.today() - timedelta(days=365 * 5))
    with pytest.raises(ValidationError) as exc:
        _standing(clinic, patient=child)
    assert "younger" in _errors(exc)["patient"][0]


def test_an_allergy_to_a_component_stops_the_standing_order(clinic: Any) -> None:
    patient_services.add_allergy(
        actor=clinic.mat, patient=clinic.patient, substance="Latex", reaction="hives"
    )
    with pytest.raises(ValidationError) as exc:
        _standing(clinic)
    assert "Latex (hives)" in _errors(exc)["allergy"][0]


def test_a_protocol_out_of_its_dates_is_refused(clinic: Any) -> None:
    clinic.standing.valid_until = clock.today() - timedelta(days=1)
    clinic.standing.save()
    with pytest.raises(ValidationError) as exc:
        _standing(clinic)
    assert "the provider must order it" in _errors(exc)["standing_order"][0]


def test_a_standing_order_waits_for_the_signers_cosignature(clinic: Any) -> None:
    order = _standing(clinic)
    assert order.needs_cosign
    with pytest.raises(ValidationError):
        services.cosign_order(actor=clinic.mat, order=order)
    services.cosign_order(actor=clinic.doctor, order=order)
    order.refresh_from_db()
    assert not order.needs_cosign


# --- provider orders ----------------------------------------------------------------------------


def test_a_provider_order_over_an_allergy_needs_the_review_box(clinic: Any) -> None:
    patient_services.add_allergy(actor=clinic.mat, patient=clinic.patient, substance="latex")
    options: dict[str, Any] = {
        "actor": clinic.doctor,
        "patient": clinic.patient,
        "product": clinic.flu,
        "provider": clinic.provider,
    }
    with pytest.raises(ValidationError) as exc:
        services.order_medication(**options)
    assert "allergy_reviewed" in _errors(exc)
    order = services.order_medication(**options, allergy_reviewed=True)
    assert _give(clinic, order).kind == Administration.Kind.GIVEN


def test_only_the_provider_enters_a_provider_order(clinic: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        services.order_medication(
            actor=clinic.mat, patient=clinic.patient, product=clinic.flu, provider=clinic.provider
        )
    assert "provider" in _errors(exc)


# --- refusals, history, reactions, voiding ------------------------------------------------------


def test_a_refusal_closes_the_order_and_reports_it(clinic: Any) -> None:
    order = _standing(clinic)
    dose = services.record_refusal(
        actor=clinic.mat, patient=clinic.patient, order=order, reason="03"
    )
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.REFUSED
    assert dose.kind == Administration.Kind.REFUSED
    raw = dose.registry_messages.get().message.raw
    rxa = next(line for line in raw.split("\r") if line.startswith("RXA"))
    assert rxa.split("|")[20] == "RE"
    assert _on_hand(clinic.good_lot) == 10


def test_a_dose_given_elsewhere_is_reported_as_historical(clinic: Any) -> None:
    dose = services.record_historical(
        actor=clinic.mat,
        patient=clinic.patient,
        vaccine_code=VaccineCode.objects.get(cvx="115"),
        given_on=date(2019, 6, 1),
        source="02",
    )
    raw = dose.registry_messages.get().message.raw
    rxa = next(line for line in raw.split("\r") if line.startswith("RXA"))
    assert rxa.split("|")[9].startswith("02")
    assert vxu_errors(raw) == []


def test_a_historical_dose_in_the_future_is_refused(clinic: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        services.record_historical(
            actor=clinic.mat,
            patient=clinic.patient,
            vaccine_code=VaccineCode.objects.get(cvx="115"),
            given_on=clock.today() + timedelta(days=3),
        )
    assert "given_on" in _errors(exc)


def test_a_reaction_sends_an_update_carrying_it(clinic: Any) -> None:
    dose = _give(clinic, _standing(clinic))
    services.record_reaction(
        actor=clinic.mat,
        administration=dose,
        onset_at=clock.now(),
        description="Hives on both arms",
        severity="moderate",
        code="VXC14",
    )
    update = dose.registry_messages.get(action="U").message.raw
    assert "31044-1" in update and "VXC14" in update
    assert vxu_errors(update) == []


def test_voiding_a_dose_puts_it_back_reopens_the_order_and_asks_a_delete(clinic: Any) -> None:
    order = _standing(clinic)
    dose = _give(clinic, order)
    services.void_administration(actor=clinic.doctor, administration=dose, reason="wrong chart")
    assert _on_hand(clinic.good_lot) == 10
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.ACTIVE
    delete = dose.registry_messages.get(action="D").message.raw
    rxa = next(line for line in delete.split("\r") if line.startswith("RXA"))
    assert rxa.split("|")[21] == "D"


def test_a_clinical_dose_cannot_be_deleted(clinic: Any) -> None:
    dose = _give(clinic, _standing(clinic))
    with pytest.raises(PermissionError):
        dose.delete()


# --- stock --------------------------------------------------------------------------------------


def test_receiving_the_same_lot_again_adds_doses(clinic: Any) -> None:
    lot = services.receive_stock(
        actor=clinic.mat,
        product=clinic.flu,
        lot_number="fl7y2",
        expires_on=clinic.good_lot.expires_on,
        ndc="58160-0919-52",
        funding="private",
        storage_unit=clinic.fridge,
        doses=5,
    )
    assert lot.pk == clinic.good_lot.pk
    assert (_on_hand(lot), lot.doses_received) == (15, 15)


def test_an_expired_lot_cannot_be_received(clinic: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        services.receive_stock(
            actor=clinic.mat,
            product=clinic.flu,
            lot_number="X1",
            expires_on=clock.today() - timedelta(days=1),
            ndc="58160-0919-52",
            funding="private",
            storage_unit=clinic.fridge,
            doses=5,
        )
    assert "expired" in _errors(exc)["expires_on"][0]


def test_a_badly_written_ndc_is_refused(clinic: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        services.receive_stock(
            actor=clinic.mat,
            product=clinic.flu,
            lot_number="X1",
            expires_on=clock.today() + timedelta(days=10),
            ndc="5816009195",
            funding="private",
            storage_unit=clinic.fridge,
            doses=5,
        )
    assert "dashes" in _errors(exc)["ndc"][0]


def test_wasting_more_than_on_hand_is_refused(clinic: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        services.adjust_stock(
            actor=clinic.mat, lot=clinic.good_lot, kind="wasted", doses=-11, reason="dropped"
        )
    assert "only 10 dose(s) on hand" in _errors(exc)["doses"][0]


def test_quarantine_needs_a_reason(clinic: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        services.set_lot_status(actor=clinic.mat, lot=clinic.good_lot, status="quarantined")
    assert "reason" in _errors(exc)


def test_a_scanned_gs1_code_finds_the_lot(clinic: Any) -> None:
    # NDC 58160-0919-52 (5-4-2) is 58160-919-52 (5-3-2); its GTIN-14: 0 + 03 + 5816091952 + check
    body = "003" + "5816091952"
    check = (10 - sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body)) % 10) % 10
    code = f"01{body}{check}17{clinic.good_lot.expires_on:%y%m%d}10FL7Y2"
    assert services.find_lot(clinic.mat, clinic.flu, code) == clinic.good_lot


def test_an_order_joins_the_visit_in_progress_and_the_dose_follows(clinic: Any) -> None:
    from carebench.encounters import services as visits

    visit = visits.open_walk_in(
        actor=clinic.mat, patient=clinic.patient, chief_complaint="Flu shot"
    )
    dose = _give(clinic, _standing(clinic))
    assert dose.encounter == visit
    assert dose.facility == visit.facility
