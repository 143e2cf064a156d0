"""OperationOutcome: every FHIR error, and the `application/fhir+json` response every view sends.

Views raise `FhirError` (or a helper that builds one); the API's exception handlers turn it into
an OperationOutcome with the right HTTP status. A Django `ValidationError` from a service becomes
a 422 whose issues name the FHIR element (`Patient.birthDate`) and the rule that failed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse

FHIR_JSON = "application/fhir+json"


class FhirError(Exception):
    """An error answered with an OperationOutcome: HTTP status plus one or more issues."""

    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        *,
        expression: str | None = None,
        issues: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.issues = issues or [issue(code, diagnostics, expression=expression)]
        self.headers = dict(headers or {})


def issue(
    code: str, diagnostics: str, *, expression: str | None = None, severity: str = "error"
) -> dict[str, Any]:
    item: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        item["expression"] = [expression]
    return item


def fhir_response(
    body: Mapping[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    """A FHIR JSON response (`application/fhir+json; charset=utf-8`)."""
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type=f"{FHIR_JSON}; charset=utf-8",
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def resource_response(
    resource: Mapping[str, Any], *, status: int = 200, location: str = ""
) -> HttpResponse:
    """One resource, with its version as a weak ETag (and a Location header after a create)."""
    headers = {}
    version = resource.get("meta", {}).get("versionId")
    if version:
        headers["ETag"] = f'W/"{version}"'
    if location:
        headers["Location"] = location
    return fhir_response(resource, status=status, headers=headers)


def outcome_response(error: FhirError) -> HttpResponse:
    body = {"resourceType": "OperationOutcome", "issue": error.issues}
    return fhir_response(body, status=error.status, headers=error.headers)


# --- shorthands for the usual answers ----------------------------------------------------------


def bad_request(
    diagnostics: str, *, expression: str | None = None, code: str = "invalid"
) -> FhirError:
    return FhirError(400, code, diagnostics, expression=expression)


def not_found(resource_type: str, resource_id: object) -> FhirError:
    return FhirError(404, "not-found", f"{resource_type}/{resource_id} is not known")


def gone(resource_type: str, resource_id: object) -> FhirError:
    return FhirError(410, "deleted", f"{resource_type}/{resource_id} was voided (entered in error)")


def unprocessable(diagnostics: str, *, expression: str | None = None) -> FhirError:
    return FhirError(422, "business-rule", diagnostics, expression=expression)


def from_validation_error(
    exc: ValidationError, resource_type: str, paths: Mapping[str, str]
) -> FhirError:
    """A service's ValidationError as a 422 naming each FHIR element and the rule it broke.

    `paths` maps model field names to FHIR element paths (relative to the resource), e.g.
    `{"birth_date": "birthDate"}`; unknown fields fall back to the resource itself.
    """
    messages = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    issues = []
    for field, rules in messages.items():
        element = paths.get(field, "")
        expression = f"{resource_type}.{element}" if element else resource_type
        for rule in rules:
            name = element or resource_type
            issues.append(issue("business-rule", f"{name}: {rule}", expression=expression))
    return FhirError(422, "business-rule", "", issues=issues)
