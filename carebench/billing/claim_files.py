"""Claims as the files that carry them: the 837P batch (through `x12.write837`) and the
CMS-1500 (02/12) PDF (through `cms1500`). Reads the Django rows, hands plain data to the pure
writers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from carebench.core.models import Organization
from carebench.patients.models import Coverage, Patient

from . import cms1500
from .models import BillingProfile, Claim, ClaimLine
from .x12 import write837 as w

RELATIONSHIP_CODES = {"spouse": "01", "child": "19", "other": "G8"}
FILING_TO_1500 = {"MB": "medicare", "MA": "medicare", "MC": "medicaid", "CH": "tricare"}
LETTERS = "ABCDEFGHIJKL"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


def _sex(value: str) -> str:
    return w.SEX_CODES.get(value, "U")


def _split_name(full: str) -> tuple[str, str]:
    """'Rivera, Jose' or 'Jose Rivera' -> ('Rivera', 'Jose')."""
    full = full.strip()
    if "," in full:
        last, first = full.split(",", 1)
        return last.strip(), first.strip()
    parts = full.split()
    if len(parts) >= 2:
        return parts[-1], " ".join(parts[:-1])
    return full, ""


def _subscriber(
    claim: Claim, patient: Patient, coverage: Coverage
) -> tuple[w.Subscriber, w.PatientInfo | None]:
    payer = claim.payer
    common = {
        "member_id": coverage.member_id,
        "payer_name": payer.name,
        "payer_id": payer.payer_code,
        "claim_filing_indicator": payer.filing_indicator or "CI",
        "group_number": coverage.group_number,
        "group_name": "" if coverage.group_number else coverage.plan_name[:60],
        "responsibility": {1: "P", 2: "S", 3: "T"}.get(coverage.priority, "P"),
    }
    if coverage.relationship == Coverage.Relationship.SELF:
        return (
            w.Subscriber(
                last_name=patient.family_name,
                first_name=patient.given_name,
                middle_name=patient.middle_name,
                suffix=patient.suffix,
                birth_date=patient.birth_date,
                sex=_sex(patient.sex),
                address_line1=patient.address_line1,
                address_line2=patient.address_line2,
                city=patient.city,
                state=patient.state,
                postal_code=patient.postal_code,
                relationship="18",
                **common,
            ),
            None,
        )
    last, first = _split_name(coverage.subscriber_name)
    subscriber = w.Subscriber(
        last_name=last,
        first_name=first,
        birth_date=coverage.subscriber_birth_date,
        sex="U",
        address_line1=patient.address_line1,
        address_line2=patient.address_line2,
        city=patient.city,
        state=patient.state,
        postal_code=patient.postal_code,
        relationship=RELATIONSHIP_CODES.get(coverage.relationship, "G8"),
        **common,
    )
    info = w.PatientInfo(
        last_name=patient.family_name,
        first_name=patient.given_name,
        middle_name=patient.middle_name,
        suffix=patient.suffix,
        birth_date=patient.birth_date,
        sex=_sex(patient.sex),
        address_line1=patient.address_line1,
        address_line2=patient.address_line2,
        city=patient.city,
        state=patient.state,
        postal_code=patient.postal_code,
    )
    return subscriber, info


def _line(claim: Claim, line: ClaimLine) -> w.ServiceLine:
    return w.ServiceLine(
        code=line.code,
        charge=line.charge,
        service_date=line.service_date,
        pointers=tuple(int(p) for p in line.pointers),
        units=line.units,
        modifiers=tuple(line.modifiers),
        line_id=f"{claim.number}-{line.number}",
        ndc=line.ndc,
        ndc_quantity=line.ndc_quantity,
        ndc_unit=line.ndc_unit or "UN",
    )


def batch_claim(claim: Claim, lines: Sequence[ClaimLine]) -> w.Claim:
    provider = claim.rendering_provider
    return w.Claim(
        claim_id=claim.number,
        diagnoses=tuple(claim.diagnosis_codes),
        lines=tuple(_line(claim, line) for line in lines),
        total_charge=claim.total_charge,
        place_of_service=claim.place_of_service,
        frequency=claim.frequency,
        prior_auth=claim.prior_auth_number,
        payer_claim_number=claim.payer_claim_number if claim.frequency in ("7", "8") else "",
        medical_record_number=claim.patient.mrn,
        patient_paid=claim.patient_paid if claim.patient_paid > 0 else None,
        rendering=w.RenderingProvider(
            npi=provider.npi, last_name=provider.family_name, first_name=provider.given_name
        ),
    )


def build_batch(
    organization: Organization,
    profile: BillingProfile,
    claims: Sequence[Claim],
    *,
    interchange_control: int,
    created_at: datetime,
) -> w.Batch837:
    """One 837P batch of the claims, grouped by subscriber (claims prefetched with lines)."""
    groups: dict[tuple[int, int], list[Claim]] = {}
    for claim in claims:
        groups.setdefault((claim.coverage_id, claim.patient_id), []).append(claim)
    subscribers: list[w.SubscriberGroup] = []
    for members in groups.values():
        first = members[0]
        subscriber, patient = _subscriber(first, first.patient, first.coverage)
        subscribers.append(
            w.SubscriberGroup(
                subscriber=subscriber,
                patient=patient,
                claims=tuple(
                    batch_claim(c, sorted(c.lines.all(), key=lambda x: x.number)) for c in members
                ),
            )
        )
    return w.Batch837(
        sender_id=profile.submitter_id,
        receiver_id=profile.receiver_id,
        interchange_control=interchange_control,
        group_control=interchange_control,
        created_at=created_at,
        submitter=w.Submitter(
            name=profile.submitter_name,
            id=profile.submitter_id,
            contact_name=profile.contact_name,
            phone=_digits(profile.contact_phone),
            email=profile.contact_email,
        ),
        receiver=w.Receiver(name=profile.receiver_name, id=profile.receiver_id),
        billing_provider=w.BillingProvider(
            name=profile.billing_name,
            npi=organization.npi,
            tax_id=_digits(organization.tax_id),
            address_line1=profile.address_line,
            city=profile.city,
            state=profile.state,
            postal_code=_digits(profile.postal_code),
            taxonomy=profile.taxonomy,
        ),
        subscribers=tuple(subscribers),
        usage=profile.usage,
    )


def _address(patient: Patient) -> cms1500.Address:
    return cms1500.Address(
        line1=patient.address_line1,
        line2=patient.address_line2,
        city=patient.city,
        state=patient.state,
        zip=patient.postal_code,
        phone=patient.phone_home or patient.phone_mobile,
    )


def cms1500_claim(claim: Claim, profile: BillingProfile, *, today: date) -> cms1500.Cms1500Claim:
    """The claim in the boxes of the CMS-1500 (02/12)."""
    patient = claim.patient
    coverage = claim.coverage
    provider = claim.rendering_provider
    organization = claim.organization
    facility = claim.facility
    lines = sorted(claim.lines.all(), key=lambda x: x.number)
    insured_birth: date | None
    if coverage.relationship == Coverage.Relationship.SELF:
        insured_last, insured_first = patient.family_name, patient.given_name
        insured_birth, insured_sex = patient.birth_date, _sex(patient.sex)
    else:
        insured_last, insured_first = _split_name(coverage.subscriber_name)
        insured_birth, insured_sex = coverage.subscriber_birth_date, ""
    billing = cms1500.Provider1500(
        name=profile.billing_name,
        line1=profile.address_line,
        line2="",
        city=profile.city,
        state=profile.state,
        zip=profile.postal_code,
        npi=organization.npi,
    )
    return cms1500.Cms1500Claim(
        insurance_type=FILING_TO_1500.get(claim.payer.filing_indicator, "group"),
        insured_id=coverage.member_id,
        patient_last=patient.family_name,
        patient_first=patient.given_name,
        patient_middle=patient.middle_name,
        patient_birth_date=patient.birth_date,
        patient_sex=_sex(patient.sex) if _sex(patient.sex) in ("M", "F") else "",
        insured_last=insured_last,
        insured_first=insured_first,
        patient_address=_address(patient),
        relationship=coverage.relationship,
        insured_address=_address(patient),
        insured_group=coverage.group_number,
        insured_birth_date=insured_birth,
        insured_sex=insured_sex if insured_sex in ("M", "F") else "",
        plan_name=coverage.plan_name,
        other_plan=False,
        condition_employment=False,
        condition_auto=False,
        condition_other=False,
        illness_date=None,
        referring_name="",
        referring_npi="",
        additional_info="",
        diagnoses=tuple(claim.diagnosis_codes),
        prior_auth=claim.prior_auth_number,
        lines=tuple(
            cms1500.Cms1500Line(
                date_from=line.service_date,
                date_to=line.service_date,
                place_of_service=claim.place_of_service,
                emergency=False,
                code=line.code,
                modifiers=tuple(line.modifiers),
                pointers="".join(LETTERS[int(p) - 1] for p in line.pointers),
                charge=line.charge,
                units=line.units,
                rendering_npi=provider.npi,
                ndc=line.ndc,
                ndc_quantity=(
                    f"{line.ndc_unit or 'UN'}{line.ndc_quantity.normalize():f}"
                    if line.ndc and line.ndc_quantity is not None
                    else ""
                ),
            )
            for line in lines
        ),
        federal_tax_id=organization.tax_id,
        tax_id_is_ein=True,
        patient_account=claim.number,
        accept_assignment=True,
        amount_paid=claim.patient_paid,
        physician_signature=f"{provider.given_name} {provider.family_name}"
        + (f", {provider.credentials}" if provider.credentials else ""),
        signature_date=today,
        facility=cms1500.Provider1500(
            name=facility.name,
            line1=facility.address_line or profile.address_line,
            line2="",
            city=facility.city or profile.city,
            state=facility.state,
            zip=facility.postal_code or profile.postal_code,
            npi=facility.npi or organization.npi,
        ),
        billing=billing,
        billing_phone=profile.phone or profile.contact_phone,
        payer_name=claim.payer.name,
        resubmission_code=claim.frequency if claim.frequency in ("7", "8") else "",
        original_ref=claim.payer_claim_number if claim.frequency in ("7", "8") else "",
    )


def claim_total(lines: Sequence[ClaimLine]) -> Decimal:
    return sum((line.charge for line in lines), Decimal("0.00"))
