"""What the OpenAPI schema says each operation answers (the views return FHIR JSON themselves).

Every answer is `application/fhir+json`: a resource, a searchset Bundle, or an OperationOutcome
(but for a Binary's file, which comes as itself: document_reference.BINARY_RESPONSES).
"""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import ConfigDict


class Resource(Schema):
    """A FHIR resource (its elements are those of the resourceType)."""

    model_config = ConfigDict(extra="allow")
    resourceType: str


class OperationOutcome(Schema):
    """An error: one or more issues, each with severity, code and diagnostics."""

    model_config = ConfigDict(extra="allow")
    resourceType: str
    issue: list[dict[str, Any]]


_ERRORS: dict[int, type[Schema]] = {
    400: OperationOutcome,
    401: OperationOutcome,
    403: OperationOutcome,
    404: OperationOutcome,
    405: OperationOutcome,
}
READ = {200: Resource, **_ERRORS, 410: OperationOutcome}
SEARCH = {200: Resource, **_ERRORS}
CREATE = {
    201: Resource,
    **_ERRORS,
    409: OperationOutcome,
    413: OperationOutcome,
    415: OperationOutcome,
    422: OperationOutcome,
}
UPDATE = {
    200: Resource,
    **_ERRORS,
    409: OperationOutcome,
    410: OperationOutcome,
    412: OperationOutcome,
    413: OperationOutcome,
    415: OperationOutcome,
    422: OperationOutcome,
}
