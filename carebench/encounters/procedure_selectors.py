"""Reads for the procedure room and wound care, organization first, related rows in a fixed
number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from . import charts
from .procedure_models import Procedure, ProcedureTemplate, Wound, WoundAssessment

if TYPE_CHECKING:
    from carebench.core.models import Organization


def templates(organization: Organization, *, active_only: bool = False) -> list[ProcedureTemplate]:
    query = ProcedureTemplate.objects.for_org(organization)
    if active_only:
        query = query.filter(is_active=True)
    return list(query.order_by("name"))


def get_template(organization: Organization, pk: int) -> ProcedureTemplate:
    return ProcedureTemplate.objects.for_org(organization).get(pk=pk)


def encounter_procedures(organization: Organization, encounter_id: int) -> list[Procedure]:
    return list(
        Procedure.objects.for_org(organization)
        .filter(encounter_id=encounter_id, voided_at__isnull=True)
        .select_related("template", "performed_by")
        .order_by("created_at", "pk")
    )


def get_procedure(organization: Organization, pk: int) -> Procedure:
    """A procedure with everything its page shows (the consent images are not loaded)."""
    return (
        Procedure.objects.for_org(organization)
        .select_related(
            "template",
            "encounter__facility",
            "encounter__provider",
            "patient",
            "performed_by",
            "room",
            "prepared_by",
            "timeout_by",
            "completed_by",
            "vitals_before",
            "vitals_after",
        )
        .prefetch_related(
            "assistants",
            "supplies",
            "specimens__specimen",
            "specimens__lab_order",
        )
        .get(pk=pk)
    )


def consents(procedure: Procedure) -> list[object]:
    return list(
        procedure.consents.select_related("witness").defer("image").order_by("-signed_at", "-pk")
    )


def get_consent_image(organization: Organization, procedure_id: int, consent_id: int) -> object:
    from .procedure_models import ProcedureConsent

    return ProcedureConsent.objects.for_org(organization).get(
        pk=consent_id, procedure_id=procedure_id
    )


# --- wounds --------------------------------------------------------------------------------------


def patient_wounds(organization: Organization, patient_id: int) -> list[Wound]:
    """The patient's wounds (open first), each with its assessments newest first (photos not
    loaded)."""
    from django.db.models import Prefetch

    return list(
        Wound.objects.for_org(organization)
        .filter(patient_id=patient_id, voided_at__isnull=True)
        .prefetch_related(
            Prefetch(
                "assessments",
                queryset=WoundAssessment.objects.filter(voided_at__isnull=True)
                .defer("photo")
                .order_by("-assessed_at", "-pk"),
            )
        )
        .order_by("status", "-created_at")
    )


def get_wound(organization: Organization, pk: int) -> Wound:
    return Wound.objects.for_org(organization).select_related("patient").get(pk=pk)


def wound_assessments(wound: Wound) -> list[WoundAssessment]:
    return list(
        wound.assessments.filter(voided_at__isnull=True)
        .select_related("assessed_by")
        .defer("photo")
        .order_by("assessed_at", "pk")
    )


def get_photo(organization: Organization, assessment_id: int) -> WoundAssessment:
    return WoundAssessment.objects.for_org(organization).get(
        pk=assessment_id, voided_at__isnull=True, photo_type__gt=""
    )


@dataclass(frozen=True)
class AreaTrend:
    svg: str
    first: Decimal | None
    last: Decimal | None
    change_percent: Decimal | None  # negative: smaller

    @property
    def healing(self) -> bool:
        return self.change_percent is not None and self.change_percent < 0

    @property
    def words(self) -> str:
        if self.change_percent is None:
            return "Measure the wound at least twice to see a trend."
        if self.change_percent < 0:
            return f"Healing: area down {abs(self.change_percent)}% since the first measurement."
        if self.change_percent > 0:
            return f"Not healing: area up {self.change_percent}% since the first measurement."
        return "No change in area since the first measurement."


def area_trend(assessments: list[WoundAssessment]) -> AreaTrend:
    """The wound's area over time as an SVG chart, and the change from first to last."""
    measured = [a for a in assessments if a.area_cm2 is not None]
    points = [charts.Point(a.assessed_at, a.area_cm2) for a in measured]  # type: ignore[arg-type]
    svg = charts.trend_svg("Wound area", "cm²", [charts.Series("Area", points)])
    if len(measured) < 2:
        first = measured[0].area_cm2 if measured else None
        return AreaTrend(svg, first, first, None)
    first, last = measured[0].area_cm2, measured[-1].area_cm2
    assert first is not None and last is not None
    change = (
        ((last - first) * 100 / first).quantize(Decimal("1"))
        if first
        else (Decimal(0) if not last else Decimal(100))
    )
    return AreaTrend(svg, first, last, change)
