"""Reads for the lab corner, always within one organization, with related rows prefetched."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q, QuerySet

from carebench.core.models import Organization
from carebench.scheduling.models import Provider
from carebench.terminology.models import Icd10CmCode

from . import draw
from .models import LabOrder, LabOrderItem, LabTest, Manifest, Specimen, SpecimenEvent
from .services import needs_for

OPEN_STATUSES = [
    Specimen.Status.PENDING,
    Specimen.Status.COLLECTED,
    Specimen.Status.PROCESSED,
    Specimen.Status.STORED,
    Specimen.Status.PACKED,
]


def catalog(organization: Organization | int, *, active_only: bool = True) -> list[LabTest]:
    qs = LabTest.objects.for_org(organization)
    if active_only:
        qs = qs.filter(is_active=True)
    return list(qs.order_by("name"))


def active_providers(organization: Organization | int) -> QuerySet[Provider]:
    return Provider.objects.for_org(organization).filter(is_active=True)


def _orders(organization: Organization | int) -> QuerySet[LabOrder]:
    return LabOrder.objects.for_org(organization).select_related(
        "patient", "ordering_provider", "entered_by", "cosigned_by"
    )


def get_order(organization: Organization | int, order_id: int) -> LabOrder:
    return (
        _orders(organization)
        .select_related("encounter", "encounter__facility")
        .prefetch_related(
            Prefetch("items", queryset=LabOrderItem.objects.order_by("pk")),
            Prefetch(
                "specimens",
                queryset=Specimen.objects.select_related("collected_by").prefetch_related("items"),
            ),
        )
        .get(pk=order_id)
    )


def diagnoses(codes: list[str]) -> list[tuple[str, str]]:
    found = dict(Icd10CmCode.objects.filter(code__in=codes).values_list("code", "description"))
    return [(code, found.get(code, "")) for code in codes]


def draw_plan(order: LabOrder, *, winged_set: bool = False) -> draw.DrawPlan:
    """The plan for an order fetched with `get_order` (its items prefetched)."""
    return draw.plan_draw(needs_for(list(order.items.all())), winged_set=winged_set)


def cosign_queue(organization: Organization | int, *, user_id: int | None = None) -> list[LabOrder]:
    """Orders entered under a standing or verbal order, waiting for the provider's signature
    (only one provider's when `user_id` is that provider's user)."""
    qs = (
        _orders(organization)
        .filter(cosigned_at__isnull=True, voided_at__isnull=True)
        .exclude(basis=LabOrder.Basis.PROVIDER)
        .prefetch_related(Prefetch("items", queryset=LabOrderItem.objects.order_by("pk")))
        .order_by("ordered_at")
    )
    if user_id is not None:
        qs = qs.filter(ordering_provider__user_id=user_id)
    return list(qs)


def patient_orders(organization: Organization | int, patient_id: int) -> list[LabOrder]:
    return list(
        _orders(organization)
        .filter(patient_id=patient_id)
        .prefetch_related(Prefetch("items", queryset=LabOrderItem.objects.order_by("pk")))
    )


def _specimens(organization: Organization | int) -> QuerySet[Specimen]:
    return Specimen.objects.for_org(organization).select_related(
        "patient", "order", "collected_by", "manifest"
    )


def get_specimen(organization: Organization | int, specimen_id: int) -> Specimen:
    return (
        _specimens(organization)
        .select_related("order__ordering_provider", "recollect_of", "recollection")
        .prefetch_related(
            "items",
            Prefetch("events", queryset=SpecimenEvent.objects.select_related("by")),
        )
        .get(pk=specimen_id)
    )


def find_specimen(organization: Organization | int, code: str) -> Specimen | None:
    """The specimen with this accession (as scanned: spaces and case do not matter)."""
    accession = "".join(code.split()).upper()
    if not accession or len(accession) > 20:
        return None
    return Specimen.objects.for_org(organization).filter(accession=accession).first()


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))
    return start, start + timedelta(days=1)


def worklist(organization: Organization | int, *, day: date, zone: str) -> list[Specimen]:
    """Today's specimens and every one still open (to collect, process, store or send)."""
    start, end = day_bounds(day, zone)
    return list(
        _specimens(organization)
        .filter(
            Q(status__in=OPEN_STATUSES)
            | Q(created_at__gte=start, created_at__lt=end)
            | Q(updated_at__gte=start, updated_at__lt=end)
        )
        .prefetch_related("items")
        .order_by("-order__priority", "created_at", "draw_sequence", "pk")[:500]
    )


def orders_to_draw(organization: Organization | int) -> list[LabOrder]:
    """Active orders with no specimens yet (the draw guide has not been used)."""
    return list(
        _orders(organization)
        .filter(status=LabOrder.Status.ACTIVE, voided_at__isnull=True, specimens__isnull=True)
        .prefetch_related(Prefetch("items", queryset=LabOrderItem.objects.order_by("pk")))
        .order_by("-priority", "ordered_at")[:200]
    )


def packable_specimens(organization: Organization | int) -> list[Specimen]:
    return list(
        _specimens(organization)
        .filter(
            status__in=[
                Specimen.Status.COLLECTED,
                Specimen.Status.PROCESSED,
                Specimen.Status.STORED,
            ]
        )
        .prefetch_related("items")
        .order_by("collected_at", "pk")
    )


def manifests(organization: Organization | int, *, limit: int = 50) -> list[Manifest]:
    return list(Manifest.objects.for_org(organization).order_by("-created_at")[:limit])


def get_manifest(organization: Organization | int, manifest_id: int) -> Manifest:
    return (
        Manifest.objects.for_org(organization)
        .prefetch_related(
            Prefetch(
                "specimens",
                queryset=Specimen.objects.select_related("patient").prefetch_related("items"),
            )
        )
        .get(pk=manifest_id)
    )
