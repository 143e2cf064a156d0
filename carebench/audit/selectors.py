"""Reads for the audit report: one organization's events, filtered and sorted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from .models import AuditEvent

#: ?sort= value -> model field; anything else falls back to the newest first
SORTABLE = {
    "occurred_at": "occurred_at",
    "username": "username",
    "action": "action",
    "patient": "patient_id",
    "resource": "resource_type",
    "outcome": "outcome",
    "address": "client_address",
    "channel": "channel",
}
DEFAULT_SORT = "-occurred_at"


@dataclass
class AuditFilters:
    """What the manager asked for; empty values mean 'any'."""

    date_from: date | None = None
    date_to: date | None = None
    username: str = ""
    patient_ids: list[int] = field(default_factory=list)
    patient_given: bool = False  # a patient was asked for (even if none matched)
    action: str = ""
    time_zone: str = "UTC"


def clean_sort(sort: str) -> str:
    """A whitelisted sort key ('username' or '-username'), else the default."""
    name = sort.lstrip("-")
    if name in SORTABLE and sort.count("-") <= 1:
        return sort
    return DEFAULT_SORT


def audit_events(
    organization_id: int, filters: AuditFilters, *, sort: str = DEFAULT_SORT
) -> QuerySet[AuditEvent]:
    """This organization's events (never another's) matching the filters, sorted."""
    qs = AuditEvent.objects.filter(organization_id=organization_id)
    zone = ZoneInfo(filters.time_zone)
    if filters.date_from:
        qs = qs.filter(occurred_at__gte=datetime.combine(filters.date_from, time.min, zone))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min, zone)
        qs = qs.filter(occurred_at__lt=end)
    if filters.username:
        qs = qs.filter(username__iexact=filters.username.strip())
    if filters.patient_given:
        qs = qs.filter(patient_id__in=filters.patient_ids) if filters.patient_ids else qs.none()
    if filters.action:
        qs = qs.filter(action=filters.action)
    sort = clean_sort(sort)
    descending = sort.startswith("-")
    column = SORTABLE[sort.lstrip("-")]
    order = f"-{column}" if descending else column
    return qs.order_by(order, "-id" if descending else "id")


def patient_ids_for(organization_id: int, text: str) -> list[int]:
    """A patient typed as a record id or an MRN, within the organization."""
    from django.apps import apps

    text = text.strip()
    if not text:
        return []
    # Looked up lazily: the audit app sits below patients and does not import it.
    patient_model = apps.get_model("patients", "Patient")
    cond = Q(mrn=text)
    if text.isdigit():
        cond |= Q(pk=int(text))
    return list(
        patient_model.objects.filter(organization_id=organization_id)
        .filter(cond)
        .values_list("pk", flat=True)[:10]
    )
