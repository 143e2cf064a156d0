"""EKG pages: a patient's EKGs with the upload form, the provider's review queue, one EKG with
its measurements, findings, tracing (with calipers) and the sign form, and the report files.

Views are thin: forms parse, `services` write (a bad file or an impossible correction comes back
as a `ValidationError` on its field: 422, nothing written), `selectors` read within the user's
organization (another organization's EKG is 404). Every view of EKG data is audited. The stored
file and the reports leave only through these permission-checked views.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from carebench.accounts.permissions import require_perms
from carebench.audit.models import Action
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.encounters.models import Encounter
from carebench.patients import selectors as patient_selectors
from carebench.patients.forms import apply_service_errors
from carebench.patients.models import Patient

from . import files, selectors, services
from . import report as ekg_report
from .forms import SignForm, UploadForm, VoidForm
from .models import MEASUREMENTS, EkgRecording
from .recording import RecordingError

INVALID = 422
VIEW = ("ekg.view_ekgrecording", "patients.view_patient")
CONTENT_TYPES = {"svg": "image/svg+xml", "pdf": "application/pdf", "png": "image/png"}
PAPER_W_MM = ekg_report.PAPERS["letter"][0]


# --- helpers -----------------------------------------------------------------------------------


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _chart(request: HttpRequest, patient_id: int) -> Patient:
    try:
        return patient_selectors.get_chart(_org(request), patient_id)
    except Patient.DoesNotExist:
        raise Http404("no such patient") from None


def _recording(request: HttpRequest, pk: int) -> EkgRecording:
    try:
        return selectors.get_recording(_org(request), pk)
    except EkgRecording.DoesNotExist:
        raise Http404("no such EKG") from None


def _banner(patient: Patient) -> dict[str, Any]:
    return {
        "patient": patient,
        "age": patient.age_on(clock.today()),
        "allergies": patient_selectors.allergy_summary(patient_selectors.active_allergies(patient)),
    }


def _zone(request: HttpRequest) -> str:
    facility = getattr(request.user, "default_facility", None)
    return facility.time_zone if facility else settings.CAREBENCH_DEFAULT_TIME_ZONE


def _measurement_rows(row: EkgRecording) -> list[dict[str, Any]]:
    computer = row.measurements
    confirmed = row.confirmed_measurements if row.is_signed else {}
    corrected = set(confirmed.get("corrected", []))
    rows = []
    for key, (label, unit) in MEASUREMENTS.items():
        value = confirmed.get(key, computer.get(key)) if row.is_signed else computer.get(key)
        rows.append(
            {
                "key": key,
                "label": label,
                "unit": unit,
                "value": "—" if value is None else f"{value:g}",
                "computer": "—" if computer.get(key) is None else f"{computer[key]:g}",
                "corrected": key in corrected,
            }
        )
    return rows


def _quality_rows(row: EkgRecording) -> list[dict[str, Any]]:
    quality = row.measurements.get("quality") or {}
    return [
        {
            "lead": lead,
            "status": q.get("status", ""),
            "reasons": ", ".join(q.get("reasons") or []),
            "noise": q.get("noise_mv"),
            "derived": lead in (row.derived_leads or []),
        }
        for lead, q in quality.items()
    ]


def _ekg_page(
    request: HttpRequest,
    row: EkgRecording,
    *,
    status: int = 200,
    sign_form: SignForm | None = None,
    void_form: VoidForm | None = None,
    partial: str = "",
) -> HttpResponse:
    patient = _chart(request, row.patient_id)
    record_read(request, patient_id=patient.pk, resource_type="EkgRecording", resource_id=row.pk)
    context = {
        **_banner(patient),
        "ekg": row,
        "zone": _zone(request),
        "measurements": _measurement_rows(row),
        "rhythm": row.measurements.get("rhythm") or [],
        "quality": _quality_rows(row),
        "beats": len(row.r_peaks or []),
        "sign_form": sign_form or SignForm(recording=row),
        "void_form": void_form or VoidForm(),
        "may_sign": (
            not row.is_signed
            and row.voided_at is None
            and request.user.has_perm("ekg.sign_ekgrecording")
        ),
        "paper_w_mm": PAPER_W_MM,
        "mm_per_s": ekg_report.MM_PER_S,
        "mm_per_mv": ekg_report.MM_PER_MV,
        # the SVG is drawn in points: 72 pt per inch, and the browser shows 96 px per inch
        "px_per_mm": round(96 / ekg_report.MM_PER_INCH, 4),
    }
    template = "ekg/ekg.html" + (f"#{partial}" if partial else "")
    return render(request, template, context, status=status)


# --- a patient's EKGs and upload ---------------------------------------------------------------


def _patient_page(
    request: HttpRequest,
    patient: Patient,
    *,
    form: UploadForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = selectors.patient_recordings(_org(request), patient.pk)
    encounter_id = request.GET.get("encounter") or (form.data.get("encounter") if form else None)
    encounter = None
    if encounter_id and str(encounter_id).isdigit():
        encounter = (
            Encounter.objects.for_org(_org(request))
            .filter(pk=int(encounter_id), patient=patient)
            .first()
        )
    record_read(
        request,
        patient_id=patient.pk,
        resource_type="EkgRecording",
        detail={"page": "patient", "count": len(rows)},
    )
    context = {
        **_banner(patient),
        "ekgs": rows,
        "zone": _zone(request),
        "encounter": encounter,
        "form": form or UploadForm(initial={"encounter": encounter.pk if encounter else None}),
    }
    return render(request, "ekg/patient.html", context, status=status)


@require_GET
@require_perms(*VIEW)
def patient_ekgs(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient's EKGs, newest first, and the upload form."""
    return _patient_page(request, _chart(request, patient_id))


@require_POST
@require_perms("ekg.add_ekgrecording", "patients.view_patient")
def upload(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Attach an EKG file: it is read, measured and stored, and joins the review queue."""
    patient = _chart(request, patient_id)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        encounter = None
        if form.cleaned_data.get("encounter"):
            encounter = (
                Encounter.objects.for_org(_org(request))
                .filter(pk=form.cleaned_data["encounter"])
                .first()
            )
            if encounter is None:
                raise Http404("no such visit")
        upload_file = form.cleaned_data["file"]
        try:
            row = services.attach_ekg(
                actor=Actor.from_request(request),
                patient=patient,
                encounter=encounter,
                filename=upload_file.name or "upload",
                data=upload_file.read(files.MAX_FILE_BYTES + 1),  # over it is refused
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            findings = ", ".join(row.measurements.get("rhythm") or []) or "no rhythm findings"
            messages.success(request, f"EKG attached ({findings}); it is waiting for review.")
            return redirect("ekg:ekg", pk=row.pk)
    return _patient_page(request, patient, form=form, status=INVALID)


# --- the review queue --------------------------------------------------------------------------


@require_GET
@require_perms(*VIEW)
def review_queue(request: HttpRequest) -> HttpResponse:
    """Unsigned EKGs of the organization, oldest first."""
    rows = selectors.review_queue(_org(request))
    record_read(
        request,
        patient_id=None,
        resource_type="EkgRecording",
        action=Action.SEARCH,
        detail={"page": "review queue", "ids": [r.pk for r in rows]},
    )
    return render(request, "ekg/review.html", {"ekgs": rows, "zone": _zone(request)})


# --- one EKG -----------------------------------------------------------------------------------


@require_GET
@require_perms(*VIEW)
def ekg_page(request: HttpRequest, pk: int) -> HttpResponse:
    return _ekg_page(request, _recording(request, pk))


def _header(row: EkgRecording, patient: Patient, zone: str, clinic: str) -> dict[str, Any]:
    local = row.acquired_at.astimezone(ZoneInfo(zone))
    return {
        "name": f"{patient.family_name}, {patient.given_name}",
        "birth_date": patient.birth_date.strftime("%m/%d/%Y"),
        "mrn": patient.mrn,
        "sex": patient.get_sex_display(),
        "age": patient.age_on(local.date()),
        "acquired_at": local.strftime("%m/%d/%Y %I:%M %p"),
        "clinic": clinic,
        "title": f"12-lead EKG #{row.pk}" if len(row.lead_names) >= 12 else f"EKG #{row.pk}",
    }


def _report_measurements(row: EkgRecording, zone: str) -> dict[str, Any]:
    values = row.shown_measurements
    if row.is_signed and row.signed_by is not None and row.signed_at is not None:
        values["confirmed_by"] = row.signed_by.display_name
        values["confirmed_at"] = row.signed_at.astimezone(ZoneInfo(zone)).strftime(
            "%m/%d/%Y %I:%M %p"
        )
    return values


@require_GET
@require_perms(*VIEW)
def report(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The printed page as SVG (shown on the EKG page), PDF or PNG (downloads)."""
    if fmt not in CONTENT_TYPES:
        raise Http404("no such format")
    try:
        row = selectors.get_with_file(_org(request), pk)
    except EkgRecording.DoesNotExist:
        raise Http404("no such EKG") from None
    zone = _zone(request)
    try:
        recording = selectors.signal_of(row)
    except RecordingError as exc:  # the stored file no longer reads (an importer changed)
        return HttpResponse(f"the stored file cannot be read: {exc}", status=500)
    header = _header(row, row.patient, zone, _org(request).name)
    body = ekg_report.render(recording, _report_measurements(row, zone), header, fmt)
    record_read(
        request,
        patient_id=row.patient_id,
        resource_type="EkgRecording",
        resource_id=row.pk,
        action=Action.VIEW if fmt == "svg" else Action.EXPORT,
        detail={"report": fmt},
    )
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    if fmt != "svg":
        response["Content-Disposition"] = f'attachment; filename="ekg-{row.pk}.{fmt}"'
    return response


@require_GET
@require_perms(*VIEW)
def original(request: HttpRequest, pk: int) -> HttpResponse:
    """The file as it was received (audited as an export)."""
    try:
        row = selectors.get_with_file(_org(request), pk)
    except EkgRecording.DoesNotExist:
        raise Http404("no such EKG") from None
    record_read(
        request,
        patient_id=row.patient_id,
        resource_type="EkgRecording",
        resource_id=row.pk,
        action=Action.EXPORT,
        detail={"original": row.original_filename},
    )
    response = HttpResponse(bytes(row.data), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{row.original_filename}"'
    return response


@require_POST
@require_perms("ekg.sign_ekgrecording", "ekg.view_ekgrecording", "patients.view_patient")
def sign(request: HttpRequest, pk: int) -> HttpResponse:
    """The provider confirms or corrects the measurements, interprets and signs."""
    row = _recording(request, pk)
    form = SignForm(request.POST, recording=row)
    partial = "review" if request.headers.get("HX-Request") else ""
    if form.is_valid():
        try:
            services.confirm_and_sign(
                actor=Actor.from_request(request),
                recording=row,
                corrections=form.corrections(),
                interpretation=form.cleaned_data["interpretation"],
                billing_code=form.cleaned_data["billing_code"],
            )
        except PermissionDenied:
            raise
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "EKG signed.")
            if partial:
                return _ekg_page(request, _recording(request, pk), partial=partial)
            return redirect("ekg:ekg", pk=row.pk)
    return _ekg_page(request, row, status=INVALID, sign_form=form, partial=partial)


@require_POST
@require_perms("ekg.void_ekgrecording", "ekg.view_ekgrecording", "patients.view_patient")
def void(request: HttpRequest, pk: int) -> HttpResponse:
    """Void an EKG attached in error, with the reason."""
    row = _recording(request, pk)
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            services.void_ekg(
                actor=Actor.from_request(request), recording=row, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "EKG voided.")
            return redirect(reverse("ekg:patient", args=[row.patient_id]))
    return _ekg_page(request, row, status=INVALID, void_form=form)
