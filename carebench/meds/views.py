"""Pages for injections and immunizations: a patient's doses and what is due (with the orders
to give, standing orders to run and history to record), giving a dose at the chair, a dose's
record (reactions, the registry's answer, the handout, voiding), the stock by lot, the
provider's co-sign queue, the registry log, and the set-up of products and storage units.

Thin views: forms parse, `services` write (a refused write comes back onto the form with 422),
`selectors` read, and every page that shows patient data is audited as a read.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carebench.accounts.permissions import require_perms
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import messages_of
from carebench.patients import selectors as patient_selectors
from carebench.patients.forms import apply_service_errors
from carebench.patients.models import Patient
from carebench.scheduling.models import Provider
from carebench.terminology.models import Manufacturer, VaccineCode

from . import forecast as forecast_engine
from . import handouts, scan, selectors, services
from .forms import (
    AdjustForm,
    GiveForm,
    HistoryForm,
    LotStatusForm,
    ProductForm,
    ProviderOrderForm,
    ReactionForm,
    ReceiveForm,
    RefusalForm,
    StandingOrderForm,
    StorageUnitForm,
    VoidForm,
)
from .models import ROUTES, SITES, Administration, MedicationOrder, StockLot

INVALID = 422
STATUS_CLASS = {
    forecast_engine.Status.OVERDUE: "status-rejected",
    forecast_engine.Status.DUE: "status-pending",
    forecast_engine.Status.REVIEW: "status-pending",
    forecast_engine.Status.UP_TO_DATE: "status-received",
    forecast_engine.Status.COMPLETE: "status-received",
}


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


def _zone(request: HttpRequest) -> str:
    return services.zone_for(_actor(request))


def _patient(request: HttpRequest, patient_id: int) -> Patient:
    try:
        return patient_selectors.get_chart(_org(request), patient_id)
    except Patient.DoesNotExist:
        raise Http404("no such patient") from None


def _order(request: HttpRequest, pk: int) -> MedicationOrder:
    try:
        return selectors.get_order(_org(request), pk)
    except MedicationOrder.DoesNotExist:
        raise Http404("no such order") from None


def _administration(request: HttpRequest, pk: int) -> Administration:
    try:
        return selectors.get_administration(_org(request), pk)
    except Administration.DoesNotExist:
        raise Http404("no such dose") from None


def _lot(request: HttpRequest, pk: int) -> StockLot:
    try:
        return selectors.get_lot(_org(request), pk)
    except StockLot.DoesNotExist:
        raise Http404("no such lot") from None


def _banner(request: HttpRequest, patient: Patient) -> dict[str, Any]:
    """The patient banner's context (the chart's prefetched allergies, loaded if missing)."""
    if "active_allergies" not in vars(patient):
        patient = patient_selectors.get_chart(_org(request), patient.pk)
    return {
        "patient": patient,
        "age": patient.age_on(clock.today()),
        "allergies": patient_selectors.allergy_summary(patient_selectors.active_allergies(patient)),
    }


def _my_provider(request: HttpRequest) -> Provider | None:
    return Provider.objects.for_org(_org(request)).filter(user=request.user).first()


# --- a patient's immunizations ------------------------------------------------------------------


def _patient_page(
    request: HttpRequest,
    patient: Patient,
    *,
    order_form: ProviderOrderForm | None = None,
    history_form: HistoryForm | None = None,
    standing_forms: dict[int, StandingOrderForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    org = _org(request)
    today = clock.today(_zone(request))
    doses = selectors.administrations_for(org, patient)
    due = selectors.forecast_for(org, patient, today, doses, _zone(request))
    groups = [(g, STATUS_CLASS.get(g.status, "")) for g in due.groups]
    protocols = selectors.standing_orders(org, today)
    forms_by_protocol = standing_forms or {}
    standing = [
        (p, forms_by_protocol.get(p.pk) or StandingOrderForm(protocol=p)) for p in protocols
    ]
    record_read(
        request,
        patient_id=patient.pk,
        resource_type="Administration",
        detail={"page": "immunizations", "doses": len(doses)},
    )
    return render(
        request,
        "meds/patient.html",
        {
            **_banner(request, patient),
            "doses": doses,
            "groups": groups,
            "not_forecast": due.not_forecast,
            "orders": selectors.open_orders_for(org, patient),
            "standing": standing,
            "order_form": order_form or ProviderOrderForm(products=selectors.products(org)),
            "history_form": history_form or HistoryForm(),
            "is_provider": _my_provider(request) is not None,
            "today": today,
            "zone": _zone(request),
        },
        status=status,
    )


@require_GET
@require_perms("meds.view_administration")
def patient_page(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient's doses (given, reported, refused), what is due, and the open orders."""
    return _patient_page(request, _patient(request, patient_id))


@require_POST
@require_perms("meds.add_medicationorder")
def run_standing_order(request: HttpRequest, patient_id: int, protocol_id: int) -> HttpResponse:
    patient = _patient(request, patient_id)
    protocol = next(
        (p for p in selectors.standing_orders(_org(request)) if p.pk == protocol_id), None
    )
    if protocol is None:
        raise Http404("no such standing order")
    form = StandingOrderForm(request.POST, protocol=protocol)
    if form.is_valid():
        try:
            order = services.start_standing_order(
                actor=_actor(request),
                protocol=protocol,
                patient=patient,
                product=form.cleaned_data["product"],
                answers=form.answers(),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Standing order started for {order.product}: give it now.")
            return redirect("meds:give", pk=order.pk)
    return _patient_page(request, patient, standing_forms={protocol.pk: form}, status=INVALID)


@require_POST
@require_perms("meds.sign_medicationorder")
def provider_order(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(request, patient_id)
    form = ProviderOrderForm(request.POST, products=selectors.products(_org(request)))
    provider = _my_provider(request)
    if form.is_valid():
        if provider is None:
            form.add_error(None, "only a provider on the schedule may order")
        else:
            data = form.cleaned_data
            try:
                services.order_medication(
                    actor=_actor(request),
                    patient=patient,
                    product=data["product"],
                    provider=provider,
                    dose_amount=data["dose_amount"],
                    route=data["route"],
                    instructions=data["instructions"],
                    allergy_reviewed=data["allergy_reviewed"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Ordered {data['product']}.")
                return redirect("meds:patient", patient_id=patient.pk)
    return _patient_page(request, patient, order_form=form, status=INVALID)


@require_POST
@require_perms("meds.add_administration")
def record_history(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(request, patient_id)
    form = HistoryForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        code = VaccineCode.objects.filter(cvx=data["vaccine_code"].strip()).first()
        if code is None:
            form.add_error(
                "vaccine_code", f"Vaccine (CVX code): no CVX code {data['vaccine_code']!r}"
            )
        else:
            try:
                services.record_historical(
                    actor=_actor(request),
                    patient=patient,
                    vaccine_code=code,
                    given_on=data["given_on"],
                    source=data["source"],
                    lot_number=data["lot_number"],
                    date_is_estimated=data["date_is_estimated"],
                    note=data["note"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request, f"Recorded {code.short_name} given {data['given_on']:%m/%d/%Y}."
                )
                return redirect("meds:patient", patient_id=patient.pk)
    return _patient_page(request, patient, history_form=form, status=INVALID)


# --- giving a dose ------------------------------------------------------------------------------


def _give_page(
    request: HttpRequest,
    order: MedicationOrder,
    *,
    form: GiveForm | None = None,
    refusal: RefusalForm | None = None,
    status: int = 200,
) -> HttpResponse:
    org = _org(request)
    today = clock.today(_zone(request))
    lots = selectors.usable_lots(org, order.product, today)
    product = order.product
    initial = {
        "dose_amount": order.dose_amount.normalize(),
        "dose_unit": order.dose_unit,
        "route": order.route,
        "vis_given_on": today if product.is_vaccine else None,
        "observation_minutes": 15,
    }
    record_read(
        request, patient_id=order.patient_id, resource_type="MedicationOrder", resource_id=order.pk
    )
    return render(
        request,
        "meds/give.html",
        {
            **_banner(request, order.patient),
            "order": order,
            "product": product,
            "route_name": ROUTES.get(order.route, order.route),
            "form": form
            or GiveForm(
                initial=initial, lots=StockLot.objects.filter(pk__in=[lot.pk for lot in lots])
            ),
            "refusal": refusal or RefusalForm(),
            "lots": lots,
            "conflicts": services.allergy_conflicts(order.patient, product),
            "today": today,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@require_perms("meds.add_administration")
def give(request: HttpRequest, pk: int) -> HttpResponse:
    """The five rights at the chair; a refused check names the right that failed."""
    order = _order(request, pk)
    if request.method == "GET":
        if order.status != MedicationOrder.Status.ACTIVE:
            messages.info(request, f"This order is {order.get_status_display().lower()}.")
            return redirect("meds:patient", patient_id=order.patient_id)
        return _give_page(request, order)
    org = _org(request)
    lots = StockLot.objects.for_org(org).filter(product=order.product)
    form = GiveForm(request.POST, lots=lots)
    with timezone.override(ZoneInfo(_zone(request))):
        valid = form.is_valid()
    if valid:
        data = form.cleaned_data
        lot = data["lot"]
        if data["lot_scan"]:
            public = data["eligibility"] in services.VFC_ELIGIBLE
            try:
                lot = services.find_lot(
                    _actor(request), order.product, data["lot_scan"], public=public
                )
            except ValueError as exc:
                form.add_error("lot_scan", f"Scan: {exc}")
                lot = None
            else:
                if lot is None:
                    form.add_error(
                        "lot_scan", "Scan: no lot of ours matches this code: check the vial"
                    )
        if lot is not None and not form.errors:
            try:
                administration = services.administer(
                    actor=_actor(request),
                    order=order,
                    patient_check=services.PatientCheck(
                        scanned=data["patient_scan"],
                        name=data["patient_name"],
                        birth_date=data["patient_birth_date"],
                    ),
                    lot=lot,
                    dose_amount=data["dose_amount"],
                    dose_unit=data["dose_unit"],
                    route=data["route"],
                    site=data["site"],
                    eligibility=data["eligibility"],
                    given_at=data["given_at"],
                    vis_given_on=data["vis_given_on"],
                    observation_minutes=data["observation_minutes"],
                    note=data["note"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"{administration.product_name} given, lot {administration.lot_number}. "
                    f"Observe the patient for {administration.observation_minutes} minutes.",
                )
                return redirect("meds:administration", pk=administration.pk)
    return _give_page(request, order, form=form, status=INVALID)


@require_POST
@require_perms("meds.add_administration")
def refuse(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    form = RefusalForm(request.POST)
    if form.is_valid():
        try:
            services.record_refusal(
                actor=_actor(request),
                patient=order.patient,
                order=order,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Refusal of {order.product} recorded.")
            return redirect("meds:patient", patient_id=order.patient_id)
    return _give_page(request, order, refusal=form, status=INVALID)


@require_POST
@require_perms("meds.add_medicationorder")
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    try:
        services.cancel_order(
            actor=_actor(request), order=order, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, messages_of(exc))
    else:
        messages.success(request, f"Order for {order.product} cancelled.")
    return redirect("meds:patient", patient_id=order.patient_id)


# --- a dose's record ----------------------------------------------------------------------------


def _administration_page(
    request: HttpRequest,
    administration: Administration,
    *,
    reaction_form: ReactionForm | None = None,
    void_form: VoidForm | None = None,
    status: int = 200,
) -> HttpResponse:
    record_read(
        request,
        patient_id=administration.patient_id,
        resource_type="Administration",
        resource_id=administration.pk,
    )
    language, fell_back = handouts.resolve_language(
        administration.patient.preferred_language or "en"
    )
    return render(
        request,
        "meds/administration.html",
        {
            **_banner(request, administration.patient),
            "dose": administration,
            "route_name": ROUTES.get(administration.route, ""),
            "site_name": SITES.get(administration.site, ""),
            "messages_sent": [entry.message for entry in administration.registry_messages.all()],
            "reaction_form": reaction_form or ReactionForm(initial={"onset_at": clock.now()}),
            "void_form": void_form or VoidForm(),
            "handout_language": language,
            "handout_fell_back": fell_back,
            "zone": _zone(request),
        },
        status=status,
    )


@require_GET
@require_perms("meds.view_administration")
def administration(request: HttpRequest, pk: int) -> HttpResponse:
    return _administration_page(request, _administration(request, pk))


@require_POST
@require_perms("meds.add_adversereaction")
def add_reaction(request: HttpRequest, pk: int) -> HttpResponse:
    dose = _administration(request, pk)
    form = ReactionForm(request.POST)
    with timezone.override(ZoneInfo(_zone(request))):  # the page shows times in the clinic's zone
        valid = form.is_valid()
    if valid:
        data = form.cleaned_data
        try:
            services.record_reaction(
                actor=_actor(request),
                administration=dose,
                onset_at=data["onset_at"],
                description=data["description"],
                severity=data["severity"],
                code=data["code"],
                treatment=data["treatment"],
                reported_to_vaers=data["reported_to_vaers"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Reaction recorded; the registry will be updated.")
            return redirect("meds:administration", pk=dose.pk)
    return _administration_page(request, dose, reaction_form=form, status=INVALID)


@require_POST
@require_perms("meds.void_administration")
def void(request: HttpRequest, pk: int) -> HttpResponse:
    dose = _administration(request, pk)
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            services.void_administration(
                actor=_actor(request), administration=dose, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Entry voided; the registry will be told to delete it.")
            return redirect("meds:administration", pk=dose.pk)
    return _administration_page(request, dose, void_form=form, status=INVALID)


@require_GET
@require_perms("meds.view_administration")
def handout(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient's handout as a PDF, in their preferred language where we have it."""
    dose = _administration(request, pk)
    if dose.kind != Administration.Kind.GIVEN or dose.is_voided:
        raise Http404("handouts are printed for doses given here")
    requested = request.GET.get("language") or dose.patient.preferred_language or "en"
    language, _fell_back = handouts.resolve_language(requested)
    data = handout_input(request, dose, language)
    pdf = handouts.render_handout(data)
    record_read(
        request,
        patient_id=dose.patient_id,
        resource_type="Administration",
        resource_id=dose.pk,
        action="export",
        detail={"handout": language},
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="handout-{dose.pk}.pdf"'
    return response


def handout_input(
    request: HttpRequest, dose: Administration, language: str
) -> handouts.HandoutInput:
    org = _org(request)
    facility = dose.facility or org.facilities.first()
    patient = dose.patient
    zone = _zone(request)
    given_on = dose.occurred_at.astimezone(ZoneInfo(zone)).date()
    next_due = ""
    group = dose.vaccine_code.group if dose.vaccine_code is not None else None
    if group:
        due = selectors.forecast_for(org, patient, given_on, zone=zone).get(group)
        if due is not None and due.recommended is not None and due.recommended > given_on:
            next_due = f"{due.label}: {due.recommended:%Y-%m-%d}"
    instructions = dose.order.instructions if dose.order is not None else ""
    amount = dose.dose_amount.normalize() if dose.dose_amount is not None else ""
    return handouts.HandoutInput(
        language=language,
        clinic_name=facility.name if facility else org.name,
        clinic_address=(
            f"{facility.address_line}, {facility.city} {facility.state} {facility.postal_code}".strip(
                ", "
            )
            if facility
            else ""
        ),
        clinic_phone=facility.phone if facility else "",
        patient_name=f"{patient.given_name} {patient.family_name}",
        birth_date=patient.birth_date,
        given_on=given_on,
        product_name=dose.product_name,
        product_kind="vaccine" if dose.is_vaccine else "injection",
        vaccine_group=group or None,
        dose_text=f"{amount} {dose.dose_unit}".strip(),
        route_text=handouts.route_words(dose.route, language),
        site_text=handouts.site_words(dose.site, language),
        lot_number=dose.lot_number,
        vis_edition_date=dose.vis_edition_date,
        provider_instructions=instructions,
        next_due_text=next_due,
        observation_minutes=dose.observation_minutes or 0,
    )


# --- orders -------------------------------------------------------------------------------------


@require_GET
@require_perms("meds.sign_medicationorder")
def cosign_queue(request: HttpRequest) -> HttpResponse:
    orders = selectors.cosign_queue(_org(request), request.user)  # type: ignore[arg-type]
    record_read(
        request,
        patient_id=None,
        resource_type="MedicationOrder",
        detail={"page": "co-sign queue", "orders": [o.pk for o in orders]},
    )
    return render(request, "meds/cosign_queue.html", {"orders": orders})


@require_POST
@require_perms("meds.sign_medicationorder")
def cosign(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    try:
        services.cosign_order(actor=_actor(request), order=order)
    except ValidationError as exc:
        messages.error(request, messages_of(exc))
    else:
        messages.success(request, f"Co-signed {order.product} for {order.patient.display_name}.")
    return redirect("meds:cosign_queue")


# --- stock --------------------------------------------------------------------------------------


def _stock_page(
    request: HttpRequest, *, receive_form: ReceiveForm | None = None, status: int = 200
) -> HttpResponse:
    org = _org(request)
    today = clock.today(_zone(request))
    show_all = request.GET.get("all") == "1"
    return render(
        request,
        "meds/stock.html",
        {
            "lines": selectors.stock(org, today, include_empty=show_all),
            "show_all": show_all,
            "receive_form": receive_form
            or ReceiveForm(products=selectors.products(org), units=selectors.storage_units(org)),
            "today": today,
        },
        status=status,
    )


@require_GET
@require_perms("meds.view_stocklot")
def stock(request: HttpRequest) -> HttpResponse:
    """Every lot on hand by product and expiry, with warnings; receive stock."""
    return _stock_page(request)


@require_POST
@require_perms("meds.add_stocklot")
def receive(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    form = ReceiveForm(
        request.POST, products=selectors.products(org), units=selectors.storage_units(org)
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            lot = services.receive_stock(actor=_actor(request), **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Received {data['doses']} dose(s) of {lot}.")
            return redirect("meds:stock")
    return _stock_page(request, receive_form=form, status=INVALID)


def _lot_page(
    request: HttpRequest,
    lot: StockLot,
    *,
    status_form: LotStatusForm | None = None,
    adjust_form: AdjustForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "meds/lot.html",
        {
            "lot": lot,
            "movements": lot.movements.select_related("created_by").order_by("-created_at", "-pk"),
            "status_form": status_form or LotStatusForm(initial={"status": lot.status}),
            "adjust_form": adjust_form or AdjustForm(),
            "expired": lot.expires_on < clock.today(_zone(request)),
        },
        status=status,
    )


@require_GET
@require_perms("meds.view_stocklot")
def lot(request: HttpRequest, pk: int) -> HttpResponse:
    return _lot_page(request, _lot(request, pk))


@require_POST
@require_perms("meds.change_stocklot")
def lot_status(request: HttpRequest, pk: int) -> HttpResponse:
    row = _lot(request, pk)
    form = LotStatusForm(request.POST)
    if form.is_valid():
        try:
            services.set_lot_status(actor=_actor(request), lot=row, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request, f"Lot {row.lot_number} is now {row.get_status_display().lower()}."
            )
            return redirect("meds:lot", pk=row.pk)
    return _lot_page(request, row, status_form=form, status=INVALID)


@require_POST
@require_perms("meds.add_stockmovement")
def lot_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    row = _lot(request, pk)
    form = AdjustForm(request.POST)
    if form.is_valid():
        try:
            services.adjust_stock(actor=_actor(request), lot=row, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Lot {row.lot_number} adjusted.")
            return redirect("meds:lot", pk=row.pk)
    return _lot_page(request, row, adjust_form=form, status=INVALID)


@require_GET
@require_perms("meds.view_stocklot")
def scan_lookup(request: HttpRequest) -> HttpResponse:
    """What a scanned vial is (GS1 code): product, lot, expiry, and whether we hold it."""
    text = request.GET.get("code", "").replace("\x00", "")[:120]
    result: dict[str, Any] = {"code": text}
    if text:
        try:
            parsed = (
                scan.parse_gs1(text)
                if scan.looks_like_gs1(text)
                else scan.Gs1(lot=text.strip().upper())
            )
        except ValueError as exc:
            result["error"] = str(exc)
        else:
            result["parsed"] = parsed
            result["lots"] = list(
                StockLot.objects.for_org(_org(request))
                .filter(lot_number=parsed.lot.upper())
                .select_related("product", "storage_unit")
            )
    return render(request, "meds/scan.html", result)


# --- registry and set-up ------------------------------------------------------------------------


@require_GET
@require_perms("meds.view_registrymessage")
def registry(request: HttpRequest) -> HttpResponse:
    """Every VXU sent or waiting, with the registry's answer."""
    entries = selectors.registry_log(_org(request))
    record_read(
        request,
        patient_id=None,
        resource_type="Administration",
        detail={"page": "registry log", "messages": len(entries)},
    )
    return render(request, "meds/registry.html", {"entries": entries})


def _setup_page(
    request: HttpRequest,
    *,
    product_form: ProductForm | None = None,
    unit_form: StorageUnitForm | None = None,
    status: int = 200,
) -> HttpResponse:
    org = _org(request)
    return render(
        request,
        "meds/setup.html",
        {
            "products": selectors.products(org, active_only=False),
            "units": selectors.storage_units(org),
            "protocols": selectors.standing_orders(org),
            "product_form": product_form or ProductForm(),
            "unit_form": unit_form or StorageUnitForm(),
        },
        status=status,
    )


@require_GET
@require_perms("meds.view_product")
def setup(request: HttpRequest) -> HttpResponse:
    return _setup_page(request)


@require_POST
@require_perms("meds.add_product")
def add_product(request: HttpRequest) -> HttpResponse:
    form = ProductForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        cvx, mvx = data.pop("vaccine_code").strip(), data.pop("manufacturer").strip().upper()
        code = VaccineCode.objects.filter(cvx=cvx).first() if cvx else None
        maker = Manufacturer.objects.filter(mvx=mvx).first() if mvx else None
        if cvx and code is None:
            form.add_error("vaccine_code", f"CVX (vaccines): no CVX code {cvx!r}")
        if mvx and maker is None:
            form.add_error("manufacturer", f"MVX (vaccines): no MVX code {mvx!r}")
        if not form.errors:
            try:
                product = services.add_product(
                    actor=_actor(request), vaccine_code=code, manufacturer=maker, **data
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Added {product}.")
                return redirect("meds:setup")
    return _setup_page(request, product_form=form, status=INVALID)


@require_POST
@require_perms("meds.add_storageunit")
def add_storage_unit(request: HttpRequest) -> HttpResponse:
    form = StorageUnitForm(request.POST)
    facility = services.facility_for(_actor(request))
    if form.is_valid():
        if facility is None:
            form.add_error(None, "the organization has no facility")
        else:
            try:
                unit = services.add_storage_unit(
                    actor=_actor(request), facility=facility, **form.cleaned_data
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Added {unit}.")
                return redirect("meds:setup")
    return _setup_page(request, unit_form=form, status=INVALID)
