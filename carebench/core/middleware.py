"""Request plumbing: body-size limit, the user's organization on the request, no-store caching."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

if TYPE_CHECKING:
    from carebench.core.models import Organization

Handler = Callable[[HttpRequest], HttpResponse]


class RequestSizeLimitMiddleware:
    """Refuse a request body over the limit before anything reads it (413)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.CAREBENCH_MAX_BODY_BYTES
        uploading = request.content_type == "multipart/form-data" and not request.path.startswith(
            "/fhir/"
        )
        if uploading:
            limit = settings.CAREBENCH_MAX_UPLOAD_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            message = (
                f"request body is {length} bytes; the limit is {limit} bytes "
                f"({limit // (1024 * 1024)} MB{' for a file upload' if uploading else ''})"
            )
            if request.path.startswith("/fhir/"):
                outcome = {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "too-long", "diagnostics": message}],
                }
                return HttpResponse(
                    json.dumps(outcome), status=413, content_type="application/fhir+json"
                )
            if request.headers.get("Accept", "").startswith("application/json"):
                return JsonResponse({"error": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class TenantMiddleware:
    """Put the signed-in user's organization on the request as `request.organization`."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        request.organization = (  # type: ignore[attr-defined]
            user.organization if user is not None and user.is_authenticated else None
        )
        return self.get_response(request)


def organization_of(request: HttpRequest) -> Organization:
    """`request.organization` as `TenantMiddleware` set it, typed: for views behind sign-in."""
    return cast("Organization", vars(request)["organization"])


class NoStoreMiddleware:
    """Nothing the workstation serves may be kept in a browser or proxy cache.

    Static files are served by WhiteNoise before this runs and keep their own caching.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/" + settings.STATIC_URL.strip("/") + "/"):
            response["Cache-Control"] = "no-store, private"
            response["Pragma"] = "no-cache"
        return response
