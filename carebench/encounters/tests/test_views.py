"""The rooming page and vitals history: checklist, screens, vitals (422 on impossible values,
nothing written; abnormal flagged in words), the severe-BP banner and alert, acknowledging,
permissions, organization scoping (404) and query counts."""

from datetime import timedelta

import pytest
from django.urls import reverse

from carebench.audit.models import AuditEvent
from carebench.conftest import signed_in
from carebench.core import clock
from carebench.encounters import services as enc
from carebench.encounters.models import Alert, Encounter, Observation, RoomingItem, VitalSigns
from carebench.encounters.vitals import VitalsEntry
from carebench.patients import services as patient_services
from carebench.scheduling import services as sched
from carebench.scheduling.models import Appointment, Provider, Status
from carebench.testing import (
    UserFactory,
    actor_for,
    make_patient,
    make_schedule,
    next_weekday_at,
)


@pytest.fixture
def visit(frontdesk):
    """A visit checked in and roomed today; returns its encounter."""
    setup = make_schedule(frontdesk)
    patient = make_patient(frontdesk, family_name="Adeyemi", given_name="Tolu")
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
    start = clock.now() - timedelta(minutes=5)
    Appointment.objects.filter(pk=appt.pk).update(start=start, end=start + timedelta(minutes=30))
    appt.refresh_from_db()
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ARRIVED)
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ROOMED, room=setup.room)
    encounter = Encounter.objects.get(appointment=appt)
    encounter.setup = setup
    return encounter


def url(name, encounter, *args):
    return reverse(f"encounters:{name}", args=[encounter.pk, *args])


VITALS = {
    "systolic": "128",
    "diastolic": "82",
    "bp_position": "sitting",
    "bp_arm": "left",
    "bp_cuff_size": "adult",
    "heart_rate": "72",
    "respiratory_rate": "16",
    "temperature": "98.6",
    "temperature_unit": "F",
    "temperature_route": "oral",
    "spo2": "98",
    "height_feet": "5",
    "height_inches": "7",
    "weight": "170",
    "weight_unit": "lb",
    "pain": "2",
}


def test_rooming_page_shows_banner_checklist_and_forms(visit, mat):
    html = signed_in(mat).get(url("encounter", visit)).content.decode()
    assert 'id="patient-banner"' in html and "Adeyemi, Tolu" in html
    assert "Allergies not recorded" in html
    for label in (
        "Vital signs taken",
        "Allergies reviewed",
        "Medication list reconciled",
        "History updated",
        "Depression screen (PHQ-2)",
        "Fall-risk screen",
    ):
        assert label in html
    assert "Little interest or pleasure in doing things" in html
    assert "Has fallen in the past year" in html
    assert 'name="systolic"' in html and 'name="height_feet"' in html and "data-bmi-output" in html
    assert 'name="head_circumference"' not in html  # an adult
    assert "Ready for provider" in html
    assert f"/patients/{visit.patient_id}/#section-medications" in html
    assert AuditEvent.objects.filter(
        action="view", resource_type="Encounter", patient_id=visit.patient_id
    ).exists()


def test_head_circumference_for_infants(frontdesk, mat):
    baby = make_patient(frontdesk, birth_date=clock.today() - timedelta(days=200))
    encounter = enc.open_walk_in(actor=actor_for(mat), patient=baby)
    client = signed_in(mat)
    assert 'name="head_circumference"' in client.get(url("encounter", encounter)).content.decode()
    response = client.post(
        url("record_vitals", encounter),
        {
            "head_circumference": "43",
            "head_circumference_unit": "cm",
            "temperature_unit": "C",
            "weight_unit": "kg",
            "weight": "7.4",
        },
    )
    assert response.status_code == 302
    assert Observation.objects.filter(patient=baby, code="9843-4").exists()


def test_vitals_saved_converted_and_bmi_computed(visit, mat):
    client = signed_in(mat)
    response = client.post(url("record_vitals", visit), VITALS)
    assert response.status_code == 302
    vital_set = VitalSigns.objects.get(encounter=visit)
    by_name = {o.name: o for o in vital_set.observations.all()}
    assert by_name["temperature"].value == 37
    assert round(float(by_name["weight"].value), 1) == 77.1
    assert round(float(by_name["height"].value), 1) == 170.2
    assert round(float(by_name["bmi"].value), 1) == 26.6
    assert vital_set.bp_cuff_size == "adult" and vital_set.bp_arm == "left"
    html = client.get(url("encounter", visit)).content.decode()
    assert "128/82 mmHg" in html and "37 °C (98.6 °F)" in html
    assert "Hypertension stage 1" in html and 'class="flag-text">High<' in html
    assert "26.6 kg/m²" in html and "Overweight" in html
    assert RoomingItem.objects.filter(encounter=visit, item="vitals").exists()


def test_impossible_vitals_are_422_on_the_field_and_nothing_is_written(visit, mat):
    client = signed_in(mat)
    response = client.post(
        url("record_vitals", visit),
        VITALS | {"systolic": "380", "temperature": "130", "spo2": "104"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_systolic_error"' in html and "is not possible" in html
    assert 'id="id_temperature_error"' in html and 'id="id_spo2_error"' in html
    assert 'value="380"' in html  # what was typed is kept
    assert not VitalSigns.objects.exists() and not Observation.objects.exists()
    response = client.post(
        url("record_vitals", visit), VITALS | {"systolic": "70", "diastolic": "90"}
    )
    assert response.status_code == 422
    assert "swapped" in response.content.decode()
    response = client.post(
        url("record_vitals", visit), {"temperature_unit": "F", "weight_unit": "lb"}
    )
    assert response.status_code == 422 and "at least one vital sign" in response.content.decode()
    response = client.post(url("record_vitals", visit), VITALS | {"height": "170"})
    assert response.status_code == 422 and "not both" in response.content.decode()
    assert not VitalSigns.objects.exists()


def test_severe_bp_banner_alert_and_board(visit, mat, provider):
    Provider.objects.filter(pk=visit.provider_id).update(user=provider)
    client = signed_in(mat)
    response = client.post(
        url("record_vitals", visit), VITALS | {"systolic": "192", "diastolic": "124"}
    )
    assert response.status_code == 302
    html = client.get(url("encounter", visit)).content.decode()
    assert "Recheck in 5 minutes — provider alerted" in html
    assert "Critical high" in html and "Severe hypertension" in html
    alert = Alert.objects.get(encounter=visit)
    assert alert.recipient == provider
    board = client.get(reverse("scheduling:board")).content.decode()
    assert "Severe blood pressure 192/124" in board and "alert-badge" in board
    assert "Acknowledge" not in board  # the MAT cannot acknowledge
    provider_client = signed_in(provider)
    board = provider_client.get(reverse("scheduling:board")).content.decode()
    assert "Acknowledge" in board and "for you" in board
    response = provider_client.post(
        reverse("encounters:acknowledge", args=[alert.pk]), {"next": reverse("scheduling:board")}
    )
    assert response.status_code == 302 and response.url == reverse("scheduling:board")
    alert.refresh_from_db()
    assert alert.acknowledged_by == provider
    board = provider_client.get(reverse("scheduling:board")).content.decode()
    assert "Severe blood pressure" not in board


def test_mat_cannot_acknowledge_alert(visit, mat):
    enc.record_vitals(
        actor=actor_for(mat),
        patient=visit.patient,
        encounter=visit,
        entry=VitalsEntry(systolic=195, diastolic=125),
    )
    alert = Alert.objects.get()
    response = signed_in(mat).post(reverse("encounters:acknowledge", args=[alert.pk]))
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_acknowledge_ignores_offsite_next(visit, mat, provider):
    enc.record_vitals(
        actor=actor_for(mat),
        patient=visit.patient,
        encounter=visit,
        entry=VitalsEntry(systolic=195, diastolic=125),
    )
    alert = Alert.objects.get()
    response = signed_in(provider).post(
        reverse("encounters:acknowledge", args=[alert.pk]), {"next": "https://evil.example/"}
    )
    assert response.url == url("encounter", visit)


def test_chief_complaint_and_checklist_items(visit, mat):
    client = signed_in(mat)
    assert client.post(url("chief_complaint", visit), {"chief_complaint": " "}).status_code == 422
    response = client.post(
        url("chief_complaint", visit), {"chief_complaint": "cough for three days"}
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.chief_complaint == "cough for three days"
    assert client.post(url("rooming_item", visit, "allergies")).status_code == 302
    assert (
        client.post(
            url("rooming_item", visit, "phq2"), {"phq2-interest": "2", "phq2-down": "1"}
        ).status_code
        == 302
    )
    assert (
        client.post(
            url("rooming_item", visit, "fall_risk"),
            {"fall-fallen": "yes", "fall-unsteady": "no", "fall-worries": "no"},
        ).status_code
        == 302
    )
    response = client.post(url("rooming_item", visit, "phq2"), {"phq2-interest": "2"})
    assert response.status_code == 422
    items = {i.item: i for i in RoomingItem.objects.filter(encounter=visit)}
    assert items["phq2"].score == 3 and items["phq2"].result.startswith("positive")
    assert items["fall_risk"].score == 1 and "has fallen" in items["fall_risk"].result
    html = client.get(url("encounter", visit)).content.decode()
    assert "score 3" in html and "positive: full PHQ-9 advised" in html
    assert f"by {mat.display_name}" in html
    assert client.post(url("rooming_item", visit, "bogus")).status_code == 404


def test_ready_for_provider_moves_the_visit(visit, mat):
    response = signed_in(mat).post(url("ready", visit))
    assert response.status_code == 302 and reverse("scheduling:board") in response.url
    visit.appointment.refresh_from_db()
    assert visit.appointment.status == Status.READY


def test_medtech_cannot_room_and_frontdesk_cannot_enter_vitals(visit, medtech, frontdesk):
    client = signed_in(medtech)
    assert client.get(url("encounter", visit)).status_code == 403
    assert client.post(url("record_vitals", visit), VITALS).status_code == 403
    assert client.post(url("rooming_item", visit, "allergies")).status_code == 403
    desk = signed_in(frontdesk)
    assert desk.get(url("encounter", visit)).status_code == 200
    assert desk.post(url("record_vitals", visit), VITALS).status_code == 403
    assert (
        desk.get(reverse("encounters:vitals_history", args=[visit.patient_id])).status_code == 403
    )
    assert not VitalSigns.objects.exists()


def test_other_organizations_encounter_is_404_everywhere(visit, mat, other_mat):
    enc.record_vitals(
        actor=actor_for(mat),
        patient=visit.patient,
        encounter=visit,
        entry=VitalsEntry(systolic=195, diastolic=125),
    )
    alert = Alert.objects.get()
    client = signed_in(other_mat)
    assert client.get(url("encounter", visit)).status_code == 404
    assert (
        client.get(reverse("encounters:vitals_history", args=[visit.patient_id])).status_code == 404
    )
    posts = [
        url("chief_complaint", visit),
        url("rooming_item", visit, "allergies"),
        url("record_vitals", visit),
        url("ready", visit),
        reverse("encounters:walk_in", args=[visit.patient_id]),
    ]
    for target in posts:
        assert client.post(target, VITALS | {"chief_complaint": "x"}).status_code == 404, target
    doctor = UserFactory(organization=other_mat.organization, roles=["provider"])
    client = signed_in(doctor)
    assert client.post(reverse("encounters:acknowledge", args=[alert.pk])).status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    assert VitalSigns.objects.count() == 1


def test_encounter_page_query_count(visit, mat, django_assert_max_num_queries):
    actor = actor_for(mat)
    for i in range(4):
        patient_services.add_allergy(actor=actor, patient=visit.patient, substance=f"Drug {i}")
        patient_services.add_medication(
            actor=actor, patient=visit.patient, medication=f"Med {i} 10 mg tab"
        )
        enc.record_vitals(
            actor=actor,
            patient=visit.patient,
            encounter=visit,
            entry=VitalsEntry(systolic=120 + i, diastolic=80, heart_rate=70),
        )
        enc.complete_rooming_item(actor=actor, encounter=visit, item="history")
    client = signed_in(mat)
    client.get(url("encounter", visit))
    # 8 for session, user and permissions; the encounter with its checklist, vitals,
    # observations and alerts; the chart's lists for the banner; the audit event; the session.
    with django_assert_max_num_queries(28):
        response = client.get(url("encounter", visit))
    assert response.content.decode().count('class="vital-set') == 4


def test_vitals_history_table_and_trend_charts(visit, mat, django_assert_max_num_queries):
    actor = actor_for(mat)
    for systolic in (118, 134, 150):
        enc.record_vitals(
            actor=actor,
            patient=visit.patient,
            encounter=visit,
            entry=VitalsEntry(
                systolic=systolic, diastolic=78, heart_rate=64, weight=80, height=175
            ),
        )
    client = signed_in(mat)
    target = reverse("encounters:vitals_history", args=[visit.patient_id])
    client.get(target)
    with django_assert_max_num_queries(36):
        response = client.get(target)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<svg") == 8 and "Blood pressure trend" in html
    assert "150/78 mmHg" in html and "Hypertension stage 2" not in html  # category is on the set
    assert 'class="flag-text">High<' in html
    assert "<script" not in html.split("<main", 1)[1]


def test_walk_in_opens_an_encounter(mat):
    patient = make_patient(mat)
    client = signed_in(mat)
    chart = client.get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert "Walk-in visit" in chart and "Visits &amp; vitals" in chart
    response = client.post(reverse("encounters:walk_in", args=[patient.pk]))
    encounter = Encounter.objects.get(patient=patient)
    assert response.status_code == 302 and response.url == url("encounter", encounter)
    html = client.get(response.url).content.decode()
    assert "walk-in" in html and "Ready for provider" not in html


def test_closed_visit_hides_the_forms(visit, mat):
    Encounter.objects.filter(pk=visit.pk).update(status="finished", ended_at=clock.now())
    html = signed_in(mat).get(url("encounter", visit)).content.decode()
    assert 'name="systolic"' not in html and "visit closed" in html
