"""Procedure: procedures done in the procedure room (read, search by patient), as US Core
Procedure. One per `encounters.Procedure` (id = the row's id).

* status: `preparation` (planned, room and tray set up, time-out done), `in-progress`,
  `completed`, `stopped` (abandoned after it started) or `not-done` (abandoned before), with the
  reason as statusReason text; `entered-in-error` for a voided row (left out of searches).
* code: the template's billing codes (CPT when they start with a digit, else HCPCS) and the
  procedure's name as text.
* subject, encounter, recorder (who planned it), performer (the performing Practitioner; the
  assistants by name, function text "Assistant"), performedPeriod (start: when it started,
  end: when completed), bodySite (text: the site and side), outcome (text), complication
  (text, unless "none"), note.

Search: `patient` (or `subject`; required), `date` (the day it started, or was planned),
`status`; newest first. `encounters.view_procedure` is needed; reads and searches are audited on
Procedure; another organization's are 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.encounters.procedure_models import Procedure

from . import datatypes as dt
from . import lab_common as lab
from . import meds_common as meds
from . import schemas
from .auth import authorize
from .bundle import Paging, page_of, searchset
from .outcome import gone, not_found, resource_response
from .search import check_params

RESOURCE = "Procedure"
PROFILE = dt.US_CORE + "us-core-procedure"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {
    "patient": "reference",
    "subject": "reference",
    "date": "date",
    "status": "token",
}
PERMISSION = "encounters.view_procedure"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
S = Procedure.Status
PREPARATION = (S.PLANNED, S.PREPARED, S.TIMED_OUT)
STATUS_CONDITIONS = {
    "preparation": Q(status__in=PREPARATION, voided_at__isnull=True),
    "in-progress": Q(status=S.IN_PROGRESS, voided_at__isnull=True),
    "completed": Q(status=S.COMPLETED, voided_at__isnull=True),
    "stopped": Q(status=S.ABANDONED, started_at__isnull=False, voided_at__isnull=True),
    "not-done": Q(status=S.ABANDONED, started_at__isnull=True, voided_at__isnull=True),
    meds.ENTERED_IN_ERROR: Q(voided_at__isnull=False),
}

router = Router(tags=[RESOURCE])


class ProcedureSearch(Schema):
    patient: str | None = Field(None, description="Patient/123 or 123")
    subject: str | None = Field(None, description="Patient/123 (instead of patient)")
    date: list[str] = Field([], description="day started (or planned), with eq/ne/gt/lt/ge/le")
    status: list[str] = Field(
        [], description="preparation, in-progress, completed, stopped, not-done, entered-in-error"
    )


def status_of(procedure: Procedure) -> str:
    if procedure.voided_at is not None:
        return meds.ENTERED_IN_ERROR
    if procedure.status in PREPARATION:
        return "preparation"
    if procedure.status == S.IN_PROGRESS:
        return "in-progress"
    if procedure.status == S.COMPLETED:
        return "completed"
    return "stopped" if procedure.started_at is not None else "not-done"


def _code(procedure: Procedure) -> dict[str, Any]:
    codings = []
    for item in procedure.template.codes or []:
        code = str(item.get("code", "")).strip().upper() if isinstance(item, dict) else ""
        if code:
            system = CPT if code[:1].isdigit() else HCPCS
            codings.append(dt.coding(system, code, str(item.get("label", ""))))
    return dt.compact({"coding": codings, "text": procedure.name})


def _performers(procedure: Procedure) -> list[dict[str, Any]]:
    performers = []
    provider = procedure.performed_by
    if provider is not None:
        performers.append(
            {
                "actor": {
                    "reference": f"Practitioner/{provider.pk}",
                    "display": provider.display_name,
                }
            }
        )
    for user in procedure.assistants.all():
        person = meds.person(user)
        if person:
            performers.append({"function": {"text": "Assistant"}, "actor": person})
    return performers


def _complication(procedure: Procedure) -> list[dict[str, str]]:
    text = procedure.complications.strip()
    if not text or text.lower() in ("none", "no", "no complications"):
        return []
    return [{"text": text}]


def _outcome(procedure: Procedure) -> dict[str, str] | None:
    if procedure.voided_at is not None or procedure.status != S.COMPLETED:
        return None
    return {"text": "Completed with complications" if _complication(procedure) else "Completed"}


def _notes(procedure: Procedure) -> list[dict[str, str]]:
    notes = dt.notes(procedure.note)
    if procedure.anaesthetic_name:
        lot = f", lot {procedure.anaesthetic_lot}" if procedure.anaesthetic_lot else ""
        amount = f" {procedure.anaesthetic_amount}" if procedure.anaesthetic_amount else ""
        notes.append({"text": f"Anaesthetic: {procedure.anaesthetic_name}{amount}{lot}"})
    if procedure.tray_label:
        load = f" (load {procedure.tray_load})" if procedure.tray_load else ""
        notes.append({"text": f"Tray: {procedure.tray_label}{load}"})
    if procedure.voided_at is not None and procedure.void_reason:
        notes.append({"text": f"Entered in error: {procedure.void_reason}"})
    return notes


def to_fhir(procedure: Procedure) -> dict[str, Any]:
    """One procedure (fetched by `queryset`)."""
    side = "" if procedure.side == Procedure.Side.NOT_APPLICABLE else procedure.get_side_display()
    site = f"{procedure.site} ({side.lower()})" if side else procedure.site
    period = dt.compact(
        {
            "start": procedure.started_at.isoformat() if procedure.started_at else None,
            "end": procedure.completed_at.isoformat() if procedure.completed_at else None,
        }
    )
    reason = procedure.abandon_reason if procedure.status == S.ABANDONED else ""
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(procedure.pk),
            "meta": lab.meta(procedure.updated_at, PROFILE),
            "status": status_of(procedure),
            "statusReason": {"text": reason} if reason else None,
            "code": _code(procedure),
            "subject": dt.reference("Patient", procedure.patient_id),
            "encounter": dt.reference("Encounter", procedure.encounter_id),
            "performedPeriod": period,
            "recorder": meds.person(procedure.created_by),
            "performer": _performers(procedure),
            "bodySite": [{"text": site}] if site else None,
            "outcome": _outcome(procedure),
            "complication": _complication(procedure),
            "note": _notes(procedure),
        }
    )


def queryset(actor: Actor) -> QuerySet[Procedure]:
    return (  # type: ignore[no-any-return]
        Procedure.objects.for_org(actor.organization)
        .select_related("patient", "template", "performed_by", "created_by__provider")
        .prefetch_related("assistants__provider")
    )


@router.get("/Procedure/{procedure_id}", response=schemas.READ, summary="Read a Procedure")
def read_procedure(request: HttpRequest, procedure_id: str) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    row = dt.row_id(procedure_id)
    procedure = queryset(actor).filter(pk=row).first() if row is not None else None
    if procedure is None:
        raise not_found(RESOURCE, procedure_id)
    if procedure.patient.voided_at is not None:
        raise gone(RESOURCE, procedure_id)
    resource = to_fhir(procedure)
    lab.audit_read(
        actor,
        patient_id=procedure.patient_id,
        model="Procedure",
        pk=procedure.pk,
        fhir_id=f"{RESOURCE}/{procedure.pk}",
    )
    return resource_response(resource)


@router.get("/Procedure", response=schemas.SEARCH, summary="Search a patient's Procedures")
def search_procedures(
    request: HttpRequest, paging: Query[Paging], params: Query[ProcedureSearch]
) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    patient_id = lab.patient_id(params.patient, params.subject)
    status, wants_voided = meds.status_filter(params.status, STATUS_CONDITIONS)
    qs = (
        queryset(actor)
        .filter(patient_id=patient_id, patient__voided_at__isnull=True)
        .filter(meds.voided_condition(wants_voided))
        .filter(status)
        .annotate(fhir_when=Coalesce("started_at", "created_at"))
        .filter(lab.day_filter(actor, "fhir_when", params.date, "date"))
    )
    rows, total = page_of(qs.order_by("-fhir_when", "-pk"), paging)
    lab.audit_search(
        actor,
        patient_id=patient_id,
        model="Procedure",
        used=used,
        total=total,
        ids=[row.pk for row in rows],
    )
    return resource_response(searchset(request, RESOURCE, rows, total, paging, to_fhir, used))
