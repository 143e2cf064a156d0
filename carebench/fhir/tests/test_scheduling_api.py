"""Practitioner, Location, Schedule, Slot, Appointment and Encounter over the FHIR API."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.encounter import Encounter as FhirEncounter
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner
from fhir.resources.R4B.schedule import Schedule as FhirSchedule
from fhir.resources.R4B.slot import Slot as FhirSlot

from carebench.audit.models import Action, AuditEvent
from carebench.core import clock
from carebench.encounters import services as encounter_services
from carebench.patients.models import Patient
from carebench.scheduling import services as sched
from carebench.scheduling.models import Appointment, Status
from carebench.testing import actor_for, make_patient, make_schedule, next_weekday_at

from .conftest import FHIR_JSON, FhirClient, token_for

MODELS = {
    "Appointment": FhirAppointment,
    "Encounter": FhirEncounter,
    "Location": FhirLocation,
    "Practitioner": FhirPractitioner,
    "Schedule": FhirSchedule,
    "Slot": FhirSlot,
}
TYPE_SYSTEM = "urn:carebench:appointment-type"


@pytest.fixture
def setup(mat):
    return make_schedule(mat)


@pytest.fixture
def patient(mat):
    return make_patient(mat, family_name="Bookwell")


def read(fhir, resource_type, ident, status=200):
    response = fhir.get(f"/fhir/{resource_type}/{ident}")
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    if status == 200:
        MODELS[resource_type].model_validate(body)
    else:
        OperationOutcome.model_validate(body)
    return body


def search(fhir, resource_type, **params):
    response = fhir.get(f"/fhir/{resource_type}", params)
    assert response.status_code == 200, response.content
    bundle = response.json()
    Bundle.model_validate(bundle)
    for entry in bundle.get("entry", []):
        MODELS[resource_type].model_validate(entry["resource"])
    return bundle


def ids(bundle):
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def appointment_json(setup, patient, start, **overrides):
    body = {
        "resourceType": "Appointment",
        "status": "booked",
        "serviceType": [{"coding": [{"system": TYPE_SYSTEM, "code": str(setup.visit.pk)}]}],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "reasonCode": [{"text": "Blood pressure check"}],
        "participant": [
            {"actor": {"reference": f"Patient/{patient.pk}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{setup.provider.pk}"}, "status": "accepted"},
        ],
    }
    body.update(overrides)
    return body


def book(fhir, body, status=201):
    response = fhir.post("/fhir/Appointment", body)
    assert response.status_code == status, response.content
    resource = response.json()
    if status == 201:
        FhirAppointment.model_validate(resource)
        assert response["Location"].endswith(f"/fhir/Appointment/{resource['id']}")
    else:
        OperationOutcome.model_validate(resource)
    return resource


# --- Practitioner, Location, Schedule -----------------------------------------------------------


def test_practitioner_read_and_search(fhir, setup):
    provider = setup.provider
    body = read(fhir, "Practitioner", provider.pk)
    assert body["identifier"] == [
        {"system": "http://hl7.org/fhir/sid/us-npi", "value": provider.npi}
    ]
    assert body["name"][0]["family"] == "Okafor" and body["name"][0]["suffix"] == ["MD"]
    assert body["meta"]["profile"] == [
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-practitioner"
    ]
    assert ids(search(fhir, "Practitioner", name="oka")) == [str(provider.pk)]
    assert ids(
        search(fhir, "Practitioner", identifier=f"http://hl7.org/fhir/sid/us-npi|{provider.npi}")
    ) == [str(provider.pk)]
    assert search(fhir, "Practitioner", identifier="urn:other|1234567893")["total"] == 0
    read(fhir, "Practitioner", "abc", status=404)


def test_location_facilities_and_rooms(fhir, setup):
    facility, room = setup.facility, setup.room
    body = read(fhir, "Location", facility.pk)
    assert body["name"] == facility.name and body["physicalType"]["coding"][0]["code"] == "si"
    room_body = read(fhir, "Location", f"room-{room.pk}")
    assert room_body["physicalType"]["coding"][0]["code"] == "ro"
    assert room_body["partOf"]["reference"] == f"Location/{facility.pk}"
    assert room_body["operationalStatus"]["code"] == "U"
    everything = search(fhir, "Location")
    assert ids(everything) == [str(facility.pk), f"room-{room.pk}"]
    assert ids(search(fhir, "Location", partof=f"Location/{facility.pk}")) == [f"room-{room.pk}"]
    assert ids(search(fhir, "Location", _id=f"room-{room.pk}")) == [f"room-{room.pk}"]
    paged = search(fhir, "Location", _count=1, _offset=1)
    assert paged["total"] == 2 and ids(paged) == [f"room-{room.pk}"]
    read(fhir, "Location", "room-x", status=404)


def test_schedule_is_one_per_provider(fhir, setup):
    body = read(fhir, "Schedule", setup.provider.pk)
    actors = [a["reference"] for a in body["actor"]]
    assert actors == [f"Practitioner/{setup.provider.pk}", f"Location/{setup.facility.pk}"]
    assert ids(search(fhir, "Schedule", actor=f"Practitioner/{setup.provider.pk}")) == [
        str(setup.provider.pk)
    ]
    assert ids(search(fhir, "Schedule", actor=f"Location/{setup.facility.pk}")) == [
        str(setup.provider.pk)
    ]
    assert fhir.get("/fhir/Schedule", {"actor": "Group/1"}).status_code == 400


# --- Slot -----------------------------------------------------------------------------------


def test_free_slots_by_schedule_and_date(fhir, setup, patient):
    monday = next_weekday_at(9)
    day = monday.date().isoformat()
    bundle = search(fhir, "Slot", schedule=f"Schedule/{setup.provider.pk}", start=day, _count=100)
    starts = [e["resource"]["start"] for e in bundle["entry"]]
    assert bundle["total"] == 35  # 08:00 to 16:30 on a 15-minute grid (30-minute visits)
    slot = bundle["entry"][0]["resource"]
    assert slot["status"] == "free" and slot["schedule"]["reference"] == (
        f"Schedule/{setup.provider.pk}"
    )
    assert slot["serviceType"][0]["coding"][0]["code"] == str(setup.visit.pk)
    assert monday.isoformat() in starts and all(s.startswith(day) for s in starts)
    # Booking 09:00 takes away the slots that overlap it.
    book(fhir, appointment_json(setup, patient, monday))
    after = search(
        fhir,
        "Slot",
        **{
            "schedule.actor": f"Practitioner/{setup.provider.pk}",
            "start": [f"ge{day}", f"le{day}"],
            "service-type": f"{TYPE_SYSTEM}|{setup.visit.pk}",
            "_count": 100,
        },
    )
    assert after["total"] == bundle["total"] - 3
    taken = monday.astimezone(next_weekday_at(9).tzinfo)
    assert all(e["resource"]["start"] != taken.isoformat() for e in after["entry"])
    # Weekends are closed; a status other than free finds nothing.
    saturday = (monday + timedelta(days=5)).date().isoformat()
    assert search(fhir, "Slot", start=saturday)["total"] == 0
    assert search(fhir, "Slot", start=day, status="busy")["total"] == 0
    assert fhir.get("/fhir/Slot", {"start": "ge2026-01"}).status_code == 400
    assert fhir.get("/fhir/Slot", {"start": ["ge2027-01-01", "le2027-12-31"]}).status_code == 400


# --- Appointment ------------------------------------------------------------------------------


def test_book_read_search_appointment(fhir, setup, patient, mat):
    start = next_weekday_at(9)
    resource = book(fhir, appointment_json(setup, patient, start))
    assert resource["status"] == "booked"
    refs = [p["actor"]["reference"] for p in resource["participant"]]
    assert refs == [
        f"Patient/{patient.pk}",
        f"Practitioner/{setup.provider.pk}",
        f"Location/{setup.facility.pk}",
    ]
    assert resource["minutesDuration"] == 30
    assert resource["serviceType"][0]["coding"][0] == {
        "system": TYPE_SYSTEM,
        "code": str(setup.visit.pk),
        "display": setup.visit.name,
    }
    appointment = Appointment.objects.get(pk=resource["id"])
    assert (appointment.start, appointment.reason) == (start, "Blood pressure check")
    assert read(fhir, "Appointment", resource["id"])["start"] == start.isoformat()
    day = start.date().isoformat()
    for params in (
        {"patient": f"Patient/{patient.pk}"},
        {"practitioner": setup.provider.pk, "date": day},
        {"actor": f"Practitioner/{setup.provider.pk}", "status": "booked"},
        {"location": f"Location/{setup.facility.pk}"},
        {"service-type": str(setup.visit.pk)},
        {"date": f"ge{day}"},
    ):
        assert ids(search(fhir, "Appointment", **params)) == [resource["id"]], params
    assert search(fhir, "Appointment", date=f"lt{day}")["total"] == 0
    assert search(fhir, "Appointment", status="cancelled,noshow")["total"] == 0
    view = AuditEvent.objects.get(action=Action.VIEW, resource_type="Appointment")
    assert (view.patient_id, view.user_id, view.channel) == (patient.pk, mat.pk, "api")
    assert AuditEvent.objects.filter(
        action=Action.SEARCH, resource_type="Appointment", patient_id=patient.pk
    ).exists()


def test_type_by_name_or_by_duration(fhir, setup, patient):
    start = next_weekday_at(10)
    by_name = appointment_json(
        setup, patient, start, serviceType=[{"text": setup.visit.name.upper()}]
    )
    assert book(fhir, by_name)["appointmentType"]["coding"][0]["code"] == str(setup.visit.pk)
    by_duration = appointment_json(
        setup, make_patient(setup.actor.user), start + timedelta(hours=1)
    )
    del by_duration["serviceType"]
    book(fhir, by_duration)
    unknown = appointment_json(
        setup, patient, start + timedelta(hours=2), serviceType=[{"coding": [{"code": "Surgery"}]}]
    )
    issue = book(fhir, unknown, status=422)["issue"][0]
    assert issue["expression"] == ["Appointment.serviceType"]
    assert setup.visit.name in issue["diagnostics"]


def test_conflict_is_a_409_naming_the_clash(fhir, setup, patient, mat):
    start = next_weekday_at(9)
    book(fhir, appointment_json(setup, patient, start))
    other = make_patient(mat)
    outcome = book(fhir, appointment_json(setup, other, start + timedelta(minutes=15)), status=409)
    issue = outcome["issue"][0]
    assert issue["code"] == "conflict" and "already has an appointment" in issue["diagnostics"]
    assert issue["expression"] == ["Appointment.start"]
    second = make_schedule(mat, npi="1245319599")
    same_patient = appointment_json(second, patient, start)
    issue = book(fhir, same_patient, status=409)["issue"][0]
    assert "the patient already" in issue["diagnostics"]
    assert issue["expression"] == ["Appointment.participant"]
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "element"),
    [
        ({"status": "proposed"}, "Appointment.status"),
        ({"end": "later"}, None),
        ({"participant": []}, None),
    ],
)
def test_malformed_bookings(fhir, setup, patient, change, element):
    body = appointment_json(setup, patient, next_weekday_at(9), **change)
    response = fhir.post("/fhir/Appointment", body)
    assert response.status_code in (400, 422), response.content
    if element:
        assert response.json()["issue"][0]["expression"] == [element]
    assert not Appointment.objects.exists()


def test_business_rules_are_422s_naming_the_element(fhir, setup, patient, other_mat):
    start = next_weekday_at(9)
    wrong_end = appointment_json(
        setup, patient, start, end=(start + timedelta(minutes=45)).isoformat()
    )
    assert book(fhir, wrong_end, status=422)["issue"][0]["expression"] == ["Appointment.end"]
    night = appointment_json(setup, patient, next_weekday_at(20))
    issue = book(fhir, night, status=422)["issue"][0]
    assert issue["expression"] == ["Appointment.start"] and "not available" in issue["diagnostics"]
    past = appointment_json(setup, patient, start - timedelta(weeks=3))
    assert book(fhir, past, status=422)["issue"][0]["expression"] == ["Appointment.start"]
    theirs = make_patient(other_mat)
    issue = book(fhir, appointment_json(setup, theirs, start), status=422)["issue"][0]
    assert "is not known" in issue["diagnostics"]
    nobody = appointment_json(setup, patient, start)
    nobody["participant"][1]["actor"]["reference"] = "Practitioner/999999"
    assert "is not known" in book(fhir, nobody, status=422)["issue"][0]["diagnostics"]
    assert not Appointment.objects.exists()


def test_cancel_by_updating_the_status(fhir, setup, patient):
    resource = book(fhir, appointment_json(setup, patient, next_weekday_at(9)))
    url = f"/fhir/Appointment/{resource['id']}"
    no_reason = {**resource, "status": "cancelled"}
    response = fhir.put(url, no_reason)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Appointment.cancelationReason"]
    stale = fhir.put(
        url, {**no_reason, "cancelationReason": {"text": "x"}}, **{"If-Match": 'W/"0"'}
    )
    assert stale.status_code == 412
    cancelled = {
        **resource,
        "status": "cancelled",
        "cancelationReason": {"text": "Patient is travelling"},
    }
    response = fhir.put(url, cancelled, **{"If-Match": f'W/"{resource["meta"]["versionId"]}"'})
    assert response.status_code == 200, response.content
    body = response.json()
    FhirAppointment.model_validate(body)
    assert body["status"] == "cancelled"
    assert body["cancelationReason"]["text"] == "Patient is travelling"
    assert body["meta"]["versionId"] != resource["meta"]["versionId"]
    appointment = Appointment.objects.get(pk=resource["id"])
    assert (appointment.status, appointment.cancel_reason) == (
        Status.CANCELLED,
        "Patient is travelling",
    )
    # The freed slot can be booked again.
    book(fhir, appointment_json(setup, make_patient(setup.actor.user), next_weekday_at(9)))


def test_move_by_updating_the_start(fhir, setup, patient, mat):
    resource = book(fhir, appointment_json(setup, patient, next_weekday_at(9)))
    url = f"/fhir/Appointment/{resource['id']}"
    later = next_weekday_at(11)
    moved = {
        **resource,
        "start": later.isoformat(),
        "end": (later + timedelta(minutes=30)).isoformat(),
    }
    response = fhir.put(url, moved)
    assert response.status_code == 200, response.content
    assert Appointment.objects.get(pk=resource["id"]).start == later
    blocker = appointment_json(setup, make_patient(mat), next_weekday_at(14))
    book(fhir, blocker)
    clash = {**resource, "start": next_weekday_at(14).isoformat()}
    response = fhir.put(url, clash)
    assert response.status_code == 409
    assert response.json()["issue"][0]["code"] == "conflict"
    arrived = fhir.put(url, {**moved, "status": "arrived"})
    assert arrived.status_code == 422
    assert arrived.json()["issue"][0]["expression"] == ["Appointment.status"]
    other_patient = {
        **moved,
        "participant": [
            {"actor": {"reference": f"Patient/{make_patient(mat).pk}"}, "status": "accepted"}
        ],
    }
    assert fhir.put(url, other_patient).status_code == 422


def test_flow_statuses_map_to_fhir(fhir, setup, patient):
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
    assert read(fhir, "Appointment", appt.pk)["status"] == "arrived"
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ROOMED, room=setup.room)
    body = read(fhir, "Appointment", appt.pk)
    assert body["status"] == "checked-in"
    assert body["participant"][-1]["actor"]["reference"] == f"Location/room-{setup.room.pk}"
    assert ids(search(fhir, "Appointment", status="checked-in")) == [str(appt.pk)]


def test_permissions(medtech, biller, setup, patient):
    medtech_client = FhirClient(token_for(medtech))
    response = medtech_client.post(
        "/fhir/Appointment", appointment_json(setup, patient, next_weekday_at(9))
    )
    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, user_id=medtech.pk).exists()
    assert medtech_client.get("/fhir/Slot").status_code == 403
    assert medtech_client.get("/fhir/Encounter").status_code == 403
    biller_client = FhirClient(token_for(biller))
    assert biller_client.get("/fhir/Appointment").status_code == 200
    assert (
        biller_client.post(
            "/fhir/Appointment", appointment_json(setup, patient, next_weekday_at(9))
        ).status_code
        == 403
    )
    assert not Appointment.objects.exists()


def test_other_organization_sees_nothing(fhir, other_fhir, setup, patient):
    resource = book(fhir, appointment_json(setup, patient, next_weekday_at(9)))
    encounter = encounter_services.open_walk_in(actor=setup.actor, patient=patient)
    for resource_type, ident in (
        ("Appointment", resource["id"]),
        ("Practitioner", setup.provider.pk),
        ("Schedule", setup.provider.pk),
        ("Location", setup.facility.pk),
        ("Location", f"room-{setup.room.pk}"),
        ("Encounter", encounter.pk),
    ):
        read(other_fhir, resource_type, ident, status=404)
    for resource_type in ("Appointment", "Practitioner", "Schedule", "Encounter"):
        assert search(other_fhir, resource_type)["total"] == 0, resource_type
    assert str(setup.facility.pk) not in ids(search(other_fhir, "Location"))
    assert search(other_fhir, "Slot", schedule=setup.provider.pk)["total"] == 0
    # Their practitioner cannot be booked from here either.
    theirs = appointment_json(setup, patient, next_weekday_at(10))
    assert other_fhir.post("/fhir/Appointment", theirs).status_code == 422


def test_voided_patients_appointments_are_gone(fhir, setup, patient, mat):
    resource = book(fhir, appointment_json(setup, patient, next_weekday_at(9)))
    Patient.objects.filter(pk=patient.pk).update(voided_at=clock.now())
    read(fhir, "Appointment", resource["id"], status=410)
    assert search(fhir, "Appointment")["total"] == 0


# --- Encounter ---------------------------------------------------------------------------------


def test_encounter_from_check_in(fhir, setup, patient, mat):
    appt = sched.book_appointment(
        actor=setup.actor,
        request=sched.BookingRequest(
            patient=patient,
            provider=setup.provider,
            appointment_type=setup.visit,
            start=next_weekday_at(9),
            facility=setup.facility,
            reason="Cough",
        ),
    )
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ARRIVED)
    encounter = appt.encounter
    body = read(fhir, "Encounter", encounter.pk)
    assert body["meta"]["profile"] == [
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter"
    ]
    assert body["status"] == "in-progress"
    assert body["class"]["code"] == "AMB"
    assert body["type"][0]["coding"][0]["code"] == "308335008"
    assert body["type"][0]["text"] == setup.visit.name
    assert body["subject"]["reference"] == f"Patient/{patient.pk}"
    assert body["appointment"] == [{"reference": f"Appointment/{appt.pk}"}]
    assert body["participant"][0]["individual"]["reference"] == (
        f"Practitioner/{setup.provider.pk}"
    )
    assert body["reasonCode"] == [{"text": "Cough"}]
    assert "end" not in body["period"]
    walk_in = encounter_services.open_walk_in(actor=actor_for(mat), patient=patient)
    assert read(fhir, "Encounter", walk_in.pk)["type"][0]["text"] == "Walk-in visit"
    zone = ZoneInfo(walk_in.facility.time_zone)  # date searches take the clinic's days
    today = walk_in.started_at.astimezone(zone).date().isoformat()
    assert set(ids(search(fhir, "Encounter", patient=patient.pk))) == {
        str(encounter.pk),
        str(walk_in.pk),
    }
    assert ids(search(fhir, "Encounter", appointment=f"Appointment/{appt.pk}")) == [
        str(encounter.pk)
    ]
    assert ids(search(fhir, "Encounter", patient=patient.pk, practitioner=setup.provider.pk)) == [
        str(encounter.pk)
    ]
    assert search(fhir, "Encounter", patient=patient.pk, status="finished")["total"] == 0
    assert search(fhir, "Encounter", date=f"ge{today}", **{"class": "AMB"})["total"] == 2
    assert search(fhir, "Encounter", date="lt2020-01-01")["total"] == 0
    version = body["meta"]["versionId"]
    for step in (Status.ROOMED, Status.READY, Status.WITH_PROVIDER, Status.CHECKOUT, Status.DONE):
        appt = sched.advance_flow(
            actor=setup.actor,
            appointment=appt,
            to=step,
            room=setup.room if step == Status.ROOMED else None,
        )
    finished = read(fhir, "Encounter", encounter.pk)
    assert finished["status"] == "finished" and "end" in finished["period"]
    assert finished["meta"]["versionId"] != version
    assert finished["location"][-1]["location"]["reference"] == f"Location/room-{setup.room.pk}"
    assert ids(search(fhir, "Encounter", status="finished")) == [str(encounter.pk)]
    assert AuditEvent.objects.filter(
        action=Action.VIEW, resource_type="Encounter", patient_id=patient.pk
    ).exists()


def test_capability_statement_lists_the_new_resources(anonymous, db):
    body = anonymous.get("/fhir/metadata").json()
    CapabilityStatement.model_validate(body)
    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert {
        "Appointment",
        "Slot",
        "Schedule",
        "Practitioner",
        "Location",
        "Encounter",
        "Observation",
    } <= set(resources)
    assert {i["code"] for i in resources["Appointment"]["interaction"]} == {
        "read",
        "search-type",
        "create",
        "update",
    }
    assert resources["Slot"]["interaction"] == [{"code": "search-type"}]
    assert (
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure"
        in (resources["Observation"]["supportedProfile"])
    )
