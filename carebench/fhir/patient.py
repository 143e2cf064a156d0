"""Patient: read, search, create and update, as US Core Patient.

Model -> FHIR in `to_fhir`, FHIR -> `PatientDetails` in `details_from_fhir`. Writes go through
`patients.services` (register_patient / update_patient), reads through `patients.selectors`.
The MRN is assigned by the server: identifiers sent on create are ignored, and an update may not
change it. An update replaces the demographics (elements left out are cleared) and honours
`If-Match` (412 when the version has moved on). A voided (registered in error) patient reads as 410 Gone; another organization's
patient is 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.patient import Patient as FhirPatient
from ninja import Field, Query, Router, Schema

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core.actor import Actor
from carebench.patients import selectors, services
from carebench.patients.models import GenderIdentity, Language, Patient, SexAtBirth
from carebench.patients.validation import format_phone

from . import datatypes as dt
from . import schemas
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
from .search import check_params, date_filter, parse_token

RESOURCE = "Patient"
PROFILE = dt.US_CORE + "us-core-patient"
BIRTHSEX = dt.US_CORE + "us-core-birthsex"
GENDER_IDENTITY = dt.US_CORE + "us-core-genderIdentity"
INTERACTIONS = ["read", "search-type", "create", "update"]
SEARCH_PARAMS = {
    "_id": "token",
    "name": "string",
    "family": "string",
    "given": "string",
    "birthdate": "date",
    "identifier": "token",
}

# Model field -> FHIR element, for 422s that name the element.
FIELD_PATHS = {
    "family_name": "name.family",
    "given_name": "name.given",
    "middle_name": "name.given",
    "suffix": "name.suffix",
    "preferred_name": "name",
    "birth_date": "birthDate",
    "sex": "gender",
    "sex_at_birth": "extension",
    "gender_identity": "extension",
    "phone_mobile": "telecom",
    "phone_home": "telecom",
    "email": "telecom",
    "address_line1": "address.line",
    "address_line2": "address.line",
    "city": "address.city",
    "state": "address.state",
    "postal_code": "address.postalCode",
    "preferred_language": "communication.language",
    "emergency_contact_name": "contact.name",
    "emergency_contact_relationship": "contact.relationship",
    "emergency_contact_phone": "contact.telecom",
    "mrn": "identifier",
}

router = Router(tags=["Patient"])


class PatientSearch(Schema):
    id: list[str] = Field([], alias="_id", description="logical id")
    name: list[str] = Field([], description="start of any name part, accents and case ignored")
    family: list[str] = Field([], description="start of the last name")
    given: list[str] = Field([], description="start of the first or preferred name")
    birthdate: list[str] = Field([], description="date, with an optional eq/ne/gt/lt/ge/le")
    identifier: list[str] = Field([], description="the MRN: system|value or value")


# --- views ------------------------------------------------------------------------------------


@router.get("/Patient/{patient_id}", response=schemas.READ, summary="Read a Patient")
def read_patient(request: HttpRequest, patient_id: str) -> HttpResponse:
    actor = authorize(request, "patients.view_patient")
    patient = _get(actor, patient_id)
    audit.record_for_actor(
        actor,
        action=Action.VIEW,
        patient_id=patient.pk,
        resource_type=RESOURCE,
        resource_id=patient.pk,
    )
    return resource_response(to_fhir(patient, mrn_system=dt.mrn_system(actor.organization)))


@router.get("/Patient", response=schemas.SEARCH, summary="Search Patients")
def search_patients(
    request: HttpRequest, paging: Query[Paging], params: Query[PatientSearch]
) -> HttpResponse:
    actor = authorize(request, "patients.view_patient")
    used = check_params(request, SEARCH_PARAMS)
    rows, total = page_of(_search(actor, params), paging)
    audit.record_for_actor(
        actor,
        action=Action.SEARCH,
        resource_type=RESOURCE,
        detail={"params": used, "total": total, "ids": [row.pk for row in rows]},
    )
    system = dt.mrn_system(actor.organization)
    return resource_response(
        searchset(
            request,
            RESOURCE,
            rows,
            total,
            paging,
            lambda row: to_fhir(row, mrn_system=system),
            used,
        )
    )


@router.post(
    "/Patient",
    response=schemas.CREATE,
    summary="Create a Patient",
    openapi_extra=request_body_schema(RESOURCE),
)
def create_patient(request: HttpRequest) -> HttpResponse:
    actor = authorize(request, "patients.add_patient")
    data = read_resource(request, FhirPatient, RESOURCE)
    details = details_from_fhir(data)
    try:
        patient = services.register_patient(actor=actor, details=details)
    except ValidationError as exc:
        raise from_validation_error(exc, RESOURCE, FIELD_PATHS) from None
    return resource_response(
        to_fhir(patient, mrn_system=dt.mrn_system(actor.organization)),
        status=201,
        location=f"{base_url(request)}/Patient/{patient.pk}",
    )


@router.put(
    "/Patient/{patient_id}",
    response=schemas.UPDATE,
    summary="Update a Patient",
    openapi_extra=request_body_schema(RESOURCE),
)
def update_patient(request: HttpRequest, patient_id: str) -> HttpResponse:
    actor = authorize(request, "patients.change_patient")
    patient = _get(actor, patient_id)
    data = read_resource(request, FhirPatient, RESOURCE)
    _check_update(request, data, patient, dt.mrn_system(actor.organization))
    details = details_from_fhir(data)
    try:
        patient = services.update_patient(actor=actor, patient=patient, details=details)
    except ValidationError as exc:
        raise from_validation_error(exc, RESOURCE, FIELD_PATHS) from None
    return resource_response(to_fhir(patient, mrn_system=dt.mrn_system(actor.organization)))


# --- reads --------------------------------------------------------------------------------------


def _get(actor: Actor, patient_id: str) -> Patient:
    row = dt.row_id(patient_id)
    if row is None:
        raise not_found(RESOURCE, patient_id)
    try:
        return selectors.get_patient(actor.organization, row)
    except Patient.DoesNotExist:
        voided = (
            Patient.objects.for_org(actor.organization)
            .filter(pk=row, voided_at__isnull=False)
            .exists()
        )
        raise (gone if voided else not_found)(RESOURCE, patient_id) from None


def _search(actor: Actor, params: PatientSearch) -> Any:
    org = actor.organization
    qs = selectors.patients_by_name(
        org,
        family=" ".join(params.family),
        given=" ".join(params.given),
        name=" ".join(params.name),
    )
    for value in params.birthdate:
        qs = qs.filter(date_filter("birth_date", value, "birthdate"))
    for value in params.identifier:
        token = parse_token(value)
        if token.system not in (None, dt.mrn_system(org)):
            return qs.none()
        if token.code:
            qs = qs.filter(mrn=token.code)
    for value in params.id:
        row = dt.row_id(value)
        qs = qs.none() if row is None else qs.filter(pk=row)
    return qs.order_by("family_key", "given_key", "birth_date", "pk")


def _check_update(
    request: HttpRequest, data: dict[str, Any], patient: Patient, system: str
) -> None:
    if data.get("id") not in (None, str(patient.pk)):
        raise FhirError(
            400,
            "invalid",
            f"the body's id {data['id']!r} is not the id in the URL ({patient.pk})",
            expression="Patient.id",
        )
    if_match = request.headers.get("If-Match", "")
    current = dt.version_id(patient.updated_at)
    if if_match and if_match.removeprefix("W/").strip('"') != current:
        raise FhirError(
            412,
            "conflict",
            f"Patient/{patient.pk} has changed: its version is {current}, not {if_match}",
        )
    for ident in data.get("identifier", []):
        if ident.get("system") == system and ident.get("value") not in (None, patient.mrn):
            raise unprocessable(
                "identifier: the MRN is assigned by carebench and cannot be changed",
                expression="Patient.identifier",
            )


# --- model -> FHIR ------------------------------------------------------------------------------


def to_fhir(patient: Patient, *, mrn_system: str) -> dict[str, Any]:
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(patient.pk),
            "meta": dt.meta(PROFILE, patient.updated_at),
            "extension": _extensions(patient),
            "identifier": [
                {
                    "use": "usual",
                    "type": dt.concept(dt.V2_0203, "MR", "Medical record number", "MRN"),
                    "system": mrn_system,
                    "value": patient.mrn,
                }
            ],
            "active": True,
            "name": _names(patient),
            "telecom": _telecom(patient),
            "gender": patient.sex,
            "birthDate": patient.birth_date.isoformat(),
            "address": _address(patient),
            "contact": _contact(patient),
            "communication": [
                {"language": _language(patient.preferred_language), "preferred": True}
            ],
        }
    )


def _extensions(patient: Patient) -> list[dict[str, Any]]:
    extensions: list[dict[str, Any]] = []
    if patient.sex_at_birth:
        extensions.append({"url": BIRTHSEX, "valueCode": patient.sex_at_birth})
    if patient.gender_identity:
        code = patient.gender_identity
        system = dt.SNOMED if code.isdigit() else dt.NULL_FLAVOR
        label = GenderIdentity(code).label
        extensions.append(
            {"url": GENDER_IDENTITY, "valueCodeableConcept": dt.concept(system, code, label, label)}
        )
    return extensions


def _names(patient: Patient) -> list[dict[str, Any]]:
    official = dt.compact(
        {
            "use": "official",
            "family": patient.family_name,
            "given": [n for n in (patient.given_name, patient.middle_name) if n],
            "suffix": [patient.suffix] if patient.suffix else [],
        }
    )
    names = [official]
    if patient.preferred_name:
        names.append({"use": "nickname", "given": [patient.preferred_name]})
    return names


def _telecom(patient: Patient) -> list[dict[str, Any]]:
    telecom = [
        {"system": "phone", "value": format_phone(number), "use": use}
        for number, use in ((patient.phone_mobile, "mobile"), (patient.phone_home, "home"))
        if number
    ]
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    return telecom


def _address(patient: Patient) -> list[dict[str, Any]]:
    address = dt.compact(
        {
            "line": [line for line in (patient.address_line1, patient.address_line2) if line],
            "city": patient.city,
            "state": patient.state,
            "postalCode": patient.postal_code,
        }
    )
    return [{"use": "home", **address, "country": "US"}] if address else []


def _contact(patient: Patient) -> list[dict[str, Any]]:
    contact = dt.compact(
        {
            "name": {"text": patient.emergency_contact_name}
            if patient.emergency_contact_name
            else None,
            "telecom": [{"system": "phone", "value": format_phone(patient.emergency_contact_phone)}]
            if patient.emergency_contact_phone
            else [],
        }
    )
    if not contact and not patient.emergency_contact_relationship:
        return []
    relationship = [dt.concept(dt.V2_0131, "C", "Emergency Contact")]
    if patient.emergency_contact_relationship:
        relationship.append({"text": patient.emergency_contact_relationship})
    return [{"relationship": relationship, **contact}]


def _language(code: str) -> dict[str, Any]:
    label = Language(code).label if code in Language.values else code
    if code == Language.OTHER or not code:
        return {"text": label or "Other"}
    return dt.concept(dt.BCP47, code, label, label)


# --- FHIR -> model ------------------------------------------------------------------------------


def details_from_fhir(data: dict[str, Any]) -> services.PatientDetails:
    """The demographics in a Patient resource (already checked by the R4B model)."""
    official, nickname = _read_names(data.get("name", []))
    given = official.get("given", [])
    mobile, home, email = _read_telecom(data.get("telecom", []))
    address = _pick(data.get("address", []), "use", ("home", None))
    lines = address.get("line", [])
    contact_name, relationship, contact_phone = _read_contact(data.get("contact", []))
    sex_at_birth, gender_identity = _read_extensions(data.get("extension", []))
    birth_date = dt.full_date(data.get("birthDate"), "Patient.birthDate")
    if birth_date is None:
        raise unprocessable("birthDate: is required", expression="Patient.birthDate")
    return services.PatientDetails(
        family_name=official.get("family", ""),
        given_name=given[0] if given else "",
        middle_name=" ".join(given[1:]),
        suffix=" ".join(official.get("suffix", [])),
        preferred_name=(nickname.get("given") or [nickname.get("text", "")])[0],
        birth_date=birth_date,
        sex=data.get("gender", ""),
        sex_at_birth=sex_at_birth,
        gender_identity=gender_identity,
        phone_mobile=mobile,
        phone_home=home,
        email=email,
        address_line1=lines[0] if lines else "",
        address_line2=" ".join(lines[1:]),
        city=address.get("city", ""),
        state=address.get("state", ""),
        postal_code=address.get("postalCode", ""),
        preferred_language=_read_language(data.get("communication", [])),
        emergency_contact_name=contact_name,
        emergency_contact_relationship=relationship,
        emergency_contact_phone=contact_phone,
    )


def _pick(items: list[dict[str, Any]], key: str, wanted: tuple[Any, ...]) -> dict[str, Any]:
    """The first item whose `key` is one of `wanted`, else the first item, else {}."""
    for item in items:
        if item.get(key) in wanted:
            return item
    return items[0] if items else {}


def _read_names(names: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    official = _pick(
        [n for n in names if n.get("use") != "nickname"], "use", ("official", "usual", None)
    )
    nickname = next((n for n in names if n.get("use") == "nickname"), {})
    return official, nickname


def _read_telecom(telecom: list[dict[str, Any]]) -> tuple[str, str, str]:
    mobile = home = email = ""
    for point in telecom:
        value, use = point.get("value", ""), point.get("use")
        if point.get("system") == "email":
            email = email or value
        elif point.get("system") == "phone":
            if use == "home" or (use != "mobile" and mobile):
                home = home or value
            else:
                mobile = mobile or value
    return mobile, home, email


def _read_contact(contacts: list[dict[str, Any]]) -> tuple[str, str, str]:
    if not contacts:
        return "", "", ""
    emergency = [
        c
        for c in contacts
        if any("C" in dt.codes(r, dt.V2_0131) for r in c.get("relationship", []))
    ]
    contact = (emergency or contacts)[0]
    name = contact.get("name", {})
    full_name = name.get("text") or " ".join([*name.get("given", []), name.get("family", "")])
    relationship = ""
    for concept in contact.get("relationship", []):
        if dt.codes(concept, dt.V2_0131) == ["C"] and not concept.get("text"):
            continue
        relationship = dt.concept_text(concept) or dt.first_code(concept)
        break
    phone = next(
        (p.get("value", "") for p in contact.get("telecom", []) if p.get("system") == "phone"), ""
    )
    return full_name.strip(), relationship, phone


def _read_extensions(extensions: list[dict[str, Any]]) -> tuple[str, str]:
    sex_at_birth = gender_identity = ""
    for extension in extensions:
        if extension.get("url") == BIRTHSEX:
            sex_at_birth = extension.get("valueCode", "")
        elif extension.get("url") == GENDER_IDENTITY:
            gender_identity = dt.first_code(extension.get("valueCodeableConcept"))
    if sex_at_birth and sex_at_birth not in SexAtBirth.values:
        raise unprocessable(
            f"extension (birthsex): '{sex_at_birth}' is not one of {', '.join(SexAtBirth.values)}",
            expression="Patient.extension",
        )
    return sex_at_birth, gender_identity


def _read_language(communication: list[dict[str, Any]]) -> str:
    if not communication:
        return Language.ENGLISH
    language = _pick(communication, "preferred", (True,)).get("language", {})
    code = dt.first_code(language).split("-")[0].lower()
    if code in Language.values:
        return code
    return Language.OTHER
