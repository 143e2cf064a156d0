"""Pages for what the clinic asks payers: eligibility (a 270 sent, the 271 read into plain
words, the batch for a day's appointments, the clearinghouse inbox read) and prior
authorization (rules, requests, the payer's decisions, units used and left).

Thin views: forms parse, services write (refusals come back with 422 naming the field),
selectors read; every page with patient data is audited as a read.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carebench.accounts.permissions import require_perms
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import messages_with_fields
from carebench.patients import selectors as patient_selectors
from carebench.patients.forms import apply_service_errors
from carebench.patients.models import Coverage, Patient, Payer

from . import auth_selectors, auth_services, elig_selectors, elig_services
from .clearinghouse import ClearinghouseError
from .forms import BatchEligibilityForm, DecisionForm, EligibilityForm, PriorAuthForm, RuleForm
from .models import EligibilityCheck, PriorAuth, PriorAuthRule

INVALID = 422


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


def _patient(request: HttpRequest, patient_id: int) -> Patient:
    try:
        return patient_selectors.get_chart(_org(request), patient_id)
    except Patient.DoesNotExist:
        raise Http404("no such patient") from None


def _coverages(patient: Patient) -> Any:
    return Coverage.objects.filter(patient=patient, voided_at__isnull=True).select_related("payer")


# --- eligibility ----------------------------------------------------------------------------------


@require_GET
@require_perms("billing.view_eligibilitycheck")
def eligibility(request: HttpRequest) -> HttpResponse:
    """The latest checks, the batch for a day's appointments, reading the clearinghouse inbox."""
    rows = list(
        EligibilityCheck.objects.for_org(_org(request))
        .select_related("patient", "coverage__payer")
        .order_by("-requested_at", "-pk")[:100]
    )
    record_read(
        request, patient_id=None, resource_type="EligibilityCheck", detail={"rows": len(rows)}
    )
    tomorrow = clock.today() + timedelta(days=1)
    return render(
        request,
        "billing/eligibility.html",
        {"checks": rows, "batch_form": BatchEligibilityForm(initial={"day": tomorrow})},
    )


@require_http_methods(["GET", "POST"])
@require_perms("billing.view_eligibilitycheck")
def patient_eligibility(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A patient's coverage checks in plain words, and a new check."""
    patient = _patient(request, patient_id)
    coverages = _coverages(patient)
    form = EligibilityForm(request.POST or None, coverages=coverages)
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("billing.add_eligibilitycheck"):
            raise PermissionDenied("needs billing.add_eligibilitycheck")
        if form.is_valid():
            try:
                check = elig_services.request_eligibility(
                    actor=_actor(request),
                    coverage=form.cleaned_data["coverage"],
                    service_date=form.cleaned_data["service_date"],
                )
            except (ValidationError, ClearinghouseError) as exc:
                if isinstance(exc, ValidationError):
                    apply_service_errors(form, exc)
                else:
                    form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    f"Eligibility request {check.trace_number} sent to "
                    f"{check.coverage.payer.name}; the answer shows here when the 271 is read.",
                )
                return redirect("billing:patient_eligibility", patient_id=patient.pk)
        status = INVALID
    record_read(
        request, patient_id=patient.pk, resource_type="EligibilityCheck", detail={"page": "patient"}
    )
    return render(
        request,
        "billing/patient_eligibility.html",
        {
            "patient": patient,
            "form": form,
            "checks": list(elig_selectors.checks_for_patient(patient)[:20]),
            "can_check": request.user.has_perm("billing.add_eligibilitycheck"),
        },
        status=status,
    )


@require_POST
@require_perms("billing.add_eligibilitycheck")
def eligibility_batch(request: HttpRequest) -> HttpResponse:
    form = BatchEligibilityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the date of the appointments to check.")
        return redirect("billing:eligibility")
    try:
        summary = elig_services.batch_eligibility(
            actor=_actor(request), day=form.cleaned_data["day"]
        )
    except (ValidationError, ClearinghouseError) as exc:
        for message in messages_with_fields(exc):
            messages.error(request, message)
        return redirect("billing:eligibility")
    messages.success(
        request,
        f"{summary.day:%m/%d/%Y}: {summary.appointments} appointment(s); {summary.sent} "
        f"request(s) sent, {summary.already_checked} checked lately, {summary.no_coverage} "
        "self-pay.",
    )
    for refused in summary.refused:
        messages.warning(request, f"Not sent: {refused}")
    return redirect("billing:eligibility")


@require_POST
@require_perms("billing.add_eligibilitycheck")
def eligibility_poll(request: HttpRequest) -> HttpResponse:
    """Read the 271 answers waiting in the clearinghouse inbox."""
    try:
        summary = elig_services.poll_clearinghouse(actor=_actor(request))
    except (ValidationError, ClearinghouseError) as exc:
        for message in messages_with_fields(exc):
            messages.error(request, message)
        return redirect("billing:eligibility")
    messages.success(
        request, f"{len(summary.checks)} answer(s) read from {len(summary.files)} file(s)."
    )
    for name, why in summary.failed:
        messages.error(request, f"{name} set aside: {why}")
    for trace in summary.unknown:
        messages.warning(request, f"No request matches {trace}")
    return redirect("billing:eligibility")


# --- prior authorization --------------------------------------------------------------------------


def _auth_row(auth: PriorAuth, today: Any) -> dict[str, Any]:
    return {
        "auth": auth,
        "used": auth_selectors.units_used(auth),
        "left": auth_selectors.units_left(auth),
        "expired": auth_selectors.is_expired(auth, today),
    }


@require_GET
@require_perms("billing.view_priorauth")
def prior_auths(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    today = clock.today()
    status = request.GET.get("status", "")
    rows = PriorAuth.objects.for_org(org).select_related("patient", "coverage__payer")
    if status in PriorAuth.Status.values:
        rows = rows.filter(status=status)
    auths = [_auth_row(a, today) for a in rows.order_by("-submitted_at")[:200]]
    record_read(request, patient_id=None, resource_type="PriorAuth", detail={"rows": len(auths)})
    rules = list(PriorAuthRule.objects.for_org(org).filter(is_active=True).select_related("payer"))
    return render(
        request,
        "billing/prior_auths.html",
        {
            "auths": auths,
            "status": status,
            "statuses": PriorAuth.Status.choices,
            "rules": [(r, auth_selectors.rule_text(r)) for r in rules],
            "rule_form": RuleForm(payers=Payer.objects.for_org(org)),
        },
    )


@require_POST
@require_perms("billing.add_priorauthrule")
def add_rule(request: HttpRequest) -> HttpResponse:
    form = RuleForm(request.POST, payers=Payer.objects.for_org(_org(request)))
    if form.is_valid():
        try:
            auth_services.add_rule(actor=_actor(request), **form.cleaned_data)
        except ValidationError as exc:
            for message in messages_with_fields(exc):
                messages.error(request, message)
        else:
            messages.success(request, "Rule added.")
    else:
        for field, errors in form.errors.items():
            messages.error(
                request, f"{field.replace('_', ' ')}: {' '.join(str(e) for e in errors)}"
            )
    return redirect("billing:prior_auths")


@require_POST
@require_perms("billing.change_priorauthrule")
def retire_rule(request: HttpRequest, pk: int) -> HttpResponse:
    rule = PriorAuthRule.objects.for_org(_org(request)).filter(pk=pk).first()
    if rule is None:
        raise Http404("no such rule")
    auth_services.retire_rule(actor=_actor(request), rule=rule)
    messages.success(request, f"Rule {auth_selectors.rule_text(rule)} retired.")
    return redirect("billing:prior_auths")


@require_http_methods(["GET", "POST"])
@require_perms("billing.add_priorauth")
def new_prior_auth(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(request, patient_id)
    coverages = _coverages(patient)
    form = PriorAuthForm(
        request.POST or None,
        coverages=coverages,
        initial={"codes": request.GET.get("codes", ""), "coverage": coverages.first()},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                auth = auth_services.request_prior_auth(actor=_actor(request), **form.to_service())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Prior authorization request recorded.")
                return redirect("billing:prior_auth", pk=auth.pk)
        status = INVALID
    record_read(request, patient_id=patient.pk, resource_type="PriorAuth", detail={"page": "new"})
    return render(
        request,
        "billing/prior_auth_new.html",
        {"patient": patient, "form": form},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@require_perms("billing.view_priorauth")
def prior_auth(request: HttpRequest, pk: int) -> HttpResponse:
    auth = (
        PriorAuth.objects.for_org(_org(request))
        .select_related("patient", "coverage__payer")
        .filter(pk=pk)
        .first()
    )
    if auth is None:
        raise Http404("no such prior authorization")
    moves = sorted(auth_services.TRANSITIONS.get(auth.status, set()))
    labels = dict(PriorAuth.Status.choices)
    form = DecisionForm(
        request.POST or None,
        choices=[(m, labels[m]) for m in moves],
        initial={
            "number": auth.number,
            "units_approved": auth.units_approved,
            "start_date": auth.start_date,
            "end_date": auth.end_date,
        },
    )
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("billing.change_priorauth"):
            raise PermissionDenied("needs billing.change_priorauth")
        if form.is_valid():
            try:
                auth_services.record_decision(actor=_actor(request), auth=auth, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request, f"Prior authorization is now {form.cleaned_data['status']}."
                )
                return redirect("billing:prior_auth", pk=auth.pk)
        status = INVALID
    record_read(request, patient_id=auth.patient_id, resource_type="PriorAuth", resource_id=auth.pk)
    return render(
        request,
        "billing/prior_auth.html",
        {"row": _auth_row(auth, clock.today()), "form": form if moves else None},
        status=status,
    )
