"""The scope check where each module documents a task: a refusal writes nothing but the audit
event."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from carebench.audit.models import Action, AuditEvent
from carebench.core import clock
from carebench.testing import (
    NO_TO_ALL,
    actor_for,
    make_home,
    make_patient,
    make_schedule,
    make_vaccine_clinic,
)

from .factories import install_examples, make_credential


def _refused(caught: pytest.ExceptionInfo[ValidationError], task: str) -> str:
    message = caught.value.message_dict["scope"][0]
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, detail__contains=task).exists()
    return message


def test_an_expired_ccma_blocks_a_flu_shot(mat, provider, manager):
    from carebench.meds import services as meds
    from carebench.meds.models import Administration, StockLot

    clinic = make_vaccine_clinic(mat, provider)
    patient = make_patient(mat)
    order = meds.start_standing_order(
        actor=clinic.actor,
        protocol=clinic.standing,
        patient=patient,
        product=clinic.flu,
        answers=NO_TO_ALL,
    )
    install_examples(manager)
    make_credential(mat, "CCMA", expires_on=clock.today() - timedelta(days=3))
    with pytest.raises(ValidationError) as caught:
        meds.administer(
            actor=clinic.actor,
            order=order,
            patient_check=meds.PatientCheck(scanned=patient.mrn),
            lot=clinic.good_lot,
            dose_amount=Decimal("0.5"),
            dose_unit="mL",
            route="C28161",
            site="LD",
            eligibility="V01",
            vis_given_on=clock.today(),
        )
    assert "Immunization at" in _refused(caught, "immunization")
    assert not Administration.objects.exists()
    assert StockLot.objects.get(pk=clinic.good_lot.pk).doses_on_hand == 10


def _lab_specimen(mat, provider_user):
    from carebench.labs import services as labs
    from carebench.labs.models import LabTest

    setup = make_schedule(provider_user)
    actor = actor_for(mat)
    patient = make_patient(mat)
    labs.load_catalog_csv(
        actor=actor,
        text="code,name,loinc,specimen_type,container,min_volume_ml,fasting,performed\n"
        "CBC,CBC,58410-2,whole blood,lavender,1,no,Reference lab\n",
    )
    order = labs.place_order(
        actor=actor,
        patient=patient,
        provider=setup.provider,
        tests=list(LabTest.objects.for_org(actor.organization)),
        basis="standing",
        diagnosis_codes=["I10"],
    )
    return labs.create_specimens(actor=actor, order=order)[0]


def test_a_venipuncture_without_a_credential_is_refused(mat, provider, manager, icd10):
    from carebench.labs import services as labs
    from carebench.labs.models import Specimen

    specimen = _lab_specimen(mat, provider)
    install_examples(manager)
    with pytest.raises(ValidationError) as caught:
        labs.collect_specimen(actor=actor_for(mat), specimen=specimen, site="left antecubital")
    assert "Venipuncture at" in _refused(caught, "venipuncture")
    assert Specimen.objects.get(pk=specimen.pk).collected_at is None


def test_an_ekg_without_a_credential_is_refused(mat, manager):
    from carebench.ekg import services as ekg
    from carebench.ekg.models import EkgRecording
    from carebench.ekg.tests.helpers import synthetic_csv

    patient = make_patient(mat)
    install_examples(manager)
    with pytest.raises(ValidationError) as caught:
        ekg.attach_ekg(
            actor=actor_for(mat), patient=patient, filename="ekg.csv", data=synthetic_csv()
        )
    assert "EKG at" in _refused(caught, "ekg")
    assert not EkgRecording.objects.exists()


def test_vitals_refused_by_a_clinic_rule(mat, manager):
    from carebench.encounters import services as enc
    from carebench.encounters.models import VitalSigns
    from carebench.encounters.vitals import VitalsEntry
    from carebench.staff import services as staff

    patient = make_patient(mat)
    staff.add_scope_rule(actor=actor_for(manager), task="vitals", roles=["nurse"])
    with pytest.raises(ValidationError) as caught:
        enc.record_vitals(
            actor=actor_for(mat),
            patient=patient,
            entry=VitalsEntry(systolic=Decimal(120), diastolic=Decimal(80)),
        )
    assert "Vital signs at" in _refused(caught, "vitals")
    assert not VitalSigns.objects.exists()


def test_a_med_pass_needs_the_state_certificate(nurse, medtech, manager):
    from carebench.meds import emar_services as emar
    from carebench.meds.emar_models import DoseRecord

    home = make_home(nurse, medtech)
    install_examples(manager)
    yesterday = clock.today(home.home.time_zone) - timedelta(days=1)
    at = datetime.combine(yesterday, time(8), tzinfo=ZoneInfo(home.home.time_zone))
    with clock.frozen(at), pytest.raises(ValidationError) as caught:
        emar.record_dose(
            actor=home.medtech, order=home.lisinopril, outcome="given", scheduled_at=at
        )
    message = _refused(caught, "med_pass")
    assert "Med pass at Maple House (TX): needs a current MED-ADMIN credential" in message
    assert not DoseRecord.objects.exists()
    make_credential(medtech, "MED-ADMIN", expires_on=date(2099, 1, 1))
    with clock.frozen(at):
        dose = emar.record_dose(
            actor=home.medtech, order=home.lisinopril, outcome="given", scheduled_at=at
        )
    assert dose.outcome == "given"
