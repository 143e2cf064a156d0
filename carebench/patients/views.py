"""Patient pages: search, register, chart, demographics, and the chart's sections.

Views are thin: a form parses the request, a service writes (one transaction, one audit event),
a selector reads. Every page that shows patient data records an audit read. An htmx request
gets back only the part of the page that changed (a template partial); the same URLs answer a
plain form post with a redirect (or the whole page, status 422, when something is wrong).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from carebench.accounts.permissions import require_perms
from carebench.audit.models import Action
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.terminology.selectors import search_icd10

from . import selectors, services
from .forms import (
    AllergyForm,
    CoverageForm,
    HistoryForm,
    MedicationForm,
    PatientForm,
    ProblemForm,
    ServiceForm,
    VoidForm,
    apply_service_errors,
    correction_form,
)
from .models import Allergy, Coverage, HistoryEntry, MedicationStatement, Patient, Problem
from .validation import format_phone

INVALID = 422


# --- the chart's sections ----------------------------------------------------------------------


def _add_allergy(actor: Actor, patient: Patient, data: dict[str, Any]) -> Any:
    return services.add_allergy(actor=actor, patient=patient, **data)


def _add_medication(actor: Actor, patient: Patient, data: dict[str, Any]) -> Any:
    return services.add_medication(actor=actor, patient=patient, **data)


def _add_problem(actor: Actor, patient: Patient, data: dict[str, Any]) -> Any:
    return services.add_problem(actor=actor, patient=patient, **data)


def _add_history(actor: Actor, patient: Patient, data: dict[str, Any]) -> Any:
    return services.add_history(actor=actor, patient=patient, **data)


def _add_coverage(actor: Actor, patient: Patient, data: dict[str, Any]) -> Any:
    data = dict(data)
    # One transaction: a payer created for a coverage that is then refused is not kept.
    with transaction.atomic():
        payer = services.get_or_create_payer(
            actor=actor, name=data.pop("payer_name"), payer_code=data.pop("payer_code")
        )
        return services.add_coverage(actor=actor, patient=patient, payer=payer, **data)


@dataclass(frozen=True)
class Section:
    """One list on the chart: its model, form, permissions and how to add to it."""

    key: str  # URL part, partial name and form key
    title: str
    model: type
    codename: str  # the model's permission codename suffix
    attr: str  # the list get_chart prefetches
    form_class: type[ServiceForm]
    add: Callable[[Actor, Patient, dict[str, Any]], Any]

    def perm(self, verb: str) -> str:
        return f"patients.{verb}_{self.codename}"


SECTIONS: dict[str, Section] = {
    section.key: section
    for section in (
        Section(
            "coverage",
            "Insurance coverage",
            Coverage,
            "coverage",
            "active_coverages",
            CoverageForm,
            _add_coverage,
        ),
        Section(
            "allergies",
            "Allergies",
            Allergy,
            "allergy",
            "active_allergies",
            AllergyForm,
            _add_allergy,
        ),
        Section(
            "medications",
            "Medications",
            MedicationStatement,
            "medicationstatement",
            "active_medications",
            MedicationForm,
            _add_medication,
        ),
        Section(
            "problems", "Problems", Problem, "problem", "active_problems", ProblemForm, _add_problem
        ),
        Section(
            "history",
            "History",
            HistoryEntry,
            "historyentry",
            "active_history",
            HistoryForm,
            _add_history,
        ),
    )
}


def _section(key: str) -> Section:
    try:
        return SECTIONS[key]
    except KeyError:
        raise Http404("no such chart section") from None


# --- helpers -----------------------------------------------------------------------------------


def _chart(request: HttpRequest, pk: int) -> Patient:
    """The organization's patient with every chart list, or 404 (another organization's too)."""
    try:
        return selectors.get_chart(request.organization, pk)  # type: ignore[attr-defined]
    except Patient.DoesNotExist:
        raise Http404("no such patient") from None


def _audit_view(request: HttpRequest, patient: Patient, **detail: Any) -> None:
    record_read(
        request,
        patient_id=patient.pk,
        resource_type="Patient",
        resource_id=patient.pk,
        detail=detail or None,
    )


def _entry(patient: Patient, section: Section, entry_id: int) -> Any:
    """An active entry of this patient's list (the chart already holds them), or 404."""
    for entry in getattr(patient, section.attr):
        if entry.pk == entry_id:
            return entry
    raise Http404("no such entry on this chart")


def _patient_context(patient: Patient) -> dict[str, Any]:
    return {
        "patient": patient,
        "age": patient.age_on(clock.today()),
        "allergies": selectors.allergy_summary(selectors.active_allergies(patient)),
        "phone_mobile": format_phone(patient.phone_mobile),
        "phone_home": format_phone(patient.phone_home),
        "emergency_phone": format_phone(patient.emergency_contact_phone),
    }


def _chart_context(patient: Patient, **extra: Any) -> dict[str, Any]:
    forms: dict[str, Any] = {key: s.form_class(auto_id=f"{key}_%s") for key, s in SECTIONS.items()}
    forms.update(extra.pop("forms", {}))
    context = _patient_context(patient)
    context.update({"forms": forms, "section_errors": {}, "section_notices": {}})
    context.update(extra)
    return context


def _render_section(
    request: HttpRequest,
    patient: Patient,
    key: str,
    *,
    status: int = 200,
    with_banner: bool = False,
    **extra: Any,
) -> HttpResponse:
    """The htmx answer: the section again (and the banner, out of band, when it may change)."""
    context = _chart_context(patient, **extra)
    html = render_to_string(f"patients/chart.html#{key}", context, request=request)
    if with_banner:
        html += render_to_string("patients/banner.html", {**context, "oob": True}, request=request)
    return HttpResponse(html, status=status)


def _after_write(
    request: HttpRequest, pk: int, key: str, message: str, *, with_banner: bool = False
) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        patient = _chart(request, pk)
        return _render_section(
            request, patient, key, with_banner=with_banner, section_notices={key: message}
        )
    messages.success(request, message)
    return redirect(reverse("patients:chart", args=[pk]) + f"#section-{key}")


def _refused(request: HttpRequest, patient: Patient, key: str, **extra: Any) -> HttpResponse:
    """A write was refused: show the section (htmx) or the whole chart with the errors (422)."""
    if request.htmx:  # type: ignore[attr-defined]
        return _render_section(request, patient, key, status=INVALID, **extra)
    _audit_view(request, patient)
    return render(request, "patients/chart.html", _chart_context(patient, **extra), status=INVALID)


def _details(form: PatientForm) -> services.PatientDetails:
    data: dict[str, Any] = {
        name: value if value is not None else "" for name, value in form.cleaned_data.items()
    }
    data["birth_date"] = form.cleaned_data["birth_date"]
    return services.PatientDetails(**data)


# --- search ------------------------------------------------------------------------------------


@require_GET
@require_perms("patients.view_patient")
def search(request: HttpRequest) -> HttpResponse:
    """Find a patient: the whole home page, or only the results for the typeahead (htmx)."""
    query = request.GET.get("q", "").strip()[:100]
    results: list[dict[str, Any]] | None = None
    if query:
        today = clock.today()
        found = selectors.search_patients(request.organization, query)  # type: ignore
        results = [
            {
                "patient": p,
                "age": p.age_on(today),
                "phone": format_phone(p.phone_mobile or p.phone_home),
            }
            for p in found
        ]
        record_read(
            request,
            patient_id=None,
            resource_type="Patient",
            action=Action.SEARCH,
            detail={"query": query, "results": len(results)},
        )
    context = {"q": query, "results": results}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "core/home.html#results", context)
    return render(request, "core/home.html", context)


@require_GET
@require_perms("patients.view_patient")
def icd10_search(request: HttpRequest) -> HttpResponse:
    """ICD-10-CM typeahead for the problem form and the lab order's reason: billable codes only."""
    query = request.GET.get("q", "")
    for name, value in request.GET.items():
        # the code field itself sends its value (any prefix)
        if name.endswith("icd10_code") and isinstance(value, str):
            query = value
        elif name == "diagnosis_codes" and isinstance(value, str):
            # a list of codes (the lab order's reason): search what is being typed, the last one
            query = value.split(",")[-1]
    query = query.strip()[:60]
    codes = search_icd10(query, billable_only=True, limit=15) if len(query) >= 2 else []
    return render(request, "patients/icd10_options.html", {"codes": codes, "q": query})


# --- register and demographics -----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_perms("patients.add_patient")
def register(request: HttpRequest) -> HttpResponse:
    form = PatientForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                patient = services.register_patient(
                    actor=Actor.from_request(request), details=_details(form)
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Registered {patient.display_name}, MRN {patient.mrn}.")
                return redirect("patients:chart", pk=patient.pk)
        status = INVALID
    return render(request, "patients/register.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@require_perms("patients.view_patient", "patients.change_patient")
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _chart(request, pk)
    initial = PatientForm.initial_from(
        {name: getattr(patient, name) for name in services.DEMOGRAPHIC_FIELDS}
    )
    form = PatientForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.update_patient(
                    actor=Actor.from_request(request), patient=patient, details=_details(form)
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Demographics saved.")
                return redirect("patients:chart", pk=patient.pk)
        status = INVALID
    _audit_view(request, patient, page="edit")
    context = _patient_context(patient) | {"form": form}
    return render(request, "patients/edit.html", context, status=status)


# --- the chart ---------------------------------------------------------------------------------


@require_GET
@require_perms("patients.view_patient")
def chart(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _chart(request, pk)
    _audit_view(request, patient)
    return render(request, "patients/chart.html", _chart_context(patient))


@require_GET
@require_perms("patients.view_patient")
def voided(request: HttpRequest, pk: int) -> HttpResponse:
    """Voided and corrected entries, kept with who voided them, when and why."""
    patient = _chart(request, pk)
    lists = selectors.voided_entries(request.organization, patient.pk)  # type: ignore
    user: Any = request.user
    shown = [
        (SECTIONS[key], lists[key])
        for key in SECTIONS
        if user.has_perm(SECTIONS[key].perm("view")) and key != "coverage"
    ]
    if user.has_perm("patients.view_coverage"):
        shown.insert(0, (SECTIONS["coverage"], lists["coverages"]))
    _audit_view(request, patient, page="voided")
    context = _patient_context(patient) | {"lists": shown}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "patients/voided.html#lists", context)
    return render(request, "patients/voided.html", context)


ADD_LABELS = {
    "coverage": "Add coverage",
    "allergies": "Add allergy",
    "medications": "Add medication",
    "problems": "Add problem",
    "history": "Add history",
}


def _add_view(key: str) -> Callable[[HttpRequest, int], HttpResponse]:
    section = SECTIONS[key]

    @require_http_methods(["GET", "POST"])
    @require_perms("patients.view_patient", section.perm("add"))
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        patient = _chart(request, pk)
        if request.method == "GET":  # the empty form: loaded into the chart, or on its own page
            context = _patient_context(patient) | {
                "form": section.form_class(auto_id=f"{key}_%s"),
                "key": key,
                "action": request.path,
                "summary": ADD_LABELS[key],
            }
            if request.htmx:  # type: ignore[attr-defined]
                return render(request, "patients/add_form.html#form", context)
            _audit_view(request, patient, page=f"add {key}")
            return render(request, "patients/add_page.html", context)
        form = section.form_class(request.POST, auto_id=f"{key}_%s")
        if form.is_valid():
            try:
                section.add(Actor.from_request(request), patient, form.to_service())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return _after_write(
                    request,
                    pk,
                    key,
                    f"{section.title}: entry added.",
                    with_banner=key == "allergies",
                )
        return _refused(request, patient, key, forms={key: form})

    view.__name__ = view.__qualname__ = f"add_{key}"
    view.__doc__ = f"Add an entry to the {section.title.lower()} list."
    return view


add_coverage = _add_view("coverage")
add_allergy = _add_view("allergies")
add_medication = _add_view("medications")
add_problem = _add_view("problems")
add_history = _add_view("history")


@require_POST
@require_perms("patients.view_patient", "patients.add_allergy")
def no_known_allergies(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _chart(request, pk)
    try:
        services.record_no_known_allergies(actor=Actor.from_request(request), patient=patient)
    except ValidationError as exc:
        errors = [m for msgs in exc.message_dict.values() for m in msgs]
        return _refused(
            request,
            patient,
            "allergies",
            section_errors={"allergies": [e[:1].upper() + e[1:] for e in errors]},
        )
    return _after_write(request, pk, "allergies", "No known allergies recorded.", with_banner=True)


@require_POST
@require_perms("patients.view_patient", "patients.change_medicationstatement")
def reconcile_medications(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _chart(request, pk)
    count = services.reconcile_medications(actor=Actor.from_request(request), patient=patient)
    noun = "entry" if count == 1 else "entries"
    return _after_write(
        request, pk, "medications", f"Medication list reconciled with the patient ({count} {noun})."
    )


# --- correct and void one entry ----------------------------------------------------------------


def _check_perm(request: HttpRequest, perm: str) -> None:
    """Run the permission decorator's check (and its audit) for a permission known at run time."""
    require_perms("patients.view_patient", perm)(lambda request: HttpResponse())(request)


def _correction_initial(
    section: Section, entry: Any, form_class: type[ServiceForm]
) -> dict[str, Any]:
    initial = {
        name: getattr(entry, name)
        for name in form_class.base_fields
        if hasattr(entry, name) and name != "reason"
    }
    if section.key == "coverage":
        initial["payer_name"] = entry.payer.name
        initial["payer_code"] = entry.payer.payer_code
    return initial


def _changes(
    request: HttpRequest, section: Section, entry: Any, data: dict[str, Any]
) -> dict[str, Any]:
    data = dict(data)
    data.pop("reason", None)
    if section.key == "coverage":
        name, code = data.pop("payer_name"), data.pop("payer_code")
        if name != entry.payer.name:
            data["payer"] = services.get_or_create_payer(
                actor=Actor.from_request(request), name=name, payer_code=code
            )
    return {name: value for name, value in data.items() if getattr(entry, name) != value}


@require_http_methods(["GET", "POST"])
def correct_entry(request: HttpRequest, pk: int, section_key: str, entry_id: int) -> HttpResponse:
    """Correct an entry: the old one is voided and kept, the corrected copy replaces it."""
    section = _section(section_key)
    _check_perm(request, section.perm("change"))
    patient = _chart(request, pk)
    entry = _entry(patient, section, entry_id)
    form_class = correction_form(section.form_class)
    prefix = f"c{entry.pk}"
    form = form_class(
        request.POST or None, prefix=prefix, initial=_correction_initial(section, entry, form_class)
    )
    context = _patient_context(patient) | {"form": form, "entry": entry, "section": section}
    if request.method == "POST":
        if form.is_valid():
            try:
                with transaction.atomic():
                    changes = _changes(request, section, entry, form.cleaned_data)
                    if not changes:
                        raise ValidationError("nothing was changed; edit a field, or cancel")
                    services.correct_entry(
                        actor=Actor.from_request(request),
                        entry=entry,
                        changes=changes,
                        reason=form.cleaned_data["reason"],
                    )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return _after_write(
                    request,
                    pk,
                    section.key,
                    f"{section.title}: entry corrected.",
                    with_banner=section.key == "allergies",
                )
        if request.htmx:  # type: ignore[attr-defined]
            response = render(
                request, "patients/correct.html#correct_form", context, status=INVALID
            )
            return reswap(retarget(response, f"#edit-{section.key}-{entry.pk}"), "innerHTML")
        return render(request, "patients/correct.html", context, status=INVALID)
    _audit_view(request, patient, page="correct", entry=f"{section.key}/{entry.pk}")
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "patients/correct.html#correct_form", context)
    return render(request, "patients/correct.html", context)


@require_http_methods(["GET", "POST"])
def void_entry(request: HttpRequest, pk: int, section_key: str, entry_id: int) -> HttpResponse:
    """Void an entry entered in error; it is kept, with who voided it, when and why."""
    section = _section(section_key)
    _check_perm(request, section.perm("void"))
    patient = _chart(request, pk)
    entry = _entry(patient, section, entry_id)
    form = VoidForm(request.POST or None, prefix=f"v{entry.pk}")
    context = _patient_context(patient) | {"form": form, "entry": entry, "section": section}
    if request.method == "POST":
        if form.is_valid():
            try:
                services.void_entry(
                    actor=Actor.from_request(request),
                    entry=entry,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return _after_write(
                    request,
                    pk,
                    section.key,
                    f"{section.title}: entry voided.",
                    with_banner=section.key == "allergies",
                )
        if request.htmx:  # type: ignore[attr-defined]
            response = render(request, "patients/void.html#void_form", context, status=INVALID)
            return reswap(retarget(response, f"#void-{section.key}-{entry.pk}"), "innerHTML")
        return render(request, "patients/void.html", context, status=INVALID)
    _audit_view(request, patient, page="void", entry=f"{section.key}/{entry.pk}")
    return render(request, "patients/void.html", context)
