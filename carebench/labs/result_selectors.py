"""Reads for results and point-of-care testing: an order's results and reviews, a patient's
results by analyte (trends), kit lots and devices with the day's QC, within one organization."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Prefetch

from carebench.core.models import Organization

from . import poc
from .models import LabOrder, LabResult, LabTest, PocDevice, PocKitLot, QcRun, ResultReview
from .selectors import day_bounds


def order_results(order: LabOrder) -> list[LabResult]:
    """The order's current results (corrected ones replaced), in report order."""
    return list(
        LabResult.objects.filter(order=order, voided_at__isnull=True)
        .select_related("kit_lot", "device", "performed_by")
        .order_by("order_item_id", "sequence", "pk")
    )


def order_reviews(order: LabOrder) -> list[ResultReview]:
    return list(ResultReview.objects.filter(order=order).select_related("reviewed_by"))


@dataclass
class AnalyteTrend:
    code: str
    name: str
    unit: str
    results: list[LabResult] = field(default_factory=list)  # oldest first

    @property
    def latest(self) -> LabResult:
        return self.results[-1]

    @property
    def numeric(self) -> bool:
        return any(r.value_numeric is not None for r in self.results)

    @property
    def band(self) -> tuple[float, float] | None:
        latest = self.latest
        if latest.reference_low is not None and latest.reference_high is not None:
            return float(latest.reference_low), float(latest.reference_high)
        return None


def patient_trends(
    organization: Organization | int, patient_id: int, *, code: str = "", limit: int = 1000
) -> list[AnalyteTrend]:
    """The patient's results grouped by analyte (most recently resulted analyte first)."""
    rows = LabResult.objects.for_org(organization).filter(
        patient_id=patient_id, voided_at__isnull=True
    )
    if code:
        rows = rows.filter(code=code)
    trends: dict[str, AnalyteTrend] = {}
    for row in rows.select_related("order").order_by("-observed_at", "-pk")[:limit]:
        trend = trends.setdefault(row.code, AnalyteTrend(row.code, row.name, row.unit))
        trend.results.append(row)
    for trend in trends.values():
        trend.results.reverse()
    return list(trends.values())


def recent_results(
    organization: Organization | int, patient_id: int, *, limit: int = 8
) -> list[LabResult]:
    return list(
        LabResult.objects.for_org(organization)
        .filter(patient_id=patient_id, voided_at__isnull=True)
        .select_related("order")
        .order_by("-observed_at", "-pk")[:limit]
    )


# --- point-of-care kits, devices and QC ---------------------------------------------------------


def poc_tests(organization: Organization | int) -> list[LabTest]:
    """The organization's active in-house tests that have a point-of-care definition."""
    return [
        t
        for t in LabTest.objects.for_org(organization).filter(is_active=True).order_by("name")
        if t.point_of_care and t.code in poc.TESTS
    ]


def kit_lots(
    organization: Organization | int, *, test_id: int | None = None, active_only: bool = True
) -> list[PocKitLot]:
    qs = PocKitLot.objects.for_org(organization).select_related("test")
    if test_id is not None:
        qs = qs.filter(test_id=test_id)
    if active_only:
        qs = qs.filter(is_active=True)
    return list(qs.order_by("test__name", "expires_on", "pk"))


def devices(organization: Organization | int, *, test_id: int | None = None) -> list[PocDevice]:
    qs = (
        PocDevice.objects.for_org(organization)
        .filter(is_active=True)
        .prefetch_related(Prefetch("tests", queryset=LabTest.objects.order_by("name")))
    )
    if test_id is not None:
        qs = qs.filter(tests__id=test_id)
    return list(qs.order_by("name"))


@dataclass(frozen=True)
class QcToday:
    """The day's latest QC run per kit lot and per (device, test)."""

    by_lot: dict[int, QcRun]
    by_device: dict[tuple[int, int], QcRun]

    def lot(self, lot_id: int) -> QcRun | None:
        return self.by_lot.get(lot_id)

    def device(self, device_id: int, test_id: int) -> QcRun | None:
        return self.by_device.get((device_id, test_id))


def qc_today(organization: Organization | int, *, day: date, zone: str) -> QcToday:
    """One query: the day's runs, latest last, so each key keeps its latest run."""
    start, end = day_bounds(day, zone)
    by_lot: dict[int, QcRun] = {}
    by_device: dict[tuple[int, int], QcRun] = {}
    for run in (
        QcRun.objects.for_org(organization)
        .filter(run_at__gte=start, run_at__lt=end)
        .order_by("run_at", "pk")
    ):
        if run.kit_lot_id is not None:
            by_lot[run.kit_lot_id] = run
        if run.device_id is not None:
            by_device[(run.device_id, run.test_id)] = run
    return QcToday(by_lot, by_device)


def recent_qc_runs(organization: Organization | int, *, limit: int = 30) -> list[QcRun]:
    return list(
        QcRun.objects.for_org(organization)
        .select_related("test", "kit_lot", "device", "performed_by")
        .order_by("-run_at", "-pk")[:limit]
    )
