"""Pages for documents: a patient's documents with the upload form, one document (with voiding),
the file itself (served only here, after the permission and organization checks, never cached),
and the chart's list (an htmx fragment).

Thin views: forms parse, `document_services` write (a refused upload comes back with 422),
`document_selectors` read; every page and download that shows patient data is audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from carebench.accounts.permissions import require_perms
from carebench.audit.models import Action
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor

from . import document_selectors as selectors
from . import document_services as services
from . import filetypes
from . import selectors as patient_selectors
from .document_forms import DocumentUploadForm, VoidDocumentForm
from .document_models import Document
from .forms import apply_service_errors
from .models import Patient

INVALID = 422
VIEW = ("patients.view_patient", "patients.view_document")


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _patient(request: HttpRequest, patient_id: int) -> Patient:
    try:
        return patient_selectors.get_chart(_org(request), patient_id)
    except Patient.DoesNotExist:
        raise Http404("no such patient") from None


def _document(request: HttpRequest, pk: int) -> Document:
    try:
        return selectors.get_document(_org(request), pk)
    except Document.DoesNotExist:
        raise Http404("no such document") from None


def banner(patient: Patient) -> dict[str, Any]:
    """The patient banner's context (`patient` from `get_chart`)."""
    return {
        "patient": patient,
        "age": patient.age_on(clock.today()),
        "allergies": patient_selectors.allergy_summary(patient_selectors.active_allergies(patient)),
    }


def _audit(request: HttpRequest, patient_id: int, resource_id: Any = "", **detail: Any) -> None:
    record_read(
        request,
        patient_id=patient_id,
        resource_type="Document",
        resource_id=resource_id,
        detail=detail or None,
    )


def _list_page(
    request: HttpRequest,
    patient: Patient,
    *,
    form: DocumentUploadForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user: Any = request.user
    show_voided = request.GET.get("voided") == "1" and user.has_perm("patients.void_document")
    rows = selectors.documents_for(_org(request), patient, include_voided=show_voided)
    _audit(request, patient.pk, list="documents", count=len(rows))
    context = {
        **banner(patient),
        "documents": rows,
        "form": form or DocumentUploadForm(initial={"document_date": clock.today()}),
        "show_voided": show_voided,
    }
    return render(request, "patients/documents/list.html", context, status=status)


@require_GET
@require_perms(*VIEW)
def patient_documents(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _list_page(request, _patient(request, patient_id))


@require_POST
@require_perms(*VIEW, "patients.add_document")
def upload_document(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(request, patient_id)
    form = DocumentUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            document = services.upload_document(
                actor=Actor.from_request(request),
                patient=patient,
                data=upload.read(services.max_document_bytes() + 1),
                filename=upload.name or "",
                category=form.cleaned_data["category"],
                title=form.cleaned_data["title"],
                document_date=form.cleaned_data["document_date"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Filed “{document.title}” ({filetypes.LABELS[document.content_type]}).",
            )
            return redirect("patients:documents", patient_id=patient.pk)
    return _list_page(request, patient, form=form, status=INVALID)


def _detail_page(
    request: HttpRequest,
    document: Document,
    *,
    void_form: VoidDocumentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    patient = _patient(request, document.patient_id)
    _audit(request, patient.pk, document.pk)
    context = {
        **banner(patient),
        "document": document,
        "kind": filetypes.LABELS.get(document.content_type, document.content_type),
        "is_image": document.content_type in (filetypes.JPEG, filetypes.PNG),
        "void_form": void_form or VoidDocumentForm(),
    }
    return render(request, "patients/documents/detail.html", context, status=status)


@require_GET
@require_perms(*VIEW)
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, _document(request, pk))


@require_GET
@require_perms(*VIEW)
def document_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The file, as the content it really is; `?download=1` for an attachment. A voided
    document's file is shown only to those who may void documents."""
    document = _document(request, pk)
    user: Any = request.user
    if document.voided_at is not None and not user.has_perm("patients.void_document"):
        raise Http404("this document was voided")
    download = request.GET.get("download") == "1" or document.content_type not in filetypes.INLINE
    data = selectors.content_of(document)
    record_read(
        request,
        patient_id=document.patient_id,
        resource_type="Document",
        resource_id=document.pk,
        action=Action.EXPORT if download else Action.VIEW,
        detail={"file": True, "bytes": len(data)},
    )
    name = filetypes.safe_filename(document.original_name or document.title, document.content_type)
    response = HttpResponse(data, content_type=document.content_type)
    response["Content-Disposition"] = f'{"attachment" if download else "inline"}; filename="{name}"'
    response["Content-Length"] = str(len(data))
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@require_perms(*VIEW, "patients.void_document")
def void_document(request: HttpRequest, pk: int) -> HttpResponse:
    document = _document(request, pk)
    form = VoidDocumentForm(request.POST)
    if form.is_valid():
        try:
            services.void_document(
                actor=Actor.from_request(request),
                document=document,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Voided “{document.title}”.")
            return redirect("patients:documents", patient_id=document.patient_id)
    return _detail_page(request, document, void_form=form, status=INVALID)


@require_GET
@require_perms(*VIEW)
def recent_documents(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The chart's documents list (loaded into the chart by htmx)."""
    try:
        patient = patient_selectors.patients_for(_org(request)).get(pk=patient_id)
    except Patient.DoesNotExist:
        raise Http404("no such patient") from None
    rows = selectors.documents_for(_org(request), patient)
    _audit(request, patient.pk, list="chart", count=len(rows))
    context = {
        "patient": patient,
        "documents": rows[: selectors.RECENT],
        "more": max(len(rows) - selectors.RECENT, 0),
    }
    return render(request, "patients/documents/_recent.html", context)
