"""Pages for the workforce: my credentials and CE hours (and, for managers, everyone's with the
ones needing action first), a worker's page with verify and void, a credential's proof, and the
scope-of-practice rule table.

Thin views: forms parse, `services` write (a refused form comes back with 422), `selectors`
read, and every page showing staff data is audited as a read. Every worker may see their own
credentials (checked on the row's user); managers and administrators see everyone's within
their organization; another organization's rows are not found (404).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from carebench.accounts.permissions import require_perms
from carebench.audit import services as audit
from carebench.audit.models import Action, Outcome
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import messages_of
from carebench.patients.forms import apply_service_errors

from . import selectors, services
from .forms import CeForm, CredentialForm, RuleForm, VoidForm
from .models import Credential, CredentialType, ScopeRule

INVALID = 422
MANAGE = "staff.view_credential"


def _org(request: HttpRequest) -> Any:
    organization = getattr(request, "organization", None)
    if organization is None:
        raise PermissionDenied("sign in as a member of an organization")
    return organization


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


def _manages(request: HttpRequest) -> bool:
    return bool(request.user.has_perm(MANAGE))


def _deny(request: HttpRequest, what: str) -> PermissionDenied:
    audit.record_for_actor(
        _actor(request),
        action=Action.ACCESS_DENIED,
        outcome=Outcome.DENIED,
        detail={"path": request.path, "needs": [MANAGE], "what": what},
    )
    return PermissionDenied(f"only managers see other workers' {what}")


def _credential(request: HttpRequest, pk: int, *, with_proof: bool = False) -> Credential:
    """The credential, if it is the user's own or the user manages the organization's."""
    org = _org(request)
    try:
        credential = (
            selectors.get_credential_with_proof(org, pk)
            if with_proof
            else selectors.get_credential(org, pk)
        )
    except Credential.DoesNotExist:
        raise Http404("no such credential") from None
    if credential.user_id != request.user.pk and not _manages(request):
        raise _deny(request, "credentials")
    return credential


def _types(request: HttpRequest) -> Any:
    return CredentialType.objects.for_org(_org(request)).filter(is_active=True)


def _workers(request: HttpRequest) -> Any:
    from carebench.accounts.models import User

    if not _manages(request):
        return None
    return User.objects.filter(organization=_org(request), is_active=True).order_by(
        "last_name", "first_name", "username"
    )


# --- my credentials (and everyone's) ------------------------------------------------------------


def _credentials_page(
    request: HttpRequest,
    *,
    credential_form: CredentialForm | None = None,
    ce_form: CeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    org = _org(request)
    services.ensure_credential_types(org)
    today = clock.today()
    user: Any = request.user
    mine = selectors.worker_credentials(org, user, today)
    entries = selectors.ce_entries(org, user)
    board = selectors.credential_board(org, today) if _manages(request) else []
    record_read(
        request,
        patient_id=None,
        resource_type="Credential",
        detail={"page": "credentials", "own": len(mine), "everyone": len(board)},
    )
    initial = {"user": user.pk}
    return render(
        request,
        "staff/credentials.html",
        {
            "mine": mine,
            "entries": entries,
            "ce": selectors.ce_summary(mine, entries, today),
            "board": board,
            "counts": selectors.status_counts(board),
            "manages": _manages(request),
            "credential_form": credential_form
            or CredentialForm(types=_types(request), workers=_workers(request), initial=initial),
            "ce_form": ce_form
            or CeForm(types=_types(request), workers=_workers(request), initial=initial),
            "void_form": VoidForm(),
            "today": today,
        },
        status=status,
    )


@require_GET
def credentials(request: HttpRequest) -> HttpResponse:
    return _credentials_page(request)


@require_POST
def add_credential(request: HttpRequest) -> HttpResponse:
    _org(request)
    form = CredentialForm(
        request.POST, request.FILES, types=_types(request), workers=_workers(request)
    )
    if form.is_valid():
        data = form.cleaned_data
        worker: Any = data.get("user") or request.user
        upload = data.get("proof")
        try:
            credential = services.add_credential(
                actor=_actor(request),
                user=worker,
                credential_type=data["credential_type"],
                number=data["number"],
                issued_on=data["issued_on"],
                expires_on=data["expires_on"],
                proof=upload.read(services.MAX_PROOF_BYTES + 1) if upload else None,
                proof_name=upload.name if upload else "",
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"{credential.credential_type.code} {credential.number} added"
                + ("" if credential.verified_at else ": a manager will verify it."),
            )
            if worker.pk == request.user.pk:
                return redirect("staff:credentials")
            return redirect("staff:worker", pk=worker.pk)
    return _credentials_page(request, credential_form=form, status=INVALID)


@require_POST
def add_ce(request: HttpRequest) -> HttpResponse:
    _org(request)
    form = CeForm(request.POST, types=_types(request), workers=_workers(request))
    if form.is_valid():
        data = form.cleaned_data
        worker: Any = data.get("user") or request.user
        try:
            entry = services.add_ce_entry(
                actor=_actor(request),
                user=worker,
                taken_on=data["taken_on"],
                hours=data["hours"],
                title=data["title"],
                provider=data["provider"],
                credential_type=data["credential_type"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"{entry.hours.normalize()} CE hours recorded.")
            if worker.pk == request.user.pk:
                return redirect("staff:credentials")
            return redirect("staff:worker", pk=worker.pk)
    return _credentials_page(request, ce_form=form, status=INVALID)


# --- a worker -----------------------------------------------------------------------------------


@require_GET
def worker(request: HttpRequest, pk: int) -> HttpResponse:
    org = _org(request)
    try:
        person = selectors.get_worker(org, pk)
    except Exception:  # noqa: BLE001 - User.DoesNotExist without importing the model here
        raise Http404("no such worker") from None
    if person.pk != request.user.pk and not _manages(request):
        raise _deny(request, "credentials")
    today = clock.today()
    rows = selectors.worker_credentials(org, person, today)
    entries = selectors.ce_entries(org, person)
    record_read(
        request,
        patient_id=None,
        resource_type="Credential",
        resource_id="",
        detail={"page": "worker", "worker": person.get_username(), "rows": len(rows)},
    )
    return render(
        request,
        "staff/worker.html",
        {
            "person": person,
            "rows": rows,
            "entries": entries,
            "ce": selectors.ce_summary(rows, entries, today),
            "manages": _manages(request),
            "void_form": VoidForm(),
            "today": today,
        },
    )


@require_GET
def proof(request: HttpRequest, pk: int) -> HttpResponse:
    credential = _credential(request, pk, with_proof=True)
    if not credential.proof:
        raise Http404("no proof on file")
    record_read(
        request,
        patient_id=None,
        resource_type="Credential",
        resource_id=credential.pk,
        detail={"proof": credential.proof_type},
    )
    response = HttpResponse(bytes(credential.proof), content_type=credential.proof_type)
    response["Content-Disposition"] = f'inline; filename="credential-{credential.pk}-proof"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@require_perms("staff.verify_credential")
def verify(request: HttpRequest, pk: int) -> HttpResponse:
    credential = _credential(request, pk)
    try:
        services.verify_credential(actor=_actor(request), credential=credential)
    except ValidationError as exc:
        messages.error(request, messages_of(exc))
    else:
        messages.success(request, f"{credential.credential_type.code} verified.")
    return redirect("staff:worker", pk=credential.user_id)


@require_POST
@require_perms("staff.void_credential")
def void(request: HttpRequest, pk: int) -> HttpResponse:
    credential = _credential(request, pk)
    form = VoidForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Reason: say why you void it")
    else:
        try:
            services.void_credential(
                actor=_actor(request), credential=credential, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            messages.error(request, messages_of(exc))
        else:
            messages.success(request, f"{credential.credential_type.code} voided.")
    return redirect("staff:worker", pk=credential.user_id)


# --- scope-of-practice rules --------------------------------------------------------------------


def _rules_page(
    request: HttpRequest, *, form: RuleForm | None = None, status: int = 200
) -> HttpResponse:
    org = _org(request)
    services.ensure_credential_types(org)
    rules = selectors.scope_rules(org)
    return render(
        request,
        "staff/rules.html",
        {
            "rules": rules,
            "form": form or RuleForm(types=_types(request)),
            "has_examples": any(r.is_example and r.active for r in rules),
        },
        status=status,
    )


@require_GET
@require_perms("staff.view_scoperule")
def rules(request: HttpRequest) -> HttpResponse:
    return _rules_page(request)


@require_POST
@require_perms("staff.add_scoperule")
def add_rule(request: HttpRequest) -> HttpResponse:
    form = RuleForm(request.POST, types=_types(request))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.add_scope_rule(
                actor=_actor(request),
                task=data["task"],
                roles=data["roles"],
                credential_types=list(data["credential_types"]),
                state=data["state"],
                facility_kind=data["facility_kind"],
                requires_cosign=data["requires_cosign"],
                note=data["note"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Rule added: it applies from now on.")
            return redirect("staff:rules")
    return _rules_page(request, form=form, status=INVALID)


@require_POST
@require_perms("staff.change_scoperule")
def retire_rule(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        rule = selectors.get_rule(_org(request), pk)
    except ScopeRule.DoesNotExist:
        raise Http404("no such rule") from None
    try:
        services.retire_scope_rule(actor=_actor(request), rule=rule)
    except ValidationError as exc:
        messages.error(request, messages_of(exc))
    else:
        messages.success(request, "Rule retired.")
    return redirect("staff:rules")


@require_POST
@require_perms("staff.add_scoperule")
def load_examples(request: HttpRequest) -> HttpResponse:
    created = services.install_example_rules(actor=_actor(request))
    messages.warning(
        request,
        f"{len(created)} example rules loaded. They are examples: check each against your "
        "state's law, then edit or retire them.",
    )
    return redirect("staff:rules")


@require_GET
@require_perms("staff.view_cosignrequest")
def cosign_queue(request: HttpRequest) -> HttpResponse:
    """Tasks done under a rule that needs a provider's co-signature, waiting for one."""
    rows = selectors.open_cosign_requests(_org(request))
    record_read(request, patient_id=None, resource_type="CosignRequest", detail={"rows": len(rows)})
    return render(request, "staff/cosign.html", {"rows": rows})


@require_POST
@require_perms("staff.cosign_cosignrequest")
def cosign(request: HttpRequest, pk: int) -> HttpResponse:
    from .models import CosignRequest

    row = CosignRequest.objects.for_org(_org(request)).filter(pk=pk).first()
    if row is None:
        raise Http404("no such co-sign request")
    try:
        services.cosign_task(actor=_actor(request), request=row)
    except ValidationError as exc:
        messages.error(request, messages_of(exc))
    else:
        messages.success(request, "Co-signed.")
    return redirect("staff:cosign_queue")
