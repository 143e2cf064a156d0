"""Lab results over FHIR: Observation (category laboratory) and DiagnosticReport (category LAB).

Ids are prefixed so they never collide with the vital-sign Observations and the EKG reports,
whose ids are plain row ids (the same way EKG Observations are `ekg-<id>-<part>`):

* Observation `lab-<id>`: one per labs.LabResult (one analyte). US Core lab profile: category
  `laboratory`, code LOINC (or the sending lab's own code under
  `urn:carebench:lab-code:<system>` when it sent no LOINC), `valueQuantity` (with `comparator`)
  in UCUM when the unit is one we know to be valid UCUM (the map below; the unit as written is
  always the `unit`, and other units are sent without a `code`), else `valueString`;
  `referenceRange` low/high/text; `interpretation` v3-ObservationInterpretation N, L, H, LL,
  HH, A or AA; status preliminary, final or corrected (a result the lab corrected after it was
  final); effectiveDateTime the time observed; `specimen`; `basedOn` the ServiceRequest of the
  ordered test; `performer` the provider who ran a point-of-care test and the performing lab.
  A result replaced by a correction (or voided) still reads, as `entered-in-error`, and is
  left out of searches.
* DiagnosticReport `lab-<order id>`: one per lab order that has results. Category v2-0074 LAB;
  code the test's LOINC (and catalog code) when the order has one test, else the text
  "Laboratory report"; status from the order and its results: `preliminary` (only preliminary
  results so far), `partial` (some final, others to come), `final` (every test has a final
  result), `corrected` (final, with a corrected result), `cancelled`, `entered-in-error` (a
  voided order); `result` the Observations; `basedOn` the ServiceRequests; `specimen` the
  specimens the results came from; effectiveDateTime the first result's time; issued the last
  result's arrival; `resultsInterpreter` the provider who last reviewed the results, and
  `conclusion` their comment. Results not matched to an order have no report.

Searches (`patient` or `subject`, `_count` and paging as everywhere):
`GET /Observation?patient=..&category=laboratory` with `code` (LOINC or the lab's code),
`date` (day observed) and `status`; `GET /DiagnosticReport?patient=..&category=LAB` with
`code` (one of its tests' LOINC or catalog codes), `date` (day of its first result) and `status`.
A DiagnosticReport search without a category finds EKG and lab reports (EKGs first).
Reads and searches are audited (LabResult, LabOrder); another organization's rows are 404; the
`labs.view_labresult` permission is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Exists, Min, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Router

from carebench.core.actor import Actor
from carebench.labs.models import LabOrder, LabOrderItem, LabResult, ResultReview

from . import datatypes as dt
from . import lab_common as lab
from . import schemas
from .auth import authorize
from .bundle import Paging, base_url, page_of, searchset
from .outcome import gone, not_found, resource_response
from .search import check_params

CATEGORY = "laboratory"
REPORT_CATEGORY = "LAB"
REPORT_PROFILE = dt.US_CORE + "us-core-diagnosticreport-lab"
LOCAL_RESULT_SYSTEM = "urn:carebench:lab-code:"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
FLAGS = {
    "N": "Normal",
    "L": "Low",
    "H": "High",
    "LL": "Critical low",
    "HH": "Critical high",
    "A": "Abnormal",
    "AA": "Critical abnormal",
}
STATUS = {
    LabResult.Status.PRELIMINARY: "preliminary",
    LabResult.Status.FINAL: "final",
    LabResult.Status.CORRECTED: "corrected",
}
FINAL = [LabResult.Status.FINAL, LabResult.Status.CORRECTED]
# Units as labs write them -> the UCUM code (case matters in UCUM; IU and mEq need rewriting).
UCUM_UNITS = {
    "%": "%",
    "mg/dL": "mg/dL",
    "g/dL": "g/dL",
    "g/L": "g/L",
    "mg/L": "mg/L",
    "ug/dL": "ug/dL",
    "ug/mL": "ug/mL",
    "ng/mL": "ng/mL",
    "ng/dL": "ng/dL",
    "pg/mL": "pg/mL",
    "mmol/L": "mmol/L",
    "umol/L": "umol/L",
    "mEq/L": "meq/L",
    "meq/L": "meq/L",
    "U/L": "U/L",
    "IU/L": "[IU]/L",
    "mIU/L": "m[IU]/L",
    "mIU/mL": "m[IU]/mL",
    "uIU/mL": "u[IU]/mL",
    "10*3/uL": "10*3/uL",
    "10*6/uL": "10*6/uL",
    "K/uL": "10*3/uL",
    "x10E3/uL": "10*3/uL",
    "M/uL": "10*6/uL",
    "x10E6/uL": "10*6/uL",
    "fL": "fL",
    "pg": "pg",
    "s": "s",
    "sec": "s",
    "mm/h": "mm/h",
    "mm/hr": "mm/h",
    "mL/min/1.73m2": "mL/min/{1.73_m2}",
    "mL/min/{1.73_m2}": "mL/min/{1.73_m2}",
    "mg/g": "mg/g",
    "mosm/kg": "mosm/kg",
    "mOsm/kg": "mosm/kg",
    "{ratio}": "{ratio}",
    "{INR}": "{INR}",
    "INR": "{INR}",
}

router = Router(tags=["Laboratory (Observation, DiagnosticReport)"])


# --- LabResult -> Observation -------------------------------------------------------------------


def observation_id(result_id: int) -> str:
    return f"lab-{result_id}"


def report_id(order_id: int) -> str:
    return f"lab-{order_id}"


def _number(value: Decimal) -> int | float:
    value = value.normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def _quantity(value: Decimal, unit: str, comparator: str = "") -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": _number(value)}
    if comparator:
        quantity["comparator"] = comparator
    if unit:
        quantity["unit"] = unit
        code = UCUM_UNITS.get(unit)
        if code:
            quantity.update(system=lab.UCUM, code=code)
    return quantity


def _result_code(result: LabResult) -> dict[str, Any]:
    if result.code_system.upper() in ("LN", "LOINC"):
        system = lab.LOINC
    else:
        system = LOCAL_RESULT_SYSTEM + (result.code_system or "local")
    return {"coding": [dt.coding(system, result.code, result.name)], "text": result.name}


def _reference_range(result: LabResult) -> list[dict[str, Any]]:
    found = dt.compact(
        {
            "low": _quantity(result.reference_low, result.unit)
            if result.reference_low is not None
            else None,
            "high": _quantity(result.reference_high, result.unit)
            if result.reference_high is not None
            else None,
            "text": result.reference_text,
        }
    )
    return [found] if found else []


def _performers(result: LabResult) -> list[dict[str, str]]:
    performers = []
    who = lab.practitioner(result.performed_by)
    if who is not None:
        performers.append(who)
    if result.performing_lab:
        performers.append({"display": result.performing_lab})
    return performers


def _notes(result: LabResult) -> list[dict[str, str]]:
    notes = dt.notes(result.note)
    if result.value_numeric is not None and result.value_text:
        notes.append({"text": result.value_text})
    if result.voided_at is not None:
        try:
            replacement = result.replaced_by  # type: ignore[attr-defined]
        except ObjectDoesNotExist:
            replacement = None
        if replacement is not None:
            notes.append({"text": f"Replaced by Observation/{observation_id(replacement.pk)}"})
        elif result.void_reason:
            notes.append({"text": f"Voided: {result.void_reason}"})
    return notes


def observation(result: LabResult) -> dict[str, Any]:
    """One lab result (fetched by `result_queryset`)."""
    status = "entered-in-error" if result.voided_at is not None else STATUS[result.status]  # type: ignore[index]
    value: dict[str, Any] = {}
    if result.value_numeric is not None:
        value["valueQuantity"] = _quantity(result.value_numeric, result.unit, result.comparator)
    else:
        value["valueString"] = result.value_text
    order = result.order
    return dt.compact(
        {
            "resourceType": "Observation",
            "id": observation_id(result.pk),
            "meta": lab.meta(result.updated_at, lab.US_CORE_LAB),
            "status": status,
            "category": [dt.concept(lab.OBS_CATEGORY, CATEGORY, "Laboratory")],
            "code": _result_code(result),
            "subject": dt.reference("Patient", result.patient_id),
            "encounter": dt.reference("Encounter", order.encounter_id)
            if order is not None and order.encounter_id
            else None,
            "basedOn": [dt.reference("ServiceRequest", result.order_item_id)]
            if result.order_item_id
            else None,
            "effectiveDateTime": result.observed_at.isoformat(),
            "issued": result.created_at.isoformat(),
            "performer": _performers(result),
            **value,
            "interpretation": [dt.concept(INTERPRETATION, result.flag, FLAGS.get(result.flag, ""))]
            if result.flag in FLAGS
            else None,
            "note": _notes(result),
            "specimen": dt.reference("Specimen", result.specimen_id)
            if result.specimen_id
            else None,
            "device": {"display": result.device.name} if result.device_id else None,  # type: ignore[union-attr]
            "referenceRange": _reference_range(result),
        }
    )


def result_queryset(actor: Actor) -> QuerySet[LabResult]:
    return LabResult.objects.for_org(actor.organization).select_related(  # type: ignore[no-any-return]
        "order", "performed_by__provider", "device"
    )


def search_observations(
    request: HttpRequest,
    paging: Paging,
    *,
    allowed: dict[str, str],
    patient: str | None,
    subject: str | None,
    code: list[str],
    date: list[str],
    status: list[str],
) -> HttpResponse:
    """`GET /Observation?patient=..&category=laboratory` (called by the Observation search)."""
    actor = authorize(request, lab.RESULT_PERMISSION)
    used = check_params(request, allowed)
    patient_id = lab.patient_id(patient, subject)
    qs = result_queryset(actor).filter(
        patient_id=patient_id, voided_at__isnull=True, patient__voided_at__isnull=True
    )
    for group in lab.tokens(code):
        match = Q(pk__in=[])
        for token in group:
            if token.system is None:
                match |= Q(code=token.code)
            elif token.system == lab.LOINC:
                loinc = Q(code_system__iexact="LN") | Q(code_system__iexact="LOINC")
                match |= Q(code=token.code) & loinc
            elif token.system.startswith(LOCAL_RESULT_SYSTEM):
                system = token.system.removeprefix(LOCAL_RESULT_SYSTEM)
                match |= Q(code=token.code, code_system=system)
        qs = qs.filter(match)
    for group in lab.tokens(status):
        wanted = {t.code for t in group}
        qs = qs.filter(status__in=[ours for ours, fhir in STATUS.items() if fhir in wanted])
    qs = qs.filter(lab.day_filter(actor, "observed_at", date))
    rows, total = page_of(qs.order_by("-observed_at", "order_id", "sequence", "pk"), paging)
    lab.audit_search(
        actor,
        patient_id=patient_id,
        model="LabResult",
        used=used,
        total=total,
        ids=[row.pk for row in rows],
    )
    return resource_response(
        searchset(request, "Observation", rows, total, paging, observation, used)
    )


# --- LabOrder -> DiagnosticReport ---------------------------------------------------------------


def _current_results() -> QuerySet[LabResult]:
    return (
        LabResult.objects.filter(voided_at__isnull=True)
        .select_related("performed_by__provider", "device")
        .order_by("sequence", "pk")
    )


def report_queryset(actor: Actor) -> QuerySet[LabOrder]:
    """Orders with at least one current result, with what their report shows prefetched."""
    current = LabResult.objects.filter(order=OuterRef("pk"), voided_at__isnull=True)
    return (  # type: ignore[no-any-return]
        LabOrder.objects.for_org(actor.organization)
        .filter(Exists(current))
        .select_related("patient")
        .prefetch_related(
            Prefetch("items", queryset=LabOrderItem.objects.order_by("pk")),
            Prefetch("results", queryset=_current_results(), to_attr="current_results"),
            Prefetch(
                "reviews",
                queryset=ResultReview.objects.select_related("reviewed_by__provider").order_by(
                    "-reviewed_at", "-pk"
                ),
            ),
        )
    )


def report_status(order: LabOrder, results: Sequence[LabResult]) -> str:
    if order.voided_at is not None:
        return "entered-in-error"
    if order.status == LabOrder.Status.CANCELLED:
        return "cancelled"
    if order.status == LabOrder.Status.COMPLETED:
        corrected = any(r.status == LabResult.Status.CORRECTED for r in results)
        return "corrected" if corrected else "final"
    if any(r.status in FINAL for r in results):
        return "partial"
    return "preliminary"


def report(order: LabOrder) -> dict[str, Any]:
    """One order's report (fetched by `report_queryset`)."""
    results: list[LabResult] = order.current_results  # type: ignore[attr-defined]
    items = list(order.items.all())
    reviews = list(order.reviews.all())
    review = reviews[0] if reviews else None
    code = (
        lab.test_code(items[0].loinc, items[0].code, items[0].name)
        if len(items) == 1
        else {"text": "Laboratory report"}
    )
    updated = max(
        [order.updated_at, *(r.updated_at for r in results), *(v.created_at for v in reviews)]
    )
    labs = sorted({r.performing_lab for r in results if r.performing_lab})
    specimens = sorted({r.specimen_id for r in results if r.specimen_id})
    identifiers = []
    if order.filler_number:
        identifiers.append(
            {
                "type": dt.concept(dt.V2_0203, "FILL", "Filler Identifier"),
                "value": order.filler_number,
            }
        )
    interpreter = lab.practitioner(review.reviewed_by) if review is not None else None
    return dt.compact(
        {
            "resourceType": "DiagnosticReport",
            "id": report_id(order.pk),
            "meta": lab.meta(updated, REPORT_PROFILE),
            "identifier": identifiers,
            "basedOn": [dt.reference("ServiceRequest", item.pk) for item in items],
            "status": report_status(order, results),
            "category": [dt.concept(lab.V2_0074, REPORT_CATEGORY, "Laboratory")],
            "code": code,
            "subject": dt.reference("Patient", order.patient_id),
            "encounter": dt.reference("Encounter", order.encounter_id)
            if order.encounter_id
            else None,
            "effectiveDateTime": min(r.observed_at for r in results).isoformat()
            if results
            else None,
            "issued": max(r.created_at for r in results).isoformat() if results else None,
            "performer": [{"display": name} for name in labs],
            "resultsInterpreter": [interpreter] if interpreter else None,
            "specimen": [dt.reference("Specimen", pk) for pk in specimens],
            "result": [
                {"reference": f"Observation/{observation_id(r.pk)}", "display": r.name}
                for r in results
            ],
            "conclusion": review.comment if review is not None else None,
        }
    )


def report_observations(order: LabOrder) -> list[dict[str, Any]]:
    """The Observations of a report (for `_include=DiagnosticReport:result`)."""
    return [observation(r) for r in order.current_results]  # type: ignore[attr-defined]


def report_search(actor: Actor, patient_id: int, params: Any) -> QuerySet[LabOrder]:
    """A patient's lab reports (not voided), narrowed by `code`, `status` and `date`."""
    qs = report_queryset(actor).filter(
        patient_id=patient_id, voided_at__isnull=True, patient__voided_at__isnull=True
    )
    if params.code:
        items = LabOrderItem.objects.filter(order=OuterRef("pk"))
        for value in params.code:
            qs = qs.filter(Exists(items.filter(lab.code_filter([value], "loinc", "code"))))
    final = LabResult.objects.filter(order=OuterRef("pk"), voided_at__isnull=True)
    for group in lab.tokens(params.status):
        wanted = {t.code for t in group}
        condition = Q(pk__in=[])
        completed = Q(status=LabOrder.Status.COMPLETED)
        active = Q(status=LabOrder.Status.ACTIVE)
        corrected = Q(Exists(final.filter(status=LabResult.Status.CORRECTED)))
        some_final = Q(Exists(final.filter(status__in=FINAL)))
        if "final" in wanted:
            condition |= completed & ~corrected
        if "corrected" in wanted:
            condition |= completed & corrected
        if "partial" in wanted:
            condition |= active & some_final
        if "preliminary" in wanted:
            condition |= active & ~some_final
        qs = qs.filter(condition)
    if params.date:
        qs = qs.annotate(
            first_result=Min("results__observed_at", filter=Q(results__voided_at__isnull=True))
        ).filter(lab.day_filter(actor, "first_result", params.date))
    return qs.order_by("-ordered_at", "-pk")


# --- views --------------------------------------------------------------------------------------


@router.get(
    "/Observation/lab-{int:result_id}",
    response=schemas.READ,
    summary="Read a lab result Observation",
)
def read_lab_observation(request: HttpRequest, result_id: int) -> HttpResponse:
    actor = authorize(request, lab.RESULT_PERMISSION)
    shown = observation_id(result_id)
    result = (
        result_queryset(actor).select_related("patient", "replaced_by").filter(pk=result_id).first()
    )
    if result is None:
        raise not_found("Observation", shown)
    if result.patient.voided_at is not None:
        raise gone("Observation", shown)
    resource = observation(result)
    lab.audit_read(
        actor,
        patient_id=result.patient_id,
        model="LabResult",
        pk=result.pk,
        fhir_id=f"Observation/{shown}",
    )
    return resource_response(resource)


@router.get(
    "/DiagnosticReport/lab-{int:order_id}",
    response=schemas.READ,
    summary="Read a lab report (DiagnosticReport)",
)
def read_lab_report(request: HttpRequest, order_id: int) -> HttpResponse:
    actor = authorize(request, lab.RESULT_PERMISSION)
    shown = report_id(order_id)
    order = report_queryset(actor).filter(pk=order_id).first()
    if order is None:
        raise not_found("DiagnosticReport", shown)
    if order.patient.voided_at is not None:
        raise gone("DiagnosticReport", shown)
    resource = report(order)
    lab.audit_read(
        actor,
        patient_id=order.patient_id,
        model="LabOrder",
        pk=order.pk,
        fhir_id=f"DiagnosticReport/{shown}",
    )
    return resource_response(resource)


def concat_page(querysets: Sequence[QuerySet[Any]], paging: Paging) -> tuple[list[Any], list[int]]:
    """One page over several querysets shown one after another, and each one's count."""
    counts = [qs.count() for qs in querysets]
    rows: list[Any] = []
    start, size = paging.start, paging.size
    for qs, count in zip(querysets, counts, strict=True):
        if size and len(rows) < size and start < count:
            rows.extend(qs[start : start + size - len(rows)])
        start = max(start - count, 0)
    return rows, counts


def include_entries(request: HttpRequest, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    base = base_url(request)
    return [
        {
            "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
            "resource": resource,
            "search": {"mode": "include"},
        }
        for resource in resources
    ]
