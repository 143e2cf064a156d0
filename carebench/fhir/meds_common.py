"""What the medication resources share (Immunization, MedicationAdministration,
MedicationRequest): code systems, the route, site and dose of a dose, why a dose was not given,
the people involved, the patient a search is about, status searches, and the audit.

Codes, as the CDC immunization guide uses them: routes NCI Thesaurus (`http://ncimeta.nci.nih.gov`,
HL7 table 0162 as CDC uses it), sites HL7 table 0163, doses UCUM where the unit is one we know,
products NDC (as stored: with its dashes) and vaccines CVX. A refusal is v3 ActReason PATOBJ
(patient objection) with CDC's own refusal code (NIP002) beside it; CDC's tables NIP001, NIP002
and the CDCPHINVS funding codes have no FHIR URI of their own in HL7's terminology, so the first
two travel under `urn:carebench:cdc:<table>` and CDCPHINVS under its PHIN VADS OID.

Reads and searches are audited on the meds model (`Administration`, `MedicationOrder`,
`ResidentOrder`, `DoseRecord`) with the FHIR id in the detail; another organization's rows are
404; a voided row reads as `entered-in-error` (clients follow references to it) and is left out of
searches unless the search asks for `status=entered-in-error`.

The eMAR (residents of assisted-living and group homes: `meds.ResidentOrder`, `meds.DoseRecord`)
shares MedicationRequest and MedicationAdministration with the clinic's orders and doses. Its ids
carry the prefix `emar-` (`MedicationRequest/emar-<ResidentOrder id>`,
`MedicationAdministration/emar-<DoseRecord id>`); a plain number is always a clinic row. A search
by patient returns both kinds in one Bundle, newest first (`merged_page`), each kind only when the
user holds its permission. Residents' drugs are free text (name, strength, form) with the
pharmacy card's NDC when known; their doses ("1 tablet", "5 mL") become a quantity when they
start with a number (`parse_dose`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F, IntegerField, Q, QuerySet, Value
from django.http import HttpRequest

from carebench.accounts.models import User
from carebench.core.actor import Actor
from carebench.core.models import Facility
from carebench.meds.emar_models import ORAL_ROUTES, ResidentOrder
from carebench.meds.models import REFUSAL_REASONS, ROUTES, SITES

from . import datatypes as dt
from . import lab_common
from .appointment import local_date_filter
from .auth import authorize
from .bundle import Paging

CVX = "http://hl7.org/fhir/sid/cvx"
NDC = "http://hl7.org/fhir/sid/ndc"
MVX = "http://hl7.org/fhir/sid/mvx"
NCIT = "http://ncimeta.nci.nih.gov"
UCUM = "http://unitsofmeasure.org"
V2_0163 = "http://terminology.hl7.org/CodeSystem/v2-0163"
V2_0064 = "http://terminology.hl7.org/CodeSystem/v2-0064"
V2_0443 = "http://terminology.hl7.org/CodeSystem/v2-0443"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CDC_NIP001 = "urn:carebench:cdc:NIP001"
CDC_NIP002 = "urn:carebench:cdc:NIP002"
CDCPHINVS = "urn:oid:2.16.840.1.114222.4.5.274"
ADMINISTRATION_PERMISSION = "meds.view_administration"
REACTION_PERMISSION = "meds.view_adversereaction"
ORDER_PERMISSION = "meds.view_medicationorder"
RESIDENT_ORDER_PERMISSION = "meds.view_residentorder"
DOSE_RECORD_PERMISSION = "meds.view_doserecord"
EMAR_PREFIX = "emar-"
ENTERED_IN_ERROR = "entered-in-error"
# Dose units as the clinic writes them -> UCUM (others are sent as `unit` alone).
UCUM_UNITS = {
    "mL": "mL",
    "ml": "mL",
    "L": "L",
    "mg": "mg",
    "g": "g",
    "mcg": "ug",
    "ug": "ug",
    "IU": "[iU]",
    "[iU]": "[iU]",
    "mEq": "meq",
    "meq": "meq",
}
# HL7 table 0163 codes (our SITES also hold NS and MO, which are not in 0163: text only).
V2_0163_SITES = {code for code in SITES if code not in ("NS", "MO")}


def number(value: Decimal) -> int | float:
    value = value.normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def dose_quantity(amount: Decimal | None, unit: str) -> dict[str, Any] | None:
    """A dose as a SimpleQuantity, in UCUM when the unit is one we know."""
    if amount is None:
        return None
    quantity: dict[str, Any] = {"value": number(amount)}
    if unit:
        quantity["unit"] = unit
        code = UCUM_UNITS.get(unit)
        if code:
            quantity.update(system=UCUM, code=code)
    return quantity


def route_concept(route: str) -> dict[str, Any] | None:
    if not route:
        return None
    name = ROUTES.get(route, route)
    return dt.concept(NCIT, route, name, name)


def site_concept(site: str) -> dict[str, Any] | None:
    if not site:
        return None
    name = SITES.get(site, site)
    if site in V2_0163_SITES:
        return dt.concept(V2_0163, site, name, name)
    return {"text": name}


def refusal_reason(code: str) -> dict[str, Any]:
    """Why a dose was not given: the patient (or parent) declined."""
    codings = [dt.coding(ACT_REASON, "PATOBJ", "patient objection")]
    if code in REFUSAL_REASONS:
        codings.append(dt.coding(CDC_NIP002, code, REFUSAL_REASONS[code]))
    return {"coding": codings, "text": REFUSAL_REASONS.get(code, "Refused")}


def person(user: Any) -> dict[str, str] | None:
    """A user as a Reference: their Practitioner when they are a provider (fetched with
    `select_related("<user>__provider")`), else their name as `display`."""
    if user is None:
        return None
    return lab_common.practitioner(user) or {"display": user.display_name}


def provider_reference(provider: Any) -> dict[str, str] | None:
    if provider is None:
        return None
    return {"reference": f"Practitioner/{provider.pk}", "display": provider.display_name}


def status_filter(values: Iterable[str], conditions: dict[str, Q]) -> tuple[Q, bool]:
    """`status` search values as a condition (comma-separated values: any of them; repeated
    parameters: all of them), and whether voided rows were asked for."""
    condition = Q()
    wants_voided = False
    for group in lab_common.tokens(values):
        match = Q(pk__in=[])
        for token in group:
            match |= conditions.get(token.code, Q(pk__in=[]))
            wants_voided = wants_voided or token.code == ENTERED_IN_ERROR
        condition &= match
    return condition, wants_voided


def voided_condition(wants_voided: bool) -> Q:
    """Leave voided rows out unless the search asked for entered-in-error."""
    return Q() if wants_voided else Q(voided_at__isnull=True)


# --- the eMAR (residents' orders and doses) -----------------------------------------------------

# eMAR routes with an NCI Thesaurus code in the clinic's table (the others travel as text).
EMAR_ROUTE_CODES = {"oral": "C38288", "nasal": "C38284"}
# A dose that starts with an amount: "1", "0.5", ".5", "1/2", "1 1/2"; then an optional unit word.
_DOSE = re.compile(
    r"^(?:(?P<whole>\d+)\s+(?=\d+/))?(?P<amount>\d+/\d+|\d*\.?\d+)"
    r"(?:\s*(?P<unit>[^\W\d_]+))?(?=[\s.,;:]|$)"
)


def emar_id(pk: int) -> str:
    """The logical id of an eMAR row: `emar-<id>`."""
    return f"{EMAR_PREFIX}{pk}"


def emar_row_id(text: str) -> int | None:
    """`emar-123` -> 123; None for anything else (a clinic id, or junk)."""
    if not text.startswith(EMAR_PREFIX):
        return None
    return dt.row_id(text[len(EMAR_PREFIX) :])


def parse_dose(text: str) -> dict[str, Any] | None:
    """A resident's dose as a SimpleQuantity: "1 tablet", "2 tablets", "5 mL", "0.5 mg",
    "1/2 tablet", "1 1/2 tablets" (the first word after the number is the unit; what follows
    stays in the text). None when it does not start with an amount and a word ("apply a thin
    layer", "1-2 tablets", "5 mg/kg")."""
    text = text.strip()
    match = _DOSE.match(text)
    if match is None or (not match["unit"] and text[match.end() :].strip()):
        return None  # "1-2 tablets", "5 mg/kg", "10 [iU]": not an amount and a unit
    whole, amount = Decimal(match["whole"] or 0), match["amount"]
    if "/" in amount:
        numerator, denominator = (Decimal(part) for part in amount.split("/"))
        if not denominator:
            return None
        value = (whole + numerator / denominator).quantize(Decimal("0.001"))
    else:
        value = Decimal(amount)
    if value <= 0:
        return None
    return dose_quantity(value.normalize(), match["unit"] or "")


def resident_route(route: str) -> dict[str, Any] | None:
    """An eMAR route (`oral`, `sublingual`...) as text, with its NCI Thesaurus code when the
    clinic's route table has one."""
    if not route:
        return None
    text = ORAL_ROUTES.get(route, route)
    code = EMAR_ROUTE_CODES.get(route)
    if code is None:
        return {"text": text}
    return dt.concept(NCIT, code, ROUTES[code], text)


def resident_medication(order: ResidentOrder) -> dict[str, Any]:
    """A resident's drug: the text is the name, strength and form; the NDC (from the pharmacy's
    card) when the order has one."""
    text = " ".join(part for part in (order.drug_name, order.strength, order.form) if part)
    if order.ndc:
        return dt.concept(NDC, order.ndc, text, text)
    return {"text": text}


def resident_dose_text(order: ResidentOrder) -> str:
    """'1 tablet by mouth'."""
    route = ORAL_ROUTES.get(order.route, order.route)
    return f"{order.dose} {route[:1].lower()}{route[1:]}".strip()


def organization_zones(actor: Actor) -> list[str]:
    """The time zones of the organization's facilities (homes and clinics)."""
    zones = set(
        Facility.objects.filter(organization=actor.organization).values_list("time_zone", flat=True)
    )
    return sorted(zones) or [settings.CAREBENCH_DEFAULT_TIME_ZONE]


def home_day_filter(actor: Actor, field: str, values: list[str], name: str, zone_field: str) -> Q:
    """`date` values (eq/ne/gt/lt/ge/le, partial dates) on a datetime field, the days taken in
    each row's home's time zone (`zone_field`: the path to its facility's `time_zone`)."""
    if not values:
        return Q()
    condition = Q(pk__in=[])
    for zone in organization_zones(actor):
        in_zone = Q(**{zone_field: zone})
        for value in values:
            in_zone &= local_date_filter(field, value, name, ZoneInfo(zone))
        condition |= in_zone
    return condition


def authorize_kinds(request: HttpRequest, permissions: Sequence[str]) -> tuple[Actor, list[bool]]:
    """A search over several kinds of rows (clinic and eMAR): the actor when the user holds at
    least one of the `permissions` (else 403 naming the first), and which ones they hold."""
    user: Any = getattr(request, "auth", None)
    held = [isinstance(user, User) and user.has_perm(p) for p in permissions]
    actor = authorize(request, permissions[held.index(True)] if any(held) else permissions[0])
    return actor, held


def merged_page(
    sources: Sequence[tuple[QuerySet[Any], str]], paging: Paging
) -> tuple[list[Any], list[int]]:
    """One page over several querysets (each with the datetime field it sorts by), merged
    newest first (ties: the first source first, then the newest row), and each one's count.

    The page's keys come from one UNION ALL query ordered by time; the rows are then fetched by
    id from each queryset (so their select_related/prefetch_related apply): a count per kind,
    one query for the page's keys and one fetch per kind on the page, whatever the offset."""
    counts = [qs.count() for qs, _ in sources]
    start, size = paging.start, paging.size
    if size == 0 or start >= sum(counts):
        return [], counts
    live = [(index, qs, when) for index, (qs, when) in enumerate(sources) if counts[index]]
    if len(live) == 1:
        _, qs, when = live[0]
        return list(qs.order_by(f"-{when}", "-pk")[start : start + size]), counts
    keys: Any = None
    for index, qs, when in live:
        part = (
            qs.order_by()
            .prefetch_related(None)
            .annotate(fhir_sort_at=F(when), fhir_source=Value(index, output_field=IntegerField()))
            .values_list("pk", "fhir_sort_at", "fhir_source")
        )
        keys = part if keys is None else keys.union(part, all=True)
    page = list(keys.order_by("-fhir_sort_at", "fhir_source", "-pk")[start : start + size])
    loaded: dict[int, dict[Any, Any]] = {}
    for index, qs, _ in live:
        wanted = [pk for pk, _, source in page if source == index]
        if wanted:
            loaded[index] = qs.in_bulk(wanted)
    return [loaded[source][pk] for pk, _, source in page], counts


patient_id = lab_common.patient_id
audit_read = lab_common.audit_read
audit_search = lab_common.audit_search
meta = lab_common.meta
tokens = lab_common.tokens
day_filter = lab_common.day_filter
