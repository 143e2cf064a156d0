"""What the billing resources share (Claim, ClaimResponse, ExplanationOfBenefit): code systems,
money, procedure and diagnosis codings, adjudications built from 835 amounts and adjustments,
the patient a search is about, and the audit.

Codes: ICD-10-CM `http://hl7.org/fhir/sid/icd-10-cm` (stored without the dot, sent with it:
E119 -> E11.9), CPT `http://www.ama-assn.org/go/cpt` for codes that start with a digit (99213,
0001F) and HCPCS Level II `https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets` for those
that start with a letter (J1030); modifiers likewise (two digits CPT, else HCPCS). Amounts are
adjudication categories of HL7's `adjudication` code system (submitted, eligible = allowed,
benefit = paid); the patient's share is CARIN's `memberliability`. An 835 adjustment (CAS) is an
adjudication whose reason is the CARC (`https://x12.org/codes/claim-adjustment-reason-codes`) and
whose category is the X12 group code (CO, PR, OA, PI, CR); the group codes have no FHIR URI, so
they travel as `urn:carebench:x12:claim-adjustment-group` with the text "Adjustment: ...".

A line is *denied* when nothing was paid on it and none of it was left to the patient (no PR
adjustment): a deductible is not a denial. CLP02 `4` is a denied claim.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.billing.models import Claim
from carebench.core.actor import Actor
from carebench.core.models import Organization
from carebench.terminology.models import Icd10CmCode
from carebench.terminology.selectors import normalize_icd10

from . import datatypes as dt
from . import lab_common
from .search import parse_reference_id

CLAIM_PERMISSION = "billing.view_claim"
PAYMENT_PERMISSION = "billing.view_claimpayment"

CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PROCESS_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
DIAGNOSIS_TYPE = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
C4BB_ADJUDICATION = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
PLACE_OF_SERVICE = (
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
)
CARC = "https://x12.org/codes/claim-adjustment-reason-codes"
ADJUSTMENT_GROUP = "urn:carebench:x12:claim-adjustment-group"
CLAIM_NUMBER_PREFIX = "urn:carebench:claim:"
CURRENCY = "USD"

ADJUSTMENT_GROUPS = {
    "CO": "Contractual Obligations",
    "CR": "Corrections and Reversals",
    "OA": "Other Adjustments",
    "PI": "Payor Initiated Reductions",
    "PR": "Patient Responsibility",
}
# CLP02, the claim status code of an 835, as ClaimResponse.disposition.
CLAIM_STATUS_CODES = {
    "1": "Processed as primary",
    "2": "Processed as secondary",
    "3": "Processed as tertiary",
    "4": "Denied",
    "19": "Processed as primary, forwarded to additional payer(s)",
    "20": "Processed as secondary, forwarded to additional payer(s)",
    "21": "Processed as tertiary, forwarded to additional payer(s)",
    "22": "Reversal of previous payment",
    "23": "Not our claim, forwarded to additional payer(s)",
    "25": "Predetermination pricing only, no payment",
}
DENIED = "4"
ADJUDICATION_NAMES = {
    "submitted": "Submitted Amount",
    "eligible": "Eligible Amount",
    "benefit": "Benefit Amount",
}
ZERO = Decimal("0.00")


# --- codes and amounts --------------------------------------------------------------------------


def claim_number_system(organization: Organization) -> str:
    """The identifier system of one organization's claim numbers (CLM01)."""
    return CLAIM_NUMBER_PREFIX + organization.slug


def claim_status(claim: Claim) -> str:
    """A voided claim is `cancelled`; every other status (draft to appealed) is `active`."""
    return "cancelled" if claim.status == Claim.Status.VOID else "active"


def claim_type() -> dict[str, Any]:
    return dt.concept(CLAIM_TYPE, "professional", "Professional")


def amount(value: Decimal | str | int | float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def money(value: Decimal | str | int | float) -> dict[str, Any]:
    quantized = amount(value)
    number: int | float = (
        int(quantized) if quantized == quantized.to_integral_value() else float(quantized)
    )
    return {"value": number, "currency": CURRENCY}


def quantity(units: Decimal) -> dict[str, Any]:
    value = units.normalize()
    return {"value": int(value) if value == value.to_integral_value() else float(value)}


def procedure_system(code: str) -> str:
    """CPT for codes that start with a digit (category II/III codes too), else HCPCS Level II."""
    return CPT if code[:1].isdigit() else HCPCS


def product(code: str, description: str = "") -> dict[str, Any]:
    value = dt.concept(procedure_system(code), code)
    if description:
        value["text"] = description
    return value


def modifier(code: str) -> dict[str, Any]:
    return dt.concept(CPT if code.isdigit() else HCPCS, code)


def place_of_service(code: str) -> dict[str, Any] | None:
    return dt.concept(PLACE_OF_SERVICE, code) if code else None


def icd_names(codes: Iterable[str]) -> dict[str, str]:
    """ICD-10-CM descriptions by code with its dot (one query), for the codes we know."""
    wanted = {normalize_icd10(code) for code in codes}
    if not wanted:
        return {}
    return dict(Icd10CmCode.objects.filter(code__in=wanted).values_list("code", "description"))


def diagnoses(claim: Claim, names: dict[str, str]) -> list[dict[str, Any]]:
    """The claim's diagnoses in order (the lines' pointers are their sequences), principal
    first; the code with its dot."""
    found = []
    for sequence, stored in enumerate(claim.diagnosis_codes, start=1):
        code = normalize_icd10(stored)
        entry: dict[str, Any] = {
            "sequence": sequence,
            "diagnosisCodeableConcept": dt.concept(dt.ICD10CM, code, names.get(code, "")),
        }
        if sequence == 1:
            entry["type"] = [dt.concept(DIAGNOSIS_TYPE, "principal", "Principal Diagnosis")]
        found.append(entry)
    return found


def insurer(name: str, payer_code: str = "") -> dict[str, Any]:
    """The payer by name (we keep no Organization for it), with its X12 payer ID."""
    return dt.compact(
        {"display": name, "identifier": {"value": payer_code} if payer_code else None}
    )


def insurance(claim: Claim, *, sequence: bool = True) -> list[dict[str, Any]]:
    """The claim's coverage, focal (ExplanationOfBenefit's insurance has no sequence)."""
    return [
        dt.compact(
            {
                "sequence": 1 if sequence else None,
                "focal": True,
                "coverage": dt.reference("Coverage", claim.coverage_id),
                "preAuthRef": [claim.prior_auth_number] if claim.prior_auth_number else None,
            }
        )
    ]


def billable_period(claim: Claim) -> dict[str, str]:
    day = claim.service_date.isoformat()
    return {"start": day, "end": day}


def adjudication(category: str, value: Decimal) -> dict[str, Any]:
    return {
        "category": dt.concept(ADJUDICATION, category, ADJUDICATION_NAMES[category]),
        "amount": money(value),
    }


def member_liability(value: Decimal) -> dict[str, Any]:
    return {
        "category": dt.concept(C4BB_ADJUDICATION, "memberliability", "Member liability"),
        "amount": money(value),
    }


def adjustment(group: str, reason: str, value: Decimal) -> dict[str, Any]:
    """One CAS adjustment: category the group code, reason the CARC."""
    name = ADJUSTMENT_GROUPS.get(group, group)
    return {
        "category": dt.concept(ADJUSTMENT_GROUP, group, name, f"Adjustment: {name}"),
        "reason": dt.concept(CARC, reason),
        "amount": money(value),
    }


def summed_adjustments(lists: Iterable[list[dict[str, Any]]]) -> dict[tuple[str, str], Decimal]:
    """CAS adjustments (`[{group, reason, amount}]`, from one or more 835s) summed by group and
    reason, in the order first seen; those that sum to nothing are left out."""
    totals: dict[tuple[str, str], Decimal] = {}
    for adjustments in lists:
        for item in adjustments:
            key = (str(item.get("group", "")), str(item.get("reason", "")))
            totals[key] = totals.get(key, ZERO) + amount(item.get("amount") or 0)
    return {key: value for key, value in totals.items() if value}


def adjustment_list(totals: dict[tuple[str, str], Decimal]) -> list[dict[str, Any]]:
    return [adjustment(group, reason, value) for (group, reason), value in totals.items()]


def amounts(
    submitted: Decimal, allowed: Decimal | None, paid: Decimal, adjustments: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A line's adjudication: submitted, eligible (when the payer sent the allowed amount),
    benefit (paid), then each adjustment."""
    found = [adjudication("submitted", submitted)]
    if allowed is not None:
        found.append(adjudication("eligible", allowed))
    found.append(adjudication("benefit", paid))
    return found + adjustments


def is_denied(paid: Decimal, totals: dict[tuple[str, str], Decimal]) -> bool:
    """Nothing paid and nothing left to the patient."""
    return not paid and not any(group == "PR" for group, _ in totals)


def disposition(status_code: str) -> str:
    return CLAIM_STATUS_CODES.get(status_code, f"Claim status {status_code}")


def payment(paid: Decimal, day: Any, trace_number: str) -> dict[str, Any]:
    return dt.compact(
        {
            "type": dt.concept(PAYMENT_TYPE, "complete", "Complete"),
            "date": day.isoformat() if day else None,
            "amount": money(paid),
            "identifier": {"value": trace_number} if trace_number else None,
        }
    )


def meta(updated: datetime) -> dict[str, Any]:
    return lab_common.meta(updated)


# --- searches and the audit ---------------------------------------------------------------------


def patient_id(value: str | None) -> int | None:
    return parse_reference_id(value, "Patient", "patient") if value else None


def audit_read(actor: Actor, *, patient_id: int, model: str, pk: int, fhir_id: str) -> None:
    lab_common.audit_read(actor, patient_id=patient_id, model=model, pk=pk, fhir_id=fhir_id)


def audit_search(
    actor: Actor,
    *,
    patient_id: int | None,
    model: str,
    used: list[tuple[str, str]],
    total: int,
    ids: list[int],
    fhir: str,
) -> None:
    """One search, audited on the billing model; `fhir` names the resource type searched."""
    audit.record_for_actor(
        actor,
        action=Action.SEARCH,
        patient_id=patient_id,
        resource_type=model,
        detail={"fhir": fhir, "params": used, "total": total, "ids": ids},
    )
