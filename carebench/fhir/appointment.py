"""Appointment: read, search, create (book) and update (cancel, no-show, move).

Statuses: booked -> booked; arrived -> arrived; roomed, ready, with provider and checkout ->
checked-in; done -> fulfilled; cancelled -> cancelled; no-show -> noshow. Participants are the
Patient, the Practitioner, and the Locations: the facility (`Location/<pk>`) and, once known,
the room (`Location/room-<pk>`). The visit type (scheduling.AppointmentType) is carried in
`serviceType` and `appointmentType` as a coding of `urn:carebench:appointment-type` whose code is
the type's id.

Create (`POST`): `status` must be `booked`; participants: exactly one `Patient/<id>` and one
`Practitioner/<id>`, optionally a `Location` (facility, or a room, whose facility is then used;
otherwise the provider's first facility). `start` is required. The visit type is named by a
`serviceType` or `appointmentType` coding: with our system the code is the type's id; with any
other system (or none) the code, display or text may be the type's id or name. Without one, the
type is the only active type whose duration is `end - start`. `end` (and `minutesDuration`), when
given, must equal start + the type's duration. Booking goes through
`scheduling.services.book_appointment`: a clash with the provider's or the patient's other
appointments is a 409 OperationOutcome (code `conflict`) naming what clashed; a broken rule
(outside the provider's hours, in the past...) is a 422 naming the element.

Update (`PUT`, honours `If-Match`): only these changes are taken from the body, all others are
ignored: `status` `cancelled` with a `cancelationReason` (cancel_appointment), `status` `noshow`
(mark_no_show), or, keeping the status, a new `start` and/or Practitioner (reschedule; 409 on a
clash). The patient cannot change, and other status changes are made on the flow board (422).

The services change appointments with `QuerySet.update()`, which leaves `updated_at` alone, so
`meta.versionId` is a digest of what can change (status, times, provider, room) rather than a
timestamp. Reads and searches are audited; a voided patient's appointments are 410 Gone and
never in searches; another organization's are 404.

Date searches here and in Encounter and Observation (`local_date_filter`) take FHIR date
values (YYYY, YYYY-MM, YYYY-MM-DD with eq/ne/gt/lt/ge/le) as days in the organization's time
zone (that of its first facility).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from ninja import Field, Query, Router, Schema

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core.actor import Actor
from carebench.core.models import Facility, Organization
from carebench.patients.models import Patient
from carebench.scheduling import services
from carebench.scheduling.models import (
    Appointment,
    AppointmentType,
    Provider,
    Resource,
    Status,
)

from . import datatypes as dt
from . import entries, location, practitioner, schemas
from .auth import authorize
from .body import read_resource, request_body_schema
from .bundle import Paging, base_url, page_of, searchset
from .outcome import (
    FhirError,
    from_validation_error,
    gone,
    not_found,
    resource_response,
    unprocessable,
)
from .search import check_params, date_filter, parse_reference_id, parse_token

RESOURCE = "Appointment"
PROFILE = "http://hl7.org/fhir/StructureDefinition/Appointment"
TYPE_SYSTEM = "urn:carebench:appointment-type"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
INTERACTIONS = ["read", "search-type", "create", "update"]
SEARCH_PARAMS = {
    "_id": "token",
    "patient": "reference",
    "practitioner": "reference",
    "actor": "reference",
    "location": "reference",
    "date": "date",
    "status": "token",
    "service-type": "token",
}

STATUS_TO_FHIR = {
    Status.BOOKED: "booked",
    Status.ARRIVED: "arrived",
    Status.ROOMED: "checked-in",
    Status.READY: "checked-in",
    Status.WITH_PROVIDER: "checked-in",
    Status.CHECKOUT: "checked-in",
    Status.DONE: "fulfilled",
    Status.CANCELLED: "cancelled",
    Status.NO_SHOW: "noshow",
}
FHIR_TO_STATUSES: dict[str, list[str]] = {}
for _ours, _theirs in STATUS_TO_FHIR.items():
    FHIR_TO_STATUSES.setdefault(_theirs, []).append(_ours)

# Service field -> FHIR element, for 422s.
FIELD_PATHS = {
    "start": "start",
    "patient": "participant",
    "provider": "participant",
    "facility": "participant",
    "room": "participant",
    "appointment_type": "serviceType",
    "reason": "reasonCode",
    "note": "comment",
    "cancel_reason": "cancelationReason",
    "status": "status",
}

router = Router(tags=[RESOURCE])


class AppointmentSearch(Schema):
    id: list[str] = Field([], alias="_id", description="logical id")
    patient: list[str] = Field([], description="Patient/123 or 123")
    practitioner: list[str] = Field([], description="Practitioner/3 or 3")
    actor: list[str] = Field([], description="Patient/123, Practitioner/3 or Location/5")
    location: list[str] = Field([], description="Location/5 (facility) or Location/room-12")
    date: list[str] = Field([], description="day of the start, with eq/ne/gt/lt/ge/le")
    status: list[str] = Field(
        [],
        description="booked, arrived, checked-in, fulfilled, "
        "cancelled, noshow (comma-separated: any)",
    )
    service_type: list[str] = Field(
        [], alias="service-type", description="the appointment type: id, or system|id"
    )


# --- helpers shared with the other scheduling and encounter modules ------------------------------


def zone_of(organization: Organization) -> ZoneInfo:
    """The organization's time zone: its first facility's (else the installation default)."""
    facility = Facility.objects.filter(organization=organization).order_by("pk").first()
    return ZoneInfo(facility.time_zone if facility else settings.CAREBENCH_DEFAULT_TIME_ZONE)


def local_date_filter(field: str, value: str, name: str, zone: ZoneInfo) -> Q:
    """A FHIR date search value on a datetime field, its days taken in `zone`."""
    return _on_instants(date_filter("day", value, name), field, zone)


def _on_instants(condition: Q, field: str, zone: ZoneInfo) -> Q:
    def midnight(day: Any) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone)

    children: list[Any] = []
    for child in condition.children:
        if isinstance(child, Q):
            children.append(_on_instants(child, field, zone))
            continue
        lookup, day = cast(tuple[str, Any], child)
        op = lookup.rsplit("__", 1)[1]
        bound = {
            "gte": (f"{field}__gte", midnight(day)),
            "lte": (f"{field}__lt", midnight(day + timedelta(days=1))),
            "gt": (f"{field}__gte", midnight(day + timedelta(days=1))),
            "lt": (f"{field}__lt", midnight(day)),
        }[op]
        children.append(Q(bound))
    return Q(*children, _connector=condition.connector, _negated=condition.negated)


def parse_instant(value: Any, element: str) -> datetime:
    """A FHIR instant/dateTime with a time and a zone offset (422 otherwise)."""
    if not isinstance(value, str) or "T" not in value:
        raise unprocessable(
            f"{element}: a date and time with a zone offset is required", expression=element
        )
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise unprocessable(
            f"{element}: '{value}' is not a date and time", expression=element
        ) from None
    if parsed.tzinfo is None:
        raise unprocessable(
            f"{element}: '{value}' needs a zone offset (Z or +hh:mm)", expression=element
        )
    return parsed


def digest_version(*parts: Any) -> str:
    """A versionId that changes whenever one of `parts` does."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def type_coding(kind: AppointmentType) -> dict[str, str]:
    return dt.coding(TYPE_SYSTEM, str(kind.pk), kind.name)


def type_concept(kind: AppointmentType) -> dict[str, Any]:
    return {"coding": [type_coding(kind)], "text": kind.name}


def local_iso(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).isoformat()


# --- views --------------------------------------------------------------------------------------


@router.get("/Appointment/{appointment_id}", response=schemas.READ, summary="Read an Appointment")
def read_appointment(request: HttpRequest, appointment_id: str) -> HttpResponse:
    actor = authorize(request, "scheduling.view_appointment")
    appointment = _get(actor, appointment_id)
    audit.record_for_actor(
        actor,
        action=Action.VIEW,
        patient_id=appointment.patient_id,
        resource_type=RESOURCE,
        resource_id=appointment.pk,
    )
    return resource_response(to_fhir(appointment))


@router.get("/Appointment", response=schemas.SEARCH, summary="Search Appointments")
def search_appointments(
    request: HttpRequest, paging: Query[Paging], params: Query[AppointmentSearch]
) -> HttpResponse:
    actor = authorize(request, "scheduling.view_appointment")
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


@router.post(
    "/Appointment",
    response=schemas.CREATE,
    summary="Book an Appointment",
    openapi_extra=request_body_schema(RESOURCE),
)
def create_appointment(request: HttpRequest) -> HttpResponse:
    actor = authorize(request, "scheduling.add_appointment")
    data = read_resource(request, FhirAppointment, RESOURCE)
    booking = _booking_from_fhir(actor, data)
    with _booking_rules():
        appointment = services.book_appointment(actor=actor, request=booking)
    appointment = _query(actor).get(pk=appointment.pk)
    return resource_response(
        to_fhir(appointment),
        status=201,
        location=f"{base_url(request)}/{RESOURCE}/{appointment.pk}",
    )


@router.put(
    "/Appointment/{appointment_id}",
    response=schemas.UPDATE,
    summary="Update an Appointment (cancel, no-show, move)",
    openapi_extra=request_body_schema(RESOURCE),
)
def update_appointment(request: HttpRequest, appointment_id: str) -> HttpResponse:
    actor = authorize(request, "scheduling.change_appointment")
    appointment = _get(actor, appointment_id)
    data = read_resource(request, FhirAppointment, RESOURCE)
    _check_update(request, data, appointment)
    with _booking_rules():
        _apply_update(actor, appointment, data)
    return resource_response(to_fhir(_query(actor).get(pk=appointment.pk)))


# --- reads --------------------------------------------------------------------------------------


def _query(actor: Actor) -> QuerySet[Appointment]:
    return Appointment.objects.for_org(actor.organization).select_related(
        "patient", "provider", "facility", "appointment_type", "room"
    )


def _get(actor: Actor, appointment_id: str) -> Appointment:
    row = dt.row_id(appointment_id)
    appointment = None if row is None else _query(actor).filter(pk=row).first()
    if appointment is None:
        raise not_found(RESOURCE, appointment_id)
    if appointment.patient.voided_at is not None:
        raise gone(RESOURCE, appointment_id)
    return appointment


def _search(actor: Actor, params: AppointmentSearch) -> tuple[QuerySet[Appointment], int | None]:
    qs = _query(actor).filter(patient__voided_at__isnull=True)
    patients: set[int] = set()
    for value in params.patient:
        row = parse_reference_id(value, "Patient", "patient")
        patients.add(row)
        qs = qs.filter(patient_id=row)
    for value in params.practitioner:
        qs = qs.filter(provider_id=parse_reference_id(value, "Practitioner", "practitioner"))
    for value in params.actor:
        kind = value.rstrip("/").rpartition("/")[0].rsplit("/", 1)[-1]
        if kind == "Patient":
            row = parse_reference_id(value, "Patient", "actor")
            patients.add(row)
            qs = qs.filter(patient_id=row)
        elif kind == "Practitioner":
            qs = qs.filter(provider_id=parse_reference_id(value, "Practitioner", "actor"))
        elif kind == "Location":
            qs = qs.filter(_location_condition(value, "actor"))
        else:
            raise FhirError(
                400,
                "invalid",
                f"actor: '{value}' is not a Patient, Practitioner or Location reference",
                expression="actor",
            )
    for value in params.location:
        qs = qs.filter(_location_condition(value, "location"))
    zone = zone_of(actor.organization) if params.date else None
    for value in params.date:
        assert zone is not None
        qs = qs.filter(local_date_filter("start", value, "date", zone))
    for value in params.status:
        wanted = [s for code in value.split(",") for s in FHIR_TO_STATUSES.get(code, [])]
        qs = qs.filter(status__in=wanted)
    for value in params.service_type:
        token = parse_token(value)
        type_id = dt.row_id(token.code)
        if token.system not in (None, TYPE_SYSTEM) or type_id is None:
            qs = qs.none()
        else:
            qs = qs.filter(appointment_type_id=type_id)
    for value in params.id:
        ident = dt.row_id(value)
        qs = qs.none() if ident is None else qs.filter(pk=ident)
    return qs.order_by("start", "pk"), (patients.pop() if len(patients) == 1 else None)


def _location_condition(value: str, name: str) -> Q:
    ident = value.rstrip("/").rsplit("/", 1)[-1]
    parsed = location.parse_id(ident)
    if parsed is None or ("/" in value and value.rstrip("/").rsplit("/", 2)[-2] != "Location"):
        raise FhirError(
            400, "invalid", f"{name}: '{value}' is not a Location reference", expression=name
        )
    kind, row = parsed
    return Q(room_id=row) if kind == "room" else Q(facility_id=row)


# --- model -> FHIR ------------------------------------------------------------------------------


def to_fhir(appointment: Appointment) -> dict[str, Any]:
    zone = appointment.facility.time_zone
    kind = appointment.appointment_type
    updated = max(appointment.updated_at, appointment.status_changed_at)
    participants: list[dict[str, Any]] = [
        {
            "actor": {
                **dt.reference("Patient", appointment.patient_id),
                "display": appointment.patient.display_name,
            },
            "required": "required",
            "status": "accepted",
        },
        {
            "type": [dt.concept(PARTICIPATION, "PPRF", "primary performer")],
            "actor": practitioner.reference(appointment.provider),
            "required": "required",
            "status": "accepted",
        },
        {
            "actor": location.facility_reference(appointment.facility),
            "required": "required",
            "status": "accepted",
        },
    ]
    if appointment.room is not None:
        participants.append(
            {
                "actor": location.room_reference(appointment.room),
                "required": "information-only",
                "status": "accepted",
            }
        )
    cancelled = appointment.status == Status.CANCELLED
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(appointment.pk),
            "meta": {
                "versionId": digest_version(
                    appointment.updated_at,
                    appointment.status,
                    appointment.status_changed_at,
                    appointment.start,
                    appointment.end,
                    appointment.provider_id,
                    appointment.room_id,
                ),
                "lastUpdated": updated.isoformat(),
            },
            "status": STATUS_TO_FHIR[Status(appointment.status)],
            "cancelationReason": {"text": appointment.cancel_reason}
            if cancelled and appointment.cancel_reason
            else None,
            "serviceType": [type_concept(kind)],
            "appointmentType": type_concept(kind),
            "reasonCode": [{"text": appointment.reason}] if appointment.reason else [],
            "description": f"{kind.name} with {appointment.provider.display_name}",
            "start": local_iso(appointment.start, zone),
            "end": local_iso(appointment.end, zone),
            "minutesDuration": int((appointment.end - appointment.start).total_seconds() // 60),
            "created": appointment.created_at.isoformat(),
            "comment": appointment.note,
            "participant": participants,
        }
    )


# --- FHIR -> booking ----------------------------------------------------------------------------


@contextmanager
def _booking_rules() -> Iterator[None]:
    """BookingConflict -> 409 naming the clash; ValidationError -> 422 naming the element."""
    try:
        yield
    except services.BookingConflict as exc:
        element = FIELD_PATHS.get(exc.field, "start")
        raise FhirError(409, "conflict", str(exc), expression=f"{RESOURCE}.{element}") from None
    except ValidationError as exc:
        raise from_validation_error(exc, RESOURCE, FIELD_PATHS) from None


def _participants(data: dict[str, Any]) -> dict[str, list[str]]:
    """Participant actor ids by resource type (400 for a reference we cannot read)."""
    found: dict[str, list[str]] = {}
    for index, participant in enumerate(data.get("participant", [])):
        ref = (participant.get("actor") or {}).get("reference", "")
        kind, _, ident = ref.rstrip("/").rpartition("/")
        kind = kind.rsplit("/", 1)[-1]
        element = f"{RESOURCE}.participant[{index}].actor"
        if kind not in ("Patient", "Practitioner", "Location") or not ident:
            raise unprocessable(
                f"participant[{index}].actor: '{ref}' is not a Patient/<id>, "
                "Practitioner/<id> or Location/<id> reference",
                expression=element,
            )
        found.setdefault(kind, []).append(ident)
    return found


def _provider(actor: Actor, ident: str) -> Provider:
    row = dt.row_id(ident)
    provider = (
        None if row is None else Provider.objects.for_org(actor.organization).filter(pk=row).first()
    )
    if provider is None:
        raise unprocessable(
            f"participant: Practitioner/{ident} is not known", expression=f"{RESOURCE}.participant"
        )
    return provider


def _booking_from_fhir(actor: Actor, data: dict[str, Any]) -> services.BookingRequest:
    if data.get("status") != "booked":
        raise unprocessable(
            f"status: a new appointment is booked, not '{data.get('status')}'",
            expression=f"{RESOURCE}.status",
        )
    found = _participants(data)
    element = f"{RESOURCE}.participant"
    if len(found.get("Patient", [])) != 1:
        raise unprocessable("participant: exactly one Patient is required", expression=element)
    if len(found.get("Practitioner", [])) != 1:
        raise unprocessable("participant: exactly one Practitioner is required", expression=element)
    patient: Patient = entries.patient_for(
        actor, {"reference": f"Patient/{found['Patient'][0]}"}, element
    )
    provider = _provider(actor, found["Practitioner"][0])
    facility, room = _locations(actor, provider, found.get("Location", []))
    start = parse_instant(data.get("start"), f"{RESOURCE}.start")
    end = parse_instant(data["end"], f"{RESOURCE}.end") if data.get("end") else None
    kind = _appointment_type(actor, data, start, end)
    duration = timedelta(minutes=kind.duration_minutes)
    if end is not None and end - start != duration:
        raise unprocessable(
            f"end: a {kind.name} visit lasts {kind.duration_minutes} minutes, "
            f"so it ends at {(start + duration).isoformat()}",
            expression=f"{RESOURCE}.end",
        )
    minutes = data.get("minutesDuration")
    if minutes is not None and minutes != kind.duration_minutes:
        raise unprocessable(
            f"minutesDuration: a {kind.name} visit lasts "
            f"{kind.duration_minutes} minutes, not {minutes}",
            expression=f"{RESOURCE}.minutesDuration",
        )
    reasons = [dt.concept_text(c) or dt.first_code(c) for c in data.get("reasonCode", [])]
    reason = "; ".join(r for r in reasons if r) or data.get("description", "")
    return services.BookingRequest(
        patient=patient,
        provider=provider,
        appointment_type=kind,
        start=start,
        facility=facility,
        room=room,
        reason=reason[:200],
        note=(data.get("comment") or "")[:300],
    )


def _locations(
    actor: Actor, provider: Provider, idents: list[str]
) -> tuple[Facility, Resource | None]:
    facility: Facility | None = None
    room: Resource | None = None
    for ident in idents:
        row = location.find(actor, ident)
        if row is None:
            raise unprocessable(
                f"participant: Location/{ident} is not known", expression=f"{RESOURCE}.participant"
            )
        if isinstance(row, Resource):
            room = row
        else:
            facility = row
    if facility is None and room is not None:
        facility = room.facility
    if facility is None:
        facility = (
            provider.facilities.filter(organization=actor.organization).order_by("pk").first()
            or Facility.objects.filter(organization=actor.organization).order_by("pk").first()
        )
    if facility is None:
        raise unprocessable(
            "participant: a Location is required (the provider works at no facility)",
            expression=f"{RESOURCE}.participant",
        )
    return facility, room


def _appointment_type(
    actor: Actor, data: dict[str, Any], start: datetime, end: datetime | None
) -> AppointmentType:
    types = list(
        AppointmentType.objects.for_org(actor.organization).filter(is_active=True).order_by("name")
    )
    concepts = [
        *data.get("serviceType", []),
        *([data["appointmentType"]] if data.get("appointmentType") else []),
    ]
    element = f"{RESOURCE}.serviceType"
    named: set[int] = set()
    asked: list[str] = []
    for concept in concepts:
        for item in concept.get("coding", []):
            code = str(item.get("code", ""))
            if item.get("system") == TYPE_SYSTEM:
                asked.append(code)
                named.update(t.pk for t in types if str(t.pk) == code)
            else:
                for text in (code, item.get("display", "")):
                    if text:
                        asked.append(text)
                        named.update(t.pk for t in types if _names(t, text))
        if concept.get("text"):
            asked.append(concept["text"])
            named.update(t.pk for t in types if t.name.lower() == concept["text"].strip().lower())
    choices = ", ".join(f"{t.name} ({t.duration_minutes} min, code {t.pk})" for t in types[:20])
    if len(named) == 1:
        return next(t for t in types if t.pk in named)
    if len(named) > 1:
        raise unprocessable(
            f"serviceType: names more than one appointment type ({choices})", expression=element
        )
    if asked:
        raise unprocessable(
            f"serviceType: {', '.join(repr(a) for a in asked)} is not an "
            f"appointment type offered here; offered: {choices}",
            expression=element,
        )
    if end is not None:
        fitting = [t for t in types if timedelta(minutes=t.duration_minutes) == end - start]
        if len(fitting) == 1:
            return fitting[0]
    raise unprocessable(
        "serviceType: name the appointment type (a coding of "
        f"{TYPE_SYSTEM} with its id, or its name); offered: {choices}",
        expression=element,
    )


def _names(kind: AppointmentType, text: str) -> bool:
    text = text.strip()
    return text == str(kind.pk) or text.lower() == kind.name.lower()


# --- update ------------------------------------------------------------------------------------


def _check_update(request: HttpRequest, data: dict[str, Any], appointment: Appointment) -> None:
    if data.get("id") not in (None, str(appointment.pk)):
        raise FhirError(
            400,
            "invalid",
            f"the body's id {data['id']!r} is not the id in the URL ({appointment.pk})",
            expression=f"{RESOURCE}.id",
        )
    if_match = request.headers.get("If-Match", "")
    current = to_fhir(appointment)["meta"]["versionId"]
    if if_match and if_match.removeprefix("W/").strip('"') != current:
        raise FhirError(
            412,
            "conflict",
            f"Appointment/{appointment.pk} has changed: its version is {current}, not {if_match}",
        )


def _apply_update(actor: Actor, appointment: Appointment, data: dict[str, Any]) -> None:
    status = data.get("status")
    current = STATUS_TO_FHIR[Status(appointment.status)]
    found = _participants(data)
    if found.get("Patient", [str(appointment.patient_id)]) != [str(appointment.patient_id)]:
        raise unprocessable(
            "participant: the patient of an appointment cannot change; cancel it and book another",
            expression=f"{RESOURCE}.participant",
        )
    if status == "cancelled" and appointment.status != Status.CANCELLED:
        reason = data.get("cancelationReason")
        services.cancel_appointment(
            actor=actor,
            appointment=appointment,
            reason=dt.concept_text(reason) or dt.first_code(reason),
        )
        return
    if status == "noshow" and appointment.status != Status.NO_SHOW:
        services.mark_no_show(actor=actor, appointment=appointment)
        return
    if status != current:
        raise unprocessable(
            f"status: an update may cancel (cancelled) or mark a no-show "
            f"(noshow); '{current}' cannot become '{status}' here (the flow "
            "board moves a visit along)",
            expression=f"{RESOURCE}.status",
        )
    start = parse_instant(data.get("start"), f"{RESOURCE}.start")
    practitioners = found.get("Practitioner", [])
    if len(practitioners) > 1:
        raise unprocessable(
            "participant: exactly one Practitioner is allowed", expression=f"{RESOURCE}.participant"
        )
    provider = _provider(actor, practitioners[0]) if practitioners else appointment.provider
    if start != appointment.start or provider.pk != appointment.provider_id:
        services.reschedule_appointment(
            actor=actor, appointment=appointment, start=start, provider=provider
        )
