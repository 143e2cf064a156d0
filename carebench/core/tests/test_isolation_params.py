"""Isolation in the query string and the form body: another organization's ids are refused.

The tenancy test tries the other organization's ids in the path; this one puts them where a page
reads ids from the request itself: `?patient=`, `?facility=`, `?provider=`, the booking form's
patient, provider and slot, order forms' tests and providers, every select of rows. Two
organizations are built (`worlds`); every row of the other one is renamed to start with
"Farside", so a leak shows in the page. A request with the other's id must end in 404/403 or a
form error: nothing written (for either organization), and no "Farside" row in the answer.

The parameters are found systematically, so a new one must be listed here:
- every ModelChoiceField of every form in carebench (`test_every_model_choice_field_is_tried`);
- every key a view reads with `request.GET`/`request.POST` (`test_every_request_key_is_listed`).

Each case has a control: the same request with the organization's own id is accepted (so the
refusal is the id's doing, not a bad body).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import io
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django import forms
from django.apps import apps
from django.db import connection
from django.db.models import CharField, F, ForeignKey, Value
from django.db.models.functions import Concat, Left
from django.urls import reverse

import carebench
from carebench.audit.tests.test_audit_completeness import (
    CHANGES,
    READS,
    Writes,
    _collected_specimen,
    _errors,
    _held_results,
    _medtech,
    _nurse,
    _strep_test_ordered,
)
from carebench.conftest import signed_in
from carebench.core import clock
from carebench.core.models import Organization
from carebench.core.tests import worlds
from carebench.labs.models import LabTest
from carebench.testing import actor_for, next_weekday_at

MARK = "Farside"
Filler = Callable[[SimpleNamespace], Any]


@dataclass(frozen=True)
class Case:
    """One id parameter of one route, tried with the other organization's row."""

    route: str
    param: str  # the query or form key that carries the id
    value: Filler  # the id (or ids) from a world: the other's for the test, own for the control
    method: str = "post"
    body: Filler | None = None  # the rest of a valid request; default: the audit test's
    before: Filler | None = None  # set-up on the own world; default: the audit test's
    user: Filler | None = None  # who asks; default: the audit test's (else everyone)
    path: Filler | None = None  # the ids in the path; default: the tenancy filler
    covers: tuple[str, ...] = ()  # the form fields (Form.field) this case tries
    theirs_part: tuple[str, ...] = field(default=())  # parts of the other world to build first
    in_query: bool = False  # a POST whose id goes in the query string

    @property
    def id(self) -> str:
        where = "query" if self.in_query or self.method == "get" else "body"
        return f"{self.route} {self.method.upper()} {where}:{self.param}"


def _pk(attr: str) -> Filler:
    """`w.<attr>.pk`, with dots: `_pk("patient")`, `_pk("lab.specimen")`."""

    def get(w: SimpleNamespace) -> Any:
        row: Any = w
        for name in attr.split("."):
            row = getattr(row, name) if not isinstance(row, dict) else row[name]
        return row.pk

    return get


def _slot(w: SimpleNamespace) -> str:
    return f"{w.provider.pk}|{next_weekday_at(14).isoformat()}"


def _today(w: SimpleNamespace) -> str:
    return next_weekday_at(9).date().isoformat()


def _pdf(name: str = "fees.csv", text: bytes = b"code,amount\n99213,95.00\n") -> io.BytesIO:
    upload = io.BytesIO(text)
    upload.name = name
    return upload


def _fee_schedule(w: SimpleNamespace) -> Any:
    from carebench.billing.models import FeeSchedule

    worlds.part(w, "billing")
    return FeeSchedule.objects.filter(organization=w.user.organization).first().pk


def _payer(w: SimpleNamespace) -> Any:
    return w.entries["coverage"].payer_id


def _credential_type(w: SimpleNamespace) -> Any:
    return worlds.part(w, "staff").credential.credential_type_id


def _poc_test(w: SimpleNamespace) -> Any:
    return worlds.part(w, "kit_lot").test_id


def _nurse_pk(w: SimpleNamespace) -> Any:
    return _nurse(w).pk


def _instrument_set(w: SimpleNamespace) -> Any:
    return worlds.part(w, "compliance").cycle.instrument_sets.first().pk


def _autoclave(w: SimpleNamespace) -> Any:
    return worlds.part(w, "compliance").cycle.autoclave_id


def _plan(w: SimpleNamespace) -> Any:
    return worlds.part(w, "compliance").device.plans.first().pk


def _storage_unit(w: SimpleNamespace) -> Any:
    return worlds.part(w, "meds").lot.storage_unit_id


def _product(w: SimpleNamespace) -> Any:
    return worlds.part(w, "meds").lot.product_id


def _home(w: SimpleNamespace) -> Any:
    return worlds.part(w, "emar").home.pk


def _resident(w: SimpleNamespace) -> Any:
    return worlds.part(w, "emar").resident.pk


def _template(w: SimpleNamespace) -> Any:
    return worlds.part(w, "procedures").template.pk


def _order_number(w: SimpleNamespace) -> Any:
    return w.lab.order.number


def _own_body(route: str) -> Filler:
    spec = CHANGES.get(route) or READS.get(route)
    assert spec is not None, f"{route}: give the case a body"
    return spec.body if hasattr(spec, "body") else spec.query  # type: ignore[union-attr]


def _clinic_time(hours: int) -> str:
    from zoneinfo import ZoneInfo

    from django.conf import settings

    zone = ZoneInfo(settings.CAREBENCH_DEFAULT_TIME_ZONE)
    return (clock.now() - timedelta(hours=hours)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")


CASES: list[Case] = [
    # --- patients and referrals
    Case(
        "patients:new_outside_order",
        "ordering_provider",
        _pk("provider"),
        covers=("OutsideOrderForm.ordering_provider",),
    ),
    # --- booking and the day
    Case("scheduling:book", "patient", _pk("patient")),
    Case(
        "scheduling:book",
        "appointment_type",
        lambda w: w.appt.appointment_type_id,
        covers=("BookForm.appointment_type",),
    ),
    Case(
        "scheduling:book", "facility", lambda w: w.appt.facility_id, covers=("BookForm.facility",)
    ),
    Case(
        "scheduling:book",
        "provider",
        _pk("provider"),
        covers=("BookForm.provider",),
    ),
    Case("scheduling:book", "slot", lambda w: f"{w.provider.pk}|{next_weekday_at(11).isoformat()}"),
    Case("scheduling:reschedule", "slot", _slot),
    Case("scheduling:advance", "room", _pk("room")),
    Case("scheduling:book", "patient", _pk("patient"), method="get", body=lambda w: {}),
    Case(
        "scheduling:patient_options",
        "patient",
        _pk("patient"),
        method="get",
        body=lambda w: {"patient_q": w.patient.family_name},
    ),
    Case(
        "scheduling:slots",
        "provider",
        _pk("provider"),
        method="get",
        body=lambda w: {
            "appointment_type": w.appt.appointment_type_id,
            "facility": w.appt.facility_id,
            "date": _today(w),
        },
    ),
    Case(
        "scheduling:slots",
        "facility",
        lambda w: w.appt.facility_id,
        method="get",
        body=lambda w: {"appointment_type": w.appt.appointment_type_id, "date": _today(w)},
    ),
    Case(
        "scheduling:slots",
        "appointment_type",
        lambda w: w.appt.appointment_type_id,
        method="get",
        body=lambda w: {"facility": w.appt.facility_id, "date": _today(w)},
    ),
    Case(
        "scheduling:day",
        "facility",
        lambda w: w.appt.facility_id,
        method="get",
        body=lambda w: {"date": _today(w)},
    ),
    Case(
        "scheduling:day",
        "provider",
        _pk("provider"),
        method="get",
        body=lambda w: {"date": _today(w)},
    ),
    Case(
        "scheduling:week",
        "provider",
        _pk("provider"),
        method="get",
        body=lambda w: {"date": _today(w)},
    ),
    Case(
        "scheduling:week", "facility", lambda w: w.appt.facility_id, method="get", body=lambda w: {}
    ),
    Case(
        "scheduling:board",
        "facility",
        lambda w: w.appt.facility_id,
        method="get",
        body=lambda w: {},
    ),
    Case(
        "dashboard:dashboard",
        "facility",
        lambda w: w.appt.facility_id,
        method="get",
        body=lambda w: {},
    ),
    # --- scheduling set-up
    Case(
        "scheduling:providers",
        "facilities",
        lambda w: [w.appt.facility_id],
        body=lambda w: {
            "given_name": "Ines",
            "family_name": "Ferreira",
            "npi": "1679576722",
            "color": "#336699",
        },
        covers=("ProviderForm.facilities",),
    ),
    Case(
        "scheduling:providers",
        "user",
        lambda w: w.user.pk,
        body=lambda w: {
            "given_name": "Ines",
            "family_name": "Ferreira",
            "npi": "1679576722",
            "color": "#336699",
            "facilities": [w.patient.organization.facilities.first().pk],
        },
        covers=("ProviderForm.user",),
    ),
    Case(
        "scheduling:rooms",
        "facility",
        lambda w: w.appt.facility_id,
        body=lambda w: {"name": "Exam 9", "kind": "room", "room_type": "exam", "sort_order": 9},
        covers=("ResourceForm.facility",),
    ),
    Case(
        "scheduling:provider",
        "weekly-facility",
        lambda w: w.appt.facility_id,
        body=lambda w: {
            "form": "weekly",
            "weekly-weekdays": ["SA"],
            "weekly-every_weeks": 1,
            "weekly-start_time": "08:00",
            "weekly-end_time": "12:00",
            "weekly-starts_on": "2026-01-05",
        },
        covers=("WeeklyRuleForm.facility", "_RuleForm.facility"),
    ),
    Case(
        "scheduling:provider",
        "blocked-facility",
        lambda w: w.appt.facility_id,
        body=lambda w: {
            "form": "blocked",
            "blocked-starts_on": "2026-12-24",
            "blocked-ends_on": "2026-12-26",
            "blocked-reason": "Holiday",
        },
        covers=("BlockedForm.facility",),
    ),
    # --- visits and procedures
    Case("encounters:procedures", "template", _template),
    Case(
        "encounters:procedure_step",
        "performed_by",
        _pk("provider"),
        body=lambda w: {"room": ""},
        path=lambda w: {"pk": worlds.part(w, "procedures").procedure.pk, "step": "setup"},
    ),
    Case(
        "encounters:procedure_step",
        "room",
        _pk("room"),
        body=lambda w: {"performed_by": w.provider.pk},
        path=lambda w: {"pk": worlds.part(w, "procedures").procedure.pk, "step": "setup"},
    ),
    Case(
        "encounters:procedure_step",
        "assistants",
        lambda w: [w.user.pk],
        body=lambda w: {"performed_by": w.provider.pk},
        path=lambda w: {"pk": worlds.part(w, "procedures").procedure.pk, "step": "setup"},
    ),
    Case("ekg:upload", "encounter", _pk("encounter")),
    Case("ekg:patient", "encounter", _pk("encounter"), method="get", body=lambda w: {}),
    # --- labs
    Case(
        "labs:new_order",
        "tests",
        lambda w: [w.lab.order.items.get().test_id],
        covers=("OrderForm.tests",),
    ),
    Case(
        "labs:new_order",
        "ordering_provider",
        _pk("provider"),
        covers=("OrderForm.ordering_provider",),
    ),
    Case(
        "labs:manifests",
        "specimens",
        lambda w: [w.lab.specimen.pk],
        before=_collected_specimen,
        covers=("ManifestForm.specimens",),
        theirs_part=("collected",),
    ),
    Case(
        "labs:hl7_resolve",
        "order",
        _order_number,
        before=_held_results,
        path=lambda w: {"pk": w.held.pk},
        theirs_part=("numbered",),
    ),
    Case(
        "labs:poc_entry",
        "kit_lot",
        lambda w: worlds.part(w, "kit_lot").pk,
        before=_strep_test_ordered,
        path=lambda w: {"pk": w.poc_item.pk},
        theirs_part=("strep",),
    ),
    Case(
        "labs:add_kit_lot",
        "lot-test",
        _poc_test,
        body=lambda w: {
            "lot-kit_name": "Strep A",
            "lot-lot_number": "L9",
            "lot-expires_on": (clock.today() + timedelta(days=30)).isoformat(),
        },
        covers=("KitLotForm.test",),
    ),
    Case(
        "labs:add_device",
        "device-tests",
        lambda w: [_glucose_test(w)],
        body=lambda w: {"device-name": "Reader", "device-serial_number": "RD-1"},
        covers=("DeviceForm.tests",),
    ),
    Case(
        "labs:qc_run",
        "kit_lot",
        lambda w: worlds.part(w, "kit_lot").pk,
        method="get",
        body=lambda w: {},
    ),
    # --- medications and the homes
    Case(
        "meds:give", "give-lot", lambda w: worlds.part(w, "meds").lot.pk, covers=("GiveForm.lot",)
    ),
    Case(
        "meds:provider_order",
        "order-product",
        _product,
        covers=("ProviderOrderForm.product",),
    ),
    Case(
        "meds:run_standing_order",
        "product",  # the key is prefixed with the protocol: set in `_request`
        _product,
        covers=("StandingOrderForm.product",),
    ),
    Case(
        "meds:receive",
        "receive-product",
        _product,
        body=lambda w: {
            "receive-lot_number": "NEW1",
            "receive-expires_on": (clock.today() + timedelta(days=60)).isoformat(),
            "receive-ndc": "58160-0919-52",
            "receive-funding": "private",
            "receive-storage_unit": _storage_unit(w),
            "receive-doses": "5",
        },
        covers=("ReceiveForm.product",),
    ),
    Case(
        "meds:receive",
        "receive-storage_unit",
        _storage_unit,
        body=lambda w: {
            "receive-product": _product(w),
            "receive-lot_number": "NEW1",
            "receive-expires_on": (clock.today() + timedelta(days=60)).isoformat(),
            "receive-ndc": "58160-0919-52",
            "receive-funding": "private",
            "receive-doses": "5",
        },
        covers=("ReceiveForm.storage_unit",),
    ),
    Case("meds:count", "incoming", _nurse_pk),
    Case(
        "meds:assignments",
        "user",
        lambda w: w.user.pk,
        body=lambda w: {"facility": _home(w)},
    ),
    Case(
        "meds:assignments",
        "facility",
        _home,
        body=lambda w: {"user": _medtech(w).pk},
    ),
    Case("meds:pass", "resident", _resident, method="get", body=lambda w: {}, user=_medtech),
    # --- billing
    Case(
        "billing:superbill",
        "coverage",
        lambda w: w.entries["coverage"].pk,
        covers=("SuperbillForm.coverage",),
    ),
    Case(
        "billing:patient_eligibility",
        "coverage",
        lambda w: w.entries["coverage"].pk,
        covers=("EligibilityForm.coverage",),
    ),
    Case(
        "billing:new_prior_auth",
        "coverage",
        lambda w: w.entries["coverage"].pk,
        covers=("PriorAuthForm.coverage",),
    ),
    Case(
        "billing:add_rule",
        "payer",
        _payer,
        body=lambda w: {"code_from": "70551"},
        covers=("RuleForm.payer",),
    ),
    Case(
        "billing:setup",
        "schedule",
        _fee_schedule,
        body=lambda w: {"action": "fees", "file": _pdf()},
        covers=("FeeFileForm.schedule",),
    ),
    Case(
        "billing:setup",
        "payer",
        _payer,
        body=lambda w: {
            "action": "payer",
            "payer_code": "60054",
            "filing_indicator": "CI",
            "timely_filing_days": "365",
        },
        covers=("PayerBillingForm.payer",),
    ),
    # --- inbox
    Case("inbox:new", "patient", _pk("patient")),
    Case("inbox:new", "patient", _pk("patient"), method="get", body=lambda w: {}),
    Case(
        "inbox:new",
        "medication",
        lambda w: w.entries["medications"].pk,
        body=lambda w: {
            "kind": "refill",
            "patient": w.patient.pk,
            "subject": "Refill",
            "assignee": "role:mat",
            "priority": "routine",
        },
        covers=("ItemForm.medication",),
    ),
    Case("inbox:assign", "assignee", lambda w: f"user:{w.user.pk}"),
    # --- staff
    Case(
        "staff:add_credential",
        "cred-user",
        lambda w: w.user.pk,
        body=lambda w: {
            "cred-credential_type": _credential_type(w),
            "cred-number": "NHA-9",
            "cred-issued_on": "2025-01-10",
            "cred-expires_on": "2027-01-10",
            "cred-proof": _pdf("proof.pdf", b"%PDF-1.4 proof"),
        },
        covers=("CredentialForm.user",),
    ),
    Case(
        "staff:add_credential",
        "cred-credential_type",
        _credential_type,
        body=lambda w: {
            "cred-user": w.user.pk,
            "cred-number": "NHA-9",
            "cred-issued_on": "2025-01-10",
            "cred-expires_on": "2027-01-10",
            "cred-proof": _pdf("proof.pdf", b"%PDF-1.4 proof"),
        },
        covers=("CredentialForm.credential_type",),
    ),
    Case(
        "staff:add_ce",
        "ce-user",
        lambda w: w.user.pk,
        body=lambda w: {
            "ce-credential_type": _credential_type(w),
            "ce-taken_on": "2025-02-01",
            "ce-hours": "2",
            "ce-title": "Safety",
        },
        covers=("CeForm.user",),
    ),
    Case(
        "staff:add_ce",
        "ce-credential_type",
        _credential_type,
        body=lambda w: {
            "ce-user": w.user.pk,
            "ce-taken_on": "2025-02-01",
            "ce-hours": "2",
            "ce-title": "Safety",
        },
        covers=("CeForm.credential_type",),
    ),
    Case(
        "staff:add_rule",
        "rule-credential_types",
        lambda w: [_credential_type(w)],
        body=lambda w: {"rule-task": "injection", "rule-roles": ["mat"]},
        covers=("RuleForm.credential_types",),
    ),
    # --- compliance
    Case(
        "compliance:add_device",
        "device-facility",
        lambda w: w.appt.facility_id,
        body=lambda w: {
            "device-kind": "centrifuge",
            "device-name": "Centrifuge",
            "device-serial_number": "CF-9",
        },
        covers=("DeviceForm.facility",),
    ),
    Case(
        "compliance:add_device",
        "device-poc_device",
        lambda w: _poc_device(w),
        body=lambda w: {
            "device-facility": w.appt.facility_id,
            "device-kind": "glucometer",
            "device-name": "Meter",
            "device-serial_number": "GM-9",
        },
        covers=("DeviceForm.poc_device",),
    ),
    Case(
        "compliance:add_device",
        "device-storage_unit",
        _storage_unit,
        body=lambda w: {
            "device-facility": w.appt.facility_id,
            "device-kind": "refrigerator",
            "device-name": "Logger",
            "device-serial_number": "DL-9",
        },
        covers=("DeviceForm.storage_unit",),
    ),
    Case(
        "compliance:new_cycle",
        "autoclave",
        _autoclave,
        body=lambda w: _cycle(w, autoclave=False),
        covers=("CycleForm.autoclave",),
    ),
    Case(
        "compliance:new_cycle",
        "instrument_sets",
        lambda w: [_instrument_set(w)],
        body=lambda w: _cycle(w, sets=False),
        covers=("CycleForm.instrument_sets",),
    ),
    Case(
        "compliance:record_service",
        "service-plan",
        _plan,
        body=lambda w: {"service-done_on": clock.today().isoformat(), "service-result": "pass"},
        covers=("ServiceRecordForm.plan",),
    ),
]


def _glucose_test(w: SimpleNamespace) -> Any:
    """The fingerstick glucose test (read on a meter), added to the catalog on first use."""
    from carebench.labs import services as labs

    found = LabTest.objects.for_org(w.user.organization).filter(code="GLUPOC").first()
    if found is None:
        labs.load_catalog_csv(
            actor=actor_for(w.user),
            text="code,name,loinc,specimen_type,container,min_volume_ml,fasting,performed\n"
            "GLUPOC,Glucose (POC),41653-7,capillary blood,capillary,0,no,In-house (POC)\n",
        )
        found = LabTest.objects.for_org(w.user.organization).get(code="GLUPOC")
    return found.pk


def _poc_device(w: SimpleNamespace) -> Any:
    from carebench.labs import poc_services

    if not hasattr(w, "poc_device"):
        w.poc_device = poc_services.add_device(
            actor=actor_for(w.user),
            name="Glucometer",
            serial_number=f"GM-{w.user.organization.pk}",
            tests=[LabTest.objects.get(pk=_glucose_test(w))],
        )
    return w.poc_device.pk


def _cycle(w: SimpleNamespace, *, autoclave: bool = True, sets: bool = True) -> dict[str, Any]:
    body = {
        "cycle_number": "77",
        "run_at": _clinic_time(5),
        "duration_minutes": "30",
        "temperature_c": "121",
        "pressure_psi": "15",
        "chemical_indicator": "pass",
        "biological_indicator": "none",
    }
    if autoclave:
        body["autoclave"] = _autoclave(w)
    if sets:
        body["instrument_sets"] = [_instrument_set(w)]
    return body


# --- the other organization, marked ------------------------------------------------------------

THEIRS_PARTS: dict[str, Callable[[SimpleNamespace], Any]] = {
    "collected": _collected_specimen,
    "strep": _strep_test_ordered,
    "numbered": lambda w: [_extra_order(w) for _ in range(3)],
}


def _extra_order(w: SimpleNamespace) -> None:
    """Another lab order (so the other's order numbers run past ours)."""
    from carebench.audit.tests.test_audit_completeness import _fresh_lab_order

    _fresh_lab_order(w)


def _organization_models() -> list[Any]:
    return [
        model
        for model in apps.get_models()
        if any(
            isinstance(f, ForeignKey) and f.related_model is Organization
            for f in model._meta.get_fields()
            if f.concrete
        )
    ]


NAME_FIELDS = ("name", "family_name", "last_name", "display_name", "kit_name", "drug_name")


def mark_rows(org: Any) -> None:
    """Prefix the names of the organization's rows with MARK (so a leak shows in a page)."""
    for model in _organization_models():
        for name in NAME_FIELDS:
            try:
                column = model._meta.get_field(name)
            except Exception:
                continue
            if isinstance(column, CharField) and column.concrete:
                length = column.max_length or 100
                model._base_manager.filter(organization=org).update(
                    **{name: Left(Concat(Value(MARK), F(name)), length)}
                )


def fingerprint(org: Any) -> str:
    """A hash over every row the organization owns (nothing written for it: the same hash)."""
    digest = hashlib.sha256()
    for model in sorted(_organization_models(), key=lambda m: m._meta.label):
        for row in model._base_manager.filter(organization=org).order_by("pk").values_list():
            digest.update(repr(row).encode())
    return digest.hexdigest()


# --- the systematic lists ------------------------------------------------------------------------


def model_choice_fields() -> set[str]:
    """`Form.field` for every ModelChoiceField (and multiple) of the forms in carebench."""
    found = set()
    for info in pkgutil.walk_packages(carebench.__path__, "carebench."):
        if ".tests" in info.name or "forms" not in info.name.rsplit(".", 1)[-1]:
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                for field_name, form_field in cls.base_fields.items():
                    if isinstance(form_field, forms.ModelChoiceField):
                        found.add(f"{name}.{field_name}")
    return found


KEY = re.compile(r"request\.(?:GET|POST)(?:\.get\(|\[)\s*f?\"([a-z_0-9-]+)")

# Keys views read from the request that are not row ids, with why.
NOT_IDS: dict[str, str] = {
    "next": "a URL to go back to (checked against the host)",
    "back": "a URL to go back to (must start with /meds/)",
    "reason": "free text",
    "comment": "free text",
    "chief_complaint": "free text",
    "status": "a status code from a fixed list",
    "find": "a flag: look for open slots",
    "kind": "a kind from a fixed list",
    "code": "a scanned barcode or a code (labs: accession; meds: GS1 vial code)",
    "winged": "a flag",
    "q": "search text",
    "patient_q": "search text",
    "on": "a date",
    "month": "a month",
    "day": "a date",
    "date": "a date",
    "at": "a time",
    "start": "a date",
    "end": "a date",
    "language": "a language code",
    "form": "which form of the page was sent",
    "voided": "a flag",
    "token": "a signed calendar token (the provider id inside is signed)",
    "to": "a flow step from a fixed list",
    "tab": "which tab",
    "sort": "a column from a fixed list",
    "page": "a page number",
    "format": "csv or not",
    "download": "a flag",
    "all": "a flag",
    "action": "which form of the set-up page was sent",
    "codes": "procedure codes (text)",
    "count-": "count-<sheet id>: the view reads the home's own open sheets' keys only",
    "scan": "a scanned wristband (looked up in the organization's residents)",
}


def request_keys() -> set[str]:
    """Every key a view reads with request.GET/request.POST (`.get("x")` or `["x"]`)."""
    keys = set()
    root = Path(carebench.__file__).parent
    for path in root.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        keys |= set(KEY.findall(path.read_text()))
    return keys


def test_every_model_choice_field_is_tried():
    tried = {name for case in CASES for name in case.covers}
    missing = sorted(model_choice_fields() - tried)
    assert not missing, f"add a Case trying the other organization's row for: {missing}"


def test_every_request_key_is_listed():
    tried = {case.param for case in CASES}
    missing = sorted(request_keys() - tried - set(NOT_IDS))
    assert not missing, (
        f"these request keys are read by a view: add a Case for each id, or say in NOT_IDS "
        f"why it is not one: {missing}"
    )


# --- the requests --------------------------------------------------------------------------------


@pytest.fixture
def two_worlds(org, other_org, icd10):
    mine = worlds.world(org, worlds.NPIS[0])
    mine.everyone = worlds.everyone(org)
    theirs = worlds.world(other_org, worlds.NPIS[1])
    theirs.everyone = worlds.everyone(other_org)
    return mine, theirs


def _spec(case: Case) -> Any:
    return CHANGES.get(case.route) or READS.get(case.route)


def _request(case: Case, mine: SimpleNamespace, value: Callable[[], Any]) -> tuple[Any, Writes]:
    spec = _spec(case)
    before = case.before or (spec.before if spec is not None else None)
    if before is not None:
        before(mine)
    user = (case.user or (spec.user if spec is not None else None) or (lambda w: w.everyone))(mine)
    path = case.path or (getattr(spec, "path", None) if spec is not None else None)
    if path is not None:
        url = reverse(case.route, kwargs=path(mine))
    else:
        fill = worlds.ROUTES.get(case.route)
        fill = fill[0] if isinstance(fill, list) else fill
        url = reverse(case.route, kwargs=fill(mine) if fill else None)
    data = dict((case.body or _own_body(case.route))(mine))
    key = case.param
    if case.route == "meds:run_standing_order":
        key = f"so{worlds.part(mine, 'meds').protocol.pk}-product"
    if case.in_query:
        url += f"?{key}={value()}"
    else:
        data[key] = value()  # after the set-up, which may make the row
    client = signed_in(user)
    writes = Writes()
    with connection.execute_wrapper(writes):
        response = getattr(client, case.method)(url, data)
    return response, writes


def _value_of_theirs(case: Case, theirs: SimpleNamespace) -> Any:
    for name in case.theirs_part:
        THEIRS_PARTS[name](theirs)
    value = case.value(theirs)
    mark_rows(theirs.user.organization)
    return value


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_other_organizations_id_is_refused(two_worlds, case):
    mine, theirs = two_worlds
    value = _value_of_theirs(case, theirs)
    before = fingerprint(theirs.user.organization)
    response, writes = _request(case, mine, lambda: value)
    assert response.status_code < 500, (case.id, response.status_code)
    if case.method == "post":
        refused = response.status_code in (400, 403, 404, 409, 422) or not writes.tables
        assert refused, f"{case.id}: accepted another organization's id, wrote {writes.tables}"
    else:
        assert response.status_code in (200, 302, 400, 403, 404, 422), case.id
        assert not writes.tables, f"{case.id}: a read wrote {writes.tables}"
    assert fingerprint(theirs.user.organization) == before, f"{case.id}: their rows changed"
    if response.get("Content-Type", "").startswith("text/"):
        assert MARK not in response.content.decode(), f"{case.id}: shows the other's row"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_same_request_with_an_own_id_is_accepted(two_worlds, case):
    """The control: the refusal above is the id's doing, not a bad body."""
    mine, _ = two_worlds
    response, writes = _request(case, mine, lambda: case.value(mine))
    if case.method == "post":
        accepted = response.status_code < 400 and writes.tables
        assert accepted, (case.id, response.status_code, _errors(response))
    else:
        assert response.status_code == 200, (case.id, response.status_code, _errors(response))
