"""Vital-signs rules (pure; no Django): units, impossible values, and abnormal flags by age.

Entry may be metric or US customary; everything is converted to one canonical unit per vital
(UCUM: mm[Hg], /min, Cel, %, L/min, cm, kg, kg/m2, {score}). Impossible values raise
`VitalsError` naming the field and the rule; abnormal ones are kept and flagged for the
patient's age. Sources for the bands: the 2017 ACC/AHA adult blood-pressure categories (also
used by the AAP from age 13), PALS hypotension limits and age bands for heart and breathing
rates, the WHO adult BMI classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

LB_PER_KG = Decimal("2.20462262")
CM_PER_INCH = Decimal("2.54")


class Flag(StrEnum):
    NORMAL = "normal"
    LOW = "low"
    HIGH = "high"
    CRITICAL_LOW = "critical_low"
    CRITICAL_HIGH = "critical_high"

    @property
    def is_abnormal(self) -> bool:
        return self is not Flag.NORMAL

    @property
    def is_critical(self) -> bool:
        return self in (Flag.CRITICAL_LOW, Flag.CRITICAL_HIGH)


@dataclass(frozen=True)
class VitalKind:
    code: str  # our name, also the form field
    label: str
    loinc: str
    unit: str  # UCUM, canonical
    unit_label: str
    low: Decimal  # impossible below
    high: Decimal  # impossible above


KINDS: dict[str, VitalKind] = {
    k.code: k
    for k in [
        VitalKind(
            "systolic",
            "Systolic blood pressure",
            "8480-6",
            "mm[Hg]",
            "mmHg",
            Decimal(40),
            Decimal(300),
        ),
        VitalKind(
            "diastolic",
            "Diastolic blood pressure",
            "8462-4",
            "mm[Hg]",
            "mmHg",
            Decimal(15),
            Decimal(200),
        ),
        VitalKind(
            "heart_rate", "Heart rate", "8867-4", "/min", "beats/min", Decimal(20), Decimal(300)
        ),
        VitalKind(
            "respiratory_rate",
            "Respiratory rate",
            "9279-1",
            "/min",
            "breaths/min",
            Decimal(3),
            Decimal(100),
        ),
        VitalKind(
            "temperature", "Body temperature", "8310-5", "Cel", "°C", Decimal(25), Decimal(45)
        ),
        VitalKind(
            "spo2",
            "Oxygen saturation (pulse oximetry)",
            "59408-5",
            "%",
            "%",
            Decimal(50),
            Decimal(100),
        ),
        VitalKind(
            "o2_flow",
            "Inhaled oxygen flow rate",
            "3151-8",
            "L/min",
            "L/min",
            Decimal(0),
            Decimal(60),
        ),
        VitalKind("height", "Body height", "8302-2", "cm", "cm", Decimal(20), Decimal(275)),
        VitalKind("weight", "Body weight", "29463-7", "kg", "kg", Decimal("0.2"), Decimal(650)),
        VitalKind("bmi", "Body mass index", "39156-5", "kg/m2", "kg/m²", Decimal(5), Decimal(250)),
        VitalKind(
            "head_circumference",
            "Head occipital-frontal circumference",
            "9843-4",
            "cm",
            "cm",
            Decimal(20),
            Decimal(65),
        ),
        VitalKind(
            "pain", "Pain severity 0-10", "72514-3", "{score}", "/10", Decimal(0), Decimal(10)
        ),
    ]
}
BP_PANEL_LOINC = "85354-9"
VITAL_SIGNS_PANEL_LOINC = "85353-1"


class VitalsError(ValueError):
    """Impossible values: `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))


@dataclass
class VitalsEntry:
    """What the MAT typed, in whichever units they chose. None means not taken."""

    systolic: Decimal | None = None
    diastolic: Decimal | None = None
    bp_position: str = ""  # sitting, standing, lying
    bp_arm: str = ""  # left, right
    bp_cuff_size: str = ""  # small adult, adult, large adult, thigh, child, infant
    heart_rate: Decimal | None = None
    respiratory_rate: Decimal | None = None
    temperature: Decimal | None = None
    temperature_unit: str = "C"  # C or F
    temperature_route: str = ""  # oral, tympanic, temporal, axillary, rectal
    spo2: Decimal | None = None
    o2_flow: Decimal | None = None  # L/min; None or 0 = room air
    height: Decimal | None = None  # cm, or inches when height_unit == "in"
    height_feet: Decimal | None = None  # with height_inches when height_unit == "ft_in"
    height_inches: Decimal | None = None
    height_unit: str = "cm"  # cm, in, ft_in
    weight: Decimal | None = None
    weight_unit: str = "kg"  # kg or lb
    head_circumference: Decimal | None = None
    head_circumference_unit: str = "cm"  # cm or in
    pain: int | None = None


@dataclass(frozen=True)
class Reading:
    kind: VitalKind
    value: Decimal  # canonical unit
    flag: Flag = Flag.NORMAL
    note: str = ""


@dataclass
class Assessment:
    readings: dict[str, Reading] = field(default_factory=dict)
    bp_category: str = ""  # normal, elevated, stage1, stage2, severe (adults and teens)
    bmi_category: str = ""
    alerts: list[str] = field(default_factory=list)
    recheck_bp_in_minutes: int | None = None

    @property
    def critical(self) -> bool:
        return bool(self.alerts)


BP_CATEGORY_LABELS = {
    "normal": "Normal",
    "elevated": "Elevated",
    "stage1": "Hypertension stage 1",
    "stage2": "Hypertension stage 2",
    "severe": "Severe hypertension: provider now",
    "low": "Low for age",
}
BMI_CATEGORY_LABELS = {
    "underweight": "Underweight (< 18.5)",
    "normal": "Healthy weight (18.5-24.9)",
    "overweight": "Overweight (25-29.9)",
    "obese1": "Obesity class 1 (30-34.9)",
    "obese2": "Obesity class 2 (35-39.9)",
    "obese3": "Obesity class 3 (≥ 40)",
}


def _q(value: Decimal, places: str = "0.1") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def fahrenheit_to_celsius(value: Decimal) -> Decimal:
    return _q((value - 32) * 5 / 9, "0.01")


def celsius_to_fahrenheit(value: Decimal) -> Decimal:
    return _q(value * 9 / 5 + 32, "0.1")


def pounds_to_kg(value: Decimal) -> Decimal:
    return _q(value / LB_PER_KG, "0.001")


def kg_to_pounds(value: Decimal) -> Decimal:
    return _q(value * LB_PER_KG, "0.1")


def inches_to_cm(value: Decimal) -> Decimal:
    return _q(value * CM_PER_INCH, "0.01")


def cm_to_feet_inches(value: Decimal) -> tuple[int, Decimal]:
    inches = value / CM_PER_INCH
    feet = int(inches // 12)
    return feet, _q(inches - feet * 12, "0.1")


def bmi(weight_kg: Decimal, height_cm: Decimal) -> Decimal:
    metres = height_cm / 100
    return _q(weight_kg / (metres * metres), "0.1")


# --- age bands ----------------------------------------------------------------------------------
# (max age in months, exclusive; low, high) for awake heart rate and breathing rate.
HEART_RATE_BANDS = [
    (3, 100, 205),
    (24, 100, 190),
    (120, 60, 140),
    (12 * 200, 60, 100),
]
RESPIRATORY_RATE_BANDS = [
    (12, 30, 53),
    (36, 22, 37),
    (72, 20, 28),
    (144, 18, 25),
    (216, 12, 20),
    (12 * 200, 12, 20),
]


def _band(bands: list[tuple[int, int, int]], age_months: int) -> tuple[int, int]:
    for limit, low, high in bands:
        if age_months < limit:
            return low, high
    return bands[-1][1], bands[-1][2]


def _range_flag(value: Decimal, low: int, high: int, crit_low: Decimal, crit_high: Decimal) -> Flag:
    if value < crit_low:
        return Flag.CRITICAL_LOW
    if value > crit_high:
        return Flag.CRITICAL_HIGH
    if value < low:
        return Flag.LOW
    if value > high:
        return Flag.HIGH
    return Flag.NORMAL


def bp_category(systolic: Decimal, diastolic: Decimal) -> str:
    """2017 ACC/AHA adult category (used from age 13)."""
    if systolic > 180 or diastolic > 120:
        return "severe"
    if systolic >= 140 or diastolic >= 90:
        return "stage2"
    if systolic >= 130 or diastolic >= 80:
        return "stage1"
    if systolic >= 120:
        return "elevated"
    return "normal"


def pediatric_low_systolic(age_months: int) -> int:
    """PALS hypotension: < 60 newborn, < 70 infant, < 70 + 2 x age in years to 10, then < 90."""
    if age_months < 1:
        return 60
    if age_months < 12:
        return 70
    years = age_months // 12
    if years <= 10:
        return 70 + 2 * years
    return 90


def bmi_category(value: Decimal) -> str:
    if value < Decimal("18.5"):
        return "underweight"
    if value < 25:
        return "normal"
    if value < 30:
        return "overweight"
    if value < 35:
        return "obese1"
    if value < 40:
        return "obese2"
    return "obese3"


# --- the whole check ----------------------------------------------------------------------------


def _canonical(entry: VitalsEntry, errors: dict[str, list[str]]) -> dict[str, Decimal]:
    values: dict[str, Decimal] = {}

    def put(name: str, value: Decimal | int | None) -> None:
        if value is not None:
            values[name] = Decimal(value)

    put("systolic", entry.systolic)
    put("diastolic", entry.diastolic)
    put("heart_rate", entry.heart_rate)
    put("respiratory_rate", entry.respiratory_rate)
    put("spo2", entry.spo2)
    put("o2_flow", entry.o2_flow)
    put("pain", entry.pain)
    if entry.temperature is not None:
        if entry.temperature_unit not in ("C", "F"):
            errors.setdefault("temperature_unit", []).append("must be C or F")
        elif entry.temperature_unit == "F":
            values["temperature"] = fahrenheit_to_celsius(Decimal(entry.temperature))
        else:
            values["temperature"] = Decimal(entry.temperature)
    if entry.height_unit == "ft_in":
        if entry.height_feet is not None or entry.height_inches is not None:
            feet = Decimal(entry.height_feet or 0)
            inches = Decimal(entry.height_inches or 0)
            if inches < 0 or inches >= 12:
                errors.setdefault("height_inches", []).append("must be from 0 to 11.9")
            values["height"] = inches_to_cm(feet * 12 + inches)
    elif entry.height is not None:
        if entry.height_unit == "in":
            values["height"] = inches_to_cm(Decimal(entry.height))
        elif entry.height_unit == "cm":
            values["height"] = Decimal(entry.height)
        else:
            errors.setdefault("height_unit", []).append("must be cm, in or ft_in")
    if entry.weight is not None:
        if entry.weight_unit == "lb":
            values["weight"] = pounds_to_kg(Decimal(entry.weight))
        elif entry.weight_unit == "kg":
            values["weight"] = Decimal(entry.weight)
        else:
            errors.setdefault("weight_unit", []).append("must be kg or lb")
    if entry.head_circumference is not None:
        if entry.head_circumference_unit == "in":
            values["head_circumference"] = inches_to_cm(Decimal(entry.head_circumference))
        else:
            values["head_circumference"] = Decimal(entry.head_circumference)
    return values


def _display(kind: VitalKind, value: Decimal, entry: VitalsEntry) -> str:
    if kind.code == "temperature" and entry.temperature_unit == "F":
        return f"{celsius_to_fahrenheit(value)} °F"
    if kind.code == "weight" and entry.weight_unit == "lb":
        return f"{kg_to_pounds(value)} lb"
    if kind.code == "height" and entry.height_unit in ("in", "ft_in"):
        feet, inches = cm_to_feet_inches(value)
        return f"{feet} ft {inches} in"
    return f"{value} {kind.unit_label}"


def assess(entry: VitalsEntry, *, age_months: int) -> Assessment:
    """Convert, refuse the impossible (VitalsError), and flag the abnormal for this age."""
    errors: dict[str, list[str]] = {}
    values = _canonical(entry, errors)
    for name, value in values.items():
        kind = KINDS[name]
        if value < kind.low or value > kind.high:
            shown = _display(kind, value, entry)
            errors.setdefault(name, []).append(
                f"{shown} is not possible; {kind.label.lower()} must be between "
                f"{kind.low} and {kind.high} {kind.unit_label}"
            )
    if ("systolic" in values) != ("diastolic" in values):
        missing = "diastolic" if "systolic" in values else "systolic"
        errors.setdefault(missing, []).append("is required with the other blood-pressure number")
    elif "systolic" in values and values["systolic"] <= values["diastolic"]:
        errors.setdefault("systolic", []).append(
            "must be higher than the diastolic pressure (check the numbers were not swapped)"
        )
    if "pain" in values and values["pain"] != values["pain"].to_integral_value():
        errors.setdefault("pain", []).append("is a whole number from 0 to 10")
    if "head_circumference" in values and age_months >= 36:
        errors.setdefault("head_circumference", []).append("is measured for children under 3")
    if "o2_flow" in values and "spo2" not in values:
        errors.setdefault("spo2", []).append("is required when an oxygen flow is given")
    if errors:
        raise VitalsError(errors)

    result = Assessment()
    adult = age_months >= 18 * 12
    for name, value in values.items():
        result.readings[name] = Reading(KINDS[name], value)

    if "height" in values and "weight" in values:
        bmi_value = bmi(values["weight"], values["height"])
        if KINDS["bmi"].low <= bmi_value <= KINDS["bmi"].high:
            bmi_flag = Flag.NORMAL
            if age_months >= 20 * 12:
                result.bmi_category = bmi_category(bmi_value)
                if result.bmi_category == "underweight":
                    bmi_flag = Flag.LOW
                elif result.bmi_category != "normal":
                    bmi_flag = Flag.HIGH
            result.readings["bmi"] = Reading(
                KINDS["bmi"], bmi_value, bmi_flag, BMI_CATEGORY_LABELS.get(result.bmi_category, "")
            )
        else:
            raise VitalsError(
                {
                    "height": [
                        f"with this weight gives a BMI of {bmi_value}: check "
                        "that height and weight units are right"
                    ]
                }
            )

    def flag(name: str, value: Flag, note: str = "") -> None:
        reading = result.readings[name]
        result.readings[name] = Reading(reading.kind, reading.value, value, note)

    if "systolic" in values:
        sys_v, dia_v = values["systolic"], values["diastolic"]
        if age_months >= 13 * 12:
            category = bp_category(sys_v, dia_v)
            result.bp_category = category
            label = BP_CATEGORY_LABELS[category]
            if category == "severe":
                flag("systolic", Flag.CRITICAL_HIGH, label)
                flag("diastolic", Flag.CRITICAL_HIGH if dia_v > 120 else Flag.HIGH, label)
                result.alerts.append(
                    f"Severe blood pressure {sys_v}/{dia_v}: recheck in 5 minutes and alert "
                    "the provider now"
                )
                result.recheck_bp_in_minutes = 5
            elif category != "normal":
                flag("systolic", Flag.HIGH if sys_v >= 120 else Flag.NORMAL, label)
                flag("diastolic", Flag.HIGH if dia_v >= 80 else Flag.NORMAL, label)
        low = pediatric_low_systolic(age_months)
        if sys_v < low:
            result.bp_category = "low"
            critical = sys_v < low - 10
            flag(
                "systolic", Flag.CRITICAL_LOW if critical else Flag.LOW, f"below {low} mmHg for age"
            )
            if critical:
                result.alerts.append(f"Low blood pressure {sys_v}/{dia_v}: tell the provider now")

    if "heart_rate" in values:
        low, high = _band(HEART_RATE_BANDS, age_months)
        crit_low, crit_high = (
            (Decimal(40), Decimal(130)) if adult else (Decimal(low) - 20, Decimal(high) + 30)
        )
        hr_flag = _range_flag(values["heart_rate"], low, high, crit_low, crit_high)
        flag("heart_rate", hr_flag, f"expected {low}-{high} for age")
        if hr_flag.is_critical:
            result.alerts.append(f"Heart rate {values['heart_rate']}/min: tell the provider now")

    if "respiratory_rate" in values:
        low, high = _band(RESPIRATORY_RATE_BANDS, age_months)
        crit_low, crit_high = (
            (Decimal(8), Decimal(30)) if adult else (Decimal(low) - 8, Decimal(high) + 15)
        )
        rr_flag = _range_flag(values["respiratory_rate"], low, high, crit_low, crit_high)
        flag("respiratory_rate", rr_flag, f"expected {low}-{high} for age")
        if rr_flag.is_critical:
            result.alerts.append(
                f"Respiratory rate {values['respiratory_rate']}/min: tell the provider now"
            )

    if "temperature" in values:
        t = values["temperature"]
        if t >= 40:
            flag("temperature", Flag.CRITICAL_HIGH, "high fever")
            result.alerts.append(f"Temperature {t} °C: tell the provider now")
        elif t >= 38:
            flag("temperature", Flag.HIGH, "fever")
        elif t < 35:
            flag("temperature", Flag.CRITICAL_LOW, "hypothermia")
            result.alerts.append(f"Temperature {t} °C: tell the provider now")
        elif t < 36:
            flag("temperature", Flag.LOW, "low")

    if "spo2" in values:
        s = values["spo2"]
        if s < 88:
            flag("spo2", Flag.CRITICAL_LOW, "under 88%")
            result.alerts.append(f"SpO2 {s}%: tell the provider now")
        elif s < 92:
            flag("spo2", Flag.LOW, "under 92%")

    if "pain" in values and values["pain"] >= 7:
        flag("pain", Flag.HIGH, "severe pain")
    return result
