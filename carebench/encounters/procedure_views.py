"""Pages of the procedure room and wound care.

Thin views: a form parses, a `procedure_services` function writes (a refusal comes back as a
`ValidationError` shown on the form's fields: 422, nothing written), a selector reads. Another
organization's rows are not found (404). Pages with patient data write a read audit event;
images (consent signatures, scans, wound photos) are served only here, after the permission and
organization checks, never cached.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carebench.accounts.models import User
from carebench.accounts.permissions import require_perms
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.patients import selectors as patient_selectors
from carebench.patients.forms import apply_service_errors
from carebench.patients.models import Patient

from . import handouts_procedure as handouts
from . import procedure_selectors as selectors
from . import procedure_services as services
from .models import Encounter
from .procedure_forms import (
    AbandonForm,
    AnaestheticForm,
    AssessmentForm,
    CompleteForm,
    ConsentForm,
    NewProcedureForm,
    ProcedureVitalsForm,
    SetUpForm,
    SpecimenForm,
    SupplyForm,
    TemplateForm,
    TimeoutForm,
    WoundForm,
)
from .procedure_models import Procedure, ProcedureTemplate, Wound, WoundAssessment

INVALID = 422


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


def _zone(encounter: Encounter | None) -> str:
    if encounter is not None:
        return str(encounter.facility.time_zone)
    return str(settings.CAREBENCH_DEFAULT_TIME_ZONE)


def _banner(patient: Patient) -> dict[str, Any]:
    return {
        "patient": patient,
        "age": patient.age_on(clock.today()),
        "allergies": patient_selectors.allergy_summary(patient_selectors.active_allergies(patient)),
    }


def _chart(request: HttpRequest, patient_id: int) -> Patient:
    try:
        return patient_selectors.get_chart(_org(request), patient_id)  # type: ignore[no-any-return]
    except Patient.DoesNotExist:
        raise Http404("no such patient") from None


def _encounter(request: HttpRequest, pk: int) -> Encounter:
    try:
        return (  # type: ignore[no-any-return]
            Encounter.objects.for_org(_org(request))
            .select_related("facility", "provider", "patient")
            .get(pk=pk)
        )
    except Encounter.DoesNotExist:
        raise Http404("no such visit") from None


def _procedure(request: HttpRequest, pk: int) -> Procedure:
    try:
        return selectors.get_procedure(_org(request), pk)
    except Procedure.DoesNotExist:
        raise Http404("no such procedure") from None


def _wound(request: HttpRequest, pk: int) -> Wound:
    try:
        return selectors.get_wound(_org(request), pk)
    except Wound.DoesNotExist:
        raise Http404("no such wound") from None


def _messages(exc: ValidationError) -> str:
    return "; ".join(m for ms in exc.message_dict.values() for m in ms)


# --- templates -----------------------------------------------------------------------------------


@require_GET
@require_perms("encounters.view_proceduretemplate")
def templates(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "encounters/procedures/templates.html",
        {"templates": selectors.templates(_org(request))},
    )


@require_POST
@require_perms("encounters.add_proceduretemplate")
def install_templates(request: HttpRequest) -> HttpResponse:
    added = services.install_example_templates(actor=_actor(request))
    if added:
        messages.success(request, f"Added {len(added)} example templates.")
    else:
        messages.info(request, "The clinic already has every example template.")
    return redirect("encounters:procedure_templates")


@require_http_methods(["GET", "POST"])
@require_perms("encounters.view_proceduretemplate")
def edit_template(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        template = selectors.get_template(_org(request), pk)
    except ProcedureTemplate.DoesNotExist:
        raise Http404("no such template") from None
    may_edit = request.user.has_perm("encounters.change_proceduretemplate")
    if request.method == "POST":
        if not may_edit:
            raise Http404("no such page")  # nothing to post for a reader
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                services.update_template(
                    actor=_actor(request), template=template, changes=form.cleaned_data
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"{template.name}: saved.")
                return redirect("encounters:procedure_templates")
        return render(
            request,
            "encounters/procedures/template.html",
            {"template": template, "form": form, "may_edit": may_edit},
            status=INVALID,
        )
    form = TemplateForm(initial=TemplateForm.initial_for(template))
    return render(
        request,
        "encounters/procedures/template.html",
        {"template": template, "form": form, "may_edit": may_edit},
    )


# --- the visit's procedures ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_perms("encounters.view_procedure", "patients.view_patient")
def procedures(request: HttpRequest, pk: int) -> HttpResponse:
    """The visit's procedures; start one from a template."""
    encounter = _encounter(request, pk)
    org = _org(request)
    form = NewProcedureForm(
        request.POST or None, templates=selectors.templates(org, active_only=True)
    )
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("encounters.add_procedure"):
            raise Http404("no such page")
        if form.is_valid():
            try:
                template = selectors.get_template(org, int(form.cleaned_data["template"]))
                procedure = services.create_procedure(
                    actor=_actor(request),
                    encounter=encounter,
                    template=template,
                    site=form.cleaned_data["site"],
                    side=form.cleaned_data["side"],
                )
            except ProcedureTemplate.DoesNotExist:
                form.add_error("template", "Procedure: choose one of the options")
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"{procedure.name} planned.")
                return redirect("encounters:procedure", pk=procedure.pk)
        status = INVALID
    patient = _chart(request, encounter.patient_id)
    rows = selectors.encounter_procedures(org, encounter.pk)
    record_read(
        request,
        patient_id=patient.pk,
        resource_type="Procedure",
        detail={"encounter": encounter.pk, "procedures": len(rows)},
    )
    return render(
        request,
        "encounters/procedures/list.html",
        {
            **_banner(patient),
            "encounter": encounter,
            "procedures": rows,
            "form": form,
            "is_open": encounter.status == Encounter.Status.IN_PROGRESS,
            "zone": _zone(encounter),
        },
        status=status,
    )


# --- one procedure -------------------------------------------------------------------------------


def _people(request: HttpRequest, procedure: Procedure) -> dict[str, list[Any]]:
    from carebench.scheduling.models import Provider, Resource

    org = _org(request)
    return {
        "providers": list(
            Provider.objects.for_org(org).filter(is_active=True).order_by("family_name")
        ),
        "rooms": list(
            Resource.objects.for_org(org)
            .filter(is_active=True, kind="room", facility_id=procedure.encounter.facility_id)
            .order_by("sort_order", "name")
        ),
        "staff": list(
            User.objects.filter(organization=org, is_active=True).order_by(
                "last_name", "first_name"
            )
        ),
    }


def _forms(request: HttpRequest, procedure: Procedure, given: dict[str, Any]) -> dict[str, Any]:
    people = _people(request, procedure)
    initial_setup = {
        "performed_by": str(procedure.performed_by_id or ""),
        "assistants": [str(request.user.pk)],
    }
    patient = procedure.patient
    return {
        "setup_form": given.get("setup") or SetUpForm(initial=initial_setup, **people),
        "consent_form": given.get("consent")
        or ConsentForm(initial={"signer_name": f"{patient.given_name} {patient.family_name}"}),
        "timeout_form": given.get("timeout")
        or TimeoutForm(checklist=services.timeout_checklist(procedure)),
        "anaesthetic_form": given.get("anaesthetic")
        or AnaestheticForm(
            initial={
                "anaesthetic_name": procedure.anaesthetic_name or "Lidocaine 1%",
                "anaesthetic_lot": procedure.anaesthetic_lot,
                "anaesthetic_expires_on": procedure.anaesthetic_expires_on,
                "anaesthetic_amount": procedure.anaesthetic_amount,
            }
        ),
        "supply_form": given.get("supply") or SupplyForm(),
        "specimen_form": given.get("specimen") or SpecimenForm(),
        "vitals_form": given.get("vitals")
        or ProcedureVitalsForm(
            initial={
                "phase": "after" if procedure.status == Procedure.Status.IN_PROGRESS else "before"
            }
        ),
        "complete_form": given.get("complete") or CompleteForm(),
        "abandon_form": given.get("abandon") or AbandonForm(),
    }


def _procedure_page(
    request: HttpRequest, procedure: Procedure, *, status: int = 200, **given: Any
) -> HttpResponse:
    patient = _chart(request, procedure.patient_id)
    record_read(request, patient_id=patient.pk, resource_type="Procedure", resource_id=procedure.pk)
    consents = selectors.consents(procedure)
    S = Procedure.Status
    context = {
        **_banner(patient),
        "procedure": procedure,
        "template": procedure.template,
        "encounter": procedure.encounter,
        "consents": consents,
        "supplies": list(procedure.supplies.all()),
        "specimens": list(procedure.specimens.all()),
        "assistants": list(procedure.assistants.all()),
        "zone": _zone(procedure.encounter),
        "S": {s.name: s.value for s in S},
        "may_setup": procedure.status == S.PLANNED,
        "may_consent": procedure.status in (S.PLANNED, S.PREPARED),
        "may_timeout": procedure.status == S.PREPARED,
        "may_start": procedure.status == S.TIMED_OUT,
        "may_anaesthetic": procedure.status in (S.PREPARED, S.TIMED_OUT, S.IN_PROGRESS),
        "may_specimen": procedure.status == S.IN_PROGRESS,
        "may_complete": procedure.status == S.IN_PROGRESS,
        "is_open": procedure.is_open,
        **_forms(request, procedure, given),
    }
    return render(request, "encounters/procedures/procedure.html", context, status=status)


@require_GET
@require_perms("encounters.view_procedure", "patients.view_patient")
def procedure(request: HttpRequest, pk: int) -> HttpResponse:
    return _procedure_page(request, _procedure(request, pk))


def _instrument_set(request: HttpRequest, barcode: str) -> Any:
    from carebench.compliance.models import InstrumentSet

    code = barcode.strip().upper()
    if not code:
        return None
    return InstrumentSet.objects.for_org(_org(request)).filter(barcode=code).first()


def _step_setup(request: HttpRequest, procedure: Procedure) -> tuple[str, Any]:
    from carebench.scheduling.models import Provider, Resource

    people = _people(request, procedure)
    form = SetUpForm(request.POST, **people)
    if not form.is_valid():
        return "setup", form
    org = _org(request)
    data = form.cleaned_data
    instrument_set = _instrument_set(request, data["instrument_set"])
    if data["instrument_set"].strip() and instrument_set is None:
        form.add_error(
            "instrument_set", f"No instrument set has the barcode {data['instrument_set']}"
        )
        return "setup", form
    provider = Provider.objects.for_org(org).get(pk=int(data["performed_by"]))
    room = Resource.objects.for_org(org).get(pk=int(data["room"])) if data["room"] else None
    chosen = {int(pk) for pk in data["assistants"]}
    assistants = [u for u in people["staff"] if u.pk in chosen]
    services.set_up(
        actor=_actor(request),
        procedure=procedure,
        performed_by=provider,
        room=room,
        instrument_set=instrument_set,
        assistants=assistants,
    )
    return "", f"Room and tray set up{f': {procedure.tray_label}' if procedure.tray_label else ''}."


def _step_consent(request: HttpRequest, procedure: Procedure) -> tuple[str, Any]:
    form = ConsentForm(request.POST, request.FILES)
    if not form.is_valid():
        return "consent", form
    data = form.cleaned_data
    if data["method"] == "drawn":
        try:
            image = services.decode_data_url(data["signature"] or "")
        except ValueError as exc:
            form.add_error("signature", f"Signature: {exc}")
            return "consent", form
    else:
        upload = request.FILES.get("scan")
        image = upload.read(services.MAX_SCAN_BYTES + 1) if upload is not None else b""
    services.record_consent(
        actor=_actor(request),
        procedure=procedure,
        method=data["method"],
        signer_name=data["signer_name"],
        relationship=data["relationship"],
        image=image,
    )
    return "", f"Consent signed by {data['signer_name']}."


def _step_timeout(request: HttpRequest, procedure: Procedure) -> tuple[str, Any]:
    form = TimeoutForm(request.POST, checklist=services.timeout_checklist(procedure))
    if not form.is_valid():
        return "timeout", form
    services.complete_timeout(
        actor=_actor(request), procedure=procedure, confirmed=form.cleaned_data["confirmed"]
    )
    return "", "Time-out done."


def _step_start(request: HttpRequest, procedure: Procedure) -> tuple[str, Any]:
    services.start_procedure(actor=_actor(request), procedure=procedure)
    return "", "Procedure started."


def _step_anaesthetic(request: HttpRequest, procedure: Procedure) -> tuple[str, Any]:
    form = AnaestheticForm(request.POST)
    if not form.is_valid():
        return "anaesthetic", form
    data = form.cleaned_data
    services.record_anaesthetic(
        actor=_actor(request),
        procedure=procedure,
        name=data["anaesthetic_name"],
        lot_number=data["anaesthetic_lot"],
        expires_on=data["anaesthetic_expires_on"],
        amount=data["anaesthetic_amount"],
    )
    return "", f"Anaesthetic recorded: lot {data['anaesthetic_lot']}."


def _step_supply(request: HttpRequest, procedure: Procedure) -> tuple[str, Any]:
    form = SupplyForm(request.POST)
    if not form.is_valid():
        return "supply", form
    row = services.add_supply(
        actor=_actor(request),
        procedure=procedure,
        name=form.cleaned_data["supply_name"],
        quantity=form.cleaned_data["quantity"],
    )
    return "", f"Counted: {row.quantity} × {row.name}."


def _step_specimen(request: HttpRequest, procedure: Procedure) -> tuple[str, Any]:
    if not request.user.has_perm("labs.add_laborder"):
        raise Http404("no such page")
    form = SpecimenForm(request.POST)
    if not form.is_valid():
        return "specimen", form
    row = services.send_specimen(
        actor=_actor(request),
        procedure=procedure,
        description=form.cleaned_data["description"],
        diagnosis_codes=form.codes(),
    )
    return (
        "",
        f"Specimen {row.specimen.accession} sent to pathology (order {row.lab_order.number}).",
    )


def _step_vitals(request: HttpRequest, procedure: Procedure) -> tuple[str, Any]:
    form = ProcedureVitalsForm(request.POST)
    if not form.is_valid():
        return "vitals", form
    services.record_procedure_vitals(
        actor=_actor(request),
        procedure=procedure,
        phase=form.cleaned_data["phase"],
        entry=form.to_entry(),
    )
    return "", f"Vital signs {form.cleaned_data['phase']} the procedure saved."


def _step_complete(request: HttpRequest, procedure: Procedure) -> tuple[str, Any]:
    form = CompleteForm(request.POST)
    if not form.is_valid():
        return "complete", form
    services.complete_procedure(
        actor=_actor(request),
        procedure=procedure,
        complications=form.complication_text(),
        note=form.cleaned_data.get("note") or "",
    )
    return "", "Procedure completed. Print the aftercare handout."


def _step_abandon(request: HttpRequest, procedure: Procedure) -> tuple[str, Any]:
    form = AbandonForm(request.POST)
    if not form.is_valid():
        return "abandon", form
    services.abandon_procedure(
        actor=_actor(request), procedure=procedure, reason=form.cleaned_data["reason"]
    )
    return "", "Procedure stopped."


STEPS = {
    "setup": _step_setup,
    "consent": _step_consent,
    "timeout": _step_timeout,
    "start": _step_start,
    "anaesthetic": _step_anaesthetic,
    "supply": _step_supply,
    "specimen": _step_specimen,
    "vitals": _step_vitals,
    "complete": _step_complete,
    "abandon": _step_abandon,
}


def _bound(request: HttpRequest, procedure: Procedure, step: str) -> Any:
    """The step's form bound to what was posted, to carry a service's refusal (None for
    "start", which has no fields: its refusal is a message)."""
    if step == "setup":
        return SetUpForm(request.POST, **_people(request, procedure))
    if step == "timeout":
        return TimeoutForm(request.POST, checklist=services.timeout_checklist(procedure))
    if step == "consent":
        return ConsentForm(request.POST, request.FILES)
    simple: dict[str, Any] = {
        "anaesthetic": AnaestheticForm,
        "supply": SupplyForm,
        "specimen": SpecimenForm,
        "vitals": ProcedureVitalsForm,
        "complete": CompleteForm,
        "abandon": AbandonForm,
    }
    form_class = simple.get(step)
    return form_class(request.POST) if form_class is not None else None


@require_POST
@require_perms("encounters.change_procedure", "patients.view_patient")
def procedure_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """One step of the procedure; a refused step comes back on its form (422)."""
    procedure = _procedure(request, pk)
    handler = STEPS.get(step)
    if handler is None:
        raise Http404("no such step")
    try:
        key, result = handler(request, procedure)
    except ValidationError as exc:
        form = _bound(request, procedure, step)
        fresh = _procedure(request, pk)
        if form is None:
            messages.error(request, _messages(exc))
            return _procedure_page(request, fresh, status=INVALID)
        form.is_valid()
        apply_service_errors(form, exc)
        return _procedure_page(request, fresh, status=INVALID, **{step: form})
    if key:
        return _procedure_page(request, _procedure(request, pk), status=INVALID, **{key: result})
    messages.success(request, result)
    return redirect(reverse("encounters:procedure", args=[procedure.pk]) + f"#step-{step}")


@require_GET
@require_perms("encounters.view_procedure", "patients.view_patient")
def consent_image(request: HttpRequest, pk: int, consent_id: int) -> HttpResponse:
    """The signature or the scanned consent, for those allowed to see the procedure."""
    from .procedure_models import ProcedureConsent

    procedure = _procedure(request, pk)
    try:
        consent: Any = selectors.get_consent_image(_org(request), procedure.pk, consent_id)
    except ProcedureConsent.DoesNotExist:
        raise Http404("no such consent") from None
    record_read(
        request,
        patient_id=procedure.patient_id,
        resource_type="ProcedureConsent",
        resource_id=consent.pk,
    )
    response = HttpResponse(bytes(consent.image), content_type=consent.image_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="consent-{consent.pk}"'
    return response


@require_GET
@require_perms("encounters.view_procedure", "patients.view_patient")
def procedure_handout(request: HttpRequest, pk: int) -> HttpResponse:
    """The aftercare handout as a PDF, in the patient's language where we have it."""
    from zoneinfo import ZoneInfo

    procedure = _procedure(request, pk)
    patient = procedure.patient
    language = handouts.language_of(request.GET.get("language") or patient.preferred_language)
    template = procedure.template
    text = template.aftercare_es if language == "es" else template.aftercare_en
    if not text.strip():
        language, text = "en", template.aftercare_en
    facility = procedure.encounter.facility
    done_at = procedure.completed_at or procedure.started_at or clock.now()
    data = handouts.AftercareInput(
        language=language,
        clinic_name=facility.name,
        clinic_phone=getattr(facility, "phone", "") or "",
        patient_name=f"{patient.given_name} {patient.family_name}",
        birth_date=patient.birth_date,
        done_on=done_at.astimezone(ZoneInfo(_zone(procedure.encounter))).date(),
        procedure_name=procedure.name,
        site=f"{procedure.site} ({procedure.get_side_display().lower()})",
        provider_name=procedure.performed_by.display_name if procedure.performed_by else "",
        aftercare_text=text,
        specimen_sent=procedure.specimens.exists(),
    )
    pdf = handouts.render_aftercare(data)
    record_read(
        request,
        patient_id=patient.pk,
        resource_type="Procedure",
        resource_id=procedure.pk,
        action="export",
        detail={"handout": language},
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="aftercare-{procedure.pk}.pdf"'
    return response


# --- wounds --------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_perms("encounters.view_wound", "patients.view_patient")
def wounds(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient's wounds; add one."""
    patient = _chart(request, patient_id)
    form = WoundForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("encounters.add_wound"):
            raise Http404("no such page")
        if form.is_valid():
            data = form.cleaned_data
            try:
                wound = services.add_wound(
                    actor=_actor(request),
                    patient=patient,
                    location=data["location"],
                    kind=data["kind"],
                    stage=data["stage"],
                    onset_on=data["onset_on"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Wound added: {wound}.")
                return redirect("encounters:wound", pk=wound.pk)
        status = INVALID
    rows = selectors.patient_wounds(_org(request), patient.pk)
    record_read(request, patient_id=patient.pk, resource_type="Wound", detail={"page": "list"})
    return render(
        request,
        "encounters/procedures/wounds.html",
        {**_banner(patient), "wounds": rows, "form": form},
        status=status,
    )


def _wound_page(
    request: HttpRequest, wound: Wound, *, form: AssessmentForm | None = None, status: int = 200
) -> HttpResponse:
    patient = _chart(request, wound.patient_id)
    assessments = selectors.wound_assessments(wound)
    record_read(request, patient_id=patient.pk, resource_type="Wound", resource_id=wound.pk)
    return render(
        request,
        "encounters/procedures/wound.html",
        {
            **_banner(patient),
            "wound": wound,
            "assessments": list(reversed(assessments)),
            "trend": selectors.area_trend(assessments),
            "form": form or AssessmentForm(),
            "zone": str(settings.CAREBENCH_DEFAULT_TIME_ZONE),
        },
        status=status,
    )


@require_GET
@require_perms("encounters.view_wound", "encounters.view_woundassessment", "patients.view_patient")
def wound(request: HttpRequest, pk: int) -> HttpResponse:
    return _wound_page(request, _wound(request, pk))


@require_POST
@require_perms("encounters.add_woundassessment", "patients.view_patient")
def assess_wound(request: HttpRequest, pk: int) -> HttpResponse:
    row = _wound(request, pk)
    form = AssessmentForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        upload = request.FILES.get("photo")
        try:
            services.record_wound_assessment(
                actor=_actor(request),
                wound=row,
                length_cm=data["length_cm"],
                width_cm=data["width_cm"],
                depth_cm=data["depth_cm"],
                exudate=data["exudate"],
                tissue=data["tissue"],
                dressing=data["dressing"],
                note=data["note"],
                photo=upload.read(services.MAX_PHOTO_BYTES + 1) if upload is not None else None,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Assessment saved.")
            return redirect("encounters:wound", pk=row.pk)
    return _wound_page(request, row, form=form, status=INVALID)


@require_POST
@require_perms("encounters.change_wound", "patients.view_patient")
def wound_status(request: HttpRequest, pk: int) -> HttpResponse:
    row = _wound(request, pk)
    try:
        services.set_wound_status(
            actor=_actor(request), wound=row, status=request.POST.get("status", "")
        )
    except ValidationError as exc:
        messages.error(request, _messages(exc))
        return _wound_page(request, row, status=INVALID)
    messages.success(request, f"Wound marked {row.get_status_display().lower()}.")
    return redirect("encounters:wound", pk=row.pk)


@require_GET
@require_perms("encounters.view_woundassessment", "patients.view_patient")
def wound_photo(request: HttpRequest, pk: int) -> HttpResponse:
    """A wound photo, only for those allowed, only of their organization, never cached."""
    try:
        row = selectors.get_photo(_org(request), pk)
    except WoundAssessment.DoesNotExist:
        raise Http404("no such photo") from None
    record_read(
        request,
        patient_id=row.patient_id,
        resource_type="WoundAssessment",
        resource_id=row.pk,
        detail={"photo": True},
    )
    response = HttpResponse(bytes(row.photo or b""), content_type=row.photo_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
