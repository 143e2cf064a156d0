"""Point-of-care tests (pure; no Django): what each in-house test measures, and turning what
the medical assistant typed into checked values with their flags.

Each test (by its catalog code) lists its analytes: LOINC code, name, unit, and either a numeric
value (with the range a value can possibly take, so a slip of the finger is refused, and the
reference ranges by sex and age) or a choice among the pads' colour blocks or an antigen test's
lines (with the normal choices). Critical limits come from `flags.CRITICAL_LIMITS` unless an
analyte sets its own. Quality control (the daily control levels of a kit or a meter) is checked
here too: a run passes only when every level gives its expected result.

Reference ranges are typical US adult and paediatric values (WHO haemoglobin thresholds for
children, ADA for A1c and fasting glucose); each clinic should confirm them with its medical
director and the kit's package insert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from . import flags

NUMERIC, CHOICE = "numeric", "choice"
ANY_SEX = ""


def _d(text: str) -> Decimal:
    return Decimal(text)


@dataclass(frozen=True)
class RefRange:
    """A reference range for patients of one sex (or any) from `min_age` up to `max_age`
    (years, the upper bound excluded)."""

    low: Decimal | None
    high: Decimal | None
    sex: str = ANY_SEX  # "female", "male" or any
    min_age: int = 0
    max_age: int = 200
    note: str = ""

    def applies(self, sex: str, age: int) -> bool:
        return self.min_age <= age < self.max_age and (not self.sex or self.sex == sex)

    @property
    def text(self) -> str:
        if self.low is not None and self.high is not None:
            base = f"{_plain(self.low)}-{_plain(self.high)}"
        elif self.high is not None:
            base = f"<={_plain(self.high)}"
        elif self.low is not None:
            base = f">={_plain(self.low)}"
        else:
            base = ""
        return f"{base} {self.note}".strip()


@dataclass(frozen=True)
class Choice:
    value: str  # what is stored, e.g. "Negative", "2+ (100 mg/dL)"
    aliases: tuple[str, ...] = ()  # other spellings accepted at entry: "neg", "2+"


@dataclass(frozen=True)
class Analyte:
    code: str  # LOINC
    name: str
    kind: str  # NUMERIC or CHOICE
    unit: str = ""
    # numeric: the possible range (outside it the value is refused) and decimals allowed
    possible_low: Decimal | None = None
    possible_high: Decimal | None = None
    places: int = 0
    # a meter's off-scale readings ("LO" / "HI"): stored as "<low" / ">high"
    off_scale: tuple[Decimal, Decimal] | None = None
    ranges: tuple[RefRange, ...] = ()
    critical: flags.Limits | None = None  # None: flags.CRITICAL_LIMITS by code, if any
    # choice: the allowed answers and which are normal (or critical)
    choices: tuple[Choice, ...] = ()
    normal: tuple[str, ...] = ()
    critical_choices: tuple[str, ...] = ()

    @property
    def critical_limits(self) -> flags.Limits | None:
        return self.critical if self.critical is not None else flags.CRITICAL_LIMITS.get(self.code)

    @property
    def choice_values(self) -> list[str]:
        return [c.value for c in self.choices]

    def reference_for(self, sex: str, age: int, *, fasting: bool | None = None) -> RefRange | None:
        """The range for this sex and age (the fasting or the random one where they differ);
        for a patient of another or unknown sex, the span of that age's sex-specific ranges."""
        ranges = self.ranges
        if any(r.note in ("fasting", "random") for r in ranges):
            wanted = "fasting" if fasting else "random"
            ranges = tuple(r for r in ranges if r.note == wanted)
        same_age = [r for r in ranges if r.min_age <= age < r.max_age]
        exact = [r for r in same_age if r.sex == sex] or [r for r in same_age if not r.sex]
        if exact:
            return exact[0]
        if not same_age:
            return None
        lows = [r.low for r in same_age if r.low is not None]
        highs = [r.high for r in same_age if r.high is not None]
        return RefRange(
            min(lows) if lows else None, max(highs) if highs else None, note="(either sex)"
        )


@dataclass(frozen=True)
class QcLevelSpec:
    name: str  # "Positive control", "Level 1 (low)"
    expected: str = ""  # for a qualitative control: the answer it must give; numeric: blank
    answers: tuple[str, ...] = ()  # the possible readings of a qualitative control


@dataclass(frozen=True)
class PocTest:
    code: str  # the catalog code
    name: str
    analytes: tuple[Analyte, ...]
    meter: bool = False  # read on a device: QC is run on the device (with the strip lot)
    qc_levels: tuple[QcLevelSpec, ...] = ()

    def analyte(self, code: str) -> Analyte | None:
        return next((a for a in self.analytes if a.code == code), None)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


# --- the tests ---------------------------------------------------------------------------------

NEG = Choice("Negative", ("neg", "-", "negative"))
POS = Choice("Positive", ("pos", "+", "positive"))
QUALITATIVE_QC = (
    QcLevelSpec("Positive control", "Positive", ("Positive", "Negative", "Invalid")),
    QcLevelSpec("Negative control", "Negative", ("Positive", "Negative", "Invalid")),
)
UA_QC_ANSWERS = ("Within range", "Out of range")  # every pad against the control's chart
METER_QC = (QcLevelSpec("Level 1 (low)"), QcLevelSpec("Level 2 (high)"))


def _antigen(code: str, name: str) -> Analyte:
    return Analyte(code, name, CHOICE, choices=(NEG, POS), normal=("Negative",))


# Urinalysis dipstick (Multistix 10 SG-style pads; the LOINC "by Test strip" codes).
# Urobilinogen: 20405-7 is "Urobilinogen [Mass/volume] in Urine by Test strip" (the pad reads
# 0.2-8 mg/dL, i.e. E.U./dL); 5818-0 is the [Presence] variant, not used here. Blood: 5794-3 is
# "Hemoglobin [Presence] in Urine by Test strip" (the pad detects haemoglobin and myoglobin).
UA_PADS = (
    Analyte(
        "25428-4",
        "Urine glucose (dipstick)",
        CHOICE,
        choices=(
            NEG,
            Choice("Trace (100 mg/dL)", ("trace", "tr", "100")),
            Choice("1+ (250 mg/dL)", ("1+", "250")),
            Choice("2+ (500 mg/dL)", ("2+", "500")),
            Choice("3+ (1000 mg/dL)", ("3+", "1000")),
            Choice("4+ (2000 mg/dL or more)", ("4+", "2000")),
        ),
        normal=("Negative",),
    ),
    Analyte(
        "5770-3",
        "Urine bilirubin (dipstick)",
        CHOICE,
        choices=(
            NEG,
            Choice("1+ (small)", ("1+", "small")),
            Choice("2+ (moderate)", ("2+", "moderate")),
            Choice("3+ (large)", ("3+", "large")),
        ),
        normal=("Negative",),
    ),
    Analyte(
        "2514-8",
        "Urine ketones (dipstick)",
        CHOICE,
        choices=(
            NEG,
            Choice("Trace (5 mg/dL)", ("trace", "tr", "5")),
            Choice("Small (15 mg/dL)", ("small", "1+", "15")),
            Choice("Moderate (40 mg/dL)", ("moderate", "2+", "40")),
            Choice("Large (80 mg/dL or more)", ("large", "3+", "80", "160")),
        ),
        normal=("Negative",),
    ),
    Analyte(
        "5811-5",
        "Urine specific gravity (dipstick)",
        NUMERIC,
        possible_low=_d("1.000"),
        possible_high=_d("1.035"),
        places=3,
        ranges=(RefRange(_d("1.005"), _d("1.030")),),
    ),
    Analyte(
        "5794-3",
        "Urine blood (dipstick)",
        CHOICE,
        choices=(
            NEG,
            Choice("Trace, non-hemolyzed", ("trace non-hemolyzed", "nh")),
            Choice("Trace, hemolyzed", ("trace", "tr", "trace hemolyzed")),
            Choice("Small (1+)", ("small", "1+")),
            Choice("Moderate (2+)", ("moderate", "2+")),
            Choice("Large (3+)", ("large", "3+")),
        ),
        normal=("Negative",),
    ),
    Analyte(
        "5803-2",
        "Urine pH (dipstick)",
        NUMERIC,
        possible_low=_d("4.5"),
        possible_high=_d("9.0"),
        places=1,
        ranges=(RefRange(_d("5.0"), _d("8.0")),),
    ),
    Analyte(
        "20454-5",
        "Urine protein (dipstick)",
        CHOICE,
        choices=(
            NEG,
            Choice("Trace", ("trace", "tr")),
            Choice("1+ (30 mg/dL)", ("1+", "30")),
            Choice("2+ (100 mg/dL)", ("2+", "100")),
            Choice("3+ (300 mg/dL)", ("3+", "300")),
            Choice("4+ (2000 mg/dL or more)", ("4+", "2000")),
        ),
        normal=("Negative",),
    ),
    Analyte(
        "20405-7",
        "Urine urobilinogen (dipstick)",
        CHOICE,
        unit="mg/dL",
        choices=(
            Choice("0.2", ("0.2", "normal")),
            Choice("1", ("1", "1.0")),
            Choice("2", ("2", "2.0")),
            Choice("4", ("4", "4.0")),
            Choice("8", ("8", "8.0")),
        ),
        normal=("0.2", "1"),
    ),
    Analyte(
        "5802-4",
        "Urine nitrite (dipstick)",
        CHOICE,
        choices=(NEG, POS),
        normal=("Negative",),
    ),
    Analyte(
        "5799-2",
        "Urine leukocyte esterase (dipstick)",
        CHOICE,
        choices=(
            NEG,
            Choice("Trace", ("trace", "tr")),
            Choice("Small (1+)", ("small", "1+")),
            Choice("Moderate (2+)", ("moderate", "2+")),
            Choice("Large (3+)", ("large", "3+")),
        ),
        normal=("Negative",),
    ),
)

GLUCOSE_METER = Analyte(
    "41653-7",
    "Glucose, fingerstick (meter)",
    NUMERIC,
    unit="mg/dL",
    possible_low=_d("20"),
    possible_high=_d("600"),
    off_scale=(_d("20"), _d("600")),
    # ADA: fasting 70-99 mg/dL; there is no reference range for a random glucose, so the
    # random range below (under 140) only marks what deserves a second look.
    ranges=(
        RefRange(_d("70"), _d("99"), note="fasting"),
        RefRange(_d("70"), _d("139"), note="random"),
    ),
)

A1C = Analyte(
    "4548-4",
    "Hemoglobin A1c (POC)",
    NUMERIC,
    unit="%",
    possible_low=_d("3.0"),
    possible_high=_d("20.0"),
    places=1,
    # ADA: under 5.7 % normal; 5.7-6.4 prediabetes; 6.5 or more diabetes (flagged high).
    ranges=(RefRange(_d("4.0"), _d("5.6")),),
)

# Haemoglobin (HemoCue-style). Children: WHO anaemia thresholds as the lower limits; infants
# under 1 year have no range here (it changes month by month: ask the lab).
HEMOGLOBIN = Analyte(
    "718-7",
    "Hemoglobin (POC)",
    NUMERIC,
    unit="g/dL",
    possible_low=_d("2.0"),
    possible_high=_d("25.0"),
    places=1,
    ranges=(
        RefRange(_d("11.0"), _d("14.0"), min_age=1, max_age=5),
        RefRange(_d("11.5"), _d("15.5"), min_age=5, max_age=12),
        RefRange(_d("12.0"), _d("16.0"), sex="female", min_age=12, max_age=18),
        RefRange(_d("12.5"), _d("16.5"), sex="male", min_age=12, max_age=15),
        RefRange(_d("13.0"), _d("17.0"), sex="male", min_age=15, max_age=18),
        RefRange(_d("12.0"), _d("15.5"), sex="female", min_age=18),
        RefRange(_d("13.5"), _d("17.5"), sex="male", min_age=18),
    ),
)

TESTS: dict[str, PocTest] = {
    t.code: t
    for t in [
        PocTest(
            "UADIP",
            "Urinalysis dipstick",
            UA_PADS,
            qc_levels=(
                QcLevelSpec("Negative control", "Within range", UA_QC_ANSWERS),
                QcLevelSpec("Positive control", "Within range", UA_QC_ANSWERS),
            ),
        ),
        PocTest("GLUPOC", "Glucose, fingerstick", (GLUCOSE_METER,), meter=True, qc_levels=METER_QC),
        PocTest("A1CPOC", "Hemoglobin A1c (POC)", (A1C,), meter=True, qc_levels=METER_QC),
        PocTest("HGBPOC", "Hemoglobin (POC)", (HEMOGLOBIN,), meter=True, qc_levels=METER_QC),
        PocTest(
            "RSTREP",
            "Rapid strep A antigen",
            (_antigen("78012-2", "Strep A antigen (rapid)"),),
            qc_levels=QUALITATIVE_QC,
        ),
        PocTest(
            "UHCG",
            "Pregnancy test, urine (hCG)",
            (_antigen("2106-3", "hCG, urine (pregnancy test)"),),
            qc_levels=QUALITATIVE_QC,
        ),
        PocTest(
            "FLUAG",
            "Influenza A and B antigen",
            (
                _antigen("80382-5", "Influenza A antigen (rapid)"),
                _antigen("80383-3", "Influenza B antigen (rapid)"),
            ),
            qc_levels=QUALITATIVE_QC,
        ),
        PocTest(
            "COVAG",
            "SARS-CoV-2 antigen",
            (_antigen("94558-4", "SARS-CoV-2 antigen (rapid)"),),
            qc_levels=QUALITATIVE_QC,
        ),
    ]
}


# --- checking an entry -------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """One analyte as entered, checked, with its range and flag (ready to store)."""

    analyte: Analyte
    value: Decimal | None
    text: str
    comparator: str
    reference_low: Decimal | None
    reference_high: Decimal | None
    reference_text: str
    flag: str


def age_on(birth_date: date, on: date) -> int:
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def _match_choice(analyte: Analyte, raw: str) -> str | None:
    wanted = " ".join(raw.lower().replace(",", " ").split())
    for choice in analyte.choices:
        if wanted == " ".join(choice.value.lower().replace(",", " ").split()):
            return choice.value
    for choice in analyte.choices:
        if wanted in choice.aliases:
            return choice.value
    return None


def _check_numeric(
    analyte: Analyte, raw: str, sex: str, age: int, fasting: bool | None, errors: dict
) -> Checked | None:
    name, unit = analyte.name, f" {analyte.unit}" if analyte.unit else ""
    comparator = ""
    text = raw.strip().upper()
    if analyte.off_scale is not None and text in ("LO", "LOW", "HI", "HIGH"):
        bottom, top = analyte.off_scale
        comparator, value = ("<", bottom) if text.startswith("LO") else (">", top)
    else:
        try:
            value = Decimal(text)
        except InvalidOperation:
            errors[analyte.code] = [f"{name}: {raw.strip()!r} is not a number"]
            return None
        if not value.is_finite():
            errors[analyte.code] = [f"{name}: {raw.strip()!r} is not a number"]
            return None
        low, high = analyte.possible_low, analyte.possible_high
        if (low is not None and value < low) or (high is not None and value > high):
            scale = ""
            if analyte.off_scale is not None:
                scale = "; enter LO or HI when the meter shows it"
            errors[analyte.code] = [
                f"{name}: {_plain(value)}{unit} is not a possible value "
                f"(possible {_plain(low) if low is not None else ''}-"
                f"{_plain(high) if high is not None else ''}{unit}{scale})"
            ]
            return None
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > analyte.places:
            places = (
                "whole numbers" if analyte.places == 0 else f"{analyte.places} decimal place(s)"
            )
            errors[analyte.code] = [f"{name}: enter {places}, not {raw.strip()}"]
            return None
    ref = analyte.reference_for(sex, age, fasting=fasting)
    ref_low = ref.low if ref is not None else None
    ref_high = ref.high if ref is not None else None
    flag = flags.flag_value(value, low=ref_low, high=ref_high, critical=analyte.critical_limits)
    return Checked(analyte, value, "", comparator, ref_low, ref_high, ref.text if ref else "", flag)


def _check_choice(analyte: Analyte, raw: str, errors: dict) -> Checked | None:
    value = _match_choice(analyte, raw)
    if value is None:
        errors[analyte.code] = [
            f"{analyte.name}: {raw.strip()!r} is not one of {', '.join(analyte.choice_values)}"
        ]
        return None
    if value in analyte.critical_choices:
        flag = flags.CRITICAL
    elif value in analyte.normal:
        flag = flags.NORMAL
    else:
        flag = flags.ABNORMAL
    reference = ", ".join(analyte.normal)
    return Checked(analyte, None, value, "", None, None, reference[:60], flag)


def check_entry(
    test: PocTest,
    entries: dict[str, str],
    *,
    sex: str,
    age: int,
    fasting: bool | None = None,
) -> tuple[list[Checked], dict[str, list[str]]]:
    """Every analyte of `test` from the raw strings (by LOINC code): the checked values with
    their flags, and the errors (by analyte code; each message names the analyte and the rule).
    Every analyte is required; unknown codes are refused."""
    errors: dict[str, list[str]] = {}
    checked: list[Checked] = []
    known = {a.code for a in test.analytes}
    for code in entries:
        if code not in known:
            errors[code] = [f"{code} is not an analyte of {test.name}"]
    for analyte in test.analytes:
        raw = (entries.get(analyte.code) or "").strip()
        if not raw:
            errors[analyte.code] = [f"{analyte.name}: a result is required"]
            continue
        if len(raw) > 60:
            errors[analyte.code] = [f"{analyte.name}: at most 60 characters"]
            continue
        if analyte.kind == NUMERIC:
            row = _check_numeric(analyte, raw, sex, age, fasting, errors)
        else:
            row = _check_choice(analyte, raw, errors)
        if row is not None:
            checked.append(row)
    return (checked if not errors else []), errors


# --- quality control ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QcLevel:
    """One control level as run: `expected` is the answer (qualitative) or the range printed on
    the control's bottle ("36-60"); `observed` what the kit or meter gave."""

    level: str
    expected: str
    observed: str


def check_qc(levels: list[QcLevel]) -> tuple[list[dict[str, object]], bool, dict[str, list[str]]]:
    """The levels as stored ({level, expected, observed, passed}), whether the run passed (every
    level within its expected result), and errors by field (levels[i].observed ...)."""
    errors: dict[str, list[str]] = {}
    rows: list[dict[str, object]] = []
    if not levels:
        errors["levels"] = ["record at least one control level"]
    for index, level in enumerate(levels):
        field = f"levels[{index}]"
        name = " ".join(level.level.split())[:60] or f"Level {index + 1}"
        expected = " ".join(level.expected.split())[:60]
        observed = " ".join(level.observed.split())[:60]
        if not expected:
            errors[f"{field}.expected"] = [f"{name}: the expected result is required"]
        if not observed:
            errors[f"{field}.observed"] = [f"{name}: the observed result is required"]
        if not expected or not observed:
            continue
        low, high = flags.parse_range(expected)
        if low is not None or high is not None:
            try:
                number = Decimal(observed)
            except InvalidOperation:
                errors[f"{field}.observed"] = [f"{name}: {observed!r} is not a number"]
                continue
            if not number.is_finite():
                errors[f"{field}.observed"] = [f"{name}: {observed!r} is not a number"]
                continue
            passed = (low is None or number >= low) and (high is None or number <= high)
        else:
            passed = observed.lower() == expected.lower()
        rows.append({"level": name, "expected": expected, "observed": observed, "passed": passed})
    all_passed = bool(rows) and not errors and all(bool(r["passed"]) for r in rows)
    return rows, all_passed, errors
