"""The FHIR R4 API object: routers of each resource module, bearer auth, OperationOutcome errors.

Every answer is `application/fhir+json`, errors included: ninja's own errors (auth, bad query
parameters, unknown ids) are turned into OperationOutcomes here, a method a path does not take is
a 405 OperationOutcome, and any other path under /fhir/ is a 404 OperationOutcome. Bearer tokens
carry no cookies, so CSRF does not apply (ninja exempts its views). The OpenAPI schema is served
at /fhir/openapi.json; the interactive docs page is off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path, re_path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer

from . import (
    allergy,
    appointment,
    capability,
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
    lab,
    location,
    medication_administration,
    medication_request,
    medication_statement,
    observation,
    patient,
    practitioner,
    procedure,
    schedule,
    service_request,
    slot,
    specimen,
)
from .auth import BearerToken, unauthorized
from .outcome import FHIR_JSON, FhirError, bad_request, outcome_response

logger = logging.getLogger(__name__)


class FhirRenderer(JSONRenderer):
    media_type = FHIR_JSON


api = NinjaAPI(
    title="carebench FHIR R4 API",
    version="4.0.1",
    description="FHIR R4 (4.0.1) JSON, US Core profiles. `Authorization: Bearer <token>`.",
    auth=BearerToken(),
    renderer=FhirRenderer(),
    docs_url=None,
    urls_namespace="fhir",
)
for module in (
    capability,
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
    # lab and ekg before observation (and lab before ekg): /Observation/lab-<id>,
    # /Observation/ekg-<id>-<part> and /DiagnosticReport/lab-<id> must match first
    lab,
    ekg,
    observation,
    service_request,
    specimen,
    immunization,
    medication_administration,
    medication_request,
    claim,
    claim_response,
    explanation_of_benefit,
    document_reference,  # and Binary (documents, and consents' signatures)
    procedure,
    consent,
):
    api.add_router("", module.router)


@api.exception_handler(FhirError)
def _fhir_error(request: HttpRequest, exc: FhirError) -> HttpResponse:
    return outcome_response(exc)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return outcome_response(unauthorized())


@api.exception_handler(NinjaValidationError)
def _bad_parameter(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    problems = []
    for error in exc.errors:
        where = ".".join(str(part) for part in error.get("loc", ())[1:] if part != "params")
        problems.append(f"{where or 'request'}: {error.get('msg', 'is invalid')}")
    return outcome_response(bad_request("; ".join(problems)))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return outcome_response(FhirError(404, "not-found", "not found"))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return outcome_response(FhirError(exc.status_code, "processing", str(exc)))


@api.exception_handler(IntegrityError)
def _conflict(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    logger.warning("FHIR write refused by a database constraint: %s", exc)
    return outcome_response(
        FhirError(
            409,
            "conflict",
            "the change conflicts with data already "
            "stored (a duplicate or a concurrent change); retry",
        )
    )


@api.exception_handler(DataError)
def _unstorable(request: HttpRequest, exc: DataError) -> HttpResponse:
    logger.warning("FHIR write refused by the database: %s", exc)
    return outcome_response(
        bad_request("a value is out of range or holds a NUL character", code="value")
    )


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("FHIR request failed: %s %s", request.method, request.path)
    return outcome_response(FhirError(500, "exception", "internal error; it has been logged"))


def _fhir_answers(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn ninja's plain-text 405 into an OperationOutcome (keeps ninja's csrf_exempt)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405:
            error = FhirError(
                405,
                "not-supported",
                f"{request.method} is not supported on {request.path}",
                headers={"Allow": response.get("Allow", "")},
            )
            return outcome_response(error)
        return response

    return wrapper


def unknown_path(request: HttpRequest, rest: str = "") -> HttpResponse:
    return outcome_response(
        FhirError(
            404, "not-found", f"{request.path} is not a FHIR endpoint here; see /fhir/metadata"
        )
    )


def _patterns() -> list[URLPattern | URLResolver]:
    patterns, _app, _namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _fhir_answers(pattern.callback)  # type: ignore[misc]
    return patterns


unknown_path.csrf_exempt = True  # type: ignore[attr-defined]

urlpatterns = [
    path("", (_patterns(), "fhir", "fhir")),
    re_path(r"^(?P<rest>.*)$", unknown_path),
]
