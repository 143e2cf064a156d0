"""Reads for the manager's dashboard: today's flow by step, claims by status, the week's audit
anomalies, and (from the staff and compliance apps) expiring credentials, overdue equipment and
temperature excursions. Each part is a few aggregate queries, whatever the clinic's size."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Prefetch, Q
from django.db.models.functions import ExtractHour

from carebench.audit.models import Action, AuditEvent, Outcome
from carebench.core import clock
from carebench.core.models import Facility, Organization

from . import metrics

AUDIT_DAYS = 7


def flow_today(organization: Organization, facility: Facility) -> list[metrics.StepWait]:
    """Minutes in each step of today's visits at the facility (two queries)."""
    from carebench.scheduling.models import FLOW_ORDER, Appointment, AppointmentStep, Status
    from carebench.scheduling.selectors import WAIT_THRESHOLDS, _day_bounds

    day = clock.today(facility.time_zone)
    start, end = _day_bounds(day, facility.time_zone)
    visits = []
    for appt in (
        Appointment.objects.for_org(organization)
        .filter(facility=facility, start__gte=start, start__lt=end)
        .exclude(status__in=[Status.CANCELLED, Status.NO_SHOW, Status.BOOKED])
        .only("id", "status")
        .prefetch_related(
            Prefetch(
                "steps", queryset=AppointmentStep.objects.only("appointment_id", "status", "at")
            )
        )
    ):
        visits.append((appt.status, {step.status: step.at for step in appt.steps.all()}))
    flow = [s for s in FLOW_ORDER if s not in (Status.BOOKED, Status.DONE)]
    return metrics.step_waits(
        visits,
        order=[*flow, Status.DONE],
        labels=dict(Status.choices),
        thresholds={str(k): v for k, v in WAIT_THRESHOLDS.items()},
        now=clock.now(),
    )


def claims_by_status(organization: Organization) -> list[Any]:
    from carebench.billing.selectors import status_counts

    return [row for row in status_counts(organization) if row.count]


def audit_anomalies(organization: Organization, zone: str) -> list[metrics.Anomaly]:
    since = clock.now() - timedelta(days=AUDIT_DAYS)
    events = AuditEvent.objects.filter(organization_id=organization.pk, occurred_at__gte=since)

    def by_user(rows: Any) -> dict[str, int]:
        return {
            r["username"] or "(unknown)": r["n"]
            for r in rows.values("username").annotate(n=Count("id"))
        }

    patient_reads = events.filter(action=Action.VIEW, patient_id__isnull=False)
    night = patient_reads.annotate(hour=ExtractHour("occurred_at", tzinfo=ZoneInfo(zone))).filter(
        Q(hour__gte=22) | Q(hour__lt=6)
    )
    return metrics.audit_anomalies(
        denied=by_user(events.filter(outcome=Outcome.DENIED)),
        failed_logins=by_user(events.filter(action=Action.LOGIN_FAILED)),
        night_reads=by_user(night),
        reads=by_user(patient_reads),
        days=AUDIT_DAYS,
    )


def staff_and_compliance(organization: Organization, zone: str) -> dict[str, Any]:
    """Credentials needing action (expired, unverified, expiring within 90 days), equipment
    overdue or due within two weeks, open temperature excursions, fridges missing a reading."""
    from carebench.compliance import selectors as compliance
    from carebench.staff import selectors as staff

    today = clock.today(zone)
    board = staff.credential_board(organization, today)
    return {
        "credentials": [row for row in board if row.status != "current"][:15],
        "credential_counts": staff.status_counts(board),
        "overdue": compliance.plans_overdue(organization, today=today),
        "due_soon": compliance.plans_due_soon(organization, today=today),
        "excursions": compliance.open_excursions(organization),
        "missing_readings": compliance.units_missing_readings(organization),
        "cosign_waiting": len(staff.open_cosign_requests(organization)),
    }
