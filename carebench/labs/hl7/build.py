"""Build an ORM^O01 (HL7 v2.5.1) general order message from plain data (pure; no Django).

One ORDER group per test sent to the reference lab:

    MSH  PID  PV1  { ORC(NW)  OBR  [NTE]  {DG1} }

ORC-2/OBR-2 carry our placer order number (the order's number, e.g. L000042) with our
application as the namespace; OBR-4 is the LOINC code with our local code as the alternate;
priority goes in ORC-7/OBR-27 (TQ component 6: S stat, R routine); the specimen type and the
tube go in OBR-15 (ORM^O01 has no SPM segment); the diagnoses (ICD-10-CM) are DG1 segments under
every OBR. Every text value is escaped (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from . import VERSION
from .escape import ENCODING_CHARACTERS, clean, dt, escape, ts

SEGMENT_END = "\r"
NOTE_MAX = 2000
SEX_CODES = {"female": "F", "male": "M", "other": "O", "unknown": "U"}


@dataclass(frozen=True)
class Endpoint:
    """MSH-3/4 or MSH-5/6: an application and its facility."""

    application: str
    facility: str = ""


@dataclass(frozen=True)
class PatientInfo:
    mrn: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str  # female, male, other, unknown (our values) or F/M/O/U
    middle_name: str = ""
    suffix: str = ""
    assigning_authority: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    phone: str = ""


@dataclass(frozen=True)
class ProviderInfo:
    npi: str
    family_name: str
    given_name: str = ""


@dataclass(frozen=True)
class TestInfo:
    code: str  # our local code (e.g. CBC)
    name: str
    loinc: str = ""
    specimen_type: str = ""
    container: str = ""


@dataclass(frozen=True)
class Diagnosis:
    code: str  # ICD-10-CM, e.g. E11.9
    description: str = ""


@dataclass(frozen=True)
class OrderMessage:
    control_id: str
    sent_at: datetime
    sender: Endpoint
    receiver: Endpoint
    patient: PatientInfo
    placer_number: str
    ordered_at: datetime
    provider: ProviderInfo
    tests: Sequence[TestInfo]
    diagnoses: Sequence[Diagnosis] = field(default_factory=tuple)
    stat: bool = False
    location: str = ""
    note: str = ""
    processing_id: str = "P"  # P production, T training, D debugging


ST_MAX = 199  # ST values (hl7apy enforces the 2.5.1 lengths)
IS_MAX = 20  # IS values: namespace ids (HD-1, EI-2), point of care (PL-1)


def components(*parts: str) -> str:
    """Escaped components joined by ^ (each cut to an ST's length), trailing empty ones dropped."""
    values = [escape(clean(p)[:ST_MAX]) for p in parts]
    while values and not values[-1]:
        values.pop()
    return "^".join(values)


def segment(name: str, *fields: str) -> str:
    values = list(fields)
    while values and not values[-1]:
        values.pop()
    return "|".join([name, *values])


def _msh(message: OrderMessage, message_type: str) -> str:
    return "|".join(
        [
            "MSH",
            ENCODING_CHARACTERS,
            components(message.sender.application[:IS_MAX]),
            components(message.sender.facility[:IS_MAX]),
            components(message.receiver.application[:IS_MAX]),
            components(message.receiver.facility[:IS_MAX]),
            ts(message.sent_at),
            "",
            message_type,
            escape(message.control_id),
            message.processing_id,
            VERSION,
        ]
    )


def _pid(patient: PatientInfo) -> str:
    sex = SEX_CODES.get(patient.sex, patient.sex if patient.sex in {"F", "M", "O", "U"} else "U")
    address = components(
        patient.address_line1,
        patient.address_line2,
        patient.city,
        patient.state,
        patient.postal_code,
    )
    return segment(
        "PID",
        "1",
        "",
        components(patient.mrn, "", "", patient.assigning_authority[:IS_MAX], "MR"),
        "",
        components(patient.family_name, patient.given_name, patient.middle_name, patient.suffix),
        "",
        dt(patient.birth_date),
        sex,
        "",
        "",
        address,
        "",
        components(patient.phone),
    )


def _xcn(provider: ProviderInfo) -> str:
    # XCN: id ^ family ^ given ^^^^^^ assigning authority (9) ^^^^ identifier type (13)
    return components(
        provider.npi,
        provider.family_name,
        provider.given_name,
        "",
        "",
        "",
        "",
        "",
        "NPI",
        "",
        "",
        "",
        "NPI",
    )


def _ei(number: str, namespace: str) -> str:
    return components(number, namespace)


def _service(test: TestInfo) -> str:
    if test.loinc:
        return components(test.loinc, test.name, "LN", test.code, test.name, "L")
    return components(test.code, test.name, "L")


def _timing(stat: bool) -> str:
    return "^^^^^" + ("S" if stat else "R")


def build_orm(message: OrderMessage) -> str:
    """The ORM^O01 text, segments ended by carriage returns."""
    if not message.tests:
        raise ValueError("an order message needs at least one test")
    placer = _ei(message.placer_number, message.sender.application[:IS_MAX])
    provider = _xcn(message.provider)
    lines = [
        _msh(message, "ORM^O01^ORM_O01"),
        _pid(message.patient),
        segment("PV1", "1", "O", components(message.location[:IS_MAX])),
    ]
    for index, test in enumerate(message.tests, start=1):
        lines.append(
            segment(
                "ORC",
                "NW",
                placer,
                "",
                "",
                "",
                "",
                _timing(message.stat),
                "",
                ts(message.ordered_at),
                "",
                "",
                provider,
            )
        )
        specimen = ""
        if test.specimen_type or test.container:
            # SPS: specimen source (CWE: text only) ^ additives (CWE: the tube)
            specimen = (
                "&" + escape(test.specimen_type[:ST_MAX]) + "^&" + escape(test.container[:ST_MAX])
            )
            specimen = specimen.rstrip("^&")
        lines.append(
            segment(
                "OBR",
                str(index),
                placer,
                "",
                _service(test),
                "",
                "",
                ts(message.ordered_at),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                specimen,
                provider,
                *([""] * 10),
                _timing(message.stat),
            )
        )
        if message.note:
            lines.append(segment("NTE", "1", "P", escape(message.note[:NOTE_MAX])))
        for number, diagnosis in enumerate(message.diagnoses, start=1):
            lines.append(
                segment(
                    "DG1",
                    str(number),
                    "",
                    components(diagnosis.code, diagnosis.description, "I10"),
                    "",
                    "",
                    "W",
                )
            )
    return SEGMENT_END.join(lines) + SEGMENT_END
