"""Pages for imaging and referral orders: a patient's orders and the new-order form (with the
prior-authorization warning), one order with the next steps (sent, scheduled, result received
as a document, reviewed, cancelled), and the worklist of orders still waiting.

Thin views: forms parse, `referral_services` write (a refused form comes back with 422),
`referral_selectors` read; every page with patient data is audited as a read.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carebench.accounts.permissions import require_perms
from carebench.audit.services import record_read
from carebench.core.actor import Actor
from carebench.scheduling.models import Provider

from . import document_services
from . import referral_selectors as selectors
from . import referral_services as services
from .document_views import banner
from .forms import apply_service_errors
from .models import Patient
from .referral_forms import (
    CancelForm,
    OutsideOrderForm,
    ResultForm,
    ReviewForm,
    ScheduleForm,
    SendForm,
)
from .referral_models import OutsideOrder

INVALID = 422
Status = OutsideOrder.Status
VIEW = ("patients.view_patient", "patients.view_outsideorder")
TRACK = (*VIEW, "patients.change_outsideorder")


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


def _patient(request: HttpRequest, patient_id: int) -> Patient:
    from . import selectors as patient_selectors

    try:
        return patient_selectors.get_chart(_org(request), patient_id)
    except Patient.DoesNotExist:
        raise Http404("no such patient") from None


def _order(request: HttpRequest, pk: int) -> OutsideOrder:
    try:
        return selectors.get_order(_org(request), pk)
    except OutsideOrder.DoesNotExist:
        raise Http404("no such order") from None


def _providers(request: HttpRequest) -> Any:
    return Provider.objects.for_org(_org(request)).filter(is_active=True)


def _audit(request: HttpRequest, patient_id: int, resource_id: Any = "", **detail: Any) -> None:
    record_read(
        request,
        patient_id=patient_id,
        resource_type="OutsideOrder",
        resource_id=resource_id,
        detail=detail or None,
    )


# --- a patient's orders -------------------------------------------------------------------------


def _orders_page(
    request: HttpRequest,
    patient: Patient,
    *,
    form: OutsideOrderForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = selectors.orders_for(_org(request), patient)
    _audit(request, patient.pk, list="orders", count=len(rows))
    mine = _providers(request).filter(user=request.user).first()
    context = {
        **banner(patient),
        "orders": rows,
        "form": form
        or OutsideOrderForm(
            providers=_providers(request),
            initial={"ordering_provider": mine.pk if mine else None},
        ),
    }
    return render(request, "patients/referrals/patient.html", context, status=status)


@require_GET
@require_perms(*VIEW)
def patient_orders(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _orders_page(request, _patient(request, patient_id))


@require_POST
@require_perms(*VIEW, "patients.add_outsideorder")
def new_order(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(request, patient_id)
    form = OutsideOrderForm(request.POST, providers=_providers(request))
    if form.is_valid():
        try:
            order = services.place_order(
                actor=_actor(request), patient=patient, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Ordered: {order.what}, {order.requested}.")
            for warning in order.prior_auth_warnings:
                messages.warning(request, f"Prior authorization: {warning}")
            return redirect("patients:outside_order", pk=order.pk)
    return _orders_page(request, patient, form=form, status=INVALID)


# --- one order ----------------------------------------------------------------------------------


def _order_page(
    request: HttpRequest,
    order: OutsideOrder,
    *,
    forms: dict[str, Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    patient = _patient(request, order.patient_id)
    _audit(request, patient.pk, order.pk)
    given = forms or {}
    allowed = {
        to
        for to, starts in services.MOVES_FROM.items()
        if order.status in starts and order.voided_at is None
    }
    context = {
        **banner(patient),
        "order": order,
        "allowed": allowed,
        "send_form": given.get("sent") or SendForm(),
        "schedule_form": given.get("scheduled")
        or ScheduleForm(initial={"scheduled_on": order.scheduled_on}),
        "result_form": given.get("result_received") or ResultForm(),
        "review_form": given.get("reviewed") or ReviewForm(),
        "cancel_form": given.get("cancelled") or CancelForm(),
    }
    return render(request, "patients/referrals/order.html", context, status=status)


@require_GET
@require_perms(*VIEW)
def outside_order(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_page(request, _order(request, pk))


def _step(
    request: HttpRequest, pk: int, key: str, form_class: type[Form], act: Any, done: str
) -> HttpResponse:
    order = _order(request, pk)
    form = form_class(request.POST, request.FILES)
    if form.is_valid():
        try:
            act(order, form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("patients:outside_order", pk=order.pk)
    return _order_page(request, order, forms={key: form}, status=INVALID)


@require_POST
@require_perms(*TRACK)
def send_order(request: HttpRequest, pk: int) -> HttpResponse:
    def act(order: OutsideOrder, data: dict[str, Any]) -> None:
        services.mark_sent(actor=_actor(request), order=order, via=data["via"])

    return _step(request, pk, "sent", SendForm, act, "Marked sent.")


@require_POST
@require_perms(*TRACK)
def schedule_order(request: HttpRequest, pk: int) -> HttpResponse:
    def act(order: OutsideOrder, data: dict[str, Any]) -> None:
        services.schedule(actor=_actor(request), order=order, on=data["scheduled_on"])

    return _step(request, pk, "scheduled", ScheduleForm, act, "Scheduled.")


@require_POST
@require_perms(*TRACK, "patients.add_document")
def receive_result(request: HttpRequest, pk: int) -> HttpResponse:
    def act(order: OutsideOrder, data: dict[str, Any]) -> None:
        upload = data["file"]
        services.receive_result(
            actor=_actor(request),
            order=order,
            data=upload.read(document_services.max_document_bytes() + 1),
            filename=upload.name or "",
            title=data["title"],
            document_date=data["document_date"],
        )

    return _step(
        request, pk, "result_received", ResultForm, act, "Result filed; waiting for review."
    )


@require_POST
@require_perms(*VIEW, "patients.review_outsideorder")
def review_order(request: HttpRequest, pk: int) -> HttpResponse:
    def act(order: OutsideOrder, data: dict[str, Any]) -> None:
        services.review_result(actor=_actor(request), order=order, note=data["note"])

    return _step(request, pk, "reviewed", ReviewForm, act, "Result reviewed.")


@require_POST
@require_perms(*TRACK)
def cancel_order(request: HttpRequest, pk: int) -> HttpResponse:
    def act(order: OutsideOrder, data: dict[str, Any]) -> None:
        services.cancel_order(actor=_actor(request), order=order, reason=data["reason"])

    return _step(request, pk, "cancelled", CancelForm, act, "Order cancelled.")


# --- the worklist -------------------------------------------------------------------------------


@require_http_methods(["GET"])
@require_perms("patients.view_outsideorder")
def worklist(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    facility = actor.organization.facilities.first()
    zone = facility.time_zone if facility is not None else "UTC"
    kind = request.GET.get("kind", "")
    found = selectors.worklist(
        _org(request), document_services.organization_today(actor), zone, kind=kind
    )
    record_read(
        request,
        patient_id=None,
        resource_type="OutsideOrder",
        action="search",
        detail={"worklist": True, "kind": kind, "total": found.total},
    )
    context = {
        "worklist": found,
        "kind": kind,
        "kinds": OutsideOrder.Kind.choices,
        "counts": [(s, Status(s).label, found.counts[s]) for s in selectors.WAITING],
        "zone": zone,
        "overdue_days": selectors.OVERDUE_DAYS,
        "review_days": selectors.REVIEW_OVERDUE_DAYS,
    }
    return render(request, "patients/referrals/worklist.html", context)
