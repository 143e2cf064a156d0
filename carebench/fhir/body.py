"""Reading a resource from a request body: JSON first, then the `fhir.resources.R4B` model.

Malformed JSON, a body that is not the expected resourceType, and anything the R4B model refuses
are 400s whose issues give the path (`Patient.name[0].given`). The model accepts unknown codes
and ignores profiles, so each resource module checks its own codes and business rules after.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from .outcome import FhirError, bad_request, issue

ACCEPTED_TYPES = ("application/fhir+json", "application/json")


# The request body, as documented in the OpenAPI schema of each create/update operation.
def request_body_schema(resource_type: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"type": "string", "enum": [resource_type]}},
        "additionalProperties": True,
    }
    content = {media: {"schema": schema} for media in ACCEPTED_TYPES}
    return {"requestBody": {"required": True, "content": content}}


def read_resource(
    request: HttpRequest, model: type[BaseModel], resource_type: str
) -> dict[str, Any]:
    """The body as FHIR JSON that passed `model`; raise a 400/415 FhirError otherwise."""
    media = request.content_type or ""
    if media and media not in ACCEPTED_TYPES:
        raise FhirError(
            415, "not-supported", f"Content-Type must be {' or '.join(ACCEPTED_TYPES)}, not {media}"
        )
    try:
        data = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the body is not valid JSON: {exc}", code="structure") from None
    if not isinstance(data, dict):
        raise bad_request("the body must be a JSON object (a FHIR resource)", code="structure")
    found = data.get("resourceType")
    if found != resource_type:
        raise bad_request(
            f"resourceType must be {resource_type}, not {found!r}",
            expression="resourceType",
            code="not-supported",
        )
    try:
        model.model_validate(data)
    except PydanticValidationError as exc:
        raise FhirError(
            400,
            "structure",
            "",
            issues=[
                issue(
                    "structure",
                    f"{_path(resource_type, err['loc'])}: {err['msg']}",
                    expression=_path(resource_type, err["loc"]),
                )
                for err in exc.errors()
            ],
        ) from None
    return data


def _path(resource_type: str, loc: tuple[Any, ...]) -> str:
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}"
    return path
