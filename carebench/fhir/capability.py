"""`GET /fhir/metadata`: the CapabilityStatement, built from what each resource module declares.

No token is needed to read it. Each resource module gives RESOURCE, PROFILE, INTERACTIONS and
SEARCH_PARAMS; this module lists them with the security the API uses (bearer tokens, no SMART).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from carebench.core import clock

from . import (
    allergy,
    appointment,
    claim,
    claim_response,
    condition,
    consent,
    coverage,
    document_reference,
    ekg,
    encounter,
    explanation_of_benefit,
    immunization,
    location,
    medication_administration,
    medication_request,
    medication_statement,
    observation,
    patient,
    practitioner,
    procedure,
    schedule,
    schemas,
    service_request,
    slot,
    specimen,
)
from .bundle import MAX_COUNT, base_url
from .outcome import fhir_response

router = Router(tags=["CapabilityStatement"])

SECURITY = (
    "Bearer tokens: send `Authorization: Bearer <token>` (tokens are issued per user by a "
    "carebench administrator; this is not SMART-on-FHIR or OAuth). The token's user sees only "
    "their organization's data; each interaction needs the matching permission of their roles "
    "(401 without a valid token, 403 without the permission)."
)
COMMON_SEARCH = [
    {
        "name": "_count",
        "type": "number",
        "documentation": f"results per page (default 20, at most {MAX_COUNT})",
    },
    {"name": "_offset", "type": "number", "documentation": "results to skip"},
]


@router.get(
    "/metadata",
    auth=None,
    response={200: schemas.Resource},
    summary="The server's CapabilityStatement",
)
def metadata(request: HttpRequest) -> HttpResponse:
    return fhir_response(capability_statement(base_url(request)))


def capability_statement(base: str) -> dict[str, Any]:
    modules = (
        patient,
        allergy,
        condition,
        medication_statement,
        coverage,
        practitioner,
        location,
        schedule,
        slot,
        appointment,
        encounter,
        observation,
        ekg,  # DiagnosticReport: EKG and lab reports (lab.py adds to the EKG module's routes)
        service_request,
        specimen,
        immunization,
        medication_administration,
        medication_request,
        claim,
        claim_response,
        explanation_of_benefit,
        document_reference,
        document_reference.BINARY,
        procedure,
        consent,
    )
    return {
        "resourceType": "CapabilityStatement",
        "id": "carebench",
        "url": f"{base}/metadata",
        "name": "CarebenchFhirServer",
        "title": "carebench FHIR R4 API",
        "status": "active",
        "experimental": False,
        "date": clock.now().date().isoformat(),
        "publisher": "carebench",
        "description": "The clinic workstation's FHIR R4 API (US Core profiles).",
        "kind": "instance",
        "software": {"name": "carebench"},
        "implementation": {"description": "carebench FHIR R4 API", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json", "application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [{"text": "Bearer token (not SMART-on-FHIR)"}],
                    "description": SECURITY,
                },
                "resource": [_resource(module) for module in modules],
            }
        ],
    }


def _resource(module: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "type": module.RESOURCE,
        "interaction": [{"code": code} for code in module.INTERACTIONS],
        "versioning": "versioned" if "read" in module.INTERACTIONS else "no-version",
        "readHistory": False,
        "updateCreate": False,
        "searchParam": [{"name": name, "type": kind} for name, kind in module.SEARCH_PARAMS.items()]
        + COMMON_SEARCH,
    }
    if module.PROFILE.startswith("http://hl7.org/fhir/us/core/"):
        resource["supportedProfile"] = getattr(module, "SUPPORTED_PROFILES", [module.PROFILE])
    else:
        resource["profile"] = module.PROFILE
    return resource
