from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from carebench.encounters import services
from carebench.encounters.models import Alert, Observation, RoomingItem
from carebench.encounters.vitals import VitalsEntry
from carebench.scheduling import services as sched
from carebench.scheduling.models import Status
from carebench.testing import actor_for, make_patient, make_schedule, next_weekday_at


@pytest.fixture
def visit(frontdesk, mat):
    setup = make_schedule(frontdesk)
    patient = make_patient(frontdesk, birth_date=date(1960, 2, 3))
    appt = sched.book_appointment(
        actor=setup.actor,
        request=sched.BookingRequest(
            patient=patient,
            provider=setup.provider,
            appointment_type=setup.visit,
            start=next_weekday_at(9),
            facility=setup.facility,
        ),
    )
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ARRIVED)
    return appt.encounter


def test_full_vitals_set_becomes_coded_observations(visit, mat):
    entry = VitalsEntry(
        systolic=D(128),
        diastolic=D(82),
        bp_position="sitting",
        bp_arm="left",
        bp_cuff_size="adult",
        heart_rate=D(72),
        respiratory_rate=D(16),
        temperature=D("98.6"),
        temperature_unit="F",
        temperature_route="oral",
        spo2=D(97),
        height_unit="ft_in",
        height_feet=D(5),
        height_inches=D(6),
        weight=D(170),
        weight_unit="lb",
        pain=2,
    )
    vitals = services.record_vitals(
        actor=actor_for(mat), patient=visit.patient, entry=entry, encounter=visit
    )
    codes = dict(Observation.objects.filter(vital_signs=vitals).values_list("code", "unit"))
    assert codes == {
        "85354-9": "mm[Hg]",
        "8867-4": "/min",
        "9279-1": "/min",
        "8310-5": "Cel",
        "59408-5": "%",
        "8302-2": "cm",
        "29463-7": "kg",
        "39156-5": "kg/m2",
        "72514-3": "{score}",
    }
    bp = Observation.objects.get(vital_signs=vitals, code="85354-9")
    assert (bp.value, bp.value2, bp.flag) == (D(128), D(82), "high")
    assert vitals.bp_category == "stage1"
    assert RoomingItem.objects.filter(encounter=visit, item="vitals").exists()


def test_severe_bp_raises_alert_for_the_provider_and_recheck(visit, mat):
    vitals = services.record_vitals(
        actor=actor_for(mat),
        patient=visit.patient,
        encounter=visit,
        entry=VitalsEntry(systolic=D(192), diastolic=D(124)),
    )
    assert vitals.critical and vitals.recheck_due_at is not None
    alert = Alert.objects.get(encounter=visit)
    assert "recheck in 5 minutes" in alert.message


def test_impossible_values_write_nothing(visit, mat):
    with pytest.raises(ValidationError) as err:
        services.record_vitals(
            actor=actor_for(mat),
            patient=visit.patient,
            encounter=visit,
            entry=VitalsEntry(heart_rate=D(72), temperature=D(10)),
        )
    assert "temperature" in err.value.message_dict
    assert Observation.objects.count() == 0


def test_empty_set_is_refused(visit, mat):
    with pytest.raises(ValidationError):
        services.record_vitals(
            actor=actor_for(mat), patient=visit.patient, encounter=visit, entry=VitalsEntry()
        )


def test_phq2_score_is_checked_and_interpreted(visit, mat):
    item = services.complete_rooming_item(
        actor=actor_for(mat), encounter=visit, item="phq2", score=4
    )
    assert item.result.startswith("positive")
    with pytest.raises(ValidationError):
        services.complete_rooming_item(actor=actor_for(mat), encounter=visit, item="phq2", score=9)


def test_chief_complaint_is_audited(visit, mat):
    services.set_chief_complaint(actor=actor_for(mat), encounter=visit, text="cough for 3 days")
    visit.refresh_from_db()
    assert visit.chief_complaint == "cough for 3 days"


def test_vitals_for_other_org_patient_refused(visit, other_mat):
    with pytest.raises(PermissionError):
        services.record_vitals(
            actor=actor_for(other_mat), patient=visit.patient, entry=VitalsEntry(heart_rate=D(70))
        )
