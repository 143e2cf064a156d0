"""EKG over FHIR: DiagnosticReport (read, search by patient) and its Observations (read).

One stored EKG (ekg.EkgRecording) is presented as:

* a DiagnosticReport, code LOINC 11524-6 "EKG study", category v2-0074 EC (electrocardiac),
  status `preliminary` until a provider signs and `final` after; `conclusion` is the signed
  interpretation; `presentedForm` the printed page as a PDF (base64); `result` references the
  Observations below. Id: the EKG's id.
* one Observation per measurement, id `ekg-<id>-<part>`, category `procedure`, UCUM units:
  heart rate 76282-3 "Heart rate.beat-to-beat by EKG" (with 8867-4 "Heart rate" as a second
  coding), PR 8625-6, QRS duration 8633-0, QT 8634-8, QTc 8636-3 (twice: `method` says Bazett or
  Fridericia; LOINC has no widely used separate codes for the two formulas), QRS axis 8632-2.
  Until signed they are `preliminary` and carry the note "Computer-measured, unconfirmed"; once
  signed they are `final` with the provider's (possibly corrected) values. A measurement the
  analysis could not make is left out.
* the tracing as an Observation `ekg-<id>-waveform`, code 11524-6, one component per lead coded
  in ISO/IEEE 11073 MDC (urn:oid:2.16.840.1.113883.6.24, MDC_ECG_ELEC_POTL_*), each a
  `valueSampledData`: origin 0 mV, `period` in ms, `factor` 0.001 (data are integer microvolts),
  `dimensions` 1, `data` space-separated. At most the first 60 s are sent (a note says so).

The LOINC codes are the well-known ECG ones (8625-6, 8633-0, 8634-8, 8636-3, 8632-2, 11524-6);
76282-3 for an EKG-derived heart rate is from memory and worth a check against the current
LOINC release. EKG Observations are read by id, and found by patient through
`GET /DiagnosticReport?patient=...&_include=DiagnosticReport:result` (the vitals Observation
search does not list them). Reads and searches are audited; voided EKGs are 410 Gone and never
in searches; another organization's are 404; the `ekg.view_ekgrecording` permission is needed.

`GET /DiagnosticReport` also finds lab reports (lab.py, ids `lab-<order id>`): `category=EC`
asks for EKGs only, `category=LAB` for lab reports only, and without a category both come, EKGs
first (each kind only when the user's roles allow it). `subject` may name the patient instead
of `patient`; `date` is the day an EKG was acquired.
"""

from __future__ import annotations

import base64
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core.actor import Actor
from carebench.ekg import report, selectors
from carebench.ekg.models import EkgRecording
from carebench.ekg.recording import Recording, RecordingError
from carebench.scheduling.models import Provider

from . import datatypes as dt
from . import lab, lab_common, schemas
from .auth import authorize
from .bundle import Paging, searchset
from .outcome import FhirError, gone, not_found, resource_response
from .search import check_params, parse_reference_id, parse_token

RESOURCE = "DiagnosticReport"
PROFILE = "http://hl7.org/fhir/StructureDefinition/DiagnosticReport"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {
    "patient": "reference",
    "subject": "reference",
    "category": "token",
    "code": "token",
    "date": "date",
    "status": "token",
}
INCLUDE = "DiagnosticReport:result"
PERMISSION = "ekg.view_ekgrecording"
# DiagnosticReport serves EKGs (this module) and lab reports (lab.py, ids `lab-<order>`).
KIND_PERMISSIONS = {"ekg": PERMISSION, "lab": lab_common.RESULT_PERMISSION}
KIND_CATEGORIES = {"ekg": "EC", "lab": lab.REPORT_CATEGORY}

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MDC = "urn:oid:2.16.840.1.113883.6.24"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
EKG_STUDY = "11524-6"
UNCONFIRMED = "Computer-measured, unconfirmed"
WAVEFORM_MAX_S = 60.0

# part of the Observation id -> (measurement key, LOINC codes, display, UCUM unit, method)
PARTS: dict[str, tuple[str, list[tuple[str, str]], str, str, str]] = {
    "hr": (
        "heart_rate_bpm",
        [("76282-3", "Heart rate.beat-to-beat by EKG"), ("8867-4", "Heart rate")],
        "Heart rate",
        "/min",
        "",
    ),
    "pr": ("pr_ms", [("8625-6", "P-R Interval")], "PR interval", "ms", ""),
    "qrs": ("qrs_ms", [("8633-0", "QRS duration")], "QRS duration", "ms", ""),
    "qt": ("qt_ms", [("8634-8", "Q-T Interval")], "QT interval", "ms", ""),
    "qtcb": (
        "qtc_bazett_ms",
        [("8636-3", "Q-T Interval corrected")],
        "QTc (Bazett)",
        "ms",
        "Bazett",
    ),
    "qtcf": (
        "qtc_fridericia_ms",
        [("8636-3", "Q-T Interval corrected")],
        "QTc (Fridericia)",
        "ms",
        "Fridericia",
    ),
    "axis": ("axis_deg", [("8632-2", "QRS axis")], "QRS axis", "deg", ""),
}
UNIT_LABELS = {"/min": "/min", "ms": "ms", "deg": "deg"}
MDC_LEADS = {
    "I": ("131329", "MDC_ECG_ELEC_POTL_I"),
    "II": ("131330", "MDC_ECG_ELEC_POTL_II"),
    "III": ("131389", "MDC_ECG_ELEC_POTL_III"),
    "aVR": ("131390", "MDC_ECG_ELEC_POTL_AVR"),
    "aVL": ("131391", "MDC_ECG_ELEC_POTL_AVL"),
    "aVF": ("131392", "MDC_ECG_ELEC_POTL_AVF"),
    "V1": ("131331", "MDC_ECG_ELEC_POTL_V1"),
    "V2": ("131332", "MDC_ECG_ELEC_POTL_V2"),
    "V3": ("131333", "MDC_ECG_ELEC_POTL_V3"),
    "V4": ("131334", "MDC_ECG_ELEC_POTL_V4"),
    "V5": ("131335", "MDC_ECG_ELEC_POTL_V5"),
    "V6": ("131336", "MDC_ECG_ELEC_POTL_V6"),
}
MDC_UNSPECIFIED = ("131328", "MDC_ECG_ELEC_POTL")

router = Router(tags=["DiagnosticReport (EKG)"])


class ReportSearch(Schema):
    patient: str | None = Field(None, description="Patient/123 or 123 (patient or subject)")
    subject: str | None = Field(None, description="Patient/123 (instead of patient)")
    category: list[str] = Field([], description="EC (EKG) or LAB (v2-0074); none: both")
    code: list[str] = Field(
        [], description="LOINC 11524-6 for EKGs; a lab test's LOINC or catalog code"
    )
    date: list[str] = Field([], description="day acquired (EKG) or first resulted (lab)")
    status: list[str] = Field(
        [], description="preliminary or final; for lab reports also partial, corrected"
    )
    include: list[str] = Field(
        [], alias="_include", description="DiagnosticReport:result adds the Observations"
    )


# --- model -> FHIR ------------------------------------------------------------------------------


def _status(row: EkgRecording) -> str:
    return "final" if row.is_signed else "preliminary"


def _practitioner(row: EkgRecording) -> dict[str, str] | None:
    if not row.is_signed or row.signed_by_id is None:
        return None
    provider = (
        Provider.objects.filter(user_id=row.signed_by_id, organization_id=row.organization_id)
        .only("pk")
        .first()
    )
    name = row.signed_by.display_name if row.signed_by else ""
    if provider is not None:
        return {"reference": f"Practitioner/{provider.pk}", "display": name}
    return {"display": name} if name else None


def _common(row: EkgRecording) -> dict[str, Any]:
    return {
        "subject": dt.reference("Patient", row.patient_id),
        "encounter": dt.reference("Encounter", row.encounter_id) if row.encounter_id else None,
        "effectiveDateTime": row.acquired_at.isoformat(),
        "issued": (row.signed_at or row.created_at).isoformat(),
    }


def _meta(row: EkgRecording, profile: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {
        "versionId": dt.version_id(row.updated_at),
        "lastUpdated": row.updated_at.isoformat(),
    }
    if profile:
        meta["profile"] = [profile]
    return meta


def measurement_ids(row: EkgRecording) -> list[str]:
    values = row.shown_measurements
    return [
        f"ekg-{row.pk}-{part}" for part, spec in PARTS.items() if values.get(spec[0]) is not None
    ]


def measurement(row: EkgRecording, part: str) -> dict[str, Any] | None:
    key, codes, display, unit, method = PARTS[part]
    value = row.shown_measurements.get(key)
    if value is None:
        return None
    performer = _practitioner(row)
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"ekg-{row.pk}-{part}",
        "meta": _meta(row),
        "status": _status(row),
        "category": [dt.concept(OBS_CATEGORY, "procedure", "Procedure")],
        "code": {"coding": [dt.coding(LOINC, c, d) for c, d in codes], "text": display},
        **_common(row),
        "performer": [performer] if performer else None,
        "valueQuantity": {
            "value": int(value) if float(value).is_integer() else float(value),
            "unit": UNIT_LABELS[unit],
            "system": UCUM,
            "code": unit,
        },
        "method": {"text": method} if method else None,
        "derivedFrom": [{"reference": f"Observation/ekg-{row.pk}-waveform"}],
        "note": None if row.is_signed else [{"text": UNCONFIRMED}],
    }
    if row.is_signed and key in (row.confirmed_measurements.get("corrected") or []):
        resource["note"] = [
            {"text": f"Corrected by the reading provider (computer: {row.measurements.get(key)})"}
        ]
    return dt.compact(resource)


def waveform(row: EkgRecording, recording: Recording) -> dict[str, Any]:
    rate = recording.sampling_rate_hz
    count = min(recording.n_samples, int(WAVEFORM_MAX_S * rate))
    components = []
    for lead, samples in recording.leads.items():
        code, display = MDC_LEADS.get(lead, MDC_UNSPECIFIED)
        microvolts = np.nan_to_num(np.asarray(samples[:count], dtype=float) * 1000.0)
        data = " ".join(str(int(v)) for v in np.rint(microvolts))
        components.append(
            {
                "code": {"coding": [dt.coding(MDC, code, display)], "text": f"Lead {lead}"},
                "valueSampledData": {
                    "origin": {"value": 0, "unit": "mV", "system": UCUM, "code": "mV"},
                    "period": round(1000.0 / rate, 6),
                    "factor": 0.001,
                    "dimensions": 1,
                    "data": data,
                },
            }
        )
    notes = [] if row.is_signed else [{"text": UNCONFIRMED}]
    if count < recording.n_samples:
        notes.append({"text": f"first {WAVEFORM_MAX_S:g} s of {recording.duration_s:.0f} s"})
    return dt.compact(
        {
            "resourceType": "Observation",
            "id": f"ekg-{row.pk}-waveform",
            "meta": _meta(row),
            "status": _status(row),
            "category": [dt.concept(OBS_CATEGORY, "procedure", "Procedure")],
            "code": dt.concept(LOINC, EKG_STUDY, "EKG study", "EKG tracing"),
            **_common(row),
            "device": {"display": row.device} if row.device else None,
            "component": components,
            "note": notes,
        }
    )


def _pdf(row: EkgRecording, recording: Recording) -> bytes:
    zone = ZoneInfo(settings.CAREBENCH_DEFAULT_TIME_ZONE)
    patient = row.patient
    values = row.shown_measurements
    if row.is_signed and row.signed_by is not None and row.signed_at is not None:
        values["confirmed_by"] = row.signed_by.display_name
        values["confirmed_at"] = row.signed_at.astimezone(zone).strftime("%m/%d/%Y %I:%M %p")
    header = {
        "name": f"{patient.family_name}, {patient.given_name}",
        "birth_date": patient.birth_date.strftime("%m/%d/%Y"),
        "mrn": patient.mrn,
        "sex": patient.get_sex_display(),
        "acquired_at": row.acquired_at.astimezone(zone).strftime("%m/%d/%Y %I:%M %p"),
        "title": f"EKG #{row.pk}",
    }
    return report.render(recording, values, header, "pdf")


def diagnostic_report(row: EkgRecording, recording: Recording | None) -> dict[str, Any]:
    performer = _practitioner(row)
    presented = None
    if recording is not None:
        presented = [
            {
                "contentType": "application/pdf",
                "language": "en-US",
                "title": f"12-lead EKG {row.acquired_at:%Y-%m-%d}",
                "data": base64.b64encode(_pdf(row, recording)).decode("ascii"),
            }
        ]
    results = [{"reference": f"Observation/{ident}"} for ident in measurement_ids(row)]
    results.append({"reference": f"Observation/ekg-{row.pk}-waveform"})
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(row.pk),
            "meta": _meta(row),
            "status": _status(row),
            "category": [dt.concept(V2_0074, "EC", "Electrocardiac")],
            "code": dt.concept(LOINC, EKG_STUDY, "EKG study", "12-lead EKG"),
            **_common(row),
            "resultsInterpreter": [performer] if performer else None,
            "result": results,
            "conclusion": row.interpretation if row.is_signed else UNCONFIRMED,
            "presentedForm": presented,
        }
    )


# --- reading rows -------------------------------------------------------------------------------


def _queryset(actor: Actor) -> Any:
    return EkgRecording.objects.for_org(actor.organization).select_related("patient", "signed_by")


def _get(actor: Actor, ident: int | None, shown_id: str, resource_type: str) -> EkgRecording:
    row = _queryset(actor).filter(pk=ident).first() if ident is not None else None
    if row is None:
        raise not_found(resource_type, shown_id)
    if row.voided_at is not None or row.patient.voided_at is not None:
        raise gone(resource_type, shown_id)
    return row


def _signal(row: EkgRecording) -> Recording:
    try:
        return selectors.signal_of(row)
    except RecordingError as exc:
        raise FhirError(500, "exception", f"the stored EKG file cannot be read: {exc}") from None


def _audit(actor: Actor, row: EkgRecording, action: str = Action.VIEW, **detail: Any) -> None:
    audit.record_for_actor(
        actor,
        action=action,
        patient_id=row.patient_id,
        resource_type="EkgRecording",
        resource_id=row.pk,
        detail={"fhir": True, **detail},
    )


# --- views --------------------------------------------------------------------------------------


@router.get(
    "/Observation/ekg-{int:recording_id}-{part}",
    response=schemas.READ,
    summary="Read an EKG Observation (a measurement, or the waveform)",
)
def read_ekg_observation(request: HttpRequest, recording_id: int, part: str) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    shown = f"ekg-{recording_id}-{part}"
    if part != "waveform" and part not in PARTS:
        raise not_found("Observation", shown)
    row = _get(actor, recording_id, shown, "Observation")
    if part == "waveform":
        resource = waveform(row, _signal(row))
    else:
        found = measurement(row, part)
        if found is None:
            raise not_found("Observation", shown)
        resource = found
    _audit(actor, row, observation=part)
    return resource_response(resource)


@router.get("/DiagnosticReport/{report_id}", response=schemas.READ, summary="Read an EKG report")
def read_report(request: HttpRequest, report_id: str) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    row = _get(actor, dt.row_id(report_id), report_id, RESOURCE)
    resource = diagnostic_report(row, _signal(row))
    _audit(actor, row)
    return resource_response(resource)


@router.get(
    "/DiagnosticReport",
    response=schemas.SEARCH,
    summary="Search a patient's reports (EKG, and lab reports: see lab.py)",
)
def search_reports(
    request: HttpRequest, paging: Query[Paging], params: Query[ReportSearch]
) -> HttpResponse:
    used = check_params(request, {*SEARCH_PARAMS, "_include"})
    kinds = _report_kinds(params.category)
    user: Any = getattr(request, "auth", None)
    candidates = kinds or list(KIND_PERMISSIONS)
    permitted = [k for k in candidates if user is not None and user.has_perm(KIND_PERMISSIONS[k])]
    actor = authorize(request, KIND_PERMISSIONS[permitted[0] if permitted else candidates[0]])
    patient_id = lab_common.patient_id(params.patient, params.subject)
    querysets: list[Any] = []
    if "ekg" in kinds and "ekg" in permitted:
        querysets.append(_ekg_search(actor, patient_id, params))
    if "lab" in kinds and "lab" in permitted:
        querysets.append(lab.report_search(actor, patient_id, params))
    rows, counts = lab.concat_page(querysets, paging)
    total = sum(counts)
    bundle = searchset(request, RESOURCE, rows, total, paging, _report_of, used)
    if INCLUDE in params.include:
        for row in rows:
            if isinstance(row, EkgRecording):
                included = [measurement(row, part) for part in PARTS]
                included.append(waveform(row, _signal(row)))
            else:
                included = list(lab.report_observations(row))
            resources = [resource for resource in included if resource is not None]
            bundle.setdefault("entry", []).extend(lab.include_entries(request, resources))
    for kind, count in zip([k for k in kinds if k in permitted], counts, strict=True):
        shown = [row.pk for row in rows if isinstance(row, EkgRecording) == (kind == "ekg")]
        if kind == "ekg":
            audit.record_for_actor(
                actor,
                action=Action.SEARCH,
                patient_id=patient_id,
                resource_type="EkgRecording",
                detail={"params": used, "total": count, "ids": shown},
            )
        else:
            lab_common.audit_search(
                actor, patient_id=patient_id, model="LabOrder", used=used, total=count, ids=shown
            )
    return resource_response(bundle)


def _report_kinds(categories: list[str]) -> list[str]:
    """Which reports a search wants: EKG (category EC), lab (LAB), or both (no category)."""
    kinds = ["ekg", "lab"]
    for value in categories:
        codes = {
            t.code.upper()
            for t in map(parse_token, value.split(","))
            if t.system in (None, V2_0074)
        }
        kinds = [k for k in kinds if KIND_CATEGORIES[k] in codes]
    return kinds


def _report_of(row: Any) -> dict[str, Any]:
    if isinstance(row, EkgRecording):  # the rows carry their file: presentedForm is drawn from it
        return diagnostic_report(row, _signal(row))
    return lab.report(row)


def _ekg_search(actor: Actor, patient_id: int, params: ReportSearch) -> Any:
    qs = (
        _queryset(actor)
        .filter(patient_id=patient_id, voided_at__isnull=True, patient__voided_at__isnull=True)
        .order_by("-acquired_at", "pk")
    )
    for value in params.code:
        tokens = [parse_token(v) for v in value.split(",")]
        if not any(t.code == EKG_STUDY and t.system in (None, LOINC) for t in tokens):
            qs = qs.none()
    for value in params.status:
        wanted = {t.code for t in map(parse_token, value.split(","))}
        condition = Q(pk__in=[])
        if "final" in wanted:
            condition |= Q(status=EkgRecording.Status.SIGNED)
        if "preliminary" in wanted:
            condition |= ~Q(status=EkgRecording.Status.SIGNED)
        qs = qs.filter(condition)
    return qs.filter(lab_common.day_filter(actor, "acquired_at", params.date))


def search_measurements(
    request: HttpRequest, paging: Paging, patient: str, used: list[tuple[str, str]]
) -> HttpResponse:
    """`GET /Observation?patient=..&category=procedure`: the patient's EKG measurements.

    Called from the Observation search (which serves vital signs by default). Each of the
    patient's EKGs gives one Observation per measurement; they are paged here in Python, since a
    patient has few EKGs.
    """
    actor = authorize(request, PERMISSION)
    patient_id = parse_reference_id(patient, "Patient", "patient")
    rows = list(
        _queryset(actor)
        .filter(patient_id=patient_id, voided_at__isnull=True, patient__voided_at__isnull=True)
        .order_by("-acquired_at", "pk")
    )
    found = [(row, part) for row in rows for part in PARTS if measurement(row, part) is not None]
    shown = found[paging.start : paging.start + paging.size] if paging.size else []
    bundle = searchset(
        request,
        "Observation",
        shown,
        len(found),
        paging,
        lambda item: measurement(item[0], item[1]) or {},
        used,
    )
    audit.record_for_actor(
        actor,
        action=Action.SEARCH,
        patient_id=patient_id,
        resource_type="EkgRecording",
        detail={"params": used, "total": len(found)},
    )
    return resource_response(bundle)
