"""What the medication resources share (Immunization, MedicationAdministration,
MedicationRequest): code systems, the route, site and dose of a dose, why a dose was not given,
the people involved, the patient a search is about, status searches, and the audit.

Codes, as the CDC immunization guide uses them: routes NCI Thesaurus (`http://ncimeta.nci.nih.gov`,
HL7 table 0162 as CDC uses it), sites HL7 table 0163, doses UCUM where the unit is one we know,
products NDC (as stored: with its dashes) and vaccines CVX. A refusal is v3 ActReason PATOBJ
(patient objection) with CDC's own refusal code (NIP002) beside it; CDC's tables NIP001, NIP002
and the CDCPHINVS funding codes have no FHIR URI of their own in HL7's terminology, so the first
two travel under `urn:carebench:cdc:<table>` and CDCPHINVS under its PHIN VADS OID.

Reads and searches are audited on the meds model (`Administration`, `MedicationOrder`) with the
FHIR id in the detail; another organization's rows are 404; a voided row reads as
`entered-in-error` (clients follow references to it) and is left out of searches unless the
search asks for `status=entered-in-error`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Q

from carebench.meds.models import REFUSAL_REASONS, ROUTES, SITES

from . import datatypes as dt
from . import lab_common

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


patient_id = lab_common.patient_id
audit_read = lab_common.audit_read
audit_search = lab_common.audit_search
meta = lab_common.meta
tokens = lab_common.tokens
day_filter = lab_common.day_filter
