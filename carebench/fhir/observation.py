"""Observation: vital signs (read, search by patient, create), as the US Core vital-signs
profiles.

Each stored vital (encounters.Observation: LOINC code, canonical UCUM unit) is one Observation.
Blood pressure is one row and one Observation, the 85354-9 panel (us-core-blood-pressure) with
components 8480-6 (systolic) and 8462-4 (diastolic) in mm[Hg] and no value of its own; pulse
oximetry carries both 59408-5 and 2708-6. Values are `valueQuantity` in UCUM
(http://unitsofmeasure.org); the abnormal flags are `interpretation` (v3-ObservationInterpretation
N, L, H, LL, HH), with the reason (e.g. "expected 60-100 for age") as its text.

Create takes one vital per Observation and records it with `encounters.services.record_vitals`,
so the same rules as the vitals screen apply: impossible values are 422s naming
`Observation.valueQuantity` (or the component), critical values raise the provider alert.
`category` must be vital-signs; a blood pressure needs both components (a US Core rule the
R4B model does not check). Units: the canonical UCUM ones, and [degF], [lb_av] and [in_i],
which are converted. BMI (39156-5) is calculated from height and weight, so it cannot be posted.
A pulse oximetry may carry the inhaled oxygen flow as a 3151-8 component (L/min).

Search: `patient` (or `subject`) is required; `category`, `code` (LOINC, `system|code` or
`code`; 8480-6 and 8462-4 find blood pressures, 2708-6 pulse oximetry), `date` (the day taken,
in the organization's time zone) and `status` (vital signs are final). Reads and searches are
audited; voided rows are 410 Gone and never in searches; another organization's are 404.

`category=procedure` finds EKG measurements instead (ekg.py) and `category=laboratory` lab
results (lab.py); their Observations have prefixed ids (`ekg-...`, `lab-...`), so a plain number
is always a vital sign.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.observation import Observation as FhirObservation
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.encounters import services
from carebench.encounters import vitals as rules
from carebench.encounters.models import Encounter, Observation

from . import datatypes as dt
from . import entries, lab, lab_common, schemas
from .appointment import local_date_filter, parse_instant, zone_of
from .auth import authorize
from .body import read_resource, request_body_schema
from .bundle import Paging
from .outcome import unprocessable
from .search import parse_token

RESOURCE = "Observation"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
VITAL_SIGNS = "vital-signs"
PROFILE = dt.US_CORE + "us-core-vital-signs"
PULSE_OX_LOINC = "2708-6"
PROFILES = {
    rules.BP_PANEL_LOINC: "us-core-blood-pressure",
    "8867-4": "us-core-heart-rate",
    "9279-1": "us-core-respiratory-rate",
    "8310-5": "us-core-body-temperature",
    "59408-5": "us-core-pulse-oximetry",
    "8302-2": "us-core-body-height",
    "29463-7": "us-core-body-weight",
    "39156-5": "us-core-bmi",
    "9843-4": "us-core-head-circumference",
}
SUPPORTED_PROFILES = [
    PROFILE,
    *(dt.US_CORE + name for name in PROFILES.values()),
    dt.US_CORE + "us-core-observation-lab",  # lab results (lab.py)
]
INTERACTIONS = ["read", "search-type", "create"]
SEARCH_PARAMS = {
    "patient": "reference",
    "subject": "reference",
    "category": "token",
    "code": "token",
    "date": "date",
    "status": "token",
}

FLAGS = {
    rules.Flag.NORMAL: ("N", "Normal"),
    rules.Flag.LOW: ("L", "Low"),
    rules.Flag.HIGH: ("H", "High"),
    rules.Flag.CRITICAL_LOW: ("LL", "Critical low"),
    rules.Flag.CRITICAL_HIGH: ("HH", "Critical high"),
}
BY_LOINC = {kind.loinc: kind for kind in rules.KINDS.values()}
# Codes that find (and, on create, name) a stored code.
SEARCH_ALIASES = {
    "8480-6": rules.BP_PANEL_LOINC,
    "8462-4": rules.BP_PANEL_LOINC,
    "55284-4": rules.BP_PANEL_LOINC,
    PULSE_OX_LOINC: "59408-5",
}
# UCUM code -> (VitalsEntry unit value, or None for the canonical unit) per vital.
UNITS: dict[str, dict[str, str | None]] = {
    "systolic": {"mm[Hg]": None},
    "diastolic": {"mm[Hg]": None},
    "heart_rate": {"/min": None, "{beats}/min": None},
    "respiratory_rate": {"/min": None, "{breaths}/min": None},
    "temperature": {"Cel": "C", "[degF]": "F"},
    "spo2": {"%": None},
    "o2_flow": {"L/min": None},
    "height": {"cm": "cm", "[in_i]": "in"},
    "weight": {"kg": "kg", "[lb_av]": "lb"},
    "head_circumference": {"cm": "cm", "[in_i]": "in"},
    "pain": {"{score}": None, "1": None},
}
UNIT_FIELDS = {
    "temperature": "temperature_unit",
    "height": "height_unit",
    "weight": "weight_unit",
    "head_circumference": "head_circumference_unit",
}

router = Router(tags=[RESOURCE])


class ObservationSearch(Schema):
    patient: str | None = Field(None, description="Patient/123 or 123 (patient or subject)")
    subject: str | None = Field(None, description="Patient/123 (instead of patient)")
    category: list[str] = Field(
        [], description="vital-signs, laboratory or procedure (system|code or code)"
    )
    code: list[str] = Field([], description="LOINC: system|code or code (comma-separated: any)")
    date: list[str] = Field([], description="day taken, with eq/ne/gt/lt/ge/le")
    status: list[str] = Field([], description="final (vital signs); preliminary, final, corrected")


# --- model -> FHIR ------------------------------------------------------------------------------


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _quantity(value: Decimal, kind: rules.VitalKind) -> dict[str, Any]:
    return {"value": _number(value), "unit": kind.unit_label, "system": UCUM, "code": kind.unit}


def _interpretation(flag: str, note: str) -> list[dict[str, Any]]:
    code, display = FLAGS.get(flag, FLAGS[rules.Flag.NORMAL])  # type: ignore[call-overload]
    return [dt.compact({"coding": [dt.coding(INTERPRETATION, code, display)], "text": note})]


def _component(kind: rules.VitalKind, value: Decimal, flag: str, note: str) -> dict[str, Any]:
    return {
        "code": dt.concept(LOINC, kind.loinc, kind.label, kind.label),
        "valueQuantity": _quantity(value, kind),
        "interpretation": _interpretation(flag or "normal", note),
    }


def to_fhir(obs: Observation) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": RESOURCE,
        "id": str(obs.pk),
        "meta": dt.meta(dt.US_CORE + PROFILES.get(obs.code, "us-core-vital-signs"), obs.updated_at),
        "status": "final",
        "category": [dt.concept(CATEGORY_SYSTEM, VITAL_SIGNS, "Vital Signs")],
        "subject": dt.reference("Patient", obs.patient_id),
        "encounter": dt.reference("Encounter", obs.encounter_id) if obs.encounter_id else None,
        "effectiveDateTime": obs.effective_at.isoformat(),
        "issued": obs.created_at.isoformat(),
    }
    if obs.code == rules.BP_PANEL_LOINC:
        resource["code"] = dt.concept(
            LOINC, obs.code, "Blood pressure panel with all children optional", "Blood pressure"
        )
        resource["component"] = [
            _component(rules.KINDS["systolic"], obs.value, obs.flag, obs.note),
            _component(rules.KINDS["diastolic"], obs.value2 or Decimal(0), obs.flag2, ""),
        ]
    else:
        kind = BY_LOINC.get(obs.code)
        if kind is None:  # a code this module does not know: keep it readable
            kind = rules.VitalKind(
                obs.name, obs.name, obs.code, obs.unit, obs.unit, Decimal(0), Decimal(0)
            )
        codings = [dt.coding(LOINC, obs.code, kind.label)]
        if obs.code == "59408-5":
            codings.append(dt.coding(LOINC, PULSE_OX_LOINC, "Oxygen saturation in Arterial blood"))
        resource["code"] = {"coding": codings, "text": kind.label}
        resource["valueQuantity"] = _quantity(obs.value, kind)
        resource["interpretation"] = _interpretation(obs.flag, obs.note)
    return dt.compact(resource)


KIND = entries.EntryKind(resource_type=RESOURCE, model=Observation, to_fhir=to_fhir, field_paths={})


# --- views --------------------------------------------------------------------------------------


@router.get(
    "/Observation/{observation_id}",
    response=schemas.READ,
    summary="Read an Observation (vital sign)",
)
def read_observation(request: HttpRequest, observation_id: str) -> HttpResponse:
    actor = authorize(request, "encounters.view_observation")
    return entries.read(request, actor, KIND, observation_id)


@router.get(
    "/Observation", response=schemas.SEARCH, summary="Search a patient's Observations (vital signs)"
)
def search_observations(
    request: HttpRequest, paging: Query[Paging], params: Query[ObservationSearch]
) -> HttpResponse:
    categories = {t.code for value in params.category for t in map(parse_token, value.split(","))}
    if lab.CATEGORY in categories and not categories & {VITAL_SIGNS, "procedure"}:
        return lab.search_observations(
            request,
            paging,
            allowed=SEARCH_PARAMS,
            patient=params.patient,
            subject=params.subject,
            code=params.code,
            date=params.date,
            status=params.status,
        )
    patient = f"Patient/{lab_common.patient_id(params.patient, params.subject)}"
    if "procedure" in categories and VITAL_SIGNS not in categories:
        from .ekg import search_measurements  # EKG measurements live with the EKG module
        from .search import check_params

        used = check_params(request, SEARCH_PARAMS)
        return search_measurements(request, paging, patient, used)
    actor = authorize(request, "encounters.view_observation")
    condition = Q()
    for value in params.category:
        wanted = [
            t.code
            for t in map(parse_token, value.split(","))
            if t.system in (None, CATEGORY_SYSTEM)
        ]
        condition &= Q(category__in=wanted)
    for value in params.code:
        wanted = [
            SEARCH_ALIASES.get(t.code, t.code)
            for t in map(parse_token, value.split(","))
            if t.system in (None, LOINC)
        ]
        condition &= Q(code__in=wanted)
    for value in params.status:  # vital signs are final
        if "final" not in {t.code for t in map(parse_token, value.split(","))}:
            condition &= Q(pk__in=[])
    if params.date:
        zone = zone_of(actor.organization)
        for value in params.date:
            condition &= local_date_filter("effective_at", value, "date", zone)
    return entries.search(
        request,
        actor,
        KIND,
        paging,
        patient=patient,
        allowed=SEARCH_PARAMS,
        condition=condition,
    )


@router.post(
    "/Observation",
    response=schemas.CREATE,
    summary="Record a vital sign",
    openapi_extra=request_body_schema(RESOURCE),
)
def create_observation(request: HttpRequest) -> HttpResponse:
    actor = authorize(request, "encounters.add_vitalsigns")
    data = read_resource(request, FhirObservation, RESOURCE)
    patient = entries.patient_for(actor, data.get("subject"), f"{RESOURCE}.subject")
    code, entry, paths = entry_from_fhir(data)
    encounter = _encounter(actor, data.get("encounter"))
    taken_at = None
    if data.get("effectiveDateTime"):
        taken_at = parse_instant(data["effectiveDateTime"], f"{RESOURCE}.effectiveDateTime")
    kind = entries.EntryKind(
        resource_type=RESOURCE,
        model=Observation,
        to_fhir=to_fhir,
        field_paths={
            **paths,
            "taken_at": "effectiveDateTime",
            "encounter": "encounter",
            "__all__": "code",
        },
    )
    with entries.business_rules(kind):
        vital_set = services.record_vitals(
            actor=actor, patient=patient, entry=entry, encounter=encounter, taken_at=taken_at
        )
    row = Observation.objects.get(vital_signs=vital_set, code=code)
    return entries.created(request, KIND, row)


# --- FHIR -> VitalsEntry ------------------------------------------------------------------------


def _encounter(actor: Actor, value: dict[str, Any] | None) -> Encounter | None:
    if not value:
        return None
    ref = value.get("reference", "")
    kind, _, ident = ref.rpartition("/")
    row = dt.row_id(ident)
    found = None
    if kind.rsplit("/", 1)[-1] == "Encounter" and row is not None:
        found = Encounter.objects.for_org(actor.organization).filter(pk=row).first()
    if found is None:
        raise unprocessable(
            f"encounter: '{ref}' is not a known Encounter", expression=f"{RESOURCE}.encounter"
        )
    return found


def entry_from_fhir(data: dict[str, Any]) -> tuple[str, rules.VitalsEntry, dict[str, str]]:
    """(the stored LOINC code, the entry, service field -> FHIR element) for one vital."""
    if data.get("status") not in ("final", "amended", "corrected", "preliminary"):
        raise unprocessable(
            f"status: a new vital sign is final (or preliminary), not '{data.get('status')}'",
            expression=f"{RESOURCE}.status",
        )
    categories = [
        c for concept in data.get("category", []) for c in dt.codes(concept, CATEGORY_SYSTEM)
    ]
    if VITAL_SIGNS not in categories:
        raise unprocessable(
            "category: vital-signs (observation-category) is required; only "
            "vital signs are recorded here",
            expression=f"{RESOURCE}.category",
        )
    loinc = [SEARCH_ALIASES.get(c, c) for c in dt.codes(data.get("code"), LOINC)]
    code = next((c for c in loinc if c == rules.BP_PANEL_LOINC or c in BY_LOINC), "")
    if code == rules.KINDS["o2_flow"].loinc:
        raise unprocessable(
            "code: record the inhaled oxygen flow as a component (3151-8) of "
            "a pulse oximetry (59408-5)",
            expression=f"{RESOURCE}.code",
        )
    if code == rules.KINDS["bmi"].loinc:
        raise unprocessable(
            "code: BMI is calculated from height and weight; record those",
            expression=f"{RESOURCE}.code",
        )
    if not code:
        known = ", ".join(
            [
                rules.BP_PANEL_LOINC,
                *(
                    k.loinc
                    for k in rules.KINDS.values()
                    if k.code not in ("systolic", "diastolic", "bmi")
                ),
            ]
        )
        raise unprocessable(
            f"code: a LOINC vital-sign code is required ({known})", expression=f"{RESOURCE}.code"
        )
    components = data.get("component", [])
    values: dict[str, Any] = {}
    paths: dict[str, str] = {}
    if code == rules.BP_PANEL_LOINC:
        for name in ("systolic", "diastolic"):
            index = _component_index(components, rules.KINDS[name].loinc)
            if index is None:
                raise unprocessable(
                    "component: a blood pressure needs both a systolic (8480-6) and a "
                    "diastolic (8462-4) component, each with a valueQuantity",
                    expression=f"{RESOURCE}.component",
                )
            element = f"component[{index}].valueQuantity"
            values.update(_reading(name, components[index].get("valueQuantity"), element))
            paths[name] = element
    else:
        kind = BY_LOINC[code]
        element = "valueQuantity"
        values.update(_reading(kind.code, data.get("valueQuantity"), element))
        paths[kind.code] = element
        paths[UNIT_FIELDS.get(kind.code, kind.code)] = element
        paths["height_inches"] = element
        if kind.code == "spo2":
            index = _component_index(components, rules.KINDS["o2_flow"].loinc)
            if index is not None:
                flow_element = f"component[{index}].valueQuantity"
                values.update(
                    _reading("o2_flow", components[index].get("valueQuantity"), flow_element)
                )
                paths["o2_flow"] = flow_element
    if "pain" in values and values["pain"] == values["pain"].to_integral_value():
        values["pain"] = int(values["pain"])
    return code, rules.VitalsEntry(**values), paths


def _component_index(components: list[dict[str, Any]], loinc: str) -> int | None:
    for index, component in enumerate(components):
        if loinc in dt.codes(component.get("code"), LOINC):
            return index
    return None


def _reading(name: str, quantity: dict[str, Any] | None, element: str) -> dict[str, Any]:
    """VitalsEntry fields for one valueQuantity, its unit checked (422 naming `element`)."""
    kind = rules.KINDS[name]
    expression = f"{RESOURCE}.{element}"
    if not quantity or quantity.get("value") is None:
        raise unprocessable(f"{element}: {kind.label.lower()} needs a value", expression=expression)
    accepted = UNITS[name]
    system = quantity.get("system")
    unit = quantity.get("code") or quantity.get("unit") or ""
    if name == "pain" and not unit:
        unit = "{score}"
    if (system not in (None, UCUM)) or unit not in accepted:
        raise unprocessable(
            f"{element}: the unit of {kind.label.lower()} must be UCUM "
            f"{' or '.join(accepted)}, not '{unit}'",
            expression=f"{expression}.code",
        )
    try:
        value = Decimal(str(quantity["value"]))
    except InvalidOperation:
        raise unprocessable(
            f"{element}: '{quantity['value']}' is not a number", expression=expression
        ) from None
    fields: dict[str, Any] = {name: value}
    if accepted[unit] is not None and name in UNIT_FIELDS:
        fields[UNIT_FIELDS[name]] = accepted[unit]
    return fields
