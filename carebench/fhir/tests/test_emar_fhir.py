"""The eMAR over FHIR: residents' orders as MedicationRequest and their doses as
MedicationAdministration (ids `emar-<id>`); read, search by patient, date and status, merged
with the clinic's orders and doses; tenancy, permissions, audit."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from carebench.audit.models import Action, AuditEvent
from carebench.core import clock
from carebench.meds import emar_services
from carebench.meds.emar_models import DoseRecord, ResidentOrder
from carebench.testing import UserFactory, make_home

from .conftest import FhirClient, token_for
from .meds_data import clinic, give_ketorolac, ketorolac, order_ketorolac

__all__ = ["clinic"]

ZONE = ZoneInfo("America/Chicago")
MODELS = {
    "MedicationRequest": MedicationRequest,
    "MedicationAdministration": MedicationAdministration,
}
US_CORE_MEDICATIONREQUEST = (
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-medicationrequest"
)


def _at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    day = clock.today("America/Chicago") + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


@pytest.fixture
def home(nurse: Any, medtech: Any) -> Any:
    return make_home(nurse, medtech, residents=3)


@pytest.fixture
def nurse_fhir(nurse: Any) -> FhirClient:
    """The nurse sees residents' orders and doses, not the clinic's."""
    return FhirClient(token_for(nurse))


@pytest.fixture
def provider_fhir(provider: Any) -> FhirClient:
    """A provider sees both the clinic's and the residents' orders and doses."""
    return FhirClient(token_for(provider))


@pytest.fixture
def other_nurse_fhir(other_org: Any) -> FhirClient:
    return FhirClient(token_for(UserFactory(organization=other_org, roles=["nurse"])))


def record(home: Any, order: ResidentOrder, outcome: str = "given", **kw: Any) -> DoseRecord:
    """A dose at today's 08:00 pass (documented 08:05), or at `at` for a PRN dose."""
    at = kw.pop("at", _at(8, 5))
    options: dict[str, Any] = {"actor": home.medtech, "order": order, "outcome": outcome}
    if not order.prn:
        options["scheduled_at"] = kw.pop("scheduled_at", _at(8))
    options.update(kw)
    with clock.frozen(at):
        return emar_services.record_dose(**options)


def read(client: FhirClient, resource_type: str, ident: str) -> dict[str, Any]:
    response = client.get(f"/fhir/{resource_type}/{ident}")
    assert response.status_code == 200, response.content
    body = response.json()
    MODELS[resource_type].model_validate(body)
    return body


def search(client: FhirClient, resource_type: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/fhir/{resource_type}", params)
    assert response.status_code == 200, response.content
    body = response.json()
    Bundle.model_validate(body)
    for entry in body.get("entry", []):
        MODELS[resource_type].model_validate(entry["resource"])
    return body


def ids(bundle: dict[str, Any]) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def emar(row: Any) -> str:
    return f"emar-{row.pk}"


def error(response: Any, status: int) -> None:
    assert response.status_code == status, response.content
    OperationOutcome.model_validate(response.json())


# --- MedicationRequest: residents' orders --------------------------------------------------------


def test_scheduled_order_reads_as_us_core_medication_request(nurse_fhir, home):
    order = home.metoprolol
    body = read(nurse_fhir, "MedicationRequest", emar(order))
    assert body["id"] == f"emar-{order.pk}"
    assert body["meta"]["profile"] == [US_CORE_MEDICATIONREQUEST]
    assert (body["status"], body["intent"]) == ("active", "order")
    assert body["category"][0]["coding"][0]["code"] == "community"
    assert body["medicationCodeableConcept"] == {"text": "Metoprolol tartrate 25 mg"}
    assert body["subject"] == {"reference": f"Patient/{home.resident.patient_id}"}
    assert body["requester"] == {"display": "Samuel Chen, MD"}
    assert body["recorder"] == {"display": home.nurse.user.display_name}
    assert body["authoredOn"] == order.created_at.isoformat()
    [dosage] = body["dosageInstruction"]
    assert dosage["text"] == "1 tablet by mouth BID at 08:00, 20:00; hold if pulse < 60"
    repeat = dosage["timing"]["repeat"]
    assert repeat["timeOfDay"] == ["08:00:00", "20:00:00"]
    assert (repeat["frequency"], repeat["period"], repeat["periodUnit"]) == (2, 1, "d")
    assert repeat["boundsPeriod"] == {"start": order.start_date.isoformat()}
    assert dosage["timing"]["code"] == {"text": "BID (twice daily)"}
    assert dosage["route"]["text"] == "By mouth"
    assert dosage["route"]["coding"][0]["code"] == "C38288"
    assert dosage["doseAndRate"] == [{"doseQuantity": {"value": 1, "unit": "tablet"}}]
    assert dosage["additionalInstruction"] == [{"text": "Hold if pulse < 60"}]
    assert "asNeededBoolean" not in dosage and "asNeededCodeableConcept" not in dosage


def test_prn_order_has_its_indication_interval_and_daily_maximum(nurse_fhir, home):
    body = read(nurse_fhir, "MedicationRequest", emar(home.tylenol))
    [dosage] = body["dosageInstruction"]
    assert dosage["asNeededCodeableConcept"] == {"text": "pain"}
    assert dosage["maxDosePerPeriod"] == {
        "numerator": {"value": 4, "unit": "doses"},
        "denominator": {
            "value": 1,
            "unit": "day",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        },
    }
    repeat = dosage["timing"]["repeat"]
    assert (repeat["frequency"], repeat["period"], repeat["periodUnit"]) == (1, 6, "h")
    assert "timeOfDay" not in repeat
    assert dosage["text"] == (
        "2 tablets by mouth as needed for pain (at least 6 h apart, at most 4 a day)"
    )


def test_order_with_an_ndc_form_and_instructions(nurse_fhir, home):
    order = emar_services.add_order(
        actor=home.nurse,
        residency=home.resident,
        drug_name="Furosemide",
        strength="20 mg",
        form="tablet",
        ndc="0054-4297-25",
        dose="1/2 tablet",
        route="oral",
        frequency="WEEKLY",
        weekday=0,
        start_date=clock.today("America/Chicago"),
        stop_date=clock.today("America/Chicago") + timedelta(days=60),
        prescriber="Samuel Chen, MD",
        instructions="Give with breakfast",
        controlled="",
    )
    body = read(nurse_fhir, "MedicationRequest", emar(order))
    assert body["medicationCodeableConcept"] == {
        "coding": [
            {
                "system": "http://hl7.org/fhir/sid/ndc",
                "code": "0054-4297-25",
                "display": "Furosemide 20 mg tablet",
            }
        ],
        "text": "Furosemide 20 mg tablet",
    }
    [dosage] = body["dosageInstruction"]
    assert dosage["doseAndRate"] == [{"doseQuantity": {"value": 0.5, "unit": "tablet"}}]
    repeat = dosage["timing"]["repeat"]
    assert repeat["dayOfWeek"] == ["mon"] and repeat["periodUnit"] == "wk"
    assert repeat["boundsPeriod"]["end"] == order.stop_date.isoformat()
    assert dosage["additionalInstruction"] == [{"text": "Give with breakfast"}]
    assert "on Monday" in dosage["text"]


def test_controlled_order_notes_its_schedule(nurse_fhir, home):
    body = read(nurse_fhir, "MedicationRequest", emar(home.lorazepam))
    assert {"text": "Controlled substance, schedule C-IV"} in body["note"]


def test_discontinued_order_reads_stopped_with_the_reason(nurse_fhir, home):
    emar_services.discontinue_order(
        actor=home.nurse, order=home.lisinopril, reason="Dr Chen stopped it: low BP"
    )
    body = read(nurse_fhir, "MedicationRequest", emar(home.lisinopril))
    assert body["status"] == "stopped"
    assert body["statusReason"] == {"text": "Dr Chen stopped it: low BP"}
    assert any(n["text"].startswith("Discontinued on ") for n in body["note"])
    patient = home.resident.patient_id
    stopped = search(nurse_fhir, "MedicationRequest", patient=patient, status="stopped")
    assert ids(stopped) == [emar(home.lisinopril)]
    active = search(nurse_fhir, "MedicationRequest", patient=patient, status="active")
    assert emar(home.lisinopril) not in ids(active) and active["total"] == 3


def test_order_past_its_stop_date_reads_completed(nurse_fhir, home):
    today = clock.today("America/Chicago")
    ended = emar_services.add_order(
        actor=home.nurse,
        residency=home.resident,
        drug_name="Amoxicillin",
        strength="500 mg",
        form="capsule",
        dose="1 capsule",
        route="oral",
        frequency="TID",
        start_date=today - timedelta(days=10),
        stop_date=today - timedelta(days=1),
        prescriber="Samuel Chen, MD",
    )
    assert read(nurse_fhir, "MedicationRequest", emar(ended))["status"] == "completed"
    patient = home.resident.patient_id
    done = search(nurse_fhir, "MedicationRequest", patient=patient, status="completed")
    assert ids(done) == [emar(ended)]
    active = search(nurse_fhir, "MedicationRequest", patient=patient, status="active")
    assert emar(ended) not in ids(active)


def test_voided_order_reads_entered_in_error_and_leaves_searches(nurse_fhir, home):
    ResidentOrder.objects.filter(pk=home.lisinopril.pk).update(
        voided_at=clock.now(), void_reason="wrong resident"
    )
    body = read(nurse_fhir, "MedicationRequest", emar(home.lisinopril))
    assert body["status"] == "entered-in-error"
    assert body["statusReason"] == {"text": "wrong resident"}
    patient = home.resident.patient_id
    assert emar(home.lisinopril) not in ids(
        search(nurse_fhir, "MedicationRequest", patient=patient)
    )
    voided = search(nurse_fhir, "MedicationRequest", patient=patient, status="entered-in-error")
    assert ids(voided) == [emar(home.lisinopril)]


def test_read_of_a_resident_order_is_audited(nurse_fhir, home, nurse):
    read(nurse_fhir, "MedicationRequest", emar(home.metoprolol))
    event = AuditEvent.objects.get(action=Action.VIEW, resource_type="ResidentOrder")
    assert (event.resource_id, event.patient_id, event.user_id) == (
        str(home.metoprolol.pk),
        home.resident.patient_id,
        nurse.pk,
    )
    assert json.loads(event.detail)["fhir"] == f"MedicationRequest/emar-{home.metoprolol.pk}"


def test_search_resident_orders_by_patient_newest_first(nurse_fhir, home):
    ResidentOrder.objects.filter(pk=home.lorazepam.pk).update(created_at=_at(12, days=-3))
    bundle = search(nurse_fhir, "MedicationRequest", patient=f"Patient/{home.resident.patient_id}")
    assert bundle["total"] == 4
    assert ids(bundle)[-1] == emar(home.lorazepam)
    authored = [e["resource"]["authoredOn"] for e in bundle["entry"]]
    assert authored == sorted(authored, reverse=True)
    other_resident = home.residents[1].patient_id
    assert search(nurse_fhir, "MedicationRequest", patient=other_resident)["total"] == 0


def test_search_resident_orders_by_authored_date(nurse_fhir, home):
    ResidentOrder.objects.filter(pk=home.lorazepam.pk).update(created_at=_at(12, days=-3))
    patient = home.resident.patient_id
    today = clock.today("America/Chicago")
    old = (today - timedelta(days=3)).isoformat()
    recent = search(nurse_fhir, "MedicationRequest", patient=patient, authoredon=f"ge{today}")
    assert recent["total"] == 3 and emar(home.lorazepam) not in ids(recent)
    earlier = search(nurse_fhir, "MedicationRequest", patient=patient, authoredon=f"le{old}")
    assert ids(earlier) == [emar(home.lorazepam)]
    on_day = search(nurse_fhir, "MedicationRequest", patient=patient, authoredon=old)
    assert ids(on_day) == [emar(home.lorazepam)]
    both = search(
        nurse_fhir,
        "MedicationRequest",
        patient=patient,
        authoredon=[f"ge{old}", f"le{today}"],
    )
    assert both["total"] == 4
    error(
        nurse_fhir.get("/fhir/MedicationRequest", {"patient": patient, "authoredon": "soon"}),
        400,
    )


def test_search_resident_orders_by_category(nurse_fhir, home):
    patient = home.resident.patient_id
    assert (
        search(nurse_fhir, "MedicationRequest", patient=patient, category="community")["total"] == 4
    )
    assert (
        search(nurse_fhir, "MedicationRequest", patient=patient, category="outpatient")["total"]
        == 0
    )


# --- MedicationAdministration: residents' doses --------------------------------------------------


def test_given_dose_reads_completed_with_its_order_and_dosage(nurse_fhir, home, medtech):
    dose = record(home, home.lisinopril)
    body = read(nurse_fhir, "MedicationAdministration", emar(dose))
    assert body["id"] == f"emar-{dose.pk}"
    assert body["status"] == "completed"
    assert body["medicationCodeableConcept"] == {"text": "Lisinopril 10 mg"}
    assert body["subject"] == {"reference": f"Patient/{home.resident.patient_id}"}
    assert body["effectiveDateTime"] == dose.recorded_at.isoformat()
    assert body["request"] == {"reference": f"MedicationRequest/emar-{home.lisinopril.pk}"}
    assert body["performer"] == [{"actor": {"display": medtech.display_name}}]
    assert body["dosage"]["text"] == "1 tablet by mouth"
    assert body["dosage"]["dose"] == {"value": 1, "unit": "tablet"}
    assert body["dosage"]["route"]["text"] == "By mouth"
    assert any(n["text"].startswith("Scheduled for ") for n in body["note"])
    # the request it points to reads
    assert read(nurse_fhir, "MedicationRequest", emar(home.lisinopril))["status"] == "active"


def test_held_dose_reads_not_done_with_the_pulse(nurse_fhir, home):
    dose = record(home, home.metoprolol, "held", vitals={"pulse": Decimal(52)})
    body = read(nurse_fhir, "MedicationAdministration", emar(dose))
    assert body["status"] == "not-done"
    [reason] = body["statusReason"]
    assert reason["text"] == "Held: pulse 52 is under 60"
    assert "dosage" not in body
    assert {"text": "Vitals at the pass: pulse 52"} in body["note"]


def test_refused_and_other_not_given_doses_say_which_and_why(nurse_fhir, home):
    refused = record(home, home.lisinopril, "refused", reason="said it makes her dizzy")
    body = read(nurse_fhir, "MedicationAdministration", emar(refused))
    assert body["status"] == "not-done"
    [reason] = body["statusReason"]
    assert reason["coding"][0]["code"] == "PATOBJ"
    assert reason["text"] == "Refused: said it makes her dizzy"
    away = record(
        home, home.metoprolol, "away", reason="at her daughter's for the day", scheduled_at=_at(8)
    )
    body = read(nurse_fhir, "MedicationAdministration", emar(away))
    assert body["statusReason"] == [{"text": "Resident away: at her daughter's for the day"}]
    missing = record(
        home,
        home.metoprolol,
        "not_available",
        reason="card empty, pharmacy called",
        scheduled_at=_at(20),
        at=_at(20, 5),
    )
    body = read(nurse_fhir, "MedicationAdministration", emar(missing))
    assert body["statusReason"] == [{"text": "Not available: card empty, pharmacy called"}]


def test_prn_dose_carries_its_reason_and_effectiveness(nurse_fhir, home, medtech):
    dose = record(home, home.tylenol, prn_reason="knee pain 6/10", at=_at(10))
    body = read(nurse_fhir, "MedicationAdministration", emar(dose))
    assert body["reasonCode"] == [{"text": "knee pain 6/10"}]
    assert {"text": "PRN reason: knee pain 6/10"} in body["note"]
    assert any(n["text"].startswith("PRN effectiveness check due by ") for n in body["note"])
    assert body["dosage"]["dose"] == {"value": 2, "unit": "tablets"}
    with clock.frozen(_at(10, 45)):
        emar_services.record_effectiveness(
            actor=home.medtech, dose=dose, result="effective", note="pain 2/10, walking"
        )
    body = read(nurse_fhir, "MedicationAdministration", emar(dose))
    [check] = [n for n in body["note"] if n["text"].startswith("PRN effectiveness check")]
    assert check == {
        "text": "PRN effectiveness check: Effective: pain 2/10, walking",
        "authorString": medtech.display_name,
        "time": _at(10, 45).astimezone(ZoneInfo("UTC")).isoformat(),
    }


def test_voided_dose_reads_entered_in_error_and_leaves_searches(nurse_fhir, home):
    dose = record(home, home.lisinopril)
    DoseRecord.objects.filter(pk=dose.pk).update(voided_at=clock.now(), void_reason="wrong card")
    body = read(nurse_fhir, "MedicationAdministration", emar(dose))
    assert body["status"] == "entered-in-error"
    assert {"text": "Entered in error: wrong card"} in body["note"]
    patient = home.resident.patient_id
    assert search(nurse_fhir, "MedicationAdministration", patient=patient)["total"] == 0
    voided = search(
        nurse_fhir, "MedicationAdministration", patient=patient, status="entered-in-error"
    )
    assert ids(voided) == [emar(dose)]


def test_read_of_a_dose_is_audited(nurse_fhir, home, nurse):
    dose = record(home, home.lisinopril)
    read(nurse_fhir, "MedicationAdministration", emar(dose))
    event = AuditEvent.objects.get(action=Action.VIEW, resource_type="DoseRecord")
    assert (event.resource_id, event.patient_id, event.user_id) == (
        str(dose.pk),
        home.resident.patient_id,
        nurse.pk,
    )


def test_search_doses_by_patient_status_and_effective_time(nurse_fhir, home):
    with clock.frozen(_at(8, 10, days=-1)):  # yesterday's pass, documented by the nurse
        yesterday = emar_services.record_dose(
            actor=home.nurse,
            order=home.lisinopril,
            outcome="given",
            scheduled_at=_at(8, days=-1),
        )
    given = record(home, home.lisinopril)
    held = record(home, home.metoprolol, "held", vitals={"pulse": Decimal(52)})
    evening = record(  # 20:30 in the home is the next day in UTC
        home,
        home.metoprolol,
        vitals={"pulse": Decimal(72)},
        scheduled_at=_at(20),
        at=_at(20, 30),
    )
    other_resident = record(
        home,
        emar_services.add_order(
            actor=home.nurse,
            residency=home.residents[1],
            drug_name="Vitamin D3",
            strength="1000 IU",
            dose="1 tablet",
            route="oral",
            frequency="QD",
            start_date=clock.today("America/Chicago") - timedelta(days=1),
            prescriber="Samuel Chen, MD",
            quantity_on_hand=30,
        ),
    )
    patient = f"Patient/{home.resident.patient_id}"
    today = clock.today("America/Chicago")
    everything = search(nurse_fhir, "MedicationAdministration", patient=patient)
    assert ids(everything) == [emar(evening), emar(held), emar(given), emar(yesterday)]
    assert emar(other_resident) not in ids(everything)
    on_today = search(
        nurse_fhir,
        "MedicationAdministration",
        patient=patient,
        **{"effective-time": today.isoformat()},
    )
    assert ids(on_today) == [emar(evening), emar(held), emar(given)]
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert (
        search(
            nurse_fhir, "MedicationAdministration", patient=patient, **{"effective-time": tomorrow}
        )["total"]
        == 0
    )
    before_today = search(
        nurse_fhir, "MedicationAdministration", patient=patient, **{"effective-time": f"lt{today}"}
    )
    assert ids(before_today) == [emar(yesterday)]
    since_yesterday = search(
        nurse_fhir,
        "MedicationAdministration",
        patient=patient,
        **{"effective-time": [f"ge{today - timedelta(days=1)}", f"le{today}"]},
    )
    assert since_yesterday["total"] == 4
    not_done = search(nurse_fhir, "MedicationAdministration", patient=patient, status="not-done")
    assert ids(not_done) == [emar(held)]
    completed = search(nurse_fhir, "MedicationAdministration", patient=patient, status="completed")
    assert ids(completed) == [emar(evening), emar(given), emar(yesterday)]


def test_search_is_audited_on_the_emar_models(nurse_fhir, home, nurse):
    dose = record(home, home.lisinopril)
    search(nurse_fhir, "MedicationAdministration", patient=home.resident.patient_id)
    search(nurse_fhir, "MedicationRequest", patient=home.resident.patient_id)
    dose_event = AuditEvent.objects.get(action=Action.SEARCH, resource_type="DoseRecord")
    assert dose_event.user_id == nurse.pk and json.loads(dose_event.detail)["ids"] == [dose.pk]
    order_event = AuditEvent.objects.get(action=Action.SEARCH, resource_type="ResidentOrder")
    assert json.loads(order_event.detail)["total"] == 4
    # the nurse may not see the clinic's rows: they are neither searched nor audited
    assert not AuditEvent.objects.filter(
        action=Action.SEARCH, resource_type__in=["Administration", "MedicationOrder"]
    ).exists()


# --- clinic and residents together ---------------------------------------------------------------


def test_search_by_patient_returns_clinic_and_resident_orders(provider_fhir, home, clinic):
    patient = home.resident.patient
    clinic_order = order_ketorolac(clinic, ketorolac(clinic), patient=patient)
    bundle = search(provider_fhir, "MedicationRequest", patient=patient.pk)
    assert bundle["total"] == 5
    assert ids(bundle)[0] == str(clinic_order.pk)  # written last
    assert sorted(ids(bundle)[1:]) == sorted(
        emar(o) for o in (home.metoprolol, home.lisinopril, home.tylenol, home.lorazepam)
    )
    community = search(provider_fhir, "MedicationRequest", patient=patient.pk, category="community")
    assert community["total"] == 4
    outpatient = search(
        provider_fhir, "MedicationRequest", patient=patient.pk, category="outpatient"
    )
    assert ids(outpatient) == [str(clinic_order.pk)]
    active = search(provider_fhir, "MedicationRequest", patient=patient.pk, status="active")
    assert active["total"] == 5
    events = AuditEvent.objects.filter(action=Action.SEARCH).values_list("resource_type", flat=True)
    assert {"MedicationOrder", "ResidentOrder"} <= set(events)


def test_search_by_patient_merges_clinic_and_resident_doses_by_time(provider_fhir, home, clinic):
    patient = home.resident.patient
    scheduled = record(home, home.lisinopril)  # 08:05
    prn = record(home, home.tylenol, prn_reason="headache", at=_at(10))
    with clock.frozen(_at(9)):
        injection = give_ketorolac(clinic, ketorolac(clinic), patient=patient)
    bundle = search(provider_fhir, "MedicationAdministration", patient=patient.pk)
    assert ids(bundle) == [emar(prn), str(injection.pk), emar(scheduled)]
    # paging walks the merged list: one a page, no row twice or missed
    seen: list[str] = []
    params: dict[str, Any] = {"patient": patient.pk, "_count": 1}
    for offset in range(4):
        page = search(provider_fhir, "MedicationAdministration", **params, _offset=offset)
        assert page["total"] == 3
        seen += ids(page)
        relations = {link["relation"] for link in page["link"]}
        assert ("next" in relations) == (offset < 2)
    assert seen == ids(bundle)
    two = search(provider_fhir, "MedicationAdministration", patient=patient.pk, _count=2)
    assert ids(two) == ids(bundle)[:2]
    next_url = next(link["url"] for link in two["link"] if link["relation"] == "next")
    rest = provider_fhir.get(next_url.split("testserver", 1)[-1])
    assert [e["resource"]["id"] for e in rest.json()["entry"]] == ids(bundle)[2:]
    on_day = search(
        provider_fhir,
        "MedicationAdministration",
        patient=patient.pk,
        **{"effective-time": clock.today("America/Chicago").isoformat()},
    )
    assert on_day["total"] == 3


def test_each_kind_needs_its_own_permission(home, clinic, mat, frontdesk, medtech):
    patient = home.resident.patient
    dose = record(home, home.lisinopril)
    injection = give_ketorolac(clinic, ketorolac(clinic), patient=patient)
    mat_fhir = FhirClient(token_for(mat))  # the clinic's rows only
    error(mat_fhir.get(f"/fhir/MedicationRequest/{emar(home.lisinopril)}"), 403)
    error(mat_fhir.get(f"/fhir/MedicationAdministration/{emar(dose)}"), 403)
    assert ids(search(mat_fhir, "MedicationAdministration", patient=patient.pk)) == [
        str(injection.pk)
    ]
    medtech_fhir = FhirClient(token_for(medtech))  # the residents' rows only
    assert ids(search(medtech_fhir, "MedicationAdministration", patient=patient.pk)) == [emar(dose)]
    assert read(medtech_fhir, "MedicationAdministration", emar(dose))["status"] == "completed"
    error(medtech_fhir.get(f"/fhir/MedicationAdministration/{injection.pk}"), 403)
    # front desk sees clinic doses but neither kind of order
    error(
        FhirClient(token_for(frontdesk)).get("/fhir/MedicationRequest", {"patient": patient.pk}),
        403,
    )


def test_ids_of_one_kind_do_not_read_as_the_other(nurse_fhir, provider_fhir, home):
    dose = record(home, home.lisinopril)
    error(provider_fhir.get(f"/fhir/MedicationAdministration/{dose.pk}"), 404)
    error(provider_fhir.get(f"/fhir/MedicationRequest/{home.lisinopril.pk}"), 404)
    error(nurse_fhir.get("/fhir/MedicationRequest/emar-999999"), 404)
    error(nurse_fhir.get("/fhir/MedicationRequest/emar-x1"), 404)
    error(nurse_fhir.get("/fhir/MedicationAdministration/emar-"), 404)


# --- tenancy ------------------------------------------------------------------------------------


def test_another_organizations_resident_rows_are_404(other_nurse_fhir, home):
    dose = record(home, home.metoprolol, "held", vitals={"pulse": Decimal(52)})
    error(other_nurse_fhir.get(f"/fhir/MedicationRequest/{emar(home.metoprolol)}"), 404)
    error(other_nurse_fhir.get(f"/fhir/MedicationAdministration/{emar(dose)}"), 404)


def test_another_organizations_search_finds_nothing(other_nurse_fhir, home):
    record(home, home.lisinopril)
    patient = home.resident.patient_id
    assert search(other_nurse_fhir, "MedicationRequest", patient=patient)["total"] == 0
    doses = search(
        other_nurse_fhir,
        "MedicationAdministration",
        patient=patient,
        **{"effective-time": clock.today("America/Chicago").isoformat()},
    )
    assert doses["total"] == 0


def test_capability_statement_lists_the_date_parameters(anonymous, db):
    body = anonymous.get("/fhir/metadata").json()
    found = {r["type"]: r for r in body["rest"][0]["resource"]}
    request_params = {p["name"]: p["type"] for p in found["MedicationRequest"]["searchParam"]}
    assert request_params["authoredon"] == "date" and request_params["category"] == "token"
    given_params = {p["name"]: p["type"] for p in found["MedicationAdministration"]["searchParam"]}
    assert given_params["effective-time"] == "date"
