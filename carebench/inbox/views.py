"""Pages for the inbox: my work (with my teams' queues, every open item for managers, and what
was closed), a new item (from the inbox or from a patient's chart), an item with its trail and
its actions, and a patient's items.

Thin views: forms parse, `services` write (a refused write comes back onto the form with 422),
`selectors` read, and every page that shows patient data is audited as a read. Another
organization's item or patient is not found (404). An item about a patient also needs
patients.view_patient.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carebench.accounts.permissions import require_perms
from carebench.accounts.roles import ROLE_LABELS
from carebench.audit import services as audit
from carebench.audit.models import Action, Outcome
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.patients import selectors as patient_selectors
from carebench.patients.forms import apply_service_errors
from carebench.patients.models import MedicationStatement, Patient

from . import selectors, services
from .forms import AssignForm, CancelForm, CommentForm, ItemForm, NoteForm
from .models import Item

INVALID = 422
VIEW_PATIENT = "patients.view_patient"


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


def _user(request: HttpRequest) -> Any:
    return request.user


def _deny(request: HttpRequest, needs: str) -> PermissionDenied:
    audit.record_for_actor(
        _actor(request),
        action=Action.ACCESS_DENIED,
        outcome=Outcome.DENIED,
        detail={"path": request.path, "needs": [needs]},
    )
    return PermissionDenied(f"needs {needs}")


def _item(request: HttpRequest, pk: int) -> Item:
    try:
        item = selectors.get_item(_org(request), pk)
    except Item.DoesNotExist:
        raise Http404("no such item") from None
    if item.patient_id is not None and not _user(request).has_perm(VIEW_PATIENT):
        raise _deny(request, VIEW_PATIENT)
    return item


def _patient(request: HttpRequest, patient_id: int) -> Patient:
    try:
        return patient_selectors.get_chart(_org(request), patient_id)
    except Patient.DoesNotExist:
        raise Http404("no such patient") from None


def _banner(patient: Patient) -> dict[str, Any]:
    return {
        "patient": patient,
        "age": patient.age_on(clock.today()),
        "allergies": patient_selectors.allergy_summary(patient_selectors.active_allergies(patient)),
    }


def _back(request: HttpRequest, item: Item) -> HttpResponse:
    """Where a done action returns: a safe local `next`, else the item."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("inbox:item", pk=item.pk)


# --- lists --------------------------------------------------------------------------------------


def _tabs(request: HttpRequest) -> list[tuple[str, str]]:
    user = _user(request)
    tabs = [("mine", "Mine")]
    tabs += [(role, f"{ROLE_LABELS.get(role, role)} queue") for role in user.role_names]
    if user.has_perm("inbox.view_all_items"):
        tabs.append(("all", "All open"))
    tabs.append(("done", "Done"))
    return tabs


@require_GET
@require_perms("inbox.view_item")
def home(request: HttpRequest) -> HttpResponse:
    """My open items (and my roles' queues, every open item for managers, closed items)."""
    org, user = _org(request), _user(request)
    tabs = _tabs(request)
    tab = request.GET.get("tab", "mine")
    if tab not in dict(tabs):
        tab = "mine"
    if tab == "mine":
        items = selectors.my_inbox(org, user)
    elif tab == "all":
        items = selectors.all_open(org, user)
    elif tab == "done":
        items = selectors.recently_closed(org, user)
    else:
        items = selectors.role_queue(org, tab, user)
    record_read(
        request,
        patient_id=None,
        resource_type="InboxItem",
        detail={"page": "inbox", "tab": tab, "items": len(items)},
    )
    return render(
        request,
        "inbox/home.html",
        {
            "tabs": tabs,
            "tab": tab,
            "tab_label": dict(tabs)[tab],
            "items": items,
            "now": clock.now(),
            "closed": tab == "done",
            "zone": services.zone_for(_actor(request)),
        },
    )


@require_GET
@require_perms("inbox.view_item", VIEW_PATIENT)
def patient_items(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Everything about one patient: open items first, then the closed ones."""
    patient = _patient(request, patient_id)
    items = selectors.items_for_patient(_org(request), patient)
    record_read(
        request,
        patient_id=patient.pk,
        resource_type="InboxItem",
        detail={"page": "patient items", "items": len(items)},
    )
    return render(
        request,
        "inbox/patient.html",
        {
            **_banner(patient),
            "items": items,
            "now": clock.now(),
            "zone": services.zone_for(_actor(request)),
        },
    )


# --- a new item ---------------------------------------------------------------------------------


def _initial_assignee(kind: str, request: HttpRequest) -> str:
    if kind == Item.Kind.TASK:
        return f"user:{_user(request).pk}"
    return "role:mat"


@require_http_methods(["GET", "POST"])
@require_perms("inbox.add_item")
def new_item(request: HttpRequest) -> HttpResponse:
    """A phone message, refill request or task; ?patient=ID files it under that patient and
    ?kind= picks the kind (its own fields)."""
    org = _org(request)
    kind = request.GET.get("kind") or request.POST.get("kind") or Item.Kind.PHONE
    if kind not in Item.Kind.values:
        kind = Item.Kind.PHONE
    patient: Patient | None = None
    patient_id = request.GET.get("patient") or request.POST.get("patient") or ""
    if patient_id:
        if not patient_id.isdigit():
            raise Http404("no such patient")
        if not _user(request).has_perm(VIEW_PATIENT):
            raise _deny(request, VIEW_PATIENT)
        patient = _patient(request, int(patient_id))
    medications = (
        MedicationStatement.objects.for_org(org).filter(patient=patient, voided_at__isnull=True)
        if patient is not None
        else None
    )
    users = selectors.assignable_users(org)
    zone = services.zone_for(_actor(request))
    status = 200
    with timezone.override(zone):
        if request.method == "POST":
            form = ItemForm(request.POST, kind=kind, users=users, medications=medications)
            if form.is_valid():
                data = form.to_service()
                try:
                    item = services.create_item(
                        actor=_actor(request), kind=kind, patient=patient, **data
                    )
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    messages.success(
                        request, f"{item.get_kind_display()} saved for {item.assignee_label}."
                    )
                    if patient is not None:
                        return redirect("inbox:patient", patient_id=patient.pk)
                    return redirect("inbox:item", pk=item.pk)
            status = INVALID
        else:
            form = ItemForm(
                kind=kind,
                users=users,
                medications=medications,
                initial={"assignee": _initial_assignee(kind, request)},
            )
    if patient is not None:
        record_read(
            request,
            patient_id=patient.pk,
            resource_type="MedicationStatement",
            detail={"page": "new inbox item"},
        )
    base = reverse("inbox:new")
    kinds = [
        (value, label, f"{base}?kind={value}" + (f"&patient={patient.pk}" if patient else ""))
        for value, label in Item.Kind.choices
    ]
    context: dict[str, Any] = {
        "form": form,
        "kind": kind,
        "kind_label": Item.Kind(kind).label,
        "kinds": kinds,
        "patient": patient,
        "zone": zone,
    }
    if patient is not None:
        context.update(_banner(patient))
    return render(request, "inbox/new.html", context, status=status)


# --- one item -----------------------------------------------------------------------------------


def _item_page(
    request: HttpRequest, item: Item, *, forms: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    users = selectors.assignable_users(_org(request))
    given = forms or {}
    if item.patient_id is not None:
        record_read(
            request,
            patient_id=item.patient_id,
            resource_type="InboxItem",
            resource_id=item.pk,
        )
    context: dict[str, Any] = {
        "item": item,
        "trail": item.trail,  # type: ignore[attr-defined]
        "now": clock.now(),
        "zone": services.zone_for(_actor(request)),
        "assign_form": given.get("assign") or AssignForm(users=users),
        "comment_form": given.get("comment") or CommentForm(),
        "note_form": given.get("note") or NoteForm(),
        "cancel_form": given.get("cancel") or CancelForm(),
        "can_change": _user(request).has_perm("inbox.change_item"),
    }
    return render(request, "inbox/item.html", context, status=status)


@require_GET
@require_perms("inbox.view_item")
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The item, its trail, and what can be done with it."""
    return _item_page(request, _item(request, pk))


def _act(
    request: HttpRequest, pk: int, form_key: str, form: Any, run: Any, done: str
) -> HttpResponse:
    item = _item(request, pk)
    if form.is_valid():
        try:
            run(item, form)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, done)
            return _back(request, item)
    return _item_page(request, item, forms={form_key: form}, status=INVALID)


@require_POST
@require_perms("inbox.change_item")
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    form = AssignForm(request.POST, users=selectors.assignable_users(_org(request)))
    return _act(
        request,
        pk,
        "assign",
        form,
        lambda item, f: services.assign_item(
            actor=_actor(request), item=item, assignee=f.assignee(), note=f.cleaned_data["note"]
        ),
        "Assigned.",
    )


@require_POST
@require_perms("inbox.change_item")
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        "comment",
        CommentForm(request.POST),
        lambda item, f: services.comment_on_item(
            actor=_actor(request), item=item, note=f.cleaned_data["note"]
        ),
        "Comment added.",
    )


def _status_action(request: HttpRequest, pk: int, service: Any, done: str) -> HttpResponse:
    return _act(
        request,
        pk,
        "note",
        NoteForm(request.POST),
        lambda item, f: service(actor=_actor(request), item=item, note=f.cleaned_data["note"]),
        done,
    )


@require_POST
@require_perms("inbox.change_item")
def start(request: HttpRequest, pk: int) -> HttpResponse:
    return _status_action(request, pk, services.start_item, "Started: it is yours now.")


@require_POST
@require_perms("inbox.change_item")
def complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _status_action(request, pk, services.complete_item, "Done.")


@require_POST
@require_perms("inbox.change_item")
def reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _status_action(request, pk, services.reopen_item, "Reopened.")


@require_POST
@require_perms("inbox.change_item")
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        "cancel",
        CancelForm(request.POST),
        lambda item, f: services.cancel_item(
            actor=_actor(request), item=item, reason=f.cleaned_data["reason"]
        ),
        "Cancelled.",
    )
