"""The manager's dashboard: one page that says what needs attention today."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from carebench.accounts.permissions import require_perms
from carebench.audit.services import record_read
from carebench.scheduling.forms import facilities_of

from . import charts, selectors


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


@require_GET
@require_perms("audit.view_auditevent")
def dashboard(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    facilities = list(facilities_of(org))
    chosen = request.GET.get("facility", "")
    facility = next((f for f in facilities if str(f.pk) == chosen), None) or (
        getattr(request.user, "default_facility", None) or (facilities[0] if facilities else None)
    )
    waits = selectors.flow_today(org, facility) if facility is not None else []
    claims = selectors.claims_by_status(org) if request.user.has_perm("billing.view_claim") else []
    anomalies = selectors.audit_anomalies(
        org, facility.time_zone if facility is not None else "America/Chicago"
    )
    record_read(request, patient_id=None, resource_type="Dashboard", detail={"facility": chosen})
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "facilities": facilities,
            "facility": facility,
            "waits": waits,
            "waits_chart": charts.bar_chart(
                "Median minutes in each step today",
                [
                    charts.Bar(
                        w.label,
                        w.median,
                        f"{w.median:g} min (n={w.count})",
                        alert=w.over_threshold > 0,
                    )
                    for w in waits
                ],
            )
            if waits
            else "",
            "claims": claims,
            "claims_chart": charts.bar_chart(
                "Claims by status",
                [charts.Bar(c.label, float(c.total), f"{c.count} · ${c.total}") for c in claims],
            )
            if claims
            else "",
            "anomalies": anomalies,
            **selectors.staff_and_compliance(
                org, facility.time_zone if facility is not None else "America/Chicago"
            ),
        },
    )
