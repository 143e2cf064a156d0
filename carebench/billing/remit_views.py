"""Pages for what comes back: uploading an X12 file (an 835 is posted, a 999 or 277CA moves
the claims, a 271 answers eligibility checks), the remittances posted, and the denial
worklist with the reason codes in words.

Thin views: each file goes to its service whole; a refused file names the segment and its
position and nothing is written.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from carebench.accounts.permissions import require_perms
from carebench.audit.services import record_read
from carebench.core.actor import Actor
from carebench.core.errors import messages_with_fields

from . import elig_services, remit_selectors, remit_services
from .clearinghouse import kind_of
from .forms import X12FileForm
from .models import Remittance
from .x12.parse import X12Error

INVALID = 422
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# Which permission each kind of file needs, and what posts it.
HANDLERS: dict[str, tuple[str, Any]] = {
    "835": ("billing.post_remittance", remit_services.post_835),
    "999": ("billing.post_remittance", remit_services.post_999),
    "277": ("billing.post_remittance", remit_services.post_277ca),
    "271": ("billing.add_eligibilitycheck", elig_services.record_271),
}


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _summary(kind: str, result: Any) -> list[str]:
    if kind == "835":
        out = []
        for remittance in result:
            out.append(
                f"835 {remittance.payer_name} {remittance.trace_number}: "
                f"${remittance.total_paid} for {remittance.claim_count} claim(s)"
                + (
                    f", {remittance.unmatched_count} not matched to a claim"
                    if remittance.unmatched_count
                    else ""
                )
            )
        return out
    if kind == "271":
        unknown = getattr(result, "unknown", [])
        return [f"271: {len(result)} answer(s) recorded"] + (
            [f"no request matches: {', '.join(unknown)}"] if unknown else []
        )
    return list(result.lines())


@require_http_methods(["GET", "POST"])
@require_perms("billing.view_remittance")
def files(request: HttpRequest) -> HttpResponse:
    """Upload a file from the clearinghouse or payer; the remittances posted so far."""
    form = X12FileForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > MAX_UPLOAD_BYTES:
                    raise ValidationError({"file": ["is larger than 50 MB"]})
                text = upload.read().decode("latin-1")
                kind = kind_of(text)
                if kind not in HANDLERS:
                    raise ValidationError(
                        {"file": [f"is an X12 {kind}: carebench reads 835, 999, 277CA and 271"]}
                    )
                perm, handler = HANDLERS[kind]
                if not request.user.has_perm(perm):
                    raise PermissionDenied(f"needs {perm}")
                result = handler(
                    actor=Actor.from_request(request), text=text, file_name=upload.name
                )
            except X12Error as exc:
                form.add_error("file", str(exc))
            except ValidationError as exc:
                for message in messages_with_fields(exc):
                    form.add_error(None, message)
            else:
                for line in _summary(kind, result):
                    messages.success(request, line)
                return redirect("billing:files")
        status = INVALID
    remittances = list(Remittance.objects.for_org(_org(request)).select_related("payer")[:50])
    return render(
        request,
        "billing/files.html",
        {
            "form": form,
            "remittances": remittances,
            "unmatched": remit_selectors.unmatched_payments(_org(request))[:50],
        },
        status=status,
    )


@require_GET
@require_perms("billing.view_claim", "billing.view_claimpayment")
def denials(request: HttpRequest) -> HttpResponse:
    rows = remit_selectors.denial_worklist(_org(request))
    record_read(
        request,
        patient_id=None,
        resource_type="Claim",
        detail={"page": "denials", "rows": len(rows)},
    )
    return render(request, "billing/denials.html", {"rows": rows})
