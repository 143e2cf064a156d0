"""Code systems, profile URLs and small builders/readers for FHIR data types.

Builders return plain JSON dicts; readers take the JSON of a resource that already passed the
`fhir.resources.R4B` model, so its shape is right (lists are lists) but its codes are unchecked.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from carebench.core.models import Organization

from .outcome import FhirError, unprocessable

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
BCP47 = "urn:ietf:bcp:47"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V2_0131 = "http://terminology.hl7.org/CodeSystem/v2-0131"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
MRN_SYSTEM_PREFIX = "urn:carebench:mrn:"


def mrn_system(organization: Organization) -> str:
    """The identifier system of one organization's medical record numbers."""
    return MRN_SYSTEM_PREFIX + organization.slug


def coding(system: str, code: str, display: str = "") -> dict[str, str]:
    item = {"system": system, "code": code}
    if display:
        item["display"] = display
    return item


def concept(system: str, code: str, display: str = "", text: str = "") -> dict[str, Any]:
    value: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if text:
        value["text"] = text
    return value


def reference(resource_type: str, resource_id: int) -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id}"}


def meta(profile: str, updated: datetime) -> dict[str, Any]:
    return {
        "versionId": version_id(updated),
        "lastUpdated": updated.isoformat(),
        "profile": [profile],
    }


def version_id(updated: datetime) -> str:
    """A version id that changes whenever the row is saved (its update time in microseconds)."""
    return str(int(updated.timestamp() * 1_000_000))


def notes(text: str) -> list[dict[str, str]]:
    return [{"text": text}] if text else []


def compact(resource: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values (FHIR JSON has no empty strings, lists or objects)."""
    return {key: value for key, value in resource.items() if value not in ("", None, [], {})}


# --- readers ------------------------------------------------------------------------------------


def codes(value: dict[str, Any] | None, system: str | None = None) -> list[str]:
    """The codes of a CodeableConcept, optionally only those of one system."""
    if not value:
        return []
    return [
        c["code"]
        for c in value.get("coding", [])
        if c.get("code") and (system is None or c.get("system") == system)
    ]


def first_code(value: dict[str, Any] | None, system: str | None = None) -> str:
    found = codes(value, system)
    return found[0] if found else ""


def concept_text(value: dict[str, Any] | None) -> str:
    """The text of a CodeableConcept, else its first coding's display."""
    if not value:
        return ""
    if value.get("text"):
        return str(value["text"])
    for item in value.get("coding", []):
        if item.get("display"):
            return str(item["display"])
    return ""


def full_date(value: str | None, element: str) -> date | None:
    """A FHIR date or dateTime as a date; partial dates (1980, 1980-05) are refused (422)."""
    if not value:
        return None
    if len(value) < 10:
        raise unprocessable(
            f"{element}: a full date (YYYY-MM-DD) is required, not '{value}'", expression=element
        )
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise unprocessable(f"{element}: '{value}' is not a date", expression=element) from None


def row_id(text: str) -> int | None:
    """A logical id as our row id, or None when it cannot be one (not digits, or too long)."""
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    return None


def patient_reference_id(value: dict[str, Any] | None, element: str) -> int:
    """The id in a `Patient/123` reference (400 when absent or not a Patient reference)."""
    ref = (value or {}).get("reference", "")
    kind, _, ident = ref.rpartition("/")
    if not ref or kind.rsplit("/", 1)[-1] != "Patient" or row_id(ident) is None:
        raise FhirError(
            400,
            "required",
            f"{element}: a reference 'Patient/<id>' is required",
            expression=element,
        )
    return int(ident)
