"""Reads for the HL7 interface page: outbound messages, the inbound log, the unmatched queue."""

from __future__ import annotations

from typing import Any

from carebench.core.models import Organization

from .models import Hl7Message, LabOrder

PAGE = 50


def _base(organization: Organization) -> Any:
    return Hl7Message.objects.for_org(organization).select_related("order", "patient")


def outbound(organization: Organization, limit: int = PAGE) -> list[Hl7Message]:
    return list(
        _base(organization).filter(direction=Hl7Message.Direction.OUTBOUND).order_by("-pk")[:limit]
    )


def inbound(organization: Organization, limit: int = PAGE) -> list[Hl7Message]:
    return list(
        _base(organization).filter(direction=Hl7Message.Direction.INBOUND).order_by("-pk")[:limit]
    )


def unmatched(organization: Organization) -> list[Hl7Message]:
    return list(
        _base(organization)
        .filter(direction=Hl7Message.Direction.INBOUND, status=Hl7Message.Status.UNMATCHED)
        .order_by("pk")
    )


def counts(organization: Organization) -> dict[str, int]:
    queued = Hl7Message.objects.for_org(organization).filter(
        direction=Hl7Message.Direction.OUTBOUND, status=Hl7Message.Status.QUEUED
    )
    return {"queued": queued.count()}


def get_message(organization: Organization, pk: int) -> Hl7Message:
    return _base(organization).select_related("resolved_by").get(pk=pk)


def candidate_orders(organization: Organization, message: Hl7Message) -> list[LabOrder]:
    """Orders a held message may belong to: its patient's active orders when the MRN is known,
    newest first."""
    if message.patient_id is None:
        return []
    return list(
        LabOrder.objects.for_org(organization)
        .filter(patient_id=message.patient_id, voided_at__isnull=True)
        .exclude(status=LabOrder.Status.CANCELLED)
        .prefetch_related("items")
        .order_by("-ordered_at")[:20]
    )
