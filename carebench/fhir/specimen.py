"""Specimen: the tubes, cups and swabs of lab orders (read, search by patient).

One Specimen per labs.Specimen (one tube, with its accession barcode); the id is its id.

* accessionIdentifier: the accession number (v2-0203 ACSN).
* status: `available` once collected; `unsatisfactory` when the lab rejected it (FHIR's code for
  a specimen that cannot be used because of its quality; `condition` says why: v2-0493 HEM or
  CLOT where one fits, else text, and the note the reason given); no status while it is only a
  label waiting to be drawn; `entered-in-error` when its order was voided (such specimens are
  left out of searches).
* type: HL7 v2-0487 from the container: whole blood (BLD: lavender EDTA, blood culture), serum
  (SER: gold SST, red), plasma (PLAS: light-blue citrate, green heparin, grey fluoride), urine
  (UR), capillary blood (BLDC); a swab has text only (what was swabbed is not recorded).
* request: the ServiceRequests (ordered tests) it was drawn for; collection: collectedDateTime,
  bodySite (text, as entered), collector (only when a provider drew it: a Practitioner);
  receivedTime; processing (centrifuged, aliquoted); container (type as text, volume in mL);
  note: a re-collection says which specimen it replaces; the storage temperature.

Search: `patient` (or `subject`), `accession`, `status`. Reads and searches are audited; another
organization's specimens are 404; the `labs.view_specimen` permission is needed.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.labs import draw
from carebench.labs.models import LabOrderItem, Specimen

from . import datatypes as dt
from . import lab_common as lab
from . import schemas
from .auth import authorize
from .bundle import Paging, page_of, searchset
from .outcome import gone, not_found, resource_response
from .search import check_params

RESOURCE = "Specimen"
PROFILE = "http://hl7.org/fhir/StructureDefinition/Specimen"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {
    "patient": "reference",
    "subject": "reference",
    "accession": "token",
    "status": "token",
}
V2_0487 = "http://terminology.hl7.org/CodeSystem/v2-0487"
V2_0493 = "http://terminology.hl7.org/CodeSystem/v2-0493"
SPECIMEN_TYPES = {
    "lavender": ("BLD", "Whole blood"),
    "blood_culture": ("BLD", "Whole blood"),
    "gold_sst": ("SER", "Serum"),
    "red": ("SER", "Serum"),
    "light_blue": ("PLAS", "Plasma"),
    "green": ("PLAS", "Plasma"),
    "grey": ("PLAS", "Plasma"),
    "urine_cup": ("UR", "Urine"),
    "urine_first_catch": ("UR", "Urine"),
    "capillary": ("BLDC", "Blood capillary"),
}
CONDITIONS = {
    Specimen.Rejection.HEMOLYZED: ("HEM", "Hemolyzed"),
    Specimen.Rejection.CLOTTED: ("CLOT", "Clotted"),
}
NOT_COLLECTED = {Specimen.Status.PENDING, Specimen.Status.REJECTED}

router = Router(tags=[RESOURCE])


class SpecimenSearch(Schema):
    patient: str | None = Field(None, description="Patient/123 or 123")
    subject: str | None = Field(None, description="Patient/123 (instead of patient)")
    accession: list[str] = Field([], description="the accession number (barcode)")
    status: list[str] = Field([], description="available or unsatisfactory")


def status_of(specimen: Specimen) -> str | None:
    if specimen.order.voided_at is not None:
        return "entered-in-error"
    if specimen.status == Specimen.Status.REJECTED:
        return "unsatisfactory"
    if specimen.status == Specimen.Status.PENDING:
        return None
    return "available"


def _type(specimen: Specimen) -> dict[str, Any]:
    label = (
        draw.CONTAINERS[specimen.container].label if specimen.container in draw.CONTAINERS else ""
    )
    found = SPECIMEN_TYPES.get(specimen.container)
    if found is None:
        return {"text": label or specimen.container}
    code, display = found
    return dt.concept(V2_0487, code, display, display)


def _notes(specimen: Specimen) -> list[dict[str, str]]:
    notes = []
    if specimen.recollect_of is not None:
        notes.append({"text": f"Re-collection of {specimen.recollect_of.accession}"})
    if specimen.rejection_note:
        notes.append({"text": f"Rejected: {specimen.rejection_note}"})
    if specimen.storage_temperature:
        label = Specimen.Temperature(specimen.storage_temperature).label
        notes.append({"text": f"Stored {label[:1].lower()}{label[1:]}"})
    return notes


def to_fhir(specimen: Specimen) -> dict[str, Any]:
    """One specimen (fetched by `queryset`: order, collector, re-collected one and items loaded)."""
    collection: dict[str, Any] = {}
    if specimen.collected_at is not None:
        collection = dt.compact(
            {
                "collector": lab.practitioner(specimen.collected_by),
                "collectedDateTime": specimen.collected_at.isoformat(),
                "bodySite": {"text": specimen.collection_site}
                if specimen.collection_site
                else None,
            }
        )
    processing = [
        {"description": done}
        for done, on in (("Centrifuged", specimen.centrifuged), ("Aliquoted", specimen.aliquoted))
        if on
    ]
    condition = None
    if specimen.status == Specimen.Status.REJECTED and specimen.rejection_reason:
        label = Specimen.Rejection(specimen.rejection_reason).label
        coded = CONDITIONS.get(specimen.rejection_reason)  # type: ignore[call-overload]
        condition = [dt.concept(V2_0493, coded[0], coded[1], label) if coded else {"text": label}]
    container = dt.compact(
        {
            "type": {"text": draw.CONTAINERS[specimen.container].label}
            if specimen.container in draw.CONTAINERS
            else None,
            "specimenQuantity": {
                "value": float(specimen.volume_ml),
                "unit": "mL",
                "system": lab.UCUM,
                "code": "mL",
            }
            if specimen.volume_ml
            else None,
        }
    )
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(specimen.pk),
            "meta": lab.meta(specimen.updated_at),
            "accessionIdentifier": {
                "type": dt.concept(dt.V2_0203, "ACSN", "Accession ID"),
                "value": specimen.accession,
            },
            "status": status_of(specimen),
            "type": _type(specimen),
            "subject": dt.reference("Patient", specimen.patient_id),
            "receivedTime": specimen.received_at.isoformat() if specimen.received_at else None,
            "request": [dt.reference("ServiceRequest", item.pk) for item in specimen.items.all()],
            "collection": collection,
            "processing": processing,
            "container": [container] if container else None,
            "condition": condition,
            "note": _notes(specimen),
        }
    )


def queryset(actor: Actor) -> Any:
    return (
        Specimen.objects.for_org(actor.organization)
        .select_related("order", "patient", "recollect_of", "collected_by__provider")
        .prefetch_related(
            Prefetch("items", queryset=LabOrderItem.objects.only("pk").order_by("pk"))
        )
    )


@router.get("/Specimen/{specimen_id}", response=schemas.READ, summary="Read a Specimen")
def read_specimen(request: HttpRequest, specimen_id: str) -> HttpResponse:
    actor = authorize(request, lab.SPECIMEN_PERMISSION)
    row = dt.row_id(specimen_id)
    specimen = queryset(actor).filter(pk=row).first() if row is not None else None
    if specimen is None:
        raise not_found(RESOURCE, specimen_id)
    if specimen.patient.voided_at is not None:
        raise gone(RESOURCE, specimen_id)
    resource = to_fhir(specimen)
    lab.audit_read(
        actor,
        patient_id=specimen.patient_id,
        model="Specimen",
        pk=specimen.pk,
        fhir_id=f"{RESOURCE}/{specimen.pk}",
    )
    return resource_response(resource)


@router.get("/Specimen", response=schemas.SEARCH, summary="Search a patient's Specimens")
def search_specimens(
    request: HttpRequest, paging: Query[Paging], params: Query[SpecimenSearch]
) -> HttpResponse:
    actor = authorize(request, lab.SPECIMEN_PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    patient_id = lab.patient_id(params.patient, params.subject)
    qs = queryset(actor).filter(
        patient_id=patient_id, order__voided_at__isnull=True, patient__voided_at__isnull=True
    )
    for group in lab.tokens(params.accession):
        qs = qs.filter(accession__in=[t.code for t in group])
    for group in lab.tokens(params.status):
        wanted = {t.code for t in group}
        condition = Q(pk__in=[])
        if "available" in wanted:
            condition |= ~Q(status__in=NOT_COLLECTED)
        if "unsatisfactory" in wanted:
            condition |= Q(status=Specimen.Status.REJECTED)
        qs = qs.filter(condition)
    rows, total = page_of(
        qs.order_by("-order__ordered_at", "order_id", "draw_sequence", "pk"), paging
    )
    lab.audit_search(
        actor,
        patient_id=patient_id,
        model="Specimen",
        used=used,
        total=total,
        ids=[row.pk for row in rows],
    )
    return resource_response(searchset(request, RESOURCE, rows, total, paging, to_fhir, used))
