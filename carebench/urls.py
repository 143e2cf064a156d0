"""URL map: pages by app, the FHIR API under /fhir/, the health check."""

from django.urls import include, path

urlpatterns = [
    path("", include("carebench.core.urls")),
    path("account/", include("carebench.accounts.urls")),
    path("patients/", include("carebench.patients.urls")),
    path("audit/", include("carebench.audit.urls")),
    path("schedule/", include("carebench.scheduling.urls")),
    path("visits/", include("carebench.encounters.urls")),
    path("labs/", include("carebench.labs.urls")),
    path("meds/", include("carebench.meds.urls")),
    path("ekg/", include("carebench.ekg.urls")),
    path("billing/", include("carebench.billing.urls")),
    path("staff/", include("carebench.staff.urls")),
    path("compliance/", include("carebench.compliance.urls")),
    path("inbox/", include("carebench.inbox.urls")),
    path("dashboard/", include("carebench.dashboard.urls")),
    path("fhir/", include("carebench.fhir.api")),
]
