"""Reads for encounters: the visit, the latest vitals, and trend series per vital."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch

from carebench.core.models import Organization

from . import charts
from . import vitals as rules
from .models import Alert, Encounter, Observation, RoomingItem, VitalSigns

TREND_LIMIT = 50

# Normal bands shown on adult trend charts (canonical units).
ADULT_BANDS: dict[str, tuple[float, float]] = {
    "blood_pressure": (60, 120),
    "heart_rate": (60, 100),
    "respiratory_rate": (12, 20),
    "temperature": (36.0, 37.9),
    "spo2": (92, 100),
    "bmi": (18.5, 24.9),
    "pain": (0, 3),
}


def get_visit(organization: Organization | int, encounter_id: int) -> Encounter:
    """The encounter with its patient and appointment only: what a write needs (one query).
    `get_encounter` brings the whole page's lists."""
    return (
        Encounter.objects.for_org(organization)
        .select_related("patient", "appointment", "provider", "facility")
        .get(pk=encounter_id)
    )


def get_encounter(organization: Organization | int, encounter_id: int) -> Encounter:
    return (
        Encounter.objects.for_org(organization)
        .select_related(
            "patient",
            "provider",
            "facility",
            "appointment",
            "appointment__room",
            "appointment__appointment_type",
        )
        .prefetch_related(
            Prefetch("rooming", queryset=RoomingItem.objects.select_related("done_by")),
            Prefetch(
                "vital_signs",
                queryset=VitalSigns.objects.filter(voided_at__isnull=True)
                .prefetch_related("observations")
                .select_related("taken_by"),
            ),
            Prefetch("alerts", queryset=Alert.objects.filter(acknowledged_at__isnull=True)),
        )
        .get(pk=encounter_id)
    )


def latest_vitals(organization: Organization | int, patient_id: int) -> VitalSigns | None:
    return (
        VitalSigns.objects.for_org(organization)
        .filter(patient_id=patient_id, voided_at__isnull=True)
        .prefetch_related("observations")
        .select_related("taken_by")
        .order_by("-taken_at")
        .first()
    )


def trend(
    organization: Organization | int, patient_id: int, name: str, *, limit: int = TREND_LIMIT
) -> list[Observation]:
    """The last `limit` observations of one vital, oldest first (index: patient, code, time)."""
    code = rules.BP_PANEL_LOINC if name == "blood_pressure" else rules.KINDS[name].loinc
    rows = list(
        Observation.objects.for_org(organization)
        .filter(patient_id=patient_id, code=code, voided_at__isnull=True)
        .order_by("-effective_at")[:limit]
    )
    rows.reverse()
    return rows


def trend_chart(
    organization: Organization | int, patient_id: int, name: str, *, birth_date: date | None = None
) -> str:
    rows = trend(organization, patient_id, name)
    adult = birth_date is None or (date.today().year - birth_date.year) >= 18
    band = ADULT_BANDS.get(name) if adult else None
    if name == "blood_pressure":
        title, unit = "Blood pressure", "mmHg"
        series = [
            charts.Series(
                "Systolic",
                [charts.Point(o.effective_at, o.value, o.flag != "normal") for o in rows],
                "#2f6f8f",
            ),
            charts.Series(
                "Diastolic",
                [
                    charts.Point(
                        o.effective_at, o.value2 or o.value, (o.flag2 or "normal") != "normal"
                    )
                    for o in rows
                ],
                "#7a5ea8",
            ),
        ]
    else:
        kind = rules.KINDS[name]
        title, unit = kind.label, kind.unit_label
        series = [
            charts.Series(
                kind.label,
                [charts.Point(o.effective_at, o.value, o.flag != "normal") for o in rows],
            )
        ]
    return charts.trend_svg(title, unit, series, band=band)
