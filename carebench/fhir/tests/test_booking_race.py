"""Many clients book the same time at once over HTTP: exactly one wins, the rest get 409s.

A real server (pytest-django's `live_server`) answers 32 simultaneous POST /fhir/Appointment
from 32 threads, each request on its own database connection. On SQLite this needs the test
database to be a file (carebench/settings/test.py): with the in-memory default every
live-server thread shares one connection, which would serialize the requests and hide a race.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta

import pytest
import requests
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.operationoutcome import OperationOutcome

from carebench.core.npi import npi_check_digit
from carebench.scheduling import services as sched
from carebench.scheduling.models import Appointment
from carebench.testing import make_patient, make_schedule, next_weekday_at

from .conftest import FHIR_JSON, token_for

CLIENTS = 32
TYPE_SYSTEM = "urn:carebench:appointment-type"

# Django's server listens with a backlog of 10: 32 clients connecting at once overflow it and
# some are reset before their request is read (a test-harness limit, not the race under test).
# Raised here, at collection, before pytest-django starts its session-wide live server.
ThreadedWSGIServer.request_queue_size = max(ThreadedWSGIServer.request_queue_size, 2 * CLIENTS)


def body(patient_id, provider_id, type_id, start):
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "serviceType": [{"coding": [{"system": TYPE_SYSTEM, "code": str(type_id)}]}],
        "start": start.isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{provider_id}"}, "status": "accepted"},
        ],
    }


def fire(url, token, bodies):
    """POST every body at once (the threads wait at a barrier, then all send)."""
    barrier = threading.Barrier(len(bodies))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": FHIR_JSON}

    def post(item):
        barrier.wait(timeout=30)
        return requests.post(url, data=json.dumps(item), headers=headers, timeout=120)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


def check_one_winner(responses, clash):
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 409: len(responses) - 1}, [
        (r.status_code, r.text[:200]) for r in responses if r.status_code not in (201, 409)
    ]
    for response in responses:
        assert response.headers["Content-Type"].startswith(FHIR_JSON)
        if response.status_code == 201:
            FhirAppointment.model_validate(response.json())
        else:
            outcome = response.json()
            OperationOutcome.model_validate(outcome)
            assert outcome["issue"][0]["code"] == "conflict"
            assert clash in outcome["issue"][0]["diagnostics"]
    assert Appointment.objects.count() == 1


def _real_connections():
    if connection.vendor == "sqlite":
        assert not connection.is_in_memory_db(), "the race needs a file-based test database"


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_32_patients_race_for_one_provider_slot(live_server, mat):
    _real_connections()
    setup = make_schedule(mat)
    patients = [make_patient(mat) for _ in range(CLIENTS)]
    start = next_weekday_at(9)
    bodies = [body(p.pk, setup.provider.pk, setup.visit.pk, start) for p in patients]
    responses = fire(f"{live_server.url}/fhir/Appointment", token_for(mat), bodies)
    check_one_winner(responses, "already has an appointment")
    assert Appointment.objects.get().provider_id == setup.provider.pk


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_one_patient_races_with_32_providers(live_server, mat):
    _real_connections()
    setup = make_schedule(mat)
    providers = [setup.provider]
    for index in range(1, CLIENTS):
        first_nine = f"1{index:08d}"
        npi = first_nine + str(npi_check_digit(first_nine))
        provider = sched.create_provider(
            actor=setup.actor,
            family_name=f"Doc{index}",
            given_name="Test",
            npi=npi,
            facilities=[setup.facility],
        )
        sched.add_availability_rule(
            actor=setup.actor,
            provider=provider,
            facility=setup.facility,
            rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            start_time=time(8),
            end_time=time(17),
            starts_on=date(2026, 1, 1),
        )
        providers.append(provider)
    patient = make_patient(mat)
    start = next_weekday_at(9) + timedelta(hours=1)
    bodies = [body(patient.pk, p.pk, setup.visit.pk, start) for p in providers]
    responses = fire(f"{live_server.url}/fhir/Appointment", token_for(mat), bodies)
    check_one_winner(responses, "the patient already has an appointment")
    assert Appointment.objects.get().patient_id == patient.pk
