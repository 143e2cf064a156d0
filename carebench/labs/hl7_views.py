"""The lab interface page: outbound messages (ORM orders, registry VXUs) with the ACK code and
error the receiver sent back, the inbound log with ACK codes and errors, the unmatched queue where
a person picks the order a held result belongs to, and each raw message.

Permissions are checked here on the server: `labs.view_hl7message` to look,
`labs.change_hl7message` (with `labs.view_laborder`) to match a held message to an order, and
`labs.change_hl7message` to resend an outbound message that got an error, was rejected, or got
no ACK (`hl7_services.requeue`, audited).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from carebench.accounts.permissions import require_perms
from carebench.audit.services import record_read
from carebench.core.actor import Actor
from carebench.core.errors import messages_of

from . import hl7_selectors, hl7_services
from .models import Hl7Message, LabOrder
from .views import _org, _zone


def _message(request: HttpRequest, pk: int) -> Hl7Message:
    try:
        return hl7_selectors.get_message(_org(request), pk)
    except Hl7Message.DoesNotExist:
        raise Http404("no such HL7 message") from None


@require_GET
@require_perms("labs.view_hl7message")
def interface(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    held = hl7_selectors.unmatched(org)
    outbound = hl7_selectors.outbound(org)
    inbound = hl7_selectors.inbound(org)
    record_read(
        request,
        patient_id=None,
        resource_type="Hl7MessageList",
        detail={
            "patients": sorted({m.patient_id for m in [*held, *outbound, *inbound] if m.patient_id})
        },
    )
    user: Any = request.user
    return render(
        request,
        "labs/hl7_interface.html",
        {
            "unmatched": held,
            "outbound": outbound,
            "inbound": inbound,
            "counts": hl7_selectors.counts(org),
            "zone": _zone(request),
            "can_resend": user.has_perm("labs.change_hl7message"),
            "resendable": list(hl7_services.RESENDABLE),
        },
    )


@require_GET
@require_perms("labs.view_hl7message")
def message(request: HttpRequest, pk: int) -> HttpResponse:
    current = _message(request, pk)
    record_read(
        request,
        patient_id=current.patient_id,
        resource_type="Hl7Message",
        resource_id=current.pk,
        detail={"control_id": current.control_id},
    )
    user: Any = request.user
    can_match = current.status == Hl7Message.Status.UNMATCHED and user.has_perms(
        ["labs.change_hl7message", "labs.view_laborder"]
    )
    return render(
        request,
        "labs/hl7_message.html",
        {
            "message": current,
            "segments": [line for line in current.raw.replace("\n", "\r").split("\r") if line],
            "candidates": hl7_selectors.candidate_orders(_org(request), current)
            if can_match
            else [],
            "can_match": can_match,
            "can_resend": current.direction == Hl7Message.Direction.OUTBOUND
            and current.status in hl7_services.RESENDABLE
            and user.has_perm("labs.change_hl7message"),
            "zone": _zone(request),
        },
    )


@require_POST
@require_perms("labs.change_hl7message", "labs.view_laborder")
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    current = _message(request, pk)
    number = " ".join(request.POST.get("order", "").split()).upper()
    order = LabOrder.objects.for_org(_org(request)).filter(number=number).first()
    if order is None:
        messages.error(request, f"Not matched: no order {number or '(none given)'}.")
        return redirect("labs:hl7_message", pk=current.pk)
    try:
        hl7_services.resolve_unmatched(
            actor=Actor.from_request(request), message=current, order=order
        )
    except ValidationError as exc:
        messages.error(request, f"Not matched: {messages_of(exc)}")
        return redirect("labs:hl7_message", pk=current.pk)
    messages.success(request, f"Results of {current.control_id} stored on order {order.number}.")
    return redirect("labs:hl7_interface")


@require_POST
@require_perms("labs.change_hl7message")
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    current = _message(request, pk)
    try:
        hl7_services.requeue(actor=Actor.from_request(request), message=current)
    except ValidationError as exc:
        messages.error(request, f"Not queued again: {messages_of(exc)}")
    else:
        messages.success(
            request, f"{current.message_type} {current.control_id} is queued to be sent again."
        )
    if request.POST.get("next") == "message":
        return redirect("labs:hl7_message", pk=current.pk)
    return redirect("labs:hl7_interface")
