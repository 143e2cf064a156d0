"""What the laboratory resources share (ServiceRequest, Specimen, lab Observation and
DiagnosticReport): code systems, a test's codings, the patient a search is about, the
Practitioner of a user, the search filters they have in common, and the audit of reads and
searches.

Our catalog codes (CBC, CMP...) are a code system of their own, `urn:carebench:lab-test`; LOINC
comes first where the test has one. The permissions are the lab pages': `labs.view_laborder`
for orders (ServiceRequest), `labs.view_specimen` for specimens, `labs.view_labresult` for
results and reports (front desk and billing see orders, not results).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core.actor import Actor

from . import datatypes as dt
from .appointment import local_date_filter, zone_of
from .outcome import bad_request
from .search import parse_reference_id, parse_token

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
LOCAL_TEST_SYSTEM = "urn:carebench:lab-test"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
US_CORE_LAB = dt.US_CORE + "us-core-observation-lab"
ORDER_PERMISSION = "labs.view_laborder"
RESULT_PERMISSION = "labs.view_labresult"
SPECIMEN_PERMISSION = "labs.view_specimen"


def test_code(loinc: str, local: str, name: str) -> dict[str, Any]:
    """A test as a CodeableConcept: LOINC (when known), then our catalog code; text the name."""
    codings = []
    if loinc:
        codings.append(dt.coding(LOINC, loinc, name))
    if local:
        codings.append(dt.coding(LOCAL_TEST_SYSTEM, local, name))
    return dt.compact({"coding": codings, "text": name})


def patient_id(patient: str | None, subject: str | None) -> int:
    """The patient a search is about, from `patient` or `subject` (400 without either)."""
    if patient:
        return parse_reference_id(patient, "Patient", "patient")
    if subject:
        return parse_reference_id(subject, "Patient", "subject")
    raise bad_request(
        "patient: this search needs the patient (patient=Patient/123 or subject=Patient/123)",
        expression="patient",
        code="required",
    )


def practitioner(user: Any) -> dict[str, str] | None:
    """A user as a Reference: the Practitioner when they are a provider (fetched with
    `select_related("<user>__provider")`), else None."""
    if user is None:
        return None
    try:
        provider = user.provider
    except ObjectDoesNotExist:
        return None
    if provider is None or provider.organization_id != user.organization_id:
        return None
    return {"reference": f"Practitioner/{provider.pk}", "display": provider.display_name}


def meta(updated: Any, profile: str = "") -> dict[str, Any]:
    value: dict[str, Any] = {
        "versionId": dt.version_id(updated),
        "lastUpdated": updated.isoformat(),
    }
    if profile:
        value["profile"] = [profile]
    return value


def tokens(values: Iterable[str]) -> list[list[Any]]:
    """Each search value (comma-separated: any of them) as its tokens."""
    return [[parse_token(v) for v in value.split(",")] for value in values]


def code_filter(values: Iterable[str], loinc_field: str, local_field: str) -> Q:
    """`code` as LOINC (`http://loinc.org|x`), our catalog code (`urn:carebench:lab-test|CBC`),
    or either (`x`)."""
    condition = Q()
    for group in tokens(values):
        match = Q(pk__in=[])
        for token in group:
            if token.system in (None, LOINC):
                match |= Q(**{loinc_field: token.code})
            if token.system in (None, LOCAL_TEST_SYSTEM):
                match |= Q(**{local_field: token.code})
        condition &= match
    return condition


def day_filter(actor: Actor, field: str, values: list[str], name: str = "date") -> Q:
    """`date` values (eq/ne/gt/lt/ge/le) on a datetime field, days in the clinic's zone."""
    condition = Q()
    if values:
        zone = zone_of(actor.organization)
        for value in values:
            condition &= local_date_filter(field, value, name, zone)
    return condition


def audit_read(actor: Actor, *, patient_id: int, model: str, pk: int, fhir_id: str) -> None:
    audit.record_for_actor(
        actor,
        action=Action.VIEW,
        patient_id=patient_id,
        resource_type=model,
        resource_id=pk,
        detail={"fhir": fhir_id},
    )


def audit_search(
    actor: Actor,
    *,
    patient_id: int,
    model: str,
    used: list[tuple[str, str]],
    total: int,
    ids: list[int],
) -> None:
    audit.record_for_actor(
        actor,
        action=Action.SEARCH,
        patient_id=patient_id,
        resource_type=model,
        detail={"fhir": True, "params": used, "total": total, "ids": ids},
    )
