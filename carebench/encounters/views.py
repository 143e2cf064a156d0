"""Visit pages: rooming (chief complaint, checklist, screens, vital signs), alerts, and a
patient's vitals history with trend charts.

Views are thin: a form parses, an encounters service writes (impossible vitals come back as a
`ValidationError` whose keys are the form's field names: 422, nothing written), a selector
reads. Abnormal values are saved and shown flagged in words as well as colour; a severe blood
pressure raises an alert for the provider and a recheck banner here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from carebench.accounts.permissions import require_perms
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.patients import selectors as patient_selectors
from carebench.patients.forms import apply_service_errors
from carebench.patients.models import Patient
from carebench.scheduling import services as scheduling
from carebench.scheduling.models import Status

from . import selectors, services
from . import vitals as rules
from .forms import ChiefComplaintForm, FallRiskForm, Phq2Form, VitalsForm
from .models import Alert, Encounter, Observation, RoomingItem, VitalSigns

INVALID = 422
HEAD_CIRCUMFERENCE_MONTHS = 36
FLAG_LABELS = {
    "normal": "",
    "low": "Low",
    "high": "High",
    "critical_low": "Critical low",
    "critical_high": "Critical high",
}
FLAG_RANK = ["normal", "low", "high", "critical_low", "critical_high"]
TREND_NAMES = [
    "blood_pressure",
    "heart_rate",
    "respiratory_rate",
    "temperature",
    "spo2",
    "weight",
    "bmi",
    "pain",
]
TREND_LABELS = {
    "blood_pressure": "Blood pressure",
    "spo2": "Oxygen saturation (SpO2)",
    "bmi": "Body mass index (BMI)",
}
HISTORY_COLUMNS = [
    ("blood_pressure", "BP"),
    ("heart_rate", "Pulse"),
    ("respiratory_rate", "Resp"),
    ("temperature", "Temp"),
    ("spo2", "SpO2"),
    ("height", "Height"),
    ("weight", "Weight"),
    ("bmi", "BMI"),
    ("pain", "Pain"),
]


# --- showing vitals ----------------------------------------------------------------------------


def _plain(value: Decimal, places: str = "0.1") -> str:
    """A value rounded for reading, without trailing zeros (37.17 -> 37.2, 120.000 -> 120)."""
    rounded = value.quantize(Decimal(places), rounding=ROUND_HALF_UP)
    return f"{rounded.normalize():f}"


def _shown(obs: Observation) -> str:
    """The value in its canonical unit, with the other system's beside it where there is one."""
    value = obs.value
    if obs.name == "blood_pressure":
        return f"{_plain(value, '1')}/{_plain(obs.value2 or Decimal(0), '1')} mmHg"
    if obs.name == "temperature":
        return f"{_plain(value)} °C ({rules.celsius_to_fahrenheit(value)} °F)"
    if obs.name == "weight":
        return f"{_plain(value)} kg ({rules.kg_to_pounds(value)} lb)"
    if obs.name == "height":
        feet, inches = rules.cm_to_feet_inches(value)
        return f"{_plain(value)} cm ({feet} ft {inches} in)"
    if obs.name == "head_circumference":
        return f"{_plain(value)} cm ({_plain(value / rules.CM_PER_INCH)} in)"
    if obs.name == "o2_flow":
        return f"{_plain(value)} L/min"
    if obs.name == "pain":
        return f"{_plain(value, '1')}/10"
    kind = rules.KINDS.get(obs.name)
    unit = kind.unit_label if kind else obs.unit
    return f"{_plain(value)}{unit}" if unit == "%" else f"{_plain(value)} {unit}"


@dataclass
class Reading:
    name: str
    label: str
    text: str
    flag: str
    flag_label: str
    note: str


def _reading(obs: Observation) -> Reading:
    flag = obs.flag
    if (
        obs.name == "blood_pressure"
        and obs.flag2
        and FLAG_RANK.index(obs.flag2) > FLAG_RANK.index(flag)
    ):
        flag = obs.flag2
    label = "Blood pressure" if obs.name == "blood_pressure" else rules.KINDS[obs.name].label
    return Reading(obs.name, label, _shown(obs), flag, FLAG_LABELS.get(flag, flag), obs.note)


def _readings(vital_set: VitalSigns) -> list[Reading]:
    order = {name: i for i, (name, _) in enumerate(HISTORY_COLUMNS)}
    observations = sorted(vital_set.observations.all(), key=lambda o: order.get(o.name, 99))
    return [_reading(obs) for obs in observations]


# --- helpers -----------------------------------------------------------------------------------


def _encounter(request: HttpRequest, pk: int) -> Encounter:
    try:
        return selectors.get_encounter(request.organization, pk)  # type: ignore[attr-defined]
    except Encounter.DoesNotExist:
        raise Http404("no such visit") from None


def _visit(request: HttpRequest, pk: int) -> Encounter:
    """The encounter for a write (no page lists); a refused write re-renders with `_encounter`."""
    try:
        return selectors.get_visit(request.organization, pk)  # type: ignore[attr-defined]
    except Encounter.DoesNotExist:
        raise Http404("no such visit") from None


def _chart(request: HttpRequest, patient_id: int) -> Patient:
    try:
        return patient_selectors.get_chart(request.organization, patient_id)  # type: ignore
    except Patient.DoesNotExist:
        raise Http404("no such patient") from None


def _age_months(patient: Patient) -> int:
    today = clock.today()
    born = patient.birth_date
    months = (today.year - born.year) * 12 + today.month - born.month
    return months - (1 if today.day < born.day else 0)


def _banner(patient: Patient) -> dict[str, Any]:
    return {
        "patient": patient,
        "age": patient.age_on(clock.today()),
        "allergies": patient_selectors.allergy_summary(patient_selectors.active_allergies(patient)),
    }


def _checklist(encounter: Encounter) -> list[dict[str, Any]]:
    done: dict[str, RoomingItem] = {}
    for item in encounter.rooming.all():  # oldest first: the latest of each item wins
        done[item.item] = item
    return [
        {"key": key, "label": label, "done": done.get(key)}
        for key, label in RoomingItem.Item.choices
    ]


def _encounter_page(
    request: HttpRequest, encounter: Encounter, *, status: int = 200, **forms: Any
) -> HttpResponse:
    patient = _chart(request, encounter.patient_id)
    infant = _age_months(patient) < HEAD_CIRCUMFERENCE_MONTHS
    sets = list(encounter.vital_signs.all())
    latest = sets[0] if sets else None
    appointment = encounter.appointment
    medications = patient.active_medications  # type: ignore[attr-defined]
    record_read(request, patient_id=patient.pk, resource_type="Encounter", resource_id=encounter.pk)
    context = {
        **_banner(patient),
        "encounter": encounter,
        "appointment": appointment,
        "checklist": _checklist(encounter),
        "alerts": list(encounter.alerts.all()),
        "vital_sets": [(s, _readings(s)) for s in sets],
        "latest": latest,
        "severe": latest is not None and latest.bp_category == "severe",
        "bp_label": rules.BP_CATEGORY_LABELS.get(latest.bp_category, "") if latest else "",
        "medication_count": len(medications),
        "unreconciled": sum(1 for m in medications if m.reconciled_at is None),
        "may_ready": appointment is not None and appointment.status == Status.ROOMED,
        "is_open": encounter.status == Encounter.Status.IN_PROGRESS,
        "infant": infant,
        "complaint_form": forms.get("complaint")
        or ChiefComplaintForm(initial={"chief_complaint": encounter.chief_complaint}),
        "vitals_form": forms.get("vitals") or VitalsForm(head_circumference=infant),
        "phq2_form": forms.get("phq2") or Phq2Form(prefix="phq2"),
        "fall_form": forms.get("fall_risk") or FallRiskForm(prefix="fall"),
    }
    return render(request, "encounters/encounter.html", context, status=status)


def _back(encounter: Encounter, anchor: str) -> HttpResponse:
    return redirect(reverse("encounters:encounter", args=[encounter.pk]) + f"#{anchor}")


# --- the rooming page --------------------------------------------------------------------------


@require_GET
@require_perms("encounters.view_encounter", "patients.view_patient")
def encounter(request: HttpRequest, pk: int) -> HttpResponse:
    """Rooming: banner, chief complaint, checklist, vitals, alerts, ready for the provider."""
    return _encounter_page(request, _encounter(request, pk))


@require_POST
@require_perms("encounters.change_encounter", "patients.view_patient")
def chief_complaint(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visit(request, pk)
    form = ChiefComplaintForm(request.POST)
    if form.is_valid():
        try:
            services.set_chief_complaint(
                actor=Actor.from_request(request),
                encounter=visit,
                text=form.cleaned_data["chief_complaint"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Chief complaint saved.")
            return _back(visit, "complaint")
    return _encounter_page(request, _encounter(request, pk), status=INVALID, complaint=form)


@require_POST
@require_perms("encounters.add_roomingitem", "patients.view_patient")
def rooming_item(request: HttpRequest, pk: int, item: str) -> HttpResponse:
    """Check off a rooming item; the PHQ-2 and fall-risk screens carry their answers."""
    visit = _visit(request, pk)
    if item not in RoomingItem.Item.values or item == RoomingItem.Item.VITALS:
        raise Http404("no such checklist item")
    score: int | None = None
    result = ""
    form: Phq2Form | FallRiskForm | None = None
    if item == RoomingItem.Item.PHQ2:
        form = Phq2Form(request.POST, prefix="phq2")
        if form.is_valid():
            score = form.score()
    elif item == RoomingItem.Item.FALL_RISK:
        form = FallRiskForm(request.POST, prefix="fall")
        if form.is_valid():
            score, result = form.score(), form.result()
    if form is None or form.is_valid():
        try:
            done = services.complete_rooming_item(
                actor=Actor.from_request(request),
                encounter=visit,
                item=item,
                score=score,
                result=result,
            )
        except ValidationError as exc:
            if form is None:
                messages.error(
                    request, "; ".join(m for ms in exc.message_dict.values() for m in ms)
                )
                return _encounter_page(request, _encounter(request, pk), status=INVALID)
            apply_service_errors(form, exc)
        else:
            label = RoomingItem.Item(item).label
            messages.success(request, f"{label}: done{f' ({done.result})' if done.result else ''}.")
            return _back(visit, "checklist")
    return _encounter_page(request, _encounter(request, pk), status=INVALID, **{item: form})


@require_POST
@require_perms("encounters.add_vitalsigns", "patients.view_patient")
def record_vitals(request: HttpRequest, pk: int) -> HttpResponse:
    """Save a set of vitals: impossible values are refused on their fields (422)."""
    visit = _visit(request, pk)
    infant = _age_months(visit.patient) < HEAD_CIRCUMFERENCE_MONTHS
    form = VitalsForm(request.POST, head_circumference=infant)
    if form.is_valid():
        try:
            saved = services.record_vitals(
                actor=Actor.from_request(request),
                patient=visit.patient,
                encounter=visit,
                entry=form.to_entry(),
                note=form.cleaned_data.get("note") or "",
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if saved.critical:
                messages.error(
                    request,
                    "Vital signs saved. A value needs the provider now: "
                    "the provider has been alerted.",
                )
            else:
                messages.success(request, "Vital signs saved.")
            return _back(visit, "vitals")
    return _encounter_page(request, _encounter(request, pk), status=INVALID, vitals=form)


@require_POST
@require_perms("scheduling.change_appointment", "encounters.view_encounter")
def ready(request: HttpRequest, pk: int) -> HttpResponse:
    """Rooming done: the visit moves to 'ready for provider' on the board."""
    visit = _visit(request, pk)
    if visit.appointment is None:
        raise Http404("a walk-in visit has no place on the board")
    try:
        scheduling.advance_flow(
            actor=Actor.from_request(request), appointment=visit.appointment, to=Status.READY
        )
    except (ValidationError, scheduling.BookingConflict) as exc:
        text = (
            "; ".join(m for ms in exc.message_dict.values() for m in ms)
            if isinstance(exc, ValidationError)
            else str(exc)
        )
        messages.error(request, f"Not moved: {text}")
        return _back(visit, "ready")
    messages.success(
        request, f"{visit.patient.family_name}, {visit.patient.given_name}: ready for the provider."
    )
    return redirect(reverse("scheduling:board") + f"?facility={visit.facility_id}")


@require_POST
@require_perms("encounters.change_alert")
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """The provider has seen the alert."""
    try:
        alert = Alert.objects.for_org(request.organization).get(pk=pk)  # type: ignore
    except Alert.DoesNotExist:
        raise Http404("no such alert") from None
    services.acknowledge_alert(actor=Actor.from_request(request), alert=alert)
    messages.success(request, "Alert acknowledged.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = (
            reverse("encounters:encounter", args=[alert.encounter_id])
            if alert.encounter_id
            else reverse("scheduling:board")
        )
    return redirect(target)


@require_POST
@require_perms("encounters.add_encounter", "patients.view_patient")
def walk_in(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Open a visit for a patient who walked in without an appointment."""
    patient = _chart(request, patient_id)
    visit = services.open_walk_in(
        actor=Actor.from_request(request),
        patient=patient,
        chief_complaint=request.POST.get("chief_complaint", "")[:300],
    )
    messages.success(request, "Walk-in visit opened.")
    return redirect("encounters:encounter", pk=visit.pk)


# --- vitals history ----------------------------------------------------------------------------


@require_GET
@require_perms("encounters.view_vitalsigns", "patients.view_patient")
def vitals_history(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Every set of vitals (newest first) and a trend chart per vital."""
    org = request.organization  # type: ignore[attr-defined]
    patient = _chart(request, patient_id)
    sets = list(
        VitalSigns.objects.for_org(org)
        .filter(patient=patient, voided_at__isnull=True)
        .select_related("taken_by")
        .prefetch_related("observations")
        .order_by("-taken_at")[:100]
    )
    rows = []
    for vital_set in sets:
        by_name = {r.name: r for r in _readings(vital_set)}
        rows.append((vital_set, [by_name.get(name) for name, _ in HISTORY_COLUMNS]))
    names = TREND_NAMES + (
        ["head_circumference"] if _age_months(patient) < HEAD_CIRCUMFERENCE_MONTHS else []
    )
    charts = [
        (
            TREND_LABELS.get(name) or rules.KINDS[name].label,
            selectors.trend_chart(org, patient.pk, name, birth_date=patient.birth_date),
        )
        for name in names
    ]
    facility = getattr(request.user, "default_facility", None)
    record_read(
        request,
        patient_id=patient.pk,
        resource_type="VitalSigns",
        detail={"page": "history", "sets": len(sets)},
    )
    return render(
        request,
        "encounters/vitals_history.html",
        {
            **_banner(patient),
            "rows": rows,
            "columns": [label for _, label in HISTORY_COLUMNS],
            "charts": charts,
            "zone": facility.time_zone if facility else settings.CAREBENCH_DEFAULT_TIME_ZONE,
        },
    )
