"""Pages for billing: the claims worklist by status, a claim (lines, checks with their fixes,
trail, payments, the CMS-1500), editing a claim, the encounter form that turns a visit into a
claim, sending the ready claims as an 837P, the batches sent, and the billing set-up.

Thin views: forms parse, `services` write (a refused write comes back with 422 and each
message names its field), `selectors` read; every page with patient data is audited as a read.
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

from carebench.accounts.permissions import require_perms
from carebench.audit.services import record_read
from carebench.core.actor import Actor
from carebench.core.errors import messages_with_fields
from carebench.encounters.models import Encounter
from carebench.patients.forms import apply_service_errors
from carebench.patients.models import Coverage, Payer

from . import elig_selectors, selectors, services
from .forms import (
    ClaimEditForm,
    CodeFileForm,
    FeeFileForm,
    MoveForm,
    PayerBillingForm,
    ProfileForm,
    SuperbillForm,
    split_codes,
)
from .models import BillingProfile, Claim, ClaimBatch, FeeSchedule, ProcedureCode
from .superbill import EM_CODES

INVALID = 422
MAX_CSV_BYTES = 5 * 1024 * 1024  # a code or fee file (every CPT and HCPCS code is under 2 MB)


def _csv_text(upload: Any) -> str:
    """An uploaded code or fee file as text: at most 5 MB, UTF-8 (a BOM is fine)."""
    if upload.size > MAX_CSV_BYTES:
        raise ValidationError(
            {"file": [f"is {upload.size / 1_048_576:.1f} MB; the limit is 5 MB: split the file"]}
        )
    data = upload.read()
    try:
        return str(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ValidationError(
            {"file": [f"is not UTF-8 text (byte {exc.start + 1}): save the CSV as UTF-8"]}
        ) from None


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


def _claim(request: HttpRequest, pk: int) -> Claim:
    claim = selectors.claim_detail(_org(request), pk)
    if claim is None:
        raise Http404("no such claim")
    return claim


def _refused(request: HttpRequest, exc: Exception) -> None:
    for message in messages_with_fields(exc):
        messages.error(request, message)


@require_GET
@require_perms("billing.view_claim")
def worklist(request: HttpRequest) -> HttpResponse:
    """Claims by status, newest first, with counts and totals per status."""
    org = _org(request)
    status = request.GET.get("status", "")
    if status and status not in Claim.Status.values:
        status = ""
    rows = list(selectors.claims(org, status=status))
    record_read(
        request,
        patient_id=None,
        resource_type="Claim",
        detail={"page": "claims", "status": status, "rows": len(rows)},
    )
    return render(
        request,
        "billing/worklist.html",
        {"claims": rows, "status": status, "counts": selectors.status_counts(org)},
    )


@require_GET
@require_perms("billing.view_claim")
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    row = _claim(request, pk)
    record_read(request, patient_id=row.patient_id, resource_type="Claim", resource_id=row.pk)
    moves = sorted(services.MANUAL_MOVES.get(row.status, set()))
    labels = dict(Claim.Status.choices)
    return render(
        request,
        "billing/claim.html",
        {
            "claim": row,
            "lines": list(row.lines.all()),
            "labels": selectors.procedure_labels(_org(request), [x.code for x in row.lines.all()]),
            "events": list(row.events.all()),
            "payments": list(row.payments.all()),
            "editable": row.status in services.EDITABLE,
            "move_form": MoveForm(choices=[(m, labels[m]) for m in moves]) if moves else None,
        },
    )


@require_http_methods(["GET", "POST"])
@require_perms("billing.change_claim")
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    row = _claim(request, pk)
    lines = list(row.lines.all())
    existing = {line.code: line for line in lines}
    rows = min(max(len(lines) + 2, 6), 20)
    if request.method == "POST":
        form = ClaimEditForm(request.POST, rows=rows)
        if form.is_valid():
            try:
                services.update_claim(
                    actor=_actor(request),
                    claim=row,
                    diagnoses=split_codes(form.cleaned_data["diagnoses"]),
                    lines=form.lines(existing),
                    prior_auth_number=form.cleaned_data["prior_auth_number"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Claim {row.number} saved; check it again to send it.")
                return redirect("billing:claim", pk=row.pk)
        status = INVALID
    else:
        initial: dict[str, Any] = {
            "diagnoses": ", ".join(row.diagnosis_codes),
            "prior_auth_number": row.prior_auth_number,
        }
        for n, line in enumerate(lines, start=1):
            initial.update(
                {
                    f"code_{n}": line.code,
                    f"modifiers_{n}": " ".join(line.modifiers),
                    f"units_{n}": line.units.normalize(),
                    f"pointers_{n}": ", ".join(str(p) for p in line.pointers),
                    f"charge_{n}": line.charge,
                    f"ndc_{n}": line.ndc,
                }
            )
        form = ClaimEditForm(initial=initial, rows=rows)
        status = 200
    record_read(request, patient_id=row.patient_id, resource_type="Claim", resource_id=row.pk)
    return render(request, "billing/edit.html", {"claim": row, "form": form}, status=status)


@require_POST
@require_perms("billing.change_claim")
def check(request: HttpRequest, pk: int) -> HttpResponse:
    row = _claim(request, pk)
    try:
        problems = services.mark_ready(actor=_actor(request), claim=row)
    except ValidationError as exc:
        _refused(request, exc)
    else:
        if problems:
            messages.error(
                request, f"Claim {row.number} has {len(problems)} problem(s) to fix before it goes."
            )
        else:
            messages.success(request, f"Claim {row.number} passed the checks: ready to send.")
    return redirect("billing:claim", pk=row.pk)


@require_POST
@require_perms("billing.change_claim")
def move(request: HttpRequest, pk: int) -> HttpResponse:
    row = _claim(request, pk)
    labels = dict(Claim.Status.choices)
    moves = sorted(services.MANUAL_MOVES.get(row.status, set()))
    form = MoveForm(request.POST, choices=[(m, labels[m]) for m in moves])
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{field.replace('_', ' ')}: {error}")
        return redirect("billing:claim", pk=row.pk)
    try:
        services.move_claim(
            actor=_actor(request),
            claim=row,
            to_status=form.cleaned_data["to_status"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as exc:
        _refused(request, exc)
    else:
        messages.success(
            request, f"Claim {row.number} is now {labels[form.cleaned_data['to_status']].lower()}."
        )
    return redirect("billing:claim", pk=row.pk)


@require_GET
@require_perms("billing.view_claim")
def cms1500(request: HttpRequest, pk: int) -> HttpResponse:
    row = _claim(request, pk)
    plain = request.GET.get("form") != "preprinted"
    try:
        pdf = services.cms1500_pdf(actor=_actor(request), claim=row, draw_form=plain)
    except ValidationError as exc:
        _refused(request, exc)
        return redirect("billing:claim", pk=row.pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="CMS1500-{row.number}.pdf"'
    return response


def _encounter(request: HttpRequest, encounter_id: int) -> Encounter:
    found = (
        Encounter.objects.for_org(_org(request))
        .select_related("patient", "facility", "provider")
        .filter(pk=encounter_id)
        .first()
    )
    if found is None:
        raise Http404("no such visit")
    return found


@require_http_methods(["GET", "POST"])
@require_perms("billing.add_claim")
def superbill(request: HttpRequest, encounter_id: int) -> HttpResponse:
    """The encounter form: what the visit documented, the E/M level and the diagnoses; saving
    makes the draft claim."""
    encounter = _encounter(request, encounter_id)
    coverages = Coverage.objects.filter(patient=encounter.patient, voided_at__isnull=True)
    existing = selectors.claims_for_encounter(encounter)
    status = 200
    if request.method == "POST":
        form = SuperbillForm(request.POST, coverages=coverages)
        if form.is_valid():
            try:
                made = services.create_claim(
                    actor=_actor(request), encounter=encounter, **form.to_service()
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Claim {made.number} drafted: check it, then send it.")
                return redirect("billing:claim", pk=made.pk)
        status = INVALID
    else:
        diagnoses = []
        for order in encounter.patient.lab_orders.filter(encounter=encounter):
            diagnoses += [d for d in order.diagnosis_codes if d not in diagnoses]
        form = SuperbillForm(initial={"diagnoses": ", ".join(diagnoses[:12])}, coverages=coverages)
    em_code = form.data.get("em_code", "") if form.is_bound else ""
    coverage = elig_selectors.primary_coverage(
        encounter.patient,
        encounter.started_at.astimezone(ZoneInfo(encounter.facility.time_zone)).date(),
    )
    payer = coverage.payer if coverage is not None else None
    suggested = services.superbill_lines(
        encounter, em_code=em_code if em_code in EM_CODES else "", payer=payer
    )
    record_read(
        request,
        patient_id=encounter.patient_id,
        resource_type="Encounter",
        resource_id=encounter.pk,
        detail={"page": "encounter form"},
    )
    return render(
        request,
        "billing/superbill.html",
        {
            "encounter": encounter,
            "form": form,
            "suggested": suggested,
            "labels": selectors.procedure_labels(_org(request), [s.code for s in suggested]),
            "existing": existing,
        },
        status=status,
    )


@require_POST
@require_perms("billing.change_claim")
def check_all(request: HttpRequest) -> HttpResponse:
    """Check every draft: those that pass become ready."""
    actor = _actor(request)
    passed = failed = 0
    for row in Claim.objects.for_org(_org(request)).filter(status=Claim.Status.DRAFT):
        if services.mark_ready(actor=actor, claim=row):
            failed += 1
        else:
            passed += 1
    messages.info(request, f"{passed} claim(s) ready to send; {failed} need fixing.")
    if failed:
        return redirect(f"{reverse('billing:worklist')}?status=draft")
    return redirect("billing:worklist")


@require_POST
@require_perms("billing.submit_claim")
def send(request: HttpRequest) -> HttpResponse:
    """Write every ready claim as one 837P batch (it waits under Batches to be uploaded, or goes
    to the clearinghouse's drop folder)."""
    try:
        batch = services.export_837p(actor=_actor(request))
    except ValidationError as exc:
        _refused(request, exc)
        return redirect("billing:worklist")
    if batch is None:
        messages.info(request, "No claims are ready to send.")
        return redirect("billing:worklist")
    messages.success(
        request,
        f"837P interchange {batch.interchange_control:09d} written: {batch.claim_count} claim(s), "
        f"${batch.total_charge}.",
    )
    return redirect("billing:batches")


@require_GET
@require_perms("billing.view_claimbatch")
def batches(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.batches(_org(request)))
    return render(request, "billing/batches.html", {"batches": rows})


@require_GET
@require_perms("billing.view_claimbatch")
def batch_file(request: HttpRequest, pk: int) -> HttpResponse:
    batch = ClaimBatch.objects.for_org(_org(request)).filter(pk=pk).first()
    if batch is None:
        raise Http404("no such batch")
    record_read(
        request,
        patient_id=None,
        resource_type="ClaimBatch",
        resource_id=batch.pk,
        detail={"download": batch.file_name, "claims": batch.claim_count},
    )
    response = HttpResponse(batch.content, content_type="application/edi-x12")
    response["Content-Disposition"] = f'attachment; filename="{batch.file_name}"'
    return response


def _setup_page(
    request: HttpRequest,
    *,
    profile_form: ProfileForm | None = None,
    code_form: CodeFileForm | None = None,
    fee_form: FeeFileForm | None = None,
    payer_form: PayerBillingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    org = _org(request)
    profile = BillingProfile.objects.filter(organization=org).first()
    schedules = FeeSchedule.objects.for_org(org).select_related("payer")
    return render(
        request,
        "billing/setup.html",
        {
            "profile_form": profile_form
            or ProfileForm(
                initial={f: getattr(profile, f) for f in ProfileForm.base_fields} if profile else {}
            ),
            "code_form": code_form or CodeFileForm(),
            "fee_form": fee_form or FeeFileForm(schedules=schedules),
            "schedules": [(s, list(s.fees.all())) for s in schedules],
            "codes": list(ProcedureCode.objects.for_org(org)),
            "payers": list(Payer.objects.for_org(org)),
            "payer_form": payer_form or PayerBillingForm(payers=Payer.objects.for_org(org)),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@require_perms("billing.view_billingprofile")
def setup(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _setup_page(request)
    if not request.user.has_perm("billing.change_billingprofile"):
        raise PermissionDenied("needs billing.change_billingprofile")
    org = _org(request)
    actor = _actor(request)
    action = request.POST.get("action")
    if action == "profile":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.save_billing_profile(actor=actor, **form.to_service())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Billing set-up saved.")
                return redirect("billing:setup")
        return _setup_page(request, profile_form=form, status=INVALID)
    if action == "codes":
        code_form = CodeFileForm(request.POST, request.FILES)
        if code_form.is_valid():
            upload = code_form.cleaned_data["file"]
            try:
                counts = services.import_procedure_codes(
                    actor=actor, text=_csv_text(upload), source=upload.name
                )
            except ValidationError as exc:
                for message in messages_with_fields(exc):
                    code_form.add_error(None, message)
            else:
                messages.success(
                    request,
                    f"Codes imported: {counts['added']} added, {counts['updated']} updated.",
                )
                return redirect("billing:setup")
        return _setup_page(request, code_form=code_form, status=INVALID)
    if action == "fees":
        schedules = FeeSchedule.objects.for_org(org)
        fee_form = FeeFileForm(request.POST, request.FILES, schedules=schedules)
        if fee_form.is_valid():
            upload = fee_form.cleaned_data["file"]
            try:
                counts = services.import_fees(
                    actor=actor,
                    schedule=fee_form.cleaned_data["schedule"],
                    text=_csv_text(upload),
                )
            except ValidationError as exc:
                for message in messages_with_fields(exc):
                    fee_form.add_error(None, message)
            else:
                messages.success(
                    request, f"Fees imported: {counts['added']} added, {counts['updated']} updated."
                )
                return redirect("billing:setup")
        return _setup_page(request, fee_form=fee_form, status=INVALID)
    if action == "payer":
        payer_form = PayerBillingForm(request.POST, payers=Payer.objects.for_org(org))
        if payer_form.is_valid():
            try:
                services.update_payer_billing(actor=actor, **payer_form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(payer_form, exc)
            else:
                messages.success(request, f"{payer_form.cleaned_data['payer']} saved.")
                return redirect("billing:setup")
        return _setup_page(request, payer_form=payer_form, status=INVALID)
    messages.error(request, "Unknown set-up action.")
    return redirect("billing:setup")
