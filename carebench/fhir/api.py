"""The FHIR API object (filled in by the resource modules)."""

from django.http import HttpRequest, JsonResponse
from django.urls import path


def metadata(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"resourceType": "CapabilityStatement", "status": "draft"})


urlpatterns = [path("metadata", metadata)]
