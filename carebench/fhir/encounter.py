"""Encounter: read and search visits, as US Core Encounter.

Status is the model's own (in-progress, finished, cancelled: FHIR codes already); class is
always AMB (ambulatory). `type` is SNOMED CT 308335008 (patient encounter procedure) with the
appointment type as a second coding (urn:carebench:appointment-type) and as text, or "Walk-in
visit" for a visit without an appointment. The chief complaint is the reasonCode; the provider
is the primary performer; the facility and, when roomed, the room are the locations.

Date searches (`date`) take the day the visit started, in the organization's time zone.
Reads and searches are audited; a voided patient's encounters are 410 Gone and never in
searches; another organization's are 404. Encounters are opened and closed by the patient flow,
not through this API. The flow closes them with `QuerySet.update()`, so `meta.versionId` is a
digest of what can change rather than a timestamp.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core.actor import Actor
from carebench.encounters.models import Encounter

from . import datatypes as dt
from . import location, practitioner, schemas
from .appointment import digest_version, local_date_filter, local_iso, type_coding, zone_of
from .auth import authorize
from .bundle import Paging, page_of, searchset
from .outcome import gone, not_found, resource_response
from .search import check_params, parse_reference_id, parse_token

RESOURCE = "Encounter"
PROFILE = dt.US_CORE + "us-core-encounter"
PERMISSION = "encounters.view_encounter"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ENCOUNTER_PROCEDURE = "308335008"
IDENTIFIER_PREFIX = "urn:carebench:encounter:"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {
    "_id": "token",
    "patient": "reference",
    "subject": "reference",
    "date": "date",
    "status": "token",
    "class": "token",
    "practitioner": "reference",
    "appointment": "reference",
}

router = Router(tags=[RESOURCE])


class EncounterSearch(Schema):
    id: list[str] = Field([], alias="_id", description="logical id")
    patient: list[str] = Field([], description="Patient/123 or 123")
    subject: list[str] = Field([], description="Patient/123")
    date: list[str] = Field([], description="day the visit started, with eq/ne/gt/lt/ge/le")
    status: list[str] = Field(
        [], description="in-progress, finished or cancelled (comma-separated: any)"
    )
    class_: list[str] = Field([], alias="class", description="AMB")
    practitioner: list[str] = Field([], description="Practitioner/3 or 3")
    appointment: list[str] = Field([], description="Appointment/7 or 7")


def to_fhir(encounter: Encounter) -> dict[str, Any]:
    zone = encounter.facility.time_zone
    appointment = encounter.appointment
    type_ = {
        "coding": [dt.coding(dt.SNOMED, ENCOUNTER_PROCEDURE, "Patient encounter procedure")],
        "text": "Walk-in visit",
    }
    if appointment is not None:
        type_ = {
            "coding": [*type_["coding"], type_coding(appointment.appointment_type)],
            "text": appointment.appointment_type.name,
        }
    locations = [{"location": location.facility_reference(encounter.facility)}]
    if appointment is not None and appointment.room is not None:
        locations.append({"location": location.room_reference(appointment.room)})
    participants = []
    if encounter.provider is not None:
        participants.append(
            {
                "type": [dt.concept(PARTICIPATION, "PPRF", "primary performer")],
                "individual": practitioner.reference(encounter.provider),
            }
        )
    period = dt.compact(
        {
            "start": local_iso(encounter.started_at, zone),
            "end": local_iso(encounter.ended_at, zone) if encounter.ended_at else None,
        }
    )
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(encounter.pk),
            "meta": {
                "versionId": digest_version(
                    encounter.updated_at,
                    encounter.status,
                    encounter.ended_at,
                    encounter.chief_complaint,
                ),
                "lastUpdated": max(
                    filter(None, (encounter.updated_at, encounter.ended_at))
                ).isoformat(),
                "profile": [PROFILE],
            },
            "identifier": [
                {
                    "system": IDENTIFIER_PREFIX + encounter.organization.slug,
                    "value": str(encounter.pk),
                }
            ],
            "status": encounter.status,
            "class": dt.coding(ACT_CODE, "AMB", "ambulatory"),
            "type": [type_],
            "subject": {
                **dt.reference("Patient", encounter.patient_id),
                "display": encounter.patient.display_name,
            },
            "participant": participants,
            "appointment": [dt.reference("Appointment", appointment.pk)] if appointment else [],
            "period": period,
            "reasonCode": [{"text": encounter.chief_complaint}]
            if encounter.chief_complaint
            else [],
            "location": locations,
        }
    )


@router.get("/Encounter/{encounter_id}", response=schemas.READ, summary="Read an Encounter")
def read_encounter(request: HttpRequest, encounter_id: str) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    encounter = get(actor, encounter_id)
    audit.record_for_actor(
        actor,
        action=Action.VIEW,
        patient_id=encounter.patient_id,
        resource_type=RESOURCE,
        resource_id=encounter.pk,
    )
    return resource_response(to_fhir(encounter))


@router.get("/Encounter", response=schemas.SEARCH, summary="Search Encounters")
def search_encounters(
    request: HttpRequest, paging: Query[Paging], params: Query[EncounterSearch]
) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    qs, patient_id = _search(actor, params)
    rows, total = page_of(qs, paging)
    audit.record_for_actor(
        actor,
        action=Action.SEARCH,
        patient_id=patient_id,
        resource_type=RESOURCE,
        detail={"params": used, "total": total, "ids": [row.pk for row in rows]},
    )
    return resource_response(searchset(request, RESOURCE, rows, total, paging, to_fhir, used))


def _query(actor: Actor) -> QuerySet[Encounter]:
    return Encounter.objects.for_org(actor.organization).select_related(
        "organization",
        "patient",
        "provider",
        "facility",
        "appointment",
        "appointment__appointment_type",
        "appointment__room",
    )


def get(actor: Actor, encounter_id: str) -> Encounter:
    row = dt.row_id(encounter_id)
    encounter = None if row is None else _query(actor).filter(pk=row).first()
    if encounter is None:
        raise not_found(RESOURCE, encounter_id)
    if encounter.patient.voided_at is not None:
        raise gone(RESOURCE, encounter_id)
    return encounter


def _search(actor: Actor, params: EncounterSearch) -> tuple[QuerySet[Encounter], int | None]:
    qs = _query(actor).filter(patient__voided_at__isnull=True)
    patients: set[int] = set()
    for name, values in (("patient", params.patient), ("subject", params.subject)):
        for value in values:
            row = parse_reference_id(value, "Patient", name)
            patients.add(row)
            qs = qs.filter(patient_id=row)
    zone = zone_of(actor.organization) if params.date else None
    for value in params.date:
        assert zone is not None
        qs = qs.filter(local_date_filter("started_at", value, "date", zone))
    for value in params.status:
        qs = qs.filter(status__in=value.split(","))
    for value in params.class_:
        token = parse_token(value)
        if token.system not in (None, ACT_CODE) or token.code != "AMB":
            qs = qs.none()
    for value in params.practitioner:
        qs = qs.filter(provider_id=parse_reference_id(value, "Practitioner", "practitioner"))
    for value in params.appointment:
        qs = qs.filter(appointment_id=parse_reference_id(value, "Appointment", "appointment"))
    for value in params.id:
        ident = dt.row_id(value)
        qs = qs.none() if ident is None else qs.filter(pk=ident)
    return qs.order_by("-started_at", "-pk"), (patients.pop() if len(patients) == 1 else None)
