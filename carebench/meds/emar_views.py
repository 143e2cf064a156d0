"""The eMAR pages: the homes, the med pass for a time window (in room order, with the resident's
photo and allergies, scanning, one click per outcome), a resident's page (orders, doses,
absences, refills, the MAR PDF), admitting, the supervisor's view, the shift-change count and
resolving a discrepancy, and assigning workers to homes.

Thin views: forms parse, `emar_services` write (a refused write comes back with 422 and the
message), `emar_selectors` read; every page with resident data is audited as a read.
"""

from __future__ import annotations

from datetime import date, datetime, time
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carebench.accounts.models import User
from carebench.accounts.permissions import require_perms
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import messages_of
from carebench.core.models import Facility
from carebench.patients import selectors as patient_selectors
from carebench.patients.forms import apply_service_errors
from carebench.patients.models import Patient

from . import emar_selectors as selectors
from . import emar_services as services
from . import mar, scan
from .emar_forms import (
    AbsenceForm,
    AdmitForm,
    DoseForm,
    EffectivenessForm,
    OrderForm,
    RefillForm,
    ResolveForm,
)
from .emar_models import Absence, Assignment, DoseRecord, Residency, ResidentOrder, ShiftCount

INVALID = 422


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


def _home(request: HttpRequest, pk: int) -> Facility:
    try:
        return selectors.get_home(_org(request), pk)
    except Facility.DoesNotExist:
        raise Http404("no such home") from None


def _residency(request: HttpRequest, pk: int) -> Residency:
    try:
        return selectors.get_residency(_org(request), pk)
    except Residency.DoesNotExist:
        raise Http404("no such resident") from None


def _order(request: HttpRequest, pk: int) -> ResidentOrder:
    try:
        return ResidentOrder.objects.select_related(
            "residency__facility", "residency__patient"
        ).get(organization=_org(request), pk=pk)
    except ResidentOrder.DoesNotExist:
        raise Http404("no such order") from None


def _allergies(patient_ids: list[int]) -> dict[int, Any]:
    """Each resident's allergy summary (one query for all)."""
    from carebench.patients.models import Allergy

    rows: dict[int, list[Allergy]] = {pid: [] for pid in patient_ids}
    for allergy in Allergy.objects.filter(patient_id__in=patient_ids, voided_at__isnull=True):
        rows[allergy.patient_id].append(allergy)
    return {pid: patient_selectors.allergy_summary(items) for pid, items in rows.items()}


# --- homes and the pass -------------------------------------------------------------------------


@require_GET
@require_perms("meds.view_doserecord")
def homes(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    rows = selectors.homes_for(org, request.user)  # type: ignore[arg-type]
    if len(rows) == 1 and not request.user.has_perm("meds.add_residency"):
        return redirect("meds:pass", facility_id=rows[0].pk)
    return render(request, "meds/emar/homes.html", {"homes": rows, "admit_form": AdmitForm()})


def _pass_time(request: HttpRequest, facility: Facility, now: datetime) -> tuple[date, time]:
    zone = ZoneInfo(facility.time_zone)
    local = now.astimezone(zone)
    try:
        day = date.fromisoformat(request.GET["day"]) if request.GET.get("day") else local.date()
        center = time.fromisoformat(request.GET["at"]) if request.GET.get("at") else None
    except ValueError:
        raise Http404("bad day or time") from None
    if center is None:  # the nearest standard pass time
        slots = sorted(services.pass_times(facility).values())
        minutes = local.hour * 60 + local.minute
        center = min(slots, key=lambda t: abs(t.hour * 60 + t.minute - minutes))
    return day, center


def _open_resident(request: HttpRequest, facility: Facility, scanned: str) -> int | None:
    """The resident at the cart: chosen (?resident=), or found by a scanned wristband (MRN)
    or a scanned card (the order's NDC)."""
    if scanned:
        found = (
            Residency.objects.filter(
                organization=_org(request),
                facility=facility,
                status=Residency.Status.ACTIVE,
                patient__mrn__iexact=scanned,
            )
            .values_list("pk", flat=True)
            .first()
        )
        if found is None and scan.ndc_digits(scanned):
            for order in ResidentOrder.objects.filter(
                organization=_org(request),
                residency__facility=facility,
                status=ResidentOrder.Status.ACTIVE,
            ).exclude(ndc=""):
                if scan.same_ndc(order.ndc, scanned):
                    return order.residency_id
        return found
    value = request.GET.get("resident", "")
    return int(value) if value.isdigit() else None


def _summary_rows(
    summaries: list[selectors.ResidentSummary], shown_pk: int | None, base: str
) -> SafeString:
    """The residents-on-this-pass rows, built here rather than in the template: a 120-resident
    home is 120 rows of a dozen values, which Django's template engine renders ten times slower.
    Every text value passes through `escape`."""
    rows = []
    href = escape(base)
    for summary in summaries:
        residency = summary.residency
        name = escape(residency.patient.display_name)
        room = escape(residency.room)
        late = (
            f'<span class="status-badge status-rejected">{summary.late}</span>'
            if summary.late
            else "0"
        )
        current = ' aria-current="true"' if residency.pk == shown_pk else ""
        rows.append(
            f'<tr data-residency="{residency.pk}"{current}>\n      <td>{room}</td>\n'
            f"      <td>{name}</td>\n"
            f'      <td class="num">{summary.due + summary.upcoming}</td>\n'
            f'      <td class="num">{late}</td>\n'
            f'      <td class="num">{summary.done}</td>\n'
            f'      <td class="num">{summary.away}</td>\n'
            f'      <td><a class="button-secondary button-small" href="{href}&amp;'
            f'resident={residency.pk}" aria-label="Open room {room}, {name}">Open</a></td>\n'
            "    </tr>"
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value escaped above


@require_GET
@require_perms("meds.view_doserecord")
def pass_view(request: HttpRequest, facility_id: int) -> HttpResponse:
    """The pass: every resident with doses in this window, in room order, with counts; the
    resident at the cart (chosen or scanned) with their doses to document."""
    facility = _home(request, facility_id)
    now = clock.now()
    day, center = _pass_time(request, facility, now)
    scanned = request.GET.get("scan", "").replace("\x00", "").strip()[:60]
    open_id = _open_resident(request, facility, scanned)
    page = selectors.pass_page(
        _org(request), facility, day=day, center=center, now=now, open_residency=open_id
    )
    shown = next((s for s in page.summaries if s.residency.pk == open_id), None)
    if shown is None and open_id is not None:
        shown_residency = next(
            (r for r in selectors.residents(_org(request), facility) if r.pk == open_id), None
        )
    else:
        shown_residency = shown.residency if shown else None
    following = None
    if shown is not None:
        later = page.summaries[page.summaries.index(shown) + 1 :] + page.summaries
        following = next((s for s in later if s.open and s is not shown), None)
    allergies = _allergies([shown_residency.patient_id]) if shown_residency else {}
    record_read(
        request,
        patient_id=shown_residency.patient_id if shown_residency else None,
        resource_type="DoseRecord",
        detail={
            "page": "med pass",
            "home": facility.name,
            "at": f"{day} {center:%H:%M}",
            "residents": len(page.summaries),
        },
    )
    base = f"?day={day:%Y-%m-%d}&at={center:%H:%M}"
    return render(
        request,
        "meds/emar/pass.html",
        {
            "facility": facility,
            "summaries": page.summaries,
            "summary_rows": _summary_rows(
                page.summaries, shown_residency.pk if shown_residency else None, base
            ),
            "shown": shown_residency,
            "lines": page.lines,
            "prn": page.prn_orders,
            "following": following,
            "allergies": allergies.get(shown_residency.patient_id) if shown_residency else None,
            "day": day,
            "center": center,
            "base": base,
            "back": reverse("meds:pass", args=[facility.pk])
            + base
            + (f"&resident={open_id}" if open_id else ""),
            "slots": sorted(services.pass_times(facility).items(), key=lambda kv: kv[1]),
            "window_start": page.window_start,
            "window_end": page.window_end,
            "scanned": scanned,
            "scan_missed": bool(scanned) and open_id is None,
            "blocked": services.handoff_blocked(facility),
            "zone": facility.time_zone,
            "due_count": sum(s.open for s in page.summaries),
            "may_record": request.user.has_perm("meds.add_doserecord"),
        },
    )


@require_POST
@require_perms("meds.add_doserecord")
def record(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    form = DoseForm(request.POST)
    back = request.POST.get("back") or reverse("meds:pass", args=[order.residency.facility_id])
    if not back.startswith("/meds/"):
        back = reverse("meds:pass", args=[order.residency.facility_id])
    if not form.is_valid():
        messages.error(
            request,
            "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()),
        )
        return redirect(back)
    data = form.cleaned_data
    try:
        dose = services.record_dose(
            actor=_actor(request),
            order=order,
            outcome=data["outcome"],
            scheduled_at=data["scheduled_at"],
            reason=data["reason"],
            vitals=form.vitals(),
            prn_reason=data["prn_reason"],
        )
    except ValidationError as exc:
        messages.error(
            request,
            f"{order.residency.patient.display_name}, {order.drug_name}: {messages_of(exc)}",
        )
        return redirect(back + f"#resident-{order.residency_id}")
    text = f"{order.residency.patient.display_name}: {order.drug_name} {dose.get_outcome_display().lower()}"
    if dose.effectiveness_due_at:
        local = dose.effectiveness_due_at.astimezone(ZoneInfo(order.residency.facility.time_zone))
        text += f". Check how it worked at {local:%H:%M}."
    if dose.late:
        text += " (late: the supervisor sees it)"
    messages.success(request, text)
    return redirect(back + f"#resident-{order.residency_id}")


@require_POST
@require_perms("meds.change_doserecord")
def effectiveness(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        dose = DoseRecord.objects.select_related("residency").get(organization=_org(request), pk=pk)
    except DoseRecord.DoesNotExist:
        raise Http404("no such dose") from None
    form = EffectivenessForm(request.POST)
    if form.is_valid():
        try:
            services.record_effectiveness(
                actor=_actor(request),
                dose=dose,
                result=form.cleaned_data["result"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            messages.error(request, messages_of(exc))
        else:
            messages.success(request, "Effectiveness recorded.")
    else:
        messages.error(request, "Choose effective, partly effective or not effective.")
    back = request.POST.get("back", "")
    return redirect(
        back if back.startswith("/meds/") else reverse("meds:resident", args=[dose.residency_id])
    )


@require_POST
@require_perms("meds.void_doserecord")
def void_dose(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        dose = DoseRecord.objects.select_related("residency").get(organization=_org(request), pk=pk)
    except DoseRecord.DoesNotExist:
        raise Http404("no such dose") from None
    try:
        services.void_dose(actor=_actor(request), dose=dose, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, messages_of(exc))
    else:
        messages.success(request, "Entry voided; it stays on the record, struck through.")
    return redirect("meds:resident", pk=dose.residency_id)


# --- residents ----------------------------------------------------------------------------------


def _resident_page(
    request: HttpRequest,
    residency: Residency,
    *,
    order_form: OrderForm | None = None,
    absence_form: AbsenceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    org = _org(request)
    patient = patient_selectors.get_chart(org, residency.patient_id)
    record_read(request, patient_id=patient.pk, resource_type="Residency", resource_id=residency.pk)
    away = Absence.objects.filter(residency=residency, ends_at__isnull=True).first()
    today = clock.today(residency.facility.time_zone)
    return render(
        request,
        "meds/emar/resident.html",
        {
            "residency": residency,
            "patient": patient,
            "age": patient.age_on(today),
            "allergies": patient_selectors.allergy_summary(
                patient_selectors.active_allergies(patient)
            ),
            "orders": selectors.resident_orders(org, residency),
            "doses": selectors.recent_doses(org, residency),
            "away": away,
            "order_form": order_form
            or OrderForm(initial={"start_date": today, "prescriber": residency.prescriber_display}),
            "absence_form": absence_form or AbsenceForm(initial={"starts_at": clock.now()}),
            "refill_form": RefillForm(),
            "month": today.strftime("%Y-%m"),
            "zone": residency.facility.time_zone,
        },
        status=status,
    )


@require_GET
@require_perms("meds.view_residency")
def resident(request: HttpRequest, pk: int) -> HttpResponse:
    return _resident_page(request, _residency(request, pk))


@require_GET
@require_perms("meds.view_residency")
def resident_photo(request: HttpRequest, pk: int) -> HttpResponse:
    residency = _residency(request, pk)
    if not residency.photo:
        raise Http404("no photo")
    record_read(
        request,
        patient_id=residency.patient_id,
        resource_type="Residency",
        resource_id=residency.pk,
        detail={"photo": True},
    )
    response = HttpResponse(bytes(residency.photo), content_type=residency.photo_type)
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@require_perms("meds.change_residency")
def upload_photo(request: HttpRequest, pk: int) -> HttpResponse:
    residency = _residency(request, pk)
    upload = request.FILES.get("photo")
    if upload is None:
        messages.error(request, "Photo: choose a JPEG or PNG file")
    else:
        try:
            services.set_photo(
                actor=_actor(request),
                residency=residency,
                data=upload.read(services.MAX_PHOTO_BYTES + 1),
            )
        except ValidationError as exc:
            messages.error(request, messages_of(exc))
        else:
            messages.success(request, "Photo saved.")
    return redirect("meds:resident", pk=residency.pk)


@require_POST
@require_perms("meds.add_residency")
def admit(request: HttpRequest, facility_id: int) -> HttpResponse:
    facility = _home(request, facility_id)
    form = AdmitForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        patient = Patient.objects.filter(
            organization=_org(request), mrn=data["mrn"].strip()
        ).first()
        if patient is None:
            form.add_error(
                "mrn", f"Patient's MRN: no patient with MRN {data['mrn']!r}: register them first"
            )
        else:
            try:
                residency = services.admit_resident(
                    actor=_actor(request),
                    patient=patient,
                    facility=facility,
                    room=data["room"],
                    admitted_on=data["admitted_on"],
                    prescriber_name=data["prescriber_name"],
                    pharmacy_name=data["pharmacy_name"],
                    pharmacy_phone=data["pharmacy_phone"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request, f"Admitted {patient.display_name} to room {residency.room}."
                )
                return redirect("meds:resident", pk=residency.pk)
    rows = selectors.homes_for(_org(request), request.user)  # type: ignore[arg-type]
    return render(
        request,
        "meds/emar/homes.html",
        {"homes": rows, "admit_form": form, "admit_home": facility},
        status=INVALID,
    )


@require_POST
@require_perms("meds.change_residency")
def discharge(request: HttpRequest, pk: int) -> HttpResponse:
    residency = _residency(request, pk)
    try:
        on = (
            date.fromisoformat(request.POST.get("on", ""))
            if request.POST.get("on")
            else clock.today(residency.facility.time_zone)
        )
        services.discharge_resident(
            actor=_actor(request), residency=residency, on=on, reason=request.POST.get("reason", "")
        )
    except ValueError:
        messages.error(request, "Discharge date: give a date")
    except ValidationError as exc:
        messages.error(request, messages_of(exc))
    else:
        messages.success(request, "Discharged; the active orders are discontinued.")
    return redirect("meds:resident", pk=residency.pk)


@require_POST
@require_perms("meds.add_residentorder")
def add_order(request: HttpRequest, pk: int) -> HttpResponse:
    residency = _residency(request, pk)
    form = OrderForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            order = services.add_order(actor=_actor(request), residency=residency, **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            times = ", ".join(order.times) if order.times else "as needed"
            messages.success(request, f"Order added: {order} ({times}).")
            return redirect("meds:resident", pk=residency.pk)
    return _resident_page(request, residency, order_form=form, status=INVALID)


@require_POST
@require_perms("meds.change_residentorder")
def discontinue(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    try:
        services.discontinue_order(
            actor=_actor(request), order=order, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, messages_of(exc))
    else:
        messages.success(request, f"{order.drug_name} discontinued.")
    return redirect("meds:resident", pk=order.residency_id)


@require_POST
@require_perms("meds.add_refill")
def refill(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    form = RefillForm(request.POST)
    if form.is_valid():
        try:
            services.receive_refill(actor=_actor(request), order=order, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, messages_of(exc))
        else:
            messages.success(request, f"Refill of {order.drug_name} received.")
    else:
        messages.error(request, "Refill: give the number of doses received (1 to 1000)")
    return redirect("meds:resident", pk=order.residency_id)


@require_POST
@require_perms("meds.add_absence")
def start_absence(request: HttpRequest, pk: int) -> HttpResponse:
    residency = _residency(request, pk)
    form = AbsenceForm(request.POST)
    with timezone.override(ZoneInfo(residency.facility.time_zone)):
        valid = form.is_valid()
    if valid:
        try:
            services.start_absence(actor=_actor(request), residency=residency, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Recorded as away: doses due while away are not given.")
            return redirect("meds:resident", pk=residency.pk)
    return _resident_page(request, residency, absence_form=form, status=INVALID)


@require_POST
@require_perms("meds.change_absence")
def end_absence(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        absence = Absence.objects.select_related("residency__patient").get(
            organization=_org(request), pk=pk
        )
    except Absence.DoesNotExist:
        raise Http404("no such absence") from None
    try:
        services.end_absence(actor=_actor(request), absence=absence, ends_at=clock.now())
    except ValidationError as exc:
        messages.error(request, messages_of(exc))
    else:
        messages.success(request, "Welcome back: the resident is on the pass again.")
    return redirect("meds:resident", pk=absence.residency_id)


@require_GET
@require_perms("meds.view_doserecord")
def mar_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The resident's MAR for a month (?month=YYYY-MM), as the surveyor expects it."""
    residency = _residency(request, pk)
    zone = residency.facility.time_zone
    try:
        month = (
            date.fromisoformat(request.GET["month"] + "-01")
            if request.GET.get("month")
            else clock.today(zone).replace(day=1)
        )
    except ValueError:
        raise Http404("bad month") from None
    data = selectors.mar_input(_org(request), residency, month)
    pdf = mar.render_mar(data)
    record_read(
        request,
        patient_id=residency.patient_id,
        resource_type="DoseRecord",
        action="export",
        detail={"mar": month.strftime("%Y-%m")},
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="mar-{residency.patient.mrn}-{month:%Y-%m}.pdf"'
    )
    return response


# --- supervisor, counts, assignments ------------------------------------------------------------


@require_GET
@require_perms("meds.view_doserecord")
def supervisor(request: HttpRequest, facility_id: int) -> HttpResponse:
    facility = _home(request, facility_id)
    view = selectors.supervisor_view(_org(request), facility, now=clock.now())
    record_read(
        request,
        patient_id=None,
        resource_type="DoseRecord",
        detail={"page": "supervisor", "home": facility.name},
    )
    return render(
        request,
        "meds/emar/supervisor.html",
        {
            "facility": facility,
            "view": view,
            "resolve_form": ResolveForm(),
            "zone": facility.time_zone,
        },
    )


@require_http_methods(["GET", "POST"])
@require_perms("meds.add_shiftcount")
def count(request: HttpRequest, facility_id: int) -> HttpResponse:
    """The shift-change count of every open controlled-substance card, by two workers."""
    facility = _home(request, facility_id)
    sheets = services.open_sheets(facility)
    workers = (
        User.objects.filter(
            organization=_org(request), is_active=True, groups__name__in=["medtech", "nurse"]
        )
        .exclude(pk=request.user.pk or 0)
        .distinct()
        .order_by("last_name")
    )
    error = ""
    if request.method == "POST":
        try:
            incoming = workers.get(pk=int(request.POST.get("incoming", "0")))
            counts = {s.pk: int(request.POST.get(f"count-{s.pk}", "")) for s in sheets}
        except (User.DoesNotExist, ValueError):
            error = "Choose the incoming worker and enter a whole-number count for every card."
        else:
            try:
                row = services.count_shift(
                    actor=_actor(request), facility=facility, incoming=incoming, counts=counts
                )
            except ValidationError as exc:
                error = messages_of(exc)
            else:
                if row.status == ShiftCount.Status.DISCREPANCY:
                    messages.error(
                        request,
                        "The counts do not match: the hand-off is blocked until a supervisor resolves it.",
                    )
                else:
                    messages.success(request, "Counts match: shift handed off.")
                return redirect("meds:supervisor", facility_id=facility.pk)
    # the count sheets name the residents and their controlled drugs
    record_read(
        request,
        patient_id=None,
        resource_type="CountSheet",
        detail={"page": "shift count", "home": facility.name, "sheets": len(sheets)},
    )
    return render(
        request,
        "meds/emar/count.html",
        {
            "facility": facility,
            "sheets": sheets,
            "workers": workers,
            "error": error,
            "blocked": services.handoff_blocked(facility),
        },
        status=INVALID if error else 200,
    )


@require_POST
@require_perms("meds.change_shiftcount")
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        row = ShiftCount.objects.get(organization=_org(request), pk=pk)
    except ShiftCount.DoesNotExist:
        raise Http404("no such count") from None
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            services.resolve_discrepancy(
                actor=_actor(request), shift_count=row, **form.cleaned_data
            )
        except ValidationError as exc:
            messages.error(request, messages_of(exc))
        else:
            messages.success(request, "Discrepancy resolved: the hand-off goes ahead.")
    else:
        messages.error(request, "Say what was found and done.")
    return redirect("meds:supervisor", facility_id=row.facility_id)


@require_http_methods(["GET", "POST"])
@require_perms("meds.view_assignment")
def assignments(request: HttpRequest) -> HttpResponse:
    """Who works where; the scope rules refuse, for example, a med tech in a nursing home."""
    org = _org(request)
    facilities = Facility.objects.filter(organization=org, is_active=True).order_by("name")
    workers = User.objects.filter(organization=org, is_active=True).order_by(
        "last_name", "first_name"
    )
    error = ""
    if request.method == "POST":
        if not request.user.has_perm("meds.add_assignment"):
            return HttpResponse(status=403)
        try:
            user = workers.get(pk=int(request.POST.get("user", "0")))
            facility = facilities.get(pk=int(request.POST.get("facility", "0")))
        except (User.DoesNotExist, Facility.DoesNotExist, ValueError):
            error = "Choose a worker and a facility."
        else:
            try:
                services.assign_worker(actor=_actor(request), user=user, facility=facility)
            except ValidationError as exc:
                error = messages_of(exc)
            else:
                messages.success(request, f"{user.get_full_name()} assigned to {facility.name}.")
                return redirect("meds:assignments")
    rows = (
        Assignment.objects.filter(organization=org)
        .select_related("user", "facility")
        .order_by("facility__name", "user__last_name")
    )
    return render(
        request,
        "meds/emar/assignments.html",
        {"rows": rows, "facilities": facilities, "workers": workers, "error": error},
        status=INVALID if error else 200,
    )
