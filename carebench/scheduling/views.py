"""Schedule pages: day and week views, booking, one appointment, the flow board, setup, and the
provider's calendar feed.

Views are thin: a form parses, a scheduling service writes, a selector reads. Pages that show
patients record an audit read. A booking that lost its slot to someone else answers 409 with
the reason on the form; a refused value answers 422 with the message on its field. Board
actions are htmx posts that answer with the board again (a plain post redirects to it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carebench.accounts.permissions import require_perms
from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import messages_of
from carebench.core.middleware import organization_of
from carebench.core.models import Facility
from carebench.encounters.models import Alert
from carebench.patients import selectors as patient_selectors
from carebench.patients.forms import apply_service_errors
from carebench.patients.models import Patient

from . import board_html, day_html, selectors, services
from .forms import (
    AppointmentTypeForm,
    BlockedForm,
    BookForm,
    CancelForm,
    CheckInForm,
    ProviderForm,
    RescheduleForm,
    ResourceForm,
    WeeklyRuleForm,
    facilities_of,
    parse_date,
    slot_value,
)
from .ics import provider_calendar
from .models import (
    FLOW_ORDER,
    Appointment,
    AppointmentType,
    AvailabilityRule,
    Provider,
    Resource,
    Status,
)

INVALID = 422
CONFLICT = 409
ICS_SALT = "carebench.scheduling.provider-calendar"
SLOT_DAYS = 14


# --- helpers -----------------------------------------------------------------------------------


def _facility(request: HttpRequest, facilities: list[Facility]) -> Facility:
    """The facility asked for, else the user's own, else the organization's first clinic."""
    by_id = {str(f.pk): f for f in facilities}
    wanted = request.GET.get("facility") or request.POST.get("facility")
    if wanted in by_id:
        return by_id[wanted]
    own = str(getattr(request.user, "default_facility_id", "") or "")
    if own in by_id:
        return by_id[own]
    clinics = [f for f in facilities if f.kind == Facility.Kind.CLINIC]
    if not facilities:
        raise Http404("this organization has no facility")
    return (clinics or facilities)[0]


def _appointment(request: HttpRequest, pk: int) -> Appointment:
    """This organization's appointment, or 404 (another organization's too)."""
    try:
        return (
            Appointment.objects.for_org(request.organization)  # type: ignore[attr-defined]
            .select_related("patient", "provider", "facility", "appointment_type", "room")
            .get(pk=pk)
        )
    except Appointment.DoesNotExist:
        raise Http404("no such appointment") from None


def _provider(request: HttpRequest, pk: int) -> Provider:
    try:
        return Provider.objects.for_org(request.organization).get(pk=pk)  # type: ignore
    except Provider.DoesNotExist:
        raise Http404("no such provider") from None


def _may_override(request: HttpRequest) -> bool:
    return request.user.has_perm("scheduling.add_availabilityrule")  # type: ignore[union-attr]


def _local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def calendar_token(provider: Provider) -> str:
    return signing.dumps({"provider": provider.pk, "org": provider.organization_id}, salt=ICS_SALT)


def calendar_url(request: HttpRequest, provider: Provider) -> str:
    path = reverse("scheduling:calendar", args=[provider.pk])
    return request.build_absolute_uri(f"{path}?token={calendar_token(provider)}")


# --- day and week views ------------------------------------------------------------------------


@require_GET
@require_perms("scheduling.view_appointment")
def day(request: HttpRequest) -> HttpResponse:
    """One facility's day: a column per provider, each visit a block at its time."""
    org = request.organization  # type: ignore[attr-defined]
    facilities = list(facilities_of(org))
    facility = _facility(request, facilities)
    shown = parse_date(request.GET.get("date"), clock.today(facility.time_zone))
    providers = list(selectors.providers_for(org).filter(facilities=facility))
    chosen = next((p for p in providers if str(p.pk) == request.GET.get("provider")), None)
    columns = selectors.day_view(org, facility, shown, provider=chosen, providers=providers)
    grid = day_html.day_grid(columns, shown, facility.time_zone, facility_pk=facility.pk)
    record_read(
        request,
        patient_id=None,
        resource_type="Schedule",
        detail={"day": shown.isoformat(), "facility": facility.pk},
    )
    return render(
        request,
        "scheduling/day.html",
        {
            "facility": facility,
            "facilities": facilities,
            "day": shown,
            "providers": providers,
            "chosen": chosen,
            "columns_html": mark_safe(grid.columns_html),  # noqa: S308 - escaped in day_html
            "hours": grid.hours,
            "rows": grid.rows,
            "count": grid.count,
            "previous": shown - timedelta(days=1),
            "next": shown + timedelta(days=1),
            "today": clock.today(facility.time_zone),
        },
    )


@require_GET
@require_perms("scheduling.view_appointment")
def week(request: HttpRequest) -> HttpResponse:
    """One provider's week at a facility."""
    org = request.organization  # type: ignore[attr-defined]
    facilities = list(facilities_of(org))
    facility = _facility(request, facilities)
    providers = list(selectors.providers_for(org).filter(facilities=facility))
    wanted = request.GET.get("provider") or str(
        getattr(getattr(request.user, "provider", None), "pk", "")
    )
    chosen = next(
        (p for p in providers if str(p.pk) == wanted), providers[0] if providers else None
    )
    shown = parse_date(request.GET.get("date"), clock.today(facility.time_zone))
    monday = shown - timedelta(days=shown.weekday())
    days = selectors.week_view(org, facility, monday, provider=chosen) if chosen else {}
    record_read(
        request,
        patient_id=None,
        resource_type="Schedule",
        detail={"week": monday.isoformat(), "provider": chosen.pk if chosen else None},
    )
    return render(
        request,
        "scheduling/week.html",
        {
            "facility": facility,
            "facilities": facilities,
            "providers": providers,
            "chosen": chosen,
            "monday": monday,
            "days": sorted(days.items()),
            "previous": monday - timedelta(days=7),
            "next": monday + timedelta(days=7),
            "today": clock.today(facility.time_zone),
        },
    )


# --- booking -----------------------------------------------------------------------------------


def _book_form(request: HttpRequest, data: Any = None) -> BookForm:
    initial = {"date": clock.today(), "every_weeks": 1, "count": 4}
    user: Any = request.user
    if user.default_facility_id:
        initial["facility"] = user.default_facility_id
    return BookForm(
        data,
        initial=initial,
        organization=request.organization,  # type: ignore
        may_override=_may_override(request),
    )


def _chosen_patient(request: HttpRequest, value: Any) -> Patient | None:
    try:
        return patient_selectors.get_patient(request.organization, int(value))  # type: ignore
    except (TypeError, ValueError, Patient.DoesNotExist):
        return None


def _open_slots(request: HttpRequest, data: Any) -> tuple[list[Any], Any, str]:
    """Open slots for the visit type, provider and facility typed so far (or why none)."""
    org = request.organization  # type: ignore[attr-defined]
    form = _book_form(request, data)
    form.is_valid()
    cleaned = form.cleaned_data
    kind, facility = cleaned.get("appointment_type"), cleaned.get("facility")
    if kind is None or facility is None:
        return [], facility, "Choose the appointment type and the facility first."
    first = cleaned.get("date") or clock.today(facility.time_zone)
    provider = cleaned.get("provider")
    slots = selectors.next_open_slots(
        org,
        kind,
        date_from=first,
        date_to=first + timedelta(days=SLOT_DAYS),
        providers=[provider] if provider else None,
        facility=facility,
        limit=24,
    )
    return [{"value": slot_value(s.provider.pk, s.start), "slot": s} for s in slots], facility, ""


@require_http_methods(["GET", "POST"])
@require_perms("scheduling.add_appointment", "patients.view_patient")
def book(request: HttpRequest) -> HttpResponse:
    """Book a visit: choose the patient, the type, where; find open slots; choose one; book."""
    actor = Actor.from_request(request) if request.method == "POST" else None
    form = _book_form(request, request.POST if request.method == "POST" else None)
    patient = _chosen_patient(request, request.POST.get("patient") or request.GET.get("patient"))
    status, slots, facility, slot_note = 200, None, None, ""
    if request.method == "POST":
        assert actor is not None  # made for every POST above
        if form.is_valid():
            data = form.cleaned_data
            if patient is None:
                form.add_error("patient", "Patient: search and choose the patient")
            else:
                booking = services.BookingRequest(
                    patient=patient,
                    provider=data["provider"],
                    appointment_type=data["appointment_type"],
                    start=data["start"],
                    facility=data["facility"],
                    reason=data.get("reason") or "",
                )
                try:
                    if data.get("repeat"):
                        booked = services.book_series(
                            actor=actor,
                            request=booking,
                            rrule=form.rrule(),
                            count=data["count"],
                        )
                        first = booked[0]
                        note = f" and {len(booked) - 1} more visits in the series"
                    else:
                        first = services.book_appointment(
                            actor=actor,
                            request=booking,
                            override_availability=bool(data.get("override_availability")),
                        )
                        note = ""
                except services.BookingConflict as exc:
                    status = CONFLICT
                    field = form.service_fields.get(exc.field, exc.field)
                    message = f"This time was just taken: {exc}. Choose another slot."
                    form.add_error(field if field in form.fields else None, message)
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    local = _local(first.start, first.facility.time_zone)
                    messages.success(
                        request,
                        f"Booked {patient.display_name} with "
                        f"{first.provider.display_name} on "
                        f"{local:%a %m/%d/%Y at %-I:%M %p}{note}.",
                    )
                    return redirect("scheduling:appointment", pk=first.pk)
        if status == 200:
            status = INVALID
        if form.data.get("appointment_type") and form.data.get("facility"):
            slots, facility, slot_note = _open_slots(request, request.POST)
    elif request.GET.get("find"):
        form = _book_form(request, request.GET)
        form.is_valid()
        slots, facility, slot_note = _open_slots(request, request.GET)
    return render(
        request,
        "scheduling/book.html",
        {
            "form": form,
            "patient": patient,
            "slots": slots,
            "slot_note": slot_note,
            "facility": facility,
            "chosen_slot": form.data.get("slot", ""),
            "patient_options": _patient_options(request, request.GET.get("patient_q", ""), patient),
        },
        status=status,
    )


def _patient_options(
    request: HttpRequest, query: str, chosen: Patient | None
) -> list[Patient] | None:
    query = query.strip()[:100]
    if not query:
        return None
    found = patient_selectors.search_patients(request.organization, query)  # type: ignore
    record_read(
        request,
        patient_id=None,
        resource_type="Patient",
        action=Action.SEARCH,
        detail={"query": query, "results": len(found), "page": "book"},
    )
    return [p for p in found if chosen is None or p.pk != chosen.pk]


@require_GET
@require_perms("scheduling.add_appointment", "patients.view_patient")
def patient_options(request: HttpRequest) -> HttpResponse:
    """The booking form's patient typeahead: the patients search, as choices."""
    chosen = _chosen_patient(request, request.GET.get("patient"))
    options = _patient_options(request, request.GET.get("patient_q", ""), chosen)
    return render(
        request,
        "scheduling/book.html#patient_choices",
        {"patient": chosen, "patient_options": options},
    )


@require_GET
@require_perms("scheduling.add_appointment")
def slots(request: HttpRequest) -> HttpResponse:
    """The booking form's open slots (htmx)."""
    found, facility, note = _open_slots(request, request.GET)
    return render(
        request,
        "scheduling/book.html#slot_choices",
        {
            "slots": found,
            "facility": facility,
            "slot_note": note,
            "chosen_slot": request.GET.get("slot", ""),
        },
    )


# --- one appointment ---------------------------------------------------------------------------


def _insurance(request: HttpRequest, appt: Appointment) -> dict[str, Any]:
    """What check-in needs to know about the patient's insurance: the latest eligibility
    answer for the primary coverage and the prior authorizations the visit type lacks."""
    from carebench.billing import auth_selectors, elig_selectors

    user: Any = request.user
    local_day = _local(appt.start, appt.facility.time_zone).date()
    coverage = elig_selectors.primary_coverage(appt.patient, local_day)
    return {
        "coverage": coverage,
        "eligibility": (
            elig_selectors.latest_check(coverage)
            if coverage is not None and user.has_perm("billing.view_eligibilitycheck")
            else None
        ),
        "auth_warnings": auth_selectors.appointment_auth_warnings(appt),
    }


def _appointment_page(
    request: HttpRequest, appt: Appointment, *, status: int = 200, **forms: Any
) -> HttpResponse:
    zone = appt.facility.time_zone
    reschedule = forms.get("reschedule") or RescheduleForm(
        request.GET if request.GET.get("find") else None,
        initial={"date": _local(appt.start, zone).date()},
        may_override=_may_override(request),
        zone=zone,
    )
    slot_list = None
    if request.GET.get("find") or forms.get("reschedule"):
        first = parse_date(reschedule.data.get("date"), clock.today(zone))
        found = selectors.next_open_slots(
            request.organization,  # type: ignore[attr-defined]
            appt.appointment_type,
            date_from=first,
            date_to=first + timedelta(days=SLOT_DAYS),
            providers=[appt.provider],
            facility=appt.facility,
            limit=24,
        )
        slot_list = [{"value": slot_value(s.provider.pk, s.start), "slot": s} for s in found]
    steps = list(appt.steps.select_related("by", "room").order_by("at"))
    record_read(
        request, patient_id=appt.patient_id, resource_type="Appointment", resource_id=appt.pk
    )
    context = {
        "appt": appt,
        "facility": appt.facility,
        "steps": steps,
        "reschedule_form": reschedule,
        "slots": slot_list,
        "chosen_slot": "",
        "cancel_form": forms.get("cancel") or CancelForm(),
        "may_no_show": appt.status == Status.BOOKED and appt.start <= clock.now(),
        "encounter": getattr(appt, "encounter", None),
        **_insurance(request, appt),
    }
    if request.htmx and request.GET.get("find"):  # type: ignore[attr-defined]
        return render(request, "scheduling/book.html#slot_choices", context)
    return render(request, "scheduling/appointment.html", context, status=status)


@require_GET
@require_perms("scheduling.view_appointment", "patients.view_patient")
def appointment(request: HttpRequest, pk: int) -> HttpResponse:
    """One appointment: details, the time of each step, and reschedule, cancel, no-show."""
    return _appointment_page(request, _appointment(request, pk))


@require_POST
@require_perms("scheduling.change_appointment", "patients.view_patient")
def reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    appt = _appointment(request, pk)
    form = RescheduleForm(
        request.POST,
        may_override=_may_override(request),
        zone=appt.facility.time_zone,
        provider_id=appt.provider_id,
    )
    status = INVALID
    if form.is_valid():
        try:
            services.reschedule_appointment(
                actor=Actor.from_request(request),
                appointment=appt,
                start=form.cleaned_data["start"],
                override_availability=bool(form.cleaned_data.get("override_availability")),
            )
        except services.BookingConflict as exc:
            status = CONFLICT
            form.add_error("slot", f"This time was just taken: {exc}. Choose another slot.")
        except ValidationError as exc:
            apply_service_errors(form, exc)
            if "status" in exc.message_dict:
                status = CONFLICT
        else:
            local = _local(appt.start, appt.facility.time_zone)
            messages.success(request, f"Moved to {local:%a %m/%d/%Y at %-I:%M %p}.")
            return redirect("scheduling:appointment", pk=appt.pk)
    return _appointment_page(request, appt, status=status, reschedule=form)


@require_POST
@require_perms("scheduling.change_appointment", "patients.view_patient")
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appt = _appointment(request, pk)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.cancel_appointment(
                actor=Actor.from_request(request),
                appointment=appt,
                reason=form.cleaned_data["cancel_reason"],
            )
        except (ValidationError, services.BookingConflict) as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Appointment cancelled.")
            return redirect("scheduling:appointment", pk=appt.pk)
    return _appointment_page(request, appt, status=INVALID, cancel=form)


@require_POST
@require_perms("scheduling.change_appointment", "patients.view_patient")
def no_show(request: HttpRequest, pk: int) -> HttpResponse:
    appt = _appointment(request, pk)
    try:
        services.mark_no_show(actor=Actor.from_request(request), appointment=appt)
    except (ValidationError, services.BookingConflict) as exc:
        messages.error(request, "Not marked as a no-show: " + messages_of(exc))
        return _appointment_page(request, appt, status=INVALID)
    messages.success(request, "Marked as a no-show.")
    return redirect("scheduling:appointment", pk=appt.pk)


def _form_error(form: Any, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        apply_service_errors(form, exc)
    else:
        form.add_error(None, str(exc))


# --- the flow board ----------------------------------------------------------------------------

NEXT_ACTION = {
    Status.BOOKED: (Status.ARRIVED, "Check in"),
    Status.ARRIVED: (Status.ROOMED, "Room"),
    Status.ROOMED: (Status.READY, "Ready for provider"),
    Status.READY: (Status.WITH_PROVIDER, "Take patient"),
    Status.WITH_PROVIDER: (Status.CHECKOUT, "To checkout"),
    Status.CHECKOUT: (Status.DONE, "Done"),
}
BOARD_GROUPS = [*FLOW_ORDER, Status.NO_SHOW]
STEP_SHORT = {
    Status.ARRIVED: "In",
    Status.ROOMED: "Rm",
    Status.READY: "Rdy",
    Status.WITH_PROVIDER: "Prov",
    Status.CHECKOUT: "Out",
    Status.DONE: "Done",
}


def _board_context(
    request: HttpRequest, facility: Facility, facilities: list[Facility], **extra: Any
) -> dict[str, Any]:
    org = request.organization  # type: ignore[attr-defined]
    rows = selectors.flow_board(org, facility)
    rooms = selectors.room_board(org, facility)
    groups: dict[str, list[Any]] = {status: [] for status in BOARD_GROUPS}
    for row in rows:
        appt = row.appointment
        row.next = NEXT_ACTION.get(Status(appt.status))  # type: ignore[attr-defined]
        row.steps = [  # type: ignore[attr-defined]
            {"label": Status(s).label, "short": STEP_SHORT[s], "at": row.step_times[s]}
            for s in FLOW_ORDER[1:]
            if s in row.step_times
        ]
        groups.setdefault(appt.status, []).append(row)
    encounter_ids = [row.encounter_id for row in rows if row.encounter_id]
    alerts = (
        list(
            Alert.objects.for_org(org)
            .filter(  # the board's open alerts: one query
                encounter_id__in=encounter_ids, acknowledged_at__isnull=True
            )
            .select_related("patient")
            .order_by("raised_at")
        )
        if encounter_ids
        else []
    )
    ready_rooms = [r for r in rooms if r.status == Resource.RoomStatus.READY]
    user = request.user
    markup = board_html.BoardMarkup(
        zone=ZoneInfo(facility.time_zone),
        csrf_input=(
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(get_token(request))}">'
        ),
        may_advance=user.has_perm("scheduling.change_appointment"),
        may_open_encounter=user.has_perm("encounters.view_encounter"),
        ready_rooms=ready_rooms,
        error_row=extra.get("error_row"),
    )
    record_read(
        request,
        patient_id=None,
        resource_type="FlowBoard",
        detail={"facility": facility.pk, "visits": len(rows)},
    )
    return {
        "facility": facility,
        "facilities": facilities,
        "today": clock.today(facility.time_zone),
        "groups": [
            (Status(s).label, s, groups[s], mark_safe(board_html.rows_html(groups[s], markup)))  # noqa: S308 - escaped in rows_html
            for s in BOARD_GROUPS
            if s in groups
        ],
        "visit_count": len(rows),
        "rooms": rooms,
        "ready_rooms": ready_rooms,
        "alerts": alerts,
        "next_action": NEXT_ACTION,
        "checkin_form": CheckInForm(),
        "board_error": "",
        "error_row": None,
        "notice": "",
        **extra,
    }


def _board_response(
    request: HttpRequest, facility: Facility, *, status: int = 200, **extra: Any
) -> HttpResponse:
    facilities = list(facilities_of(request.organization))  # type: ignore[attr-defined]
    context = _board_context(request, facility, facilities, **extra)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "scheduling/board.html#board", context, status=status)
    return render(request, "scheduling/board.html", context, status=status)


@require_GET
@require_perms("scheduling.view_appointment", "patients.view_patient")
def board(request: HttpRequest) -> HttpResponse:
    """Today's visits at a facility by step, with wait times, alerts and the room board."""
    facilities = list(facilities_of(request.organization))  # type: ignore[attr-defined]
    return _board_response(request, _facility(request, facilities))


@require_POST
@require_perms("scheduling.change_appointment", "patients.view_patient")
def advance(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a visit to its next step (check-in takes the copay; rooming takes a room)."""
    appt = _appointment(request, pk)
    to = request.POST.get("to", "")
    kwargs: dict[str, Any] = {}
    error = ""
    if to == Status.ARRIVED:
        form = CheckInForm(request.POST)
        if form.is_valid():
            kwargs = {
                "copay_amount": form.cleaned_data["copay_amount"],
                "copay_collected": form.cleaned_data["copay_collected"],
            }
        else:
            error = " ".join(str(e) for es in form.errors.values() for e in es)
    if to == Status.ROOMED:
        room_id = request.POST.get("room", "")
        kwargs["room"] = (
            Resource.objects.for_org(organization_of(request))
            .filter(pk=room_id if room_id.isdigit() else 0)
            .first()
        )
    status = 200
    if not error:
        try:
            services.advance_flow(
                actor=Actor.from_request(request), appointment=appt, to=to, **kwargs
            )
        except ValidationError as exc:
            error, status = messages_of(exc), INVALID
        except services.BookingConflict as exc:
            error, status = str(exc), CONFLICT
    else:
        status = INVALID
    label = f"{appt.patient.family_name}, {appt.patient.given_name}"
    if not request.htmx:  # type: ignore[attr-defined]
        if error:
            return _board_response(
                request,
                appt.facility,
                status=status,
                board_error=f"{label}: {error}",
                error_row=appt.pk,
            )
        messages.success(request, f"{label}: {Status(to).label.lower()}.")
        return redirect(reverse("scheduling:board") + f"?facility={appt.facility_id}")
    if error:
        # htmx swaps only 2xx and 422: a visit moved by someone else shows the fresh board.
        return _board_response(
            request,
            appt.facility,
            status=INVALID,
            board_error=f"{label}: {error}",
            error_row=appt.pk,
        )
    return _board_response(request, appt.facility, notice=f"{label}: {Status(to).label.lower()}.")


@require_POST
@require_perms("scheduling.change_resource")
def room_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Set a room's status (turnover done: the room is ready again)."""
    try:
        room = (
            Resource.objects.for_org(organization_of(request)).select_related("facility").get(pk=pk)
        )
    except Resource.DoesNotExist:
        raise Http404("no such room") from None
    try:
        services.set_room_status(
            actor=Actor.from_request(request), room=room, status=request.POST.get("status", "")
        )
    except ValidationError as exc:
        return _board_response(
            request, room.facility, status=INVALID, board_error=f"{room.name}: {messages_of(exc)}"
        )
    notice = f"{room.name}: {room.get_status_display().lower()}."
    if not request.htmx:  # type: ignore[attr-defined]
        messages.success(request, notice)
        return redirect(reverse("scheduling:board") + f"?facility={room.facility_id}")
    return _board_response(request, room.facility, notice=notice)


# --- setup (managers) --------------------------------------------------------------------------


def _setup_page(
    request: HttpRequest, template: str, form_name: str, form: Any, status: int = 200, **extra: Any
) -> HttpResponse:
    return render(request, template, {form_name: form, **extra}, status=status)


def _create(request: HttpRequest, form: Any, create: Any, message: str) -> bool:
    """Run a setup service with the form's values; put its errors on the form."""
    if not form.is_valid():
        return False
    try:
        create(actor=Actor.from_request(request), **form.to_service())
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return False
    messages.success(request, message)
    return True


@require_http_methods(["GET", "POST"])
@require_perms("scheduling.view_provider")
def providers(request: HttpRequest) -> HttpResponse:
    org = request.organization  # type: ignore[attr-defined]
    form = ProviderForm(request.POST or None, organization=org)
    if request.method == "POST":
        if not request.user.has_perm("scheduling.add_provider"):  # type: ignore[union-attr]
            return require_perms("scheduling.add_provider")(lambda r: HttpResponse())(request)
        if _create(
            request,
            form,
            services.create_provider,
            f"Provider {request.POST.get('given_name', '')} "
            f"{request.POST.get('family_name', '')} added.",
        ):
            return redirect("scheduling:providers")
    listed = Provider.objects.for_org(org).prefetch_related("facilities").select_related("user")
    return _setup_page(
        request,
        "scheduling/providers.html",
        "form",
        form,
        status=INVALID if request.method == "POST" else 200,
        providers=list(listed),
    )


@require_http_methods(["GET", "POST"])
@require_perms("scheduling.view_provider", "scheduling.view_availabilityrule")
def provider(request: HttpRequest, pk: int) -> HttpResponse:
    """A provider's availability (weekly templates, blocked periods) and calendar feed."""
    org = request.organization  # type: ignore[attr-defined]
    chosen = _provider(request, pk)
    posted = request.POST.get("form") if request.method == "POST" else None
    weekly = WeeklyRuleForm(
        request.POST if posted == "weekly" else None,
        organization=org,
        prefix="weekly",
        initial={"every_weeks": 1},
    )
    blocked = BlockedForm(
        request.POST if posted == "blocked" else None, organization=org, prefix="blocked"
    )
    status = 200
    if posted:
        if not request.user.has_perm("scheduling.add_availabilityrule"):  # type: ignore
            return require_perms("scheduling.add_availabilityrule")(lambda r: HttpResponse())(
                request
            )
        form = weekly if posted == "weekly" else blocked

        def add(*, actor: Actor, **values: Any) -> AvailabilityRule:
            return services.add_availability_rule(actor=actor, provider=chosen, **values)

        label = "Weekly hours" if posted == "weekly" else "Blocked period"
        if _create(request, form, add, f"{label} added for {chosen.display_name}."):
            return redirect("scheduling:provider", pk=chosen.pk)
        status = INVALID
    rules = list(
        AvailabilityRule.objects.for_org(org)
        .filter(provider=chosen, is_active=True)
        .select_related("facility")
        .order_by("kind", "starts_on")
    )
    user: Any = request.user
    show_feed = user.has_perm("scheduling.add_availabilityrule") or chosen.user_id == user.pk
    return render(
        request,
        "scheduling/provider.html",
        {
            "provider": chosen,
            "weekly_form": weekly,
            "blocked_form": blocked,
            "available": [r for r in rules if r.kind == AvailabilityRule.Kind.AVAILABLE],
            "blocked": [r for r in rules if r.kind == AvailabilityRule.Kind.BLOCKED],
            "feed_url": calendar_url(request, chosen) if show_feed else "",
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@require_perms("scheduling.view_resource")
def rooms(request: HttpRequest) -> HttpResponse:
    org = request.organization  # type: ignore[attr-defined]
    form = ResourceForm(request.POST or None, organization=org)
    if request.method == "POST":
        if not request.user.has_perm("scheduling.add_resource"):  # type: ignore[union-attr]
            return require_perms("scheduling.add_resource")(lambda r: HttpResponse())(request)
        if _create(
            request, form, services.create_resource, f"{request.POST.get('name', 'Room')} added."
        ):
            return redirect("scheduling:rooms")
    listed = (
        Resource.objects.for_org(org)
        .select_related("facility")
        .order_by("facility__name", "sort_order", "name")
    )
    return _setup_page(
        request,
        "scheduling/rooms.html",
        "form",
        form,
        status=INVALID if request.method == "POST" else 200,
        rooms=list(listed),
    )


@require_http_methods(["GET", "POST"])
@require_perms("scheduling.view_appointmenttype")
def types(request: HttpRequest) -> HttpResponse:
    org = request.organization  # type: ignore[attr-defined]
    form = AppointmentTypeForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("scheduling.add_appointmenttype"):  # type: ignore
            return require_perms("scheduling.add_appointmenttype")(lambda r: HttpResponse())(
                request
            )
        if _create(
            request,
            form,
            services.create_appointment_type,
            f"Appointment type {request.POST.get('name', '')} added.",
        ):
            return redirect("scheduling:types")
    listed = AppointmentType.objects.for_org(org).order_by("name")
    return _setup_page(
        request,
        "scheduling/types.html",
        "form",
        form,
        status=INVALID if request.method == "POST" else 200,
        types=list(listed),
    )


# --- the provider's calendar feed --------------------------------------------------------------

FEED_PAST_DAYS, FEED_AHEAD_DAYS = 30, 180


@login_not_required
@require_GET
def calendar(request: HttpRequest, pk: int) -> HttpResponse:
    """The provider's schedule as an ICS feed for calendar apps (no session: a signed token).

    The events carry the visit type and room only, never the patient.
    """
    try:
        claim = signing.loads(request.GET.get("token", ""), salt=ICS_SALT)
    except signing.BadSignature:
        raise Http404("no such calendar") from None
    if not isinstance(claim, dict) or claim.get("provider") != pk:
        raise Http404("no such calendar")
    org_id = claim.get("org")
    if org_id is None:
        raise Http404("no such calendar")
    chosen = Provider.objects.filter(pk=pk, organization_id=org_id, is_active=True).first()
    if chosen is None:
        raise Http404("no such calendar")
    now = clock.now()
    appointments = selectors.appointments_between(
        chosen.organization_id,
        now - timedelta(days=FEED_PAST_DAYS),
        now + timedelta(days=FEED_AHEAD_DAYS),
        provider=chosen,
        include_cancelled=True,
    )
    audit.record(
        action=Action.EXPORT,
        organization_id=chosen.organization_id,
        username="calendar-feed",
        resource_type="ProviderCalendar",
        resource_id=chosen.pk,
        channel="ics",
        detail={"events": len(appointments)},
    )
    body = provider_calendar(chosen, appointments, host=request.get_host().split(":")[0])
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="provider-{chosen.pk}.ics"'
    return response
