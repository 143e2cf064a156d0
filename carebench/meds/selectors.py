"""Reads for injections and immunizations: a patient's history and what is due, open orders,
the co-sign queue, stock by lot with its warnings, and the registry log. Each takes the
organization first and loads related rows up front."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet

from . import forecast as forecast_engine
from .models import (
    Administration,
    MedicationOrder,
    Product,
    RegistryMessage,
    StandingOrder,
    StockLot,
    StorageUnit,
)

if TYPE_CHECKING:
    from carebench.accounts.models import User
    from carebench.core.models import Organization
    from carebench.patients.models import Patient

EXPIRY_WARNING_DAYS = 30
LOW_STOCK_DOSES = 5


def administrations_for(organization: Organization, patient: Patient) -> list[Administration]:
    """The patient's doses (given here, reported, refused), newest first, voided ones included
    (the page shows them struck through)."""
    return list(
        Administration.objects.for_org(organization)
        .filter(patient=patient)
        .select_related("vaccine_code", "manufacturer", "given_by", "lot", "product")
        .prefetch_related("reactions", "registry_messages__message")
        .order_by("-occurred_at", "-pk")
    )


def forecast_for(
    organization: Organization,
    patient: Patient,
    as_of: date,
    administrations: list[Administration] | None = None,
    zone: str | None = None,
) -> forecast_engine.Forecast:
    """What is due, from every dose on record that counts (given here or reported; not
    refused, not voided)."""
    rows = (
        administrations
        if administrations is not None
        else administrations_for(organization, patient)
    )
    if zone is None:  # the organization's first facility's
        facility = organization.facilities.first()
        zone = facility.time_zone if facility is not None else settings.CAREBENCH_DEFAULT_TIME_ZONE
    tz = ZoneInfo(zone)
    history = [
        (row.vaccine_code.cvx, row.occurred_at.astimezone(tz).date())
        for row in rows
        if row.vaccine_code is not None
        and row.kind != Administration.Kind.REFUSED
        and row.voided_at is None
    ]
    flags: list[str] = []
    return forecast_engine.forecast(
        birth_date=patient.birth_date,
        as_of=as_of,
        history=history,
        sex="F" if patient.sex == "female" else "M" if patient.sex == "male" else "U",
        flags=flags,
    )


def open_orders_for(organization: Organization, patient: Patient) -> list[MedicationOrder]:
    return list(
        MedicationOrder.objects.for_org(organization)
        .filter(patient=patient, status=MedicationOrder.Status.ACTIVE, voided_at__isnull=True)
        .select_related("product", "ordering_provider", "standing_order", "entered_by")
        .order_by("ordered_at")
    )


def get_order(organization: Organization, pk: int) -> MedicationOrder:
    return (
        MedicationOrder.objects.for_org(organization)
        .select_related(
            "patient",
            "product__vaccine_code",
            "product__manufacturer",
            "ordering_provider",
            "standing_order",
            "encounter__facility",
        )
        .get(pk=pk)
    )


def get_administration(organization: Organization, pk: int) -> Administration:
    return (
        Administration.objects.for_org(organization)
        .select_related(
            "patient",
            "product",
            "vaccine_code",
            "manufacturer",
            "lot",
            "given_by",
            "ordering_provider",
            "facility",
            "order",
        )
        .prefetch_related("reactions", "registry_messages__message")
        .get(pk=pk)
    )


def cosign_queue(organization: Organization, user: User) -> list[MedicationOrder]:
    """Standing orders run by the MATs that wait for this provider's signature."""
    return list(
        MedicationOrder.objects.for_org(organization)
        .filter(
            basis=MedicationOrder.Basis.STANDING,
            cosigned_at__isnull=True,
            voided_at__isnull=True,
            ordering_provider__user=user,
        )
        .select_related("patient", "product", "standing_order", "entered_by")
        .order_by("ordered_at")
    )


def products(organization: Organization, *, active_only: bool = True) -> QuerySet[Product]:
    query = Product.objects.for_org(organization).select_related("vaccine_code", "manufacturer")
    return query.filter(is_active=True) if active_only else query


def standing_orders(organization: Organization, on: date | None = None) -> list[StandingOrder]:
    query = StandingOrder.objects.for_org(organization).filter(is_active=True)
    if on is not None:
        query = query.filter(valid_from__lte=on, valid_until__gte=on)
    return list(query.select_related("signed_by").prefetch_related("products"))


def storage_units(organization: Organization) -> QuerySet[StorageUnit]:
    return (
        StorageUnit.objects.for_org(organization).filter(is_active=True).select_related("facility")
    )


@dataclass(frozen=True)
class LotLine:
    lot: StockLot
    warnings: tuple[str, ...]


def stock(organization: Organization, today: date, *, include_empty: bool = False) -> list[LotLine]:
    """Every lot with doses on hand (or all), by product and expiry, with what to watch:
    expired, expiring within 30 days, quarantined, running low."""
    query = (
        StockLot.objects.for_org(organization)
        .exclude(status=StockLot.Status.RETIRED)
        .select_related("product", "storage_unit__facility")
        .order_by("product__name", "expires_on", "lot_number", "funding")
    )
    if not include_empty:
        query = query.filter(doses_on_hand__gt=0)
    lines = []
    for lot in query:
        warnings = []
        if lot.expires_on < today:
            warnings.append(f"expired {lot.expires_on:%Y-%m-%d}: pull it")
        elif lot.expires_on <= today + timedelta(days=EXPIRY_WARNING_DAYS):
            warnings.append(f"expires in {(lot.expires_on - today).days} day(s)")
        if lot.status == StockLot.Status.QUARANTINED:
            warnings.append(f"quarantined: {lot.status_reason}")
        if 0 < lot.doses_on_hand <= LOW_STOCK_DOSES:
            warnings.append("running low")
        lines.append(LotLine(lot=lot, warnings=tuple(warnings)))
    return lines


def usable_lots(organization: Organization, product: Product, today: date) -> list[StockLot]:
    """Lots of a product the MAT may pick (the form lists them; the service re-checks)."""
    return list(
        StockLot.objects.for_org(organization)
        .filter(
            product=product,
            status=StockLot.Status.AVAILABLE,
            doses_on_hand__gt=0,
            expires_on__gte=today,
        )
        .select_related("storage_unit")
        .order_by("expires_on", "lot_number")
    )


def get_lot(organization: Organization, pk: int) -> StockLot:
    return (
        StockLot.objects.for_org(organization).select_related("product", "storage_unit").get(pk=pk)
    )


def registry_log(organization: Organization, limit: int = 200) -> list[RegistryMessage]:
    return list(
        RegistryMessage.objects.for_org(organization)
        .select_related("message", "administration__patient")
        .order_by("-created_at", "-pk")[:limit]
    )
