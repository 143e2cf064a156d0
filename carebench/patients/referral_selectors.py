"""Reads for imaging and referral orders: a patient's orders, one order with its documents, and
the worklist of orders still waiting (oldest first, with the overdue ones flagged and counts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet

from carebench.core.models import Organization

from .document_models import Document
from .models import Patient
from .referral_models import OutsideOrder

Status = OutsideOrder.Status
WAITING = (Status.ORDERED, Status.SENT, Status.SCHEDULED, Status.RESULT_RECEIVED)
# A result not back this many days after the order is overdue: chase the destination.
OVERDUE_DAYS = {OutsideOrder.Kind.IMAGING: 14, OutsideOrder.Kind.REFERRAL: 30}
# A result received and not reviewed after this many days is overdue for the provider.
REVIEW_OVERDUE_DAYS = 3
WORKLIST_LIMIT = 500


def _orders(organization: Organization | int) -> QuerySet[OutsideOrder]:
    return OutsideOrder.objects.for_org(organization).select_related(  # type: ignore[no-any-return]
        "patient", "ordering_provider", "sent_by", "reviewed_by"
    )


def _live_documents() -> Prefetch:
    return Prefetch(
        "documents",
        queryset=Document.objects.filter(voided_at__isnull=True).order_by("-created_at", "-pk"),
        to_attr="live_documents",
    )


def orders_for(organization: Organization | int, patient: Patient) -> list[OutsideOrder]:
    """The patient's orders (not voided), newest first, with their documents."""
    return list(
        _orders(organization)
        .filter(patient=patient, voided_at__isnull=True)
        .prefetch_related(_live_documents())
        .order_by("-ordered_at", "-pk")
    )


def get_order(organization: Organization | int, pk: int) -> OutsideOrder:
    """One order of the organization with its documents (DoesNotExist otherwise)."""
    return _orders(organization).prefetch_related(_live_documents()).get(pk=pk)  # type: ignore[no-any-return]


@dataclass
class WorklistRow:
    order: OutsideOrder
    days_waiting: int
    overdue: bool


@dataclass
class Worklist:
    rows: list[WorklistRow]
    counts: dict[str, int] = field(default_factory=dict)  # by status
    overdue: int = 0
    prior_auth: int = 0  # flagged as needing a prior authorization

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def is_overdue(order: OutsideOrder, today: date, zone: ZoneInfo) -> bool:
    if order.status == Status.RESULT_RECEIVED:
        since = order.result_received_at or order.ordered_at
        return _days(since, today, zone) > REVIEW_OVERDUE_DAYS
    return _days(order.ordered_at, today, zone) > OVERDUE_DAYS[OutsideOrder.Kind(order.kind)]


def _days(at: datetime, today: date, zone: ZoneInfo) -> int:
    return (today - at.astimezone(zone).date()).days


def worklist(
    organization: Organization | int, today: date, zone: str, *, kind: str = ""
) -> Worklist:
    """Orders still waiting (ordered, sent, scheduled, or result in and not reviewed), oldest
    first, each flagged overdue after its kind's limit; counts by status."""
    tz = ZoneInfo(zone)
    qs = _orders(organization).filter(
        status__in=WAITING, voided_at__isnull=True, patient__voided_at__isnull=True
    )
    if kind in OutsideOrder.Kind.values:
        qs = qs.filter(kind=kind)
    rows = [
        WorklistRow(
            order=order,
            days_waiting=_days(order.ordered_at, today, tz),
            overdue=is_overdue(order, today, tz),
        )
        for order in qs.order_by("ordered_at", "pk")[:WORKLIST_LIMIT]
    ]
    counts: dict[str, int] = {str(status): 0 for status in WAITING}
    for row in rows:
        counts[row.order.status] += 1
    return Worklist(
        rows=rows,
        counts=counts,
        overdue=sum(row.overdue for row in rows),
        prior_auth=sum(row.order.needs_prior_auth for row in rows),
    )
