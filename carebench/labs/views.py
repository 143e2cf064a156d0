"""Lab pages: the worklist with the scan box, ordering, the provider's co-sign queue, the draw
guide at the chair, specimen pages with their chain of custody, labels, requisitions, manifests
and the catalog.

Views are thin: a form parses, a labs service writes (a `ValidationError` comes back onto the
form: 422, nothing written), a selector reads, and every page that shows patient data is
audited as a read.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from carebench.accounts.permissions import require_perms
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import messages_of
from carebench.encounters.models import Encounter
from carebench.patients import selectors as patient_selectors
from carebench.patients.forms import apply_service_errors
from carebench.patients.models import Patient

from . import draw, labels, requisition, selectors, services
from .forms import (
    CatalogUploadForm,
    CollectForm,
    ManifestForm,
    OrderForm,
    ProcessForm,
    ReceiveForm,
    RejectForm,
    StoreForm,
)
from .models import LabOrder, LabTest, Manifest, Specimen

INVALID = 422
MAX_CATALOG_BYTES = 1_000_000

# --- helpers -------------------------------------------------------------------------------------


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _zone(request: HttpRequest) -> str:
    facility = getattr(request.user, "default_facility", None)
    if facility is None:
        facility = _org(request).facilities.first()
    return facility.time_zone if facility is not None else "America/Chicago"


def _banner(patient: Patient) -> dict[str, Any]:
    return {
        "patient": patient,
        "age": patient.age_on(clock.today()),
        "allergies": patient_selectors.allergy_summary(patient_selectors.active_allergies(patient)),
    }


def _patient(request: HttpRequest, patient_id: int) -> Patient:
    try:
        return patient_selectors.get_patient(_org(request), patient_id)
    except Patient.DoesNotExist:
        raise Http404("no such patient") from None


def _order(request: HttpRequest, pk: int) -> LabOrder:
    try:
        return selectors.get_order(_org(request), pk)
    except LabOrder.DoesNotExist:
        raise Http404("no such lab order") from None


def _specimen(request: HttpRequest, pk: int) -> Specimen:
    try:
        return selectors.get_specimen(_org(request), pk)
    except Specimen.DoesNotExist:
        raise Http404("no such specimen") from None


def _short_container(code: str) -> str:
    return draw.CONTAINERS[code].label.split(" (")[0]


def _label_data(specimen: Specimen, zone: str) -> labels.LabelData:
    patient = specimen.patient
    collector = specimen.collected_by
    initials = ""
    if collector is not None:
        initials = f"{collector.first_name[:1]}{collector.last_name[:1]}".upper()
    flags = []
    if specimen.order.priority == LabOrder.Priority.STAT:
        flags.append("STAT")
    if specimen.recollect_of_id:
        flags.append("RE-COLLECT")
    return labels.LabelData(
        accession=specimen.accession,
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date,
        mrn=patient.mrn,
        tests=[item.code for item in specimen.items.all()],
        container=_short_container(specimen.container),
        collected_at=(
            specimen.collected_at.astimezone(ZoneInfo(zone)) if specimen.collected_at else None
        ),
        collector_initials=initials,
        flags=flags,
    )


def _label_response(
    request: HttpRequest, specimens: list[Specimen], fmt: str, name: str
) -> HttpResponse:
    if not specimens:
        raise Http404("no labels to print")
    zone = _zone(request)
    data = [_label_data(s, zone) for s in specimens]
    record_read(
        request,
        patient_id=specimens[0].patient_id,
        resource_type="SpecimenLabel",
        resource_id=",".join(s.accession for s in specimens)[:60],
        detail={"format": fmt},
    )
    if fmt == "zpl":
        response = HttpResponse(labels.labels_zpl(data), content_type="text/plain; charset=ascii")
        response["Content-Disposition"] = f'attachment; filename="{name}.zpl"'
        return response
    response = HttpResponse(labels.labels_pdf(data), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response


# --- worklist and scanning ----------------------------------------------------------------------


@require_GET
@require_perms("labs.view_specimen")
def worklist(request: HttpRequest) -> HttpResponse:
    """Today's specimens by status, the orders still to draw, and the scan box."""
    zone = _zone(request)
    today = clock.today(zone)
    specimens = selectors.worklist(_org(request), day=today, zone=zone)
    groups: list[tuple[str, str, list[Specimen]]] = []
    for status, label in Specimen.Status.choices:
        rows = [s for s in specimens if s.status == status]
        if rows:
            groups.append((status, label, rows))
    to_draw = selectors.orders_to_draw(_org(request))
    record_read(
        request,
        patient_id=None,
        resource_type="LabWorklist",
        detail={"specimens": len(specimens), "orders": len(to_draw)},
    )
    return render(
        request,
        "labs/worklist.html",
        {"groups": groups, "to_draw": to_draw, "today": today, "zone": zone},
    )


@require_GET
@require_perms("labs.view_specimen")
def scan(request: HttpRequest) -> HttpResponse:
    """The keyboard-wedge scanner types the accession and Enter: open that specimen."""
    code = request.GET.get("code", "")
    specimen = selectors.find_specimen(_org(request), code)
    if specimen is None:
        shown = " ".join(code.split())[:30]
        messages.error(request, f"No such specimen: {shown or '(nothing scanned)'}.")
        return redirect("labs:worklist")
    return redirect("labs:specimen", pk=specimen.pk)


# --- orders -------------------------------------------------------------------------------------


def _order_form_page(
    request: HttpRequest,
    patient: Patient,
    encounter: Encounter | None,
    form: OrderForm,
    *,
    status: int = 200,
) -> HttpResponse:
    chart = patient_selectors.get_chart(_org(request), patient.pk)
    record_read(request, patient_id=patient.pk, resource_type="LabOrderForm")
    return render(
        request,
        "labs/order_form.html",
        {
            **_banner(chart),
            "encounter": encounter,
            "form": form,
            "orders": selectors.patient_orders(_org(request), patient.pk)[:10],
        },
        status=status,
    )


def _order_view(request: HttpRequest, patient: Patient, encounter: Encounter | None) -> Any:
    user: Any = request.user
    may_sign = user.has_perm("labs.sign_laborder")
    own_provider = getattr(user, "provider", None) if may_sign else None
    tests = LabTest.objects.for_org(_org(request)).filter(is_active=True).order_by("name")
    providers = selectors.active_providers(_org(request))
    options = {"tests": tests, "providers": providers, "may_sign": may_sign}
    if request.method != "POST":
        provider = own_provider or (encounter.provider if encounter else None)
        initial = {
            "ordering_provider": provider.pk if provider else None,
            "basis": LabOrder.Basis.PROVIDER if own_provider else LabOrder.Basis.STANDING,
            "priority": LabOrder.Priority.ROUTINE,
        }
        return _order_form_page(request, patient, encounter, OrderForm(initial=initial, **options))
    form = OrderForm(request.POST, **options)
    if form.is_valid():
        data = form.cleaned_data
        try:
            order = services.place_order(
                actor=Actor.from_request(request),
                patient=patient,
                provider=data["ordering_provider"],
                tests=list(data["tests"]),
                basis=data["basis"],
                diagnosis_codes=data["diagnosis_codes"],
                priority=data["priority"],
                fasting_confirmed=data["fasting_confirmed"],
                encounter=encounter,
                note=data["note"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            cosign = " It waits for the provider's co-signature." if order.needs_cosign else ""
            messages.success(request, f"Lab order {order.number} placed.{cosign}")
            return redirect("labs:order", pk=order.pk)
    return _order_form_page(request, patient, encounter, form, status=INVALID)


@require_http_methods(["GET", "POST"])
@require_perms("labs.add_laborder", "patients.view_patient")
def new_order(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Order labs from the patient's chart."""
    return _order_view(request, _patient(request, patient_id), None)


@require_http_methods(["GET", "POST"])
@require_perms("labs.add_laborder", "patients.view_patient", "encounters.view_encounter")
def new_order_for_encounter(request: HttpRequest, encounter_id: int) -> HttpResponse:
    """Order labs from the visit."""
    try:
        encounter = (
            Encounter.objects.for_org(_org(request))
            .select_related("patient", "provider")
            .get(pk=encounter_id)
        )
    except Encounter.DoesNotExist:
        raise Http404("no such visit") from None
    return _order_view(request, encounter.patient, encounter)


@require_GET
@require_perms("labs.view_laborder", "patients.view_patient")
def order(request: HttpRequest, pk: int) -> HttpResponse:
    lab_order = _order(request, pk)
    chart = patient_selectors.get_chart(_org(request), lab_order.patient_id)
    record_read(request, patient_id=lab_order.patient_id, resource_type="LabOrder", resource_id=pk)
    user: Any = request.user
    return render(
        request,
        "labs/order.html",
        {
            **_banner(chart),
            "order": lab_order,
            "diagnoses": selectors.diagnoses(lab_order.diagnosis_codes),
            "specimens": list(lab_order.specimens.all()),
            "may_cosign": lab_order.needs_cosign
            and user.has_perm("labs.sign_laborder")
            and lab_order.ordering_provider.user_id == user.pk,
            "zone": _zone(request),
            **_results_context(lab_order, user),
        },
    )


def _results_context(lab_order: LabOrder, user: Any) -> dict[str, Any]:
    """The order page's results part: results by test, reviews, what this user may do."""
    from . import poc_services, result_selectors
    from .poc_views import mark_flags

    may_view = user.has_perm("labs.view_labresult")
    results = mark_flags(result_selectors.order_results(lab_order)) if may_view else []
    items = list(lab_order.items.all())
    by_item: dict[int | None, list[Any]] = {}
    for row in results:
        by_item.setdefault(row.order_item_id, []).append(row)
    active = lab_order.status == LabOrder.Status.ACTIVE
    return {
        "results_by_test": [(i, by_item.get(i.pk, [])) for i in items if by_item.get(i.pk)]
        + ([(None, by_item[None])] if None in by_item else []),
        "results": results,
        "reviews": result_selectors.order_reviews(lab_order) if may_view else [],
        "poc_items": {i.pk for i in items if poc_services.definition(i) is not None},
        "may_enter": user.has_perm("labs.add_labresult")
        and lab_order.status != LabOrder.Status.CANCELLED,
        "may_review": bool(results) and user.has_perm("labs.sign_laborder"),
        "may_cancel": active and not results and user.has_perm("labs.add_laborder"),
    }


@require_GET
@require_perms("labs.view_laborder", "patients.view_patient")
def requisition_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    lab_order = _order(request, pk)
    zone = ZoneInfo(_zone(request))
    patient = lab_order.patient
    provider = lab_order.ordering_provider
    if lab_order.basis == LabOrder.Basis.PROVIDER:
        cosign = ""
    elif lab_order.cosigned_at:
        signer = lab_order.cosigned_by
        cosign = (
            f"Co-signed by {signer.display_name if signer else '?'} "
            f"{lab_order.cosigned_at.astimezone(zone):%m/%d/%Y %H:%M}"
        )
    else:
        cosign = "Awaiting provider co-signature"
    fasting = {True: "yes, patient fasted", False: "no, patient not fasting", None: "not asked"}
    facility = lab_order.encounter.facility.name if lab_order.encounter else ""
    data = requisition.RequisitionData(
        order_number=lab_order.number,
        organization=_org(request).name,
        facility=facility or (_org(request).facilities.first() or _org(request)).name,
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date,
        sex=patient.get_sex_display(),
        mrn=patient.mrn,
        provider_name=provider.display_name,
        provider_npi=provider.npi,
        ordered_at=lab_order.ordered_at.astimezone(zone),
        priority=lab_order.get_priority_display(),
        basis=lab_order.get_basis_display(),
        cosign=cosign,
        fasting=fasting[lab_order.fasting_confirmed],
        diagnoses=selectors.diagnoses(lab_order.diagnosis_codes),
        tests=[
            requisition.RequisitionTest(
                i.code, i.name, i.loinc, _short_container(i.container), i.performed
            )
            for i in lab_order.items.all()
        ],
        specimens=[
            (s.accession, _short_container(s.container))
            for s in lab_order.specimens.all()
            if s.status != Specimen.Status.REJECTED
        ],
        note=lab_order.note,
    )
    record_read(
        request,
        patient_id=patient.pk,
        resource_type="LabRequisition",
        resource_id=pk,
        detail={"format": "pdf"},
    )
    response = HttpResponse(requisition.requisition_pdf(data), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="requisition-{lab_order.number}.pdf"'
    return response


@require_GET
@require_perms("labs.sign_laborder")
def cosign_queue(request: HttpRequest) -> HttpResponse:
    """Orders waiting for the signed-in provider's co-signature (everyone's, for others)."""
    user: Any = request.user
    own = getattr(user, "provider", None)
    orders = selectors.cosign_queue(_org(request), user_id=user.pk if own else None)
    for lab_order in orders:
        record_read(
            request,
            patient_id=lab_order.patient_id,
            resource_type="LabOrder",
            resource_id=lab_order.pk,
            detail={"list": "cosign queue"},
        )
    return render(
        request,
        "labs/cosign_queue.html",
        {"orders": orders, "own": own, "zone": _zone(request)},
    )


@require_POST
@require_perms("labs.sign_laborder")
def cosign(request: HttpRequest, pk: int) -> HttpResponse:
    lab_order = _order(request, pk)
    try:
        services.cosign_order(actor=Actor.from_request(request), order=lab_order)
    except ValidationError as exc:
        messages.error(request, f"Not co-signed: {messages_of(exc)}")
    else:
        messages.success(request, f"Order {lab_order.number} co-signed.")
    if request.POST.get("next") == "queue":
        return redirect("labs:cosign_queue")
    return redirect("labs:order", pk=lab_order.pk)


# --- the draw guide -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_perms("labs.view_laborder", "patients.view_patient")
def draw_guide(request: HttpRequest, pk: int) -> HttpResponse:
    """At the chair: the tubes in the order of draw; POST makes them specimens with labels."""
    lab_order = _order(request, pk)
    winged = request.POST.get("winged") == "1" or request.GET.get("winged") == "1"
    if request.method == "POST":
        user: Any = request.user
        if not user.has_perm("labs.add_specimen"):
            raise PermissionDenied("needs labs permissions to write")
        try:
            made = services.create_specimens(
                actor=Actor.from_request(request), order=lab_order, winged_set=winged
            )
        except ValidationError as exc:
            messages.error(request, f"No labels made: {messages_of(exc)}")
        else:
            messages.success(request, f"{len(made)} specimen label(s) ready: {made[0].accession}…")
        return redirect(reverse("labs:draw", args=[pk]) + ("?winged=1" if winged else ""))
    chart = patient_selectors.get_chart(_org(request), lab_order.patient_id)
    plan = selectors.draw_plan(lab_order, winged_set=winged)
    specimens = [s for s in lab_order.specimens.all() if s.status != Specimen.Status.REJECTED]
    by_sequence = {s.draw_sequence: s for s in specimens}
    tubes = [(t, by_sequence.get(t.sequence)) for t in plan.tubes]
    other = [(t, by_sequence.get(100 + t.sequence)) for t in plan.other]
    record_read(request, patient_id=lab_order.patient_id, resource_type="DrawGuide", resource_id=pk)
    return render(
        request,
        "labs/draw.html",
        {
            **_banner(chart),
            "order": lab_order,
            "plan": plan,
            "tubes": tubes,
            "other": other,
            "winged": winged,
            "specimens": specimens,
            "fasting_unconfirmed": plan.fasting and lab_order.fasting_confirmed is not True,
        },
    )


@require_GET
@require_perms("labs.view_specimen", "patients.view_patient")
def order_labels(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in ("pdf", "zpl"):
        raise Http404("labels come as pdf or zpl")
    lab_order = _order(request, pk)
    specimens = [
        s
        for s in lab_order.specimens.all()
        if s.status not in (Specimen.Status.REJECTED, Specimen.Status.RECEIVED)
    ]
    for s in specimens:
        s.order = lab_order
    return _label_response(request, specimens, fmt, f"labels-{lab_order.number}")


# --- specimens ----------------------------------------------------------------------------------

ACTIONS: dict[str, Any] = {
    "collect": CollectForm,
    "process": ProcessForm,
    "store": StoreForm,
    "receive": ReceiveForm,
    "reject": RejectForm,
}


def _specimen_page(
    request: HttpRequest,
    specimen: Specimen,
    *,
    status: int = 200,
    forms: dict | None = None,
    notice: str = "",
) -> HttpResponse:
    zone = _zone(request)
    forms = forms or {}
    available = {
        action: forms.get(action) or (form(zone=zone) if action == "collect" else form())  # type: ignore[operator]
        for action, form in ACTIONS.items()
        if services.transition_error(specimen, action) is None
    }
    for action, form in forms.items():  # a refused form stays on the page with its errors
        available.setdefault(action, form)
    record_read(
        request,
        patient_id=specimen.patient_id,
        resource_type="Specimen",
        resource_id=specimen.pk,
    )
    chart = patient_selectors.get_chart(_org(request), specimen.patient_id)
    context = {
        **_banner(chart),
        "specimen": specimen,
        "container": specimen.container_type,
        "events": list(specimen.events.all()),
        "actions": available,
        "zone": zone,
        "notice": notice,
    }
    template = "labs/specimen.html"
    if request.htmx and request.method == "POST":  # type: ignore[attr-defined]
        template = "labs/specimen.html#panel"
    return render(request, template, context, status=status)


@require_GET
@require_perms("labs.view_specimen", "patients.view_patient")
def specimen(request: HttpRequest, pk: int) -> HttpResponse:
    return _specimen_page(request, _specimen(request, pk))


@require_POST
@require_perms("labs.change_specimen", "patients.view_patient")
def specimen_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("no such specimen action")
    current = _specimen(request, pk)
    zone = _zone(request)
    form = (
        CollectForm(request.POST, zone=zone)
        if action == "collect"
        else ACTIONS[action](request.POST)
    )
    if form.is_valid():
        data = form.cleaned_data
        actor = Actor.from_request(request)
        try:
            if action == "collect":
                services.collect_specimen(
                    actor=actor,
                    specimen=current,
                    site=data["site"],
                    attempts=data["attempts"],
                    collected_at=data.get("collected_at"),
                )
                done = "collected"
            elif action == "process":
                services.process_specimen(
                    actor=actor,
                    specimen=current,
                    centrifuged=data["centrifuged"],
                    aliquoted=data["aliquoted"],
                    note=data["note"],
                )
                done = "processed"
            elif action == "store":
                services.store_specimen(
                    actor=actor,
                    specimen=current,
                    temperature=data["temperature"],
                    location=data["location"],
                )
                done = "stored"
            elif action == "receive":
                services.receive_specimen(actor=actor, specimen=current, location=data["location"])
                done = "received"
            else:
                again = services.reject_specimen(
                    actor=actor, specimen=current, reason=data["reason"], note=data["note"]
                )
                messages.warning(
                    request,
                    f"{current.accession} rejected. Re-collect as {again.accession}: "
                    "print its label and draw again.",
                )
                target = reverse("labs:specimen", args=[again.pk])
                if request.htmx:  # type: ignore[attr-defined]
                    return HttpResponseClientRedirect(target)
                return redirect(target)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if request.htmx:  # type: ignore[attr-defined]
                fresh = _specimen(request, pk)
                return _specimen_page(request, fresh, notice=f"{current.accession} {done}.")
            messages.success(request, f"{current.accession} {done}.")
            return redirect("labs:specimen", pk=current.pk)
    return _specimen_page(request, current, status=INVALID, forms={action: form})


@require_GET
@require_perms("labs.view_specimen", "patients.view_patient")
def specimen_label(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in ("pdf", "zpl"):
        raise Http404("labels come as pdf or zpl")
    current = _specimen(request, pk)
    return _label_response(request, [current], fmt, f"label-{current.accession}")


# --- manifests ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_perms("labs.view_manifest")
def manifests(request: HttpRequest) -> HttpResponse:
    """Recent manifests, and packing a new one from the specimens ready to send."""
    user: Any = request.user
    packable = selectors.packable_specimens(_org(request))
    queryset = Specimen.objects.for_org(_org(request)).filter(pk__in=[s.pk for s in packable])
    form = ManifestForm(request.POST or None, specimens=queryset)
    status = 200
    if request.method == "POST":
        if not user.has_perm("labs.add_manifest"):
            raise PermissionDenied("needs labs permissions to write")
        if form.is_valid():
            try:
                made = services.create_manifest(
                    actor=Actor.from_request(request),
                    courier=form.cleaned_data["courier"],
                    destination=form.cleaned_data["destination"],
                    specimens=list(form.cleaned_data["specimens"]),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Manifest {made.number} packed.")
                return redirect("labs:manifest", pk=made.pk)
        status = INVALID
    record_read(
        request, patient_id=None, resource_type="ManifestList", detail={"ready": len(packable)}
    )
    return render(
        request,
        "labs/manifests.html",
        {
            "form": form,
            "packable": {s.pk: s for s in packable},
            "manifests": selectors.manifests(_org(request)),
            "zone": _zone(request),
        },
        status=status,
    )


@require_GET
@require_perms("labs.view_manifest", "labs.view_specimen")
def manifest(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        current = selectors.get_manifest(_org(request), pk)
    except Manifest.DoesNotExist:
        raise Http404("no such manifest") from None
    specimens = list(current.specimens.all())
    record_read(
        request,
        patient_id=None,
        resource_type="Manifest",
        resource_id=pk,
        detail={"patients": sorted({s.patient_id for s in specimens})},
    )
    return render(
        request,
        "labs/manifest.html",
        {"manifest": current, "specimens": specimens, "zone": _zone(request)},
    )


@require_POST
@require_perms("labs.change_manifest")
def manifest_pickup(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        current = Manifest.objects.for_org(_org(request)).get(pk=pk)
    except Manifest.DoesNotExist:
        raise Http404("no such manifest") from None
    try:
        services.pick_up_manifest(actor=Actor.from_request(request), manifest=current)
    except ValidationError as exc:
        messages.error(request, f"Not picked up: {messages_of(exc)}")
    else:
        messages.success(request, f"Manifest {current.number}: picked up by {current.courier}.")
    return redirect("labs:manifest", pk=pk)


# --- the catalog ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_perms("labs.view_labtest")
def catalog(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    form = CatalogUploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if not user.has_perms(["labs.add_labtest", "labs.change_labtest"]):
            raise PermissionDenied("needs labs permissions to write")
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > MAX_CATALOG_BYTES:
                    raise ValidationError({"file": "must be under 1 MB"})
                try:
                    text = upload.read().decode("utf-8")
                except UnicodeDecodeError:
                    raise ValidationError({"file": "must be a UTF-8 CSV file"}) from None
                loaded = services.load_catalog_csv(actor=Actor.from_request(request), text=text)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request, f"Catalog loaded: {loaded.created} new, {loaded.updated} updated."
                )
                return redirect("labs:catalog")
        status = INVALID
    return render(
        request,
        "labs/catalog.html",
        {"tests": selectors.catalog(_org(request), active_only=False), "form": form},
        status=status,
    )
