"""The encounter form (superbill) rules: what was documented at a visit turned into service
lines, with the codes, units and modifiers a billing specialist would put on them.

Pure: `build_lines(items, em_code=...)` takes plain `Documented` items (the selectors gather
them from labs, EKG and injections) and returns `SuggestedLine`s in claim order. The rules:

- the provider's E/M level first; modifier 25 on it when a separately billable procedure
  (an injection, a vaccine administration, an ECG) was done the same visit;
- venipuncture 36415 once a visit, however many tubes were drawn from the one stick;
- an ECG as the recording says it is billed: 93000 (tracing, interpretation and report),
  93005 (tracing only, when an outside reader bills 93010) or 93040 (rhythm strip);
- vaccines: the product code for each (units 1) and the administration codes, 90471 for the
  first and 90472 for each further one (units = the count); to Medicare Part B, flu,
  pneumococcal and hepatitis B vaccines are administered with G0008, G0009 and G0010 instead;
  a dose from VFC or state stock is not billed for the product (charge 0, modifier SL) but its
  administration is;
- therapeutic injections: 96372 per injection, plus the drug's HCPCS code in its billing
  units (the product's units per dose, in proportion to the amount given) with its NDC and the
  amount given;
- point-of-care tests: the test's CPT code once per test ordered; CLIA-waived tests whose code
  is not on CMS's exempt list carry modifier QW;
- procedures done in the room (completed): the template's first usual code (the coder picks
  another when, say, the laceration was longer); like an injection, they make the E/M line
  carry modifier 25.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

VENIPUNCTURE = "36415"
VACCINE_ADMIN_FIRST = "90471"
VACCINE_ADMIN_EACH_MORE = "90472"
INJECTION = "96372"
ECG_CODES = ("93000", "93005", "93040")
EM_NEW = ("99202", "99203", "99204", "99205")
EM_ESTABLISHED = ("99211", "99212", "99213", "99214", "99215")
EM_CODES = EM_NEW + EM_ESTABLISHED
# Waived tests that need QW on Medicare claims; those CMS exempts (81002, 81025, 82962...) do not.
QW_CODES = frozenset(
    {"83036", "87880", "87804", "87807", "86308", "82044", "85018", "87426", "87811", "82274"}
)
# Medicare Part B pays the administration of these vaccines with its own G codes, one per
# dose, instead of 90471/90472: influenza G0008, pneumococcal G0009, hepatitis B G0010.
MEDICARE_ADMIN = {
    **dict.fromkeys(
        (
            "90630 90653 90654 90655 90656 90657 90658 90660 90661 90662 90672 90673 90674 "
            "90682 90685 90686 90687 90688 90689 90694 90756"
        ).split(),
        "G0008",
    ),
    **dict.fromkeys("90670 90671 90677 90732".split(), "G0009"),
    **dict.fromkeys("90739 90740 90743 90744 90746 90747".split(), "G0010"),
}
MEDICARE_ADMIN_LABELS = {
    "G0008": "Influenza vaccine administration (Medicare)",
    "G0009": "Pneumococcal vaccine administration (Medicare)",
    "G0010": "Hepatitis B vaccine administration (Medicare)",
}
# Procedures done the same visit that make a separate E/M need modifier 25.
NEEDS_MODIFIER_25 = frozenset(
    {INJECTION, VACCINE_ADMIN_FIRST, "93000", "93005", "93040", *MEDICARE_ADMIN_LABELS}
)


class Kind:
    PROCEDURE = "procedure"
    VENIPUNCTURE = "venipuncture"
    ECG = "ecg"
    VACCINE = "vaccine"
    INJECTION = "injection"
    POC = "poc"


@dataclass(frozen=True)
class Documented:
    """One billable thing documented at the visit."""

    kind: str  # Kind.*
    source: str  # where it is documented, e.g. "specimen:12", "ekg:3", "administration:5"
    service_date: date
    code: str = ""  # ECG: its billing code; vaccine/injection: the product's; POC: the test's
    description: str = ""
    ndc: str = ""
    dose_amount: Decimal | None = None
    dose_unit: str = ""
    publicly_funded: bool = False  # a vaccine from VFC or state stock
    billing_units: Decimal = Decimal(1)  # a drug's HCPCS units for the amount given


@dataclass(frozen=True)
class SuggestedLine:
    code: str
    service_date: date
    description: str
    source: str = ""
    units: Decimal = Decimal(1)
    modifiers: tuple[str, ...] = ()
    ndc: str = ""
    ndc_quantity: Decimal | None = None
    ndc_unit: str = ""
    no_charge: bool = False  # the product was free to the clinic (VFC): charge 0


def ndc_unit_for(dose_unit: str) -> str:
    """The 837 CTP05 unit for a dose unit: ML, GR (grams), ME (milligrams), else UN."""
    unit = dose_unit.strip().lower()
    return {"ml": "ML", "g": "GR", "mg": "ME"}.get(unit, "UN")


def build_lines(
    items: Iterable[Documented],
    *,
    em_code: str = "",
    em_date: date | None = None,
    medicare: bool = False,
) -> list[SuggestedLine]:
    """The superbill's lines for one visit, E/M first, then procedures, drugs and tests.
    `medicare`: the claim goes to Medicare Part B (its G codes for flu, pneumococcal and
    hepatitis B vaccine administration)."""
    items = list(items)
    if em_code and em_code not in EM_CODES:
        raise ValueError(f"E/M level {em_code!r} is not one of {', '.join(EM_CODES)}")
    lines: list[SuggestedLine] = []
    vaccines = [i for i in items if i.kind == Kind.VACCINE]
    injections = [i for i in items if i.kind == Kind.INJECTION]
    draws = [i for i in items if i.kind == Kind.VENIPUNCTURE]
    ecgs = [i for i in items if i.kind == Kind.ECG]
    tests = [i for i in items if i.kind == Kind.POC]
    done = [i for i in items if i.kind == Kind.PROCEDURE]
    unknown = {i.kind for i in items} - {
        Kind.PROCEDURE,
        Kind.VACCINE,
        Kind.INJECTION,
        Kind.VENIPUNCTURE,
        Kind.ECG,
        Kind.POC,
    }
    if unknown:
        raise ValueError(f"unknown documented kind(s): {', '.join(sorted(unknown))}")

    procedures: list[SuggestedLine] = [
        SuggestedLine(p.code, p.service_date, p.description, p.source) for p in done if p.code
    ]
    for ecg in ecgs:
        if ecg.code not in ECG_CODES:
            raise ValueError(
                f"{ecg.source}: ECG billing code {ecg.code!r} is not one of {ECG_CODES}"
            )
        procedures.append(
            SuggestedLine(ecg.code, ecg.service_date, ecg.description or "ECG", ecg.source)
        )
    for shot in injections:
        procedures.append(
            SuggestedLine(INJECTION, shot.service_date, "Injection, IM/SC", shot.source)
        )
        if shot.code:
            procedures.append(_drug_line(shot))
    if medicare:
        for vaccine in [v for v in vaccines if v.code in MEDICARE_ADMIN]:
            admin = MEDICARE_ADMIN[vaccine.code]
            procedures.append(
                SuggestedLine(
                    admin, vaccine.service_date, MEDICARE_ADMIN_LABELS[admin], vaccine.source
                )
            )
        others = [v for v in vaccines if v.code not in MEDICARE_ADMIN]
    else:
        others = vaccines
    if others:
        first = others[0]
        procedures.append(
            SuggestedLine(
                VACCINE_ADMIN_FIRST,
                first.service_date,
                "Vaccine administration, first",
                first.source,
            )
        )
        if len(others) > 1:
            procedures.append(
                SuggestedLine(
                    VACCINE_ADMIN_EACH_MORE,
                    first.service_date,
                    "Vaccine administration, each additional",
                    ",".join(v.source for v in others[1:]),
                    units=Decimal(len(others) - 1),
                )
            )
    if vaccines:
        for vaccine in vaccines:
            if vaccine.code:
                procedures.append(_vaccine_line(vaccine))
    if draws:
        procedures.append(
            SuggestedLine(
                VENIPUNCTURE,
                draws[0].service_date,
                "Venipuncture",
                ",".join(d.source for d in draws),
            )
        )
    seen_tests: set[tuple[str, date]] = set()
    for test in tests:
        if not test.code or (test.code, test.service_date) in seen_tests:
            continue
        seen_tests.add((test.code, test.service_date))
        modifiers = ("QW",) if test.code in QW_CODES else ()
        procedures.append(
            SuggestedLine(
                test.code, test.service_date, test.description, test.source, modifiers=modifiers
            )
        )

    if em_code:
        day = em_date or (items[0].service_date if items else None)
        if day is None:
            raise ValueError("the E/M line needs a service date")
        needs_25 = any(line.code in NEEDS_MODIFIER_25 for line in procedures) or bool(done)
        lines.append(
            SuggestedLine(
                em_code,
                day,
                "Office visit, new patient" if em_code in EM_NEW else "Office visit",
                "em",
                modifiers=("25",) if needs_25 else (),
            )
        )
    return lines + procedures


def _drug_line(shot: Documented) -> SuggestedLine:
    return SuggestedLine(
        shot.code,
        shot.service_date,
        shot.description,
        shot.source,
        units=shot.billing_units,
        ndc=shot.ndc,
        ndc_quantity=shot.dose_amount,
        ndc_unit=ndc_unit_for(shot.dose_unit) if shot.dose_amount is not None else "",
    )


def _vaccine_line(vaccine: Documented) -> SuggestedLine:
    return SuggestedLine(
        vaccine.code,
        vaccine.service_date,
        vaccine.description,
        vaccine.source,
        modifiers=("SL",) if vaccine.publicly_funded else (),
        no_charge=vaccine.publicly_funded,
    )


def default_pointers(diagnosis_count: int) -> list[int]:
    """Every line points at the principal diagnosis until the coder says otherwise."""
    return [1] if diagnosis_count else []


def check_pointers(pointers: Sequence[int], diagnosis_count: int) -> str:
    """'' when the pointers are valid, else what is wrong with them."""
    if not pointers:
        return "needs at least one diagnosis pointer"
    if len(pointers) > 4:
        return f"has {len(pointers)} diagnosis pointers: at most 4"
    if len(set(pointers)) != len(pointers):
        return "points at the same diagnosis twice"
    bad = [p for p in pointers if p < 1 or p > diagnosis_count]
    if bad:
        return (
            f"points at diagnosis {bad[0]}, but the claim has {diagnosis_count} "
            f"diagnos{'is' if diagnosis_count == 1 else 'es'}"
        )
    return ""
