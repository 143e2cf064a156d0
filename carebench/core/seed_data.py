"""Fixed data for the bench seeder: names, payers, visits, lab panels, vaccines, and the
vital-sign templates (sets checked and flagged once by `encounters.vitals.assess`, then reused).

Everything is synthetic. Name frequencies are the US census tables Faker ships (read as plain
data, no Faker generator); allergies, problems and medications are the core demo's curated
lists; lab reference ranges are typical adult ranges.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate

from carebench.encounters import vitals as rules
from carebench.labs import flags

# --- people -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NameTable:
    names: list[str]
    cumulative: list[float]


def _table(weights: dict[str, float]) -> NameTable:
    names = list(weights)
    return NameTable(names, list(accumulate(float(weights[n]) for n in names)))


def name_tables() -> tuple[NameTable, NameTable, NameTable]:
    """(female given names, male given names, family names) with census weights."""
    from faker.providers.person.en_US import Provider as Names

    return (
        _table(dict(Names.first_names_female)),
        _table(dict(Names.first_names_male)),
        _table(dict(Names.last_names)),
    )


STREETS = [
    "Oak",
    "Maple",
    "Cedar",
    "Pecan",
    "Live Oak",
    "Mesquite",
    "Elm",
    "Willow",
    "Bluebonnet",
    "Lamar",
    "Guadalupe",
    "Congress",
    "Riverside",
    "Brazos",
    "Colorado",
    "Sabine",
    "Red River",
    "Pleasant Valley",
    "Shoal Creek",
    "Barton Springs",
]
STREET_KINDS = ["St", "Ave", "Dr", "Ln", "Blvd", "Ct", "Way", "Trl"]
# (city, ZIP codes), central Texas (as the core demo)
CITIES = [
    ("Austin", ["78701", "78702", "78704", "78723", "78745", "78748", "78757", "78759"]),
    ("Round Rock", ["78664", "78665", "78681"]),
    ("Pflugerville", ["78660"]),
    ("Georgetown", ["78626", "78628", "78633"]),
    ("Cedar Park", ["78613"]),
    ("San Marcos", ["78666"]),
    ("Kyle", ["78640"]),
    ("Buda", ["78610"]),
]
AREA_CODES = ["512", "737", "254", "830"]
LANGUAGES = ["en"] * 16 + ["es"] * 5 + ["vi", "zh", "ar"]
RELATIONSHIPS = ["spouse", "mother", "father", "daughter", "son", "sister", "brother", "friend"]
# ages in years: (lowest, highest, share of patients)
AGE_BANDS = [(0, 4, 6), (5, 17, 14), (18, 34, 21), (35, 54, 26), (55, 74, 24), (75, 96, 9)]

# --- insurance ---------------------------------------------------------------------------------

# (name, X12 payer ID, filing indicator, timely-filing days, plans, member-ID prefix)
PAYERS = [
    ("Aetna", "60054", "CI", 180, ["Aetna Choice POS II", "Aetna Open Access"], "W"),
    ("Blue Cross Blue Shield of Texas", "84980", "BL", 180, ["Blue Choice PPO"], "XOF"),
    ("Cigna", "62308", "CI", 180, ["Cigna Open Access Plus", "Cigna LocalPlus"], "U"),
    ("UnitedHealthcare", "87726", "CI", 180, ["UnitedHealthcare Choice Plus"], "9"),
    ("Humana", "61101", "CI", 180, ["Humana Gold Plus HMO (Medicare Advantage)"], "H"),
    ("Medicare Part B", "04412", "MB", 365, ["Medicare Part B"], "1EG4"),
    ("Texas Medicaid", "617591011CMSP", "MC", 95, ["Texas Medicaid (TMHP)"], "5"),
    ("Superior HealthPlan", "68069", "MC", 95, ["STAR (Superior HealthPlan)"], "7"),
]
COMMERCIAL = ["Aetna", "Blue Cross Blue Shield of Texas", "Cigna", "UnitedHealthcare"]
COPAYS = ["25.00", "30.00", "40.00"]

# --- visits ------------------------------------------------------------------------------------

LONG_TYPES = ("New patient", "Annual physical")
# (visit type, share of short visits, reasons)
SHORT_VISITS = [
    (
        "Follow-up",
        46,
        ["Blood pressure check", "Diabetes follow-up", "Medication refill", "Lab results"],
    ),
    (
        "Sick visit",
        34,
        ["Cough and congestion", "Sore throat", "Headaches", "Knee pain", "Rash", "Back pain"],
    ),
    ("Lab draw", 8, ["Lab draw"]),
    ("Injection / nurse visit", 7, ["Vaccine"]),
    ("EKG", 5, ["Palpitations", "Dizziness"]),
]
# reason -> the ICD-10-CM code a claim puts first for it
REASON_CODES = {
    "Cough and congestion": "J06.9",
    "Sore throat": "J02.9",
    "Headaches": "R51.9",
    "Knee pain": "M25.561",
    "Rash": "L30.9",
    "Back pain": "M54.50",
    "Palpitations": "R00.2",
    "Dizziness": "R42",
    "Vaccine": "Z23",
    "Annual physical": "Z00.00",
    "Establish care": "Z00.00",
}
# The ICD-10-CM codes the seeder writes (problems, claims, lab orders): all billable, with the
# descriptions of the 2025 release (loaded into the code table when the full release is not).
ICD10_CODES = {
    "E03.9": "Hypothyroidism, unspecified",
    "E11.9": "Type 2 diabetes mellitus without complications",
    "E55.9": "Vitamin D deficiency, unspecified",
    "E66.9": "Obesity, unspecified",
    "E78.5": "Hyperlipidemia, unspecified",
    "F03.90": "Unspecified dementia, unspecified severity, without behavioral disturbance, "
    "psychotic disturbance, mood disturbance, and anxiety",
    "F32.A": "Depression, unspecified",
    "F41.1": "Generalized anxiety disorder",
    "G30.9": "Alzheimer's disease, unspecified",
    "G43.909": "Migraine, unspecified, not intractable, without status migrainosus",
    "G47.33": "Obstructive sleep apnea (adult) (pediatric)",
    "I10": "Essential (primary) hypertension",
    "I48.91": "Unspecified atrial fibrillation",
    "J02.9": "Acute pharyngitis, unspecified",
    "J06.9": "Acute upper respiratory infection, unspecified",
    "J30.9": "Allergic rhinitis, unspecified",
    "J44.9": "Chronic obstructive pulmonary disease, unspecified",
    "J45.909": "Unspecified asthma, uncomplicated",
    "K21.9": "Gastro-esophageal reflux disease without esophagitis",
    "L30.9": "Dermatitis, unspecified",
    "M17.11": "Unilateral primary osteoarthritis, right knee",
    "M25.561": "Pain in right knee",
    "M54.50": "Low back pain, unspecified",
    "M81.0": "Age-related osteoporosis without current pathological fracture",
    "N18.30": "Chronic kidney disease, stage 3 unspecified",
    "N39.0": "Urinary tract infection, site not specified",
    "R00.2": "Palpitations",
    "R42": "Dizziness and giddiness",
    "R51.9": "Headache, unspecified",
    "R73.03": "Prediabetes",
    "Z00.00": "Encounter for general adult medical examination without abnormal findings",
    "Z00.129": "Encounter for routine child health examination without abnormal findings",
    "Z23": "Encounter for immunization",
}
CANCEL_REASONS = ["Patient called to cancel", "Conflict with work", "Feeling better"]
EM_CODES = {
    "New patient": [("99203", 55), ("99204", 45)],
    "Annual physical": [("99214", 100)],
    "Follow-up": [("99213", 62), ("99214", 28), ("99212", 10)],
    "Sick visit": [("99213", 60), ("99214", 25), ("99212", 15)],
    "EKG": [("99212", 100)],
    "Lab draw": [],
    "Injection / nurse visit": [],
}
EKG_CODE = "93000"
DRAW_CODE = "36415"
VACCINE_ADMIN_CODE = "90471"

# --- labs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Analyte:
    loinc: str
    name: str
    unit: str
    low: str | None
    high: str | None
    typical: tuple[float, float]  # most values fall between these
    places: int


# catalog test code -> its analytes as the reference lab reports them (typical adult ranges)
PANELS: dict[str, list[Analyte]] = {
    "CBCD": [
        Analyte("6690-2", "Leukocytes", "10*3/uL", "4.0", "11.0", (4.2, 11.8), 1),
        Analyte("718-7", "Hemoglobin", "g/dL", "12.0", "17.5", (11.4, 16.8), 1),
        Analyte("4544-3", "Hematocrit", "%", "36.0", "52.0", (35.0, 50.0), 1),
        Analyte("777-3", "Platelets", "10*3/uL", "150", "400", (140, 410), 0),
    ],
    "CMP": [
        Analyte("2345-7", "Glucose", "mg/dL", "70", "99", (78, 135), 0),
        Analyte("3094-0", "Urea nitrogen", "mg/dL", "7", "20", (8, 24), 0),
        Analyte("2160-0", "Creatinine", "mg/dL", "0.60", "1.30", (0.62, 1.45), 2),
        Analyte("2951-2", "Sodium", "mmol/L", "136", "145", (135, 145), 0),
        Analyte("2823-3", "Potassium", "mmol/L", "3.5", "5.1", (3.6, 5.2), 1),
        Analyte("1742-6", "Alanine aminotransferase", "U/L", "7", "56", (12, 60), 0),
    ],
    "LIPID": [
        Analyte("2093-3", "Cholesterol", "mg/dL", None, "199", (150, 245), 0),
        Analyte("2571-8", "Triglyceride", "mg/dL", None, "149", (70, 220), 0),
        Analyte("2085-9", "Cholesterol in HDL", "mg/dL", "40", None, (35, 75), 0),
        Analyte("13457-7", "Cholesterol in LDL (calculated)", "mg/dL", None, "99", (70, 165), 0),
    ],
    "A1C": [Analyte("4548-4", "Hemoglobin A1c", "%", "4.0", "5.6", (5.0, 8.2), 1)],
    "TSH": [Analyte("3016-3", "Thyrotropin", "m[IU]/L", "0.45", "4.50", (0.6, 5.2), 2)],
}
LAB_SITES = ["left antecubital", "right antecubital"]
PERFORMING_LAB = "Reference lab"


@dataclass(frozen=True)
class ResultTemplate:
    value: str
    flag: str


def result_templates(rng: random.Random, analyte: Analyte, count: int = 48) -> list[ResultTemplate]:
    """Values for an analyte with the flag `labs.flags` gives them; none critical (a critical
    value raises an alert that a bulk row would not)."""
    low = Decimal(analyte.low) if analyte.low else None
    high = Decimal(analyte.high) if analyte.high else None
    critical = flags.CRITICAL_LIMITS.get(analyte.loinc)
    made: list[ResultTemplate] = []
    while len(made) < count:
        value = Decimal(f"{rng.uniform(*analyte.typical):.{analyte.places}f}")
        flag = flags.flag_value(value, low=low, high=high, critical=critical)
        if flag not in flags.CRITICAL_FLAGS:
            made.append(ResultTemplate(str(value), flag))
    return made


def reference_text(analyte: Analyte) -> str:
    if analyte.low and analyte.high:
        return f"{analyte.low}-{analyte.high}"
    return f">{analyte.low}" if analyte.low else f"<{analyte.high}"


# --- vaccines ---------------------------------------------------------------------------------

# (product name as the meds demo stocks it, CVX, MVX, NDC, dose, CPT, VIS edition)
VACCINES = [
    ("Fluarix Trivalent", "140", "SKB", "58160-0919-52", "0.5", "90656", "2023-08-06"),
    ("Boostrix (Tdap)", "115", "SKB", "58160-0842-52", "0.5", "90715", "2024-01-31"),
    ("Gardasil 9 (HPV)", "165", "MSD", "00006-4121-02", "0.5", "90651", "2021-08-06"),
    ("Shingrix (zoster)", "187", "SKB", "58160-0823-11", "0.5", "90750", "2023-02-02"),
    ("Prevnar 20 (PCV20)", "216", "PFR", "00005-2000-01", "0.5", "90677", "2024-05-12"),
    ("Engerix-B (hepatitis B)", "43", "SKB", "58160-0821-52", "1", "90746", "2023-05-12"),
]


def vaccine_for(rng: random.Random, age_years: int, month: int) -> str:
    """Which vaccine a patient of this age gets at a visit in this month (by product name)."""
    flu_season = month in (9, 10, 11, 12, 1, 2, 3)
    roll = rng.random()
    if flu_season and roll < 0.75:
        return "Fluarix Trivalent"
    if age_years < 9:
        return "Fluarix Trivalent"
    if age_years < 19:
        return "Gardasil 9 (HPV)" if roll < 0.85 else "Boostrix (Tdap)"
    if age_years >= 65 and roll < 0.9:
        return "Prevnar 20 (PCV20)" if roll < 0.45 else "Shingrix (zoster)"
    if age_years >= 50 and roll < 0.9:
        return "Shingrix (zoster)" if roll < 0.5 else "Boostrix (Tdap)"
    return "Boostrix (Tdap)" if roll < 0.7 else "Engerix-B (hepatitis B)"


# --- vital signs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VitalTemplate:
    """A set of vitals as `record_vitals` stores it: the set's own columns, then one tuple per
    Observation (code, name, value, value2, unit, flag, flag2, note)."""

    bp_position: str
    bp_arm: str
    bp_cuff_size: str
    temperature_route: str
    units: str  # JSON text of the units entered
    bp_category: str
    bmi_category: str
    observations: tuple[tuple[str, str, str, str | None, str, str, str, str], ...]


ADULT_MONTHS = 20 * 12  # from 20 years the rules no longer change with age
UNITS_US = '{"temperature": "F", "weight": "lb", "height": "in", "head_circumference": "cm"}'
UNITS_CHILD = '{"temperature": "F", "weight": "lb", "height": "cm", "head_circumference": "cm"}'
# median height (cm) and weight (kg) by year of age, both sexes together (rounded)
GROWTH = [
    (50, 3.5),
    (75, 9.8),
    (87, 12.4),
    (95, 14.4),
    (102, 16.4),
    (109, 18.4),
    (115, 20.7),
    (122, 23.1),
    (128, 25.8),
    (133, 28.8),
    (138, 32.0),
    (143, 36.0),
    (149, 40.5),
    (156, 45.5),
    (162, 51.0),
    (167, 56.0),
    (171, 60.5),
    (173, 63.5),
    (174, 66.0),
    (175, 68.0),
]


def age_key(age_months: int) -> int:
    """Ages that the vitals rules treat alike share a key: months under 3 years, then years,
    then one key for adults from 20."""
    if age_months < 36:
        return age_months
    if age_months < ADULT_MONTHS:
        return 33 + age_months // 12  # 36 .. 52
    return 53


def _growth(age_months: int) -> tuple[float, float]:
    years = age_months / 12
    low = min(int(years), len(GROWTH) - 1)
    high = min(low + 1, len(GROWTH) - 1)
    part = years - int(years) if low != high else 0.0
    height = GROWTH[low][0] + (GROWTH[high][0] - GROWTH[low][0]) * part
    weight = GROWTH[low][1] + (GROWTH[high][1] - GROWTH[low][1]) * part
    return height, weight


def _entry(
    rng: random.Random,
    age_months: int,
    *,
    full: bool,
    body: tuple[float, float] | None = None,
) -> rules.VitalsEntry:
    """What a MAT would type for a patient of this age (US units), plausible and mostly normal."""
    years = age_months // 12
    entry = rules.VitalsEntry(temperature_unit="F", weight_unit="lb", temperature_route="oral")
    if body is not None:
        height_cm, weight_kg = body
        weight_kg *= rng.uniform(0.97, 1.03)
    else:
        height_cm, weight_kg = _growth(age_months)
        height_cm *= rng.uniform(0.95, 1.05)
        weight_kg *= rng.uniform(0.85, 1.2)
    if years >= 3:
        adult = years >= 18
        base = 112 + min(years, 85) * 0.35 if adult else 88 + 2.2 * years
        systolic = round(rng.gauss(base, 11 if adult else 7))
        systolic = max(92 if adult else 86, min(systolic, 178 if adult else 128))
        diastolic = round(systolic * rng.uniform(0.58, 0.68))
        entry.systolic, entry.diastolic = Decimal(systolic), Decimal(diastolic)
        entry.bp_position, entry.bp_arm = "sitting", rng.choice(["left", "right"])
        entry.bp_cuff_size = "adult" if years >= 13 else "child"
        if adult and weight_kg > 100:
            entry.bp_cuff_size = "large adult"
    heart_low, heart_high = rules._band(rules.HEART_RATE_BANDS, age_months)
    mid = (heart_low + heart_high) / 2
    entry.heart_rate = Decimal(round(rng.gauss(mid, (heart_high - heart_low) / 5)))
    entry.spo2 = Decimal(rng.choice([95, 96, 97, 97, 98, 98, 99, 99, 100]))
    entry.temperature = Decimal(f"{rng.gauss(98.1, 0.45):.1f}")
    if years < 4:
        entry.temperature_route = "temporal"
    entry.weight = Decimal(f"{weight_kg * 2.20462262:.1f}")
    if full:
        breath_low, breath_high = rules._band(rules.RESPIRATORY_RATE_BANDS, age_months)
        entry.respiratory_rate = Decimal(rng.randint(breath_low, breath_high))
        if age_months >= ADULT_MONTHS:
            entry.height_unit = "in"
            entry.height = Decimal(f"{height_cm / 2.54:.1f}")
        else:
            entry.height_unit = "cm"
            entry.height = Decimal(f"{height_cm:.1f}")
        if years >= 3:
            entry.pain = rng.choice([0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 6])
        if age_months < 36:
            entry.head_circumference = Decimal(f"{35 + 14 * min(age_months, 30) / 30:.1f}")
    return entry


def _template(entry: rules.VitalsEntry, age_months: int) -> VitalTemplate | None:
    """The set as `record_vitals` would store it; None when it is impossible or critical."""
    try:
        assessment = rules.assess(entry, age_months=age_months)
    except rules.VitalsError:
        return None
    if assessment.critical or assessment.recheck_bp_in_minutes:
        return None
    readings = dict(assessment.readings)
    rows: list[tuple[str, str, str, str | None, str, str, str, str]] = []
    if "systolic" in readings:
        high, low = readings.pop("systolic"), readings.pop("diastolic")
        rows.append(
            (
                rules.BP_PANEL_LOINC,
                "blood_pressure",
                str(high.value),
                str(low.value),
                "mm[Hg]",
                high.flag.value,
                low.flag.value,
                high.note[:200],
            )
        )
    for name, reading in readings.items():
        rows.append(
            (
                reading.kind.loinc,
                name,
                str(reading.value),
                None,
                reading.kind.unit,
                reading.flag.value,
                "",
                reading.note[:200],
            )
        )
    units = UNITS_US if entry.height_unit == "in" else UNITS_CHILD
    return VitalTemplate(
        bp_position=entry.bp_position,
        bp_arm=entry.bp_arm,
        bp_cuff_size=entry.bp_cuff_size,
        temperature_route=entry.temperature_route,
        units=units,
        bp_category=assessment.bp_category,
        bmi_category=assessment.bmi_category,
        observations=tuple(rows),
    )


def vital_templates(
    rng: random.Random,
    age_months: int,
    *,
    full: bool,
    count: int,
    body: tuple[float, float] | None = None,
) -> list[VitalTemplate]:
    made: list[VitalTemplate] = []
    tries = 0
    while len(made) < count:
        tries += 1
        if tries > count * 50:
            raise ValueError(f"no plausible vitals for age {age_months} months")
        found = _template(_entry(rng, age_months, full=full, body=body), age_months)
        if found is not None:
            made.append(found)
    return made


class VitalLibrary:
    """Template sets by age key (children) and by body (adults: one height and weight per
    patient, a few variants per visit), built on first use."""

    ADULT_BODIES = 240
    VARIANTS = 6
    CHILD_SETS = 24

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"vitals:{seed}")
        self._children: dict[tuple[int, bool], list[VitalTemplate]] = {}
        self.adult_full: list[list[VitalTemplate]] = []
        self.adult_short: list[list[VitalTemplate]] = []
        for _ in range(self.ADULT_BODIES):
            height = self.rng.gauss(169, 9.5)
            bmi = min(max(self.rng.gauss(28.5, 5.5), 18.0), 46.0)
            body = (height, bmi * (height / 100) ** 2)
            self.adult_full.append(
                vital_templates(
                    self.rng, ADULT_MONTHS + 240, full=True, count=self.VARIANTS, body=body
                )
            )
            self.adult_short.append(
                vital_templates(
                    self.rng, ADULT_MONTHS + 240, full=False, count=self.VARIANTS, body=body
                )
            )

    def child(self, key: int, full: bool) -> list[VitalTemplate]:
        found = self._children.get((key, full))
        if found is None:
            months = key if key < 36 else (key - 33) * 12 + 6
            found = vital_templates(self.rng, months, full=full, count=self.CHILD_SETS)
            self._children[(key, full)] = found
        return found
