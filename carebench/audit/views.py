"""The audit report for managers: filter, sort, page through and export their organization's
audit events. Exporting is itself audited."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from carebench.accounts.permissions import require_perms
from carebench.core import clock
from carebench.core.actor import Actor

from . import selectors
from . import services as audit
from .models import Action

PAGE_SIZE = 50
COLUMNS = [
    ("occurred_at", "When"),
    ("username", "User"),
    ("action", "Action"),
    ("patient", "Patient"),
    ("resource", "Resource"),
    ("outcome", "Outcome"),
    ("address", "From"),
    ("channel", "Channel"),
]
CSV_HEADER = [
    "occurred_at_utc",
    "username",
    "user_id",
    "action",
    "outcome",
    "patient_id",
    "resource_type",
    "resource_id",
    "client_address",
    "channel",
    "detail",
    "seq",
    "hash",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class AuditFilterForm(forms.Form):
    date_from = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%m/%d/%Y"],
    )
    date_to = forms.DateField(
        label="To",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%m/%d/%Y"],
    )
    user = forms.CharField(
        label="User (username)",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    patient = forms.CharField(
        label="Patient (record id or MRN)",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *Action.choices]
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "To: cannot be before From")
        return data


def _time_zone(request: HttpRequest) -> str:
    user: Any = request.user
    facility = user.default_facility if user.default_facility_id else None
    return facility.time_zone if facility else settings.CAREBENCH_DEFAULT_TIME_ZONE


def _filters(request: HttpRequest, form: AuditFilterForm) -> selectors.AuditFilters:
    org_id = request.organization.pk  # type: ignore[attr-defined]
    data = form.cleaned_data
    patient = data.get("patient", "").strip()
    return selectors.AuditFilters(
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        username=data.get("user", ""),
        patient_ids=selectors.patient_ids_for(org_id, patient) if patient else [],
        patient_given=bool(patient),
        action=data.get("action", ""),
        time_zone=_time_zone(request),
    )


def _safe_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(events: Any) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _safe_cell(v)
                for v in (
                    event.occurred_at.isoformat(),
                    event.username,
                    event.user_id,
                    event.action,
                    event.outcome,
                    event.patient_id,
                    event.resource_type,
                    event.resource_id,
                    event.client_address,
                    event.channel,
                    event.detail,
                    event.seq,
                    event.hash,
                )
            ]
        )


def _export(
    request: HttpRequest, form: AuditFilterForm, events: Any, sort: str
) -> StreamingHttpResponse:
    audit.record_for_actor(
        Actor.from_request(request),
        action=Action.EXPORT,
        resource_type="AuditEvent",
        detail={
            "format": "csv",
            "sort": sort,
            "filters": {k: str(v) for k, v in form.cleaned_data.items() if v},
        },
    )
    org: Any = request.organization  # type: ignore[attr-defined]
    name = f"audit-{org.slug}-{clock.now():%Y%m%d-%H%M%S}.csv"
    response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _sort_links(request: HttpRequest, sort: str) -> list[dict[str, str]]:
    links = []
    for key, label in COLUMNS:
        params = request.GET.copy()
        params.pop("page", None)
        params.pop("format", None)
        active = sort.lstrip("-") == key
        descending = sort.startswith("-")
        params["sort"] = key if (active and descending) else f"-{key}" if active else key
        aria = ("descending" if descending else "ascending") if active else ""
        links.append(
            {"key": key, "label": label, "url": "?" + params.urlencode(), "aria_sort": aria}
        )
    return links


@require_GET
@require_perms("audit.view_auditevent")
def report(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form = AuditFilterForm(request.GET or None)
    sort = selectors.clean_sort(request.GET.get("sort", selectors.DEFAULT_SORT))
    if form.is_bound and not form.is_valid():
        return render(
            request,
            "audit/report.html",
            {"form": form, "page": None, "columns": _sort_links(request, sort)},
            status=422,
        )
    if not form.is_bound:
        form = AuditFilterForm({})
        form.is_valid()
    org_id = request.organization.pk  # type: ignore[attr-defined]
    events = selectors.audit_events(org_id, _filters(request, form), sort=sort)
    if request.GET.get("format") == "csv":
        return _export(request, form, events, sort)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    csv_params = params.copy()
    csv_params["format"] = "csv"
    context = {
        "form": form,
        "page": page,
        "columns": _sort_links(request, sort),
        "query": params.urlencode(),
        "csv_url": "?" + csv_params.urlencode(),
        "time_zone": _time_zone(request),
        "sort": sort,
    }
    return render(request, "audit/report.html", context)
