"""Forms for the rooming page: chief complaint, the screens (PHQ-2, fall risk), vital signs.

The vitals form only parses numbers and units; the vitals rules (through `record_vitals`)
refuse impossible values, and their messages come back onto the fields of the same names.
"""

from __future__ import annotations

from typing import Any

from django import forms

from carebench.patients.forms import LabelledForm, ServiceForm

from .vitals import VitalsEntry

PHQ2_CHOICES = [
    (0, "Not at all (0)"),
    (1, "Several days (1)"),
    (2, "More than half the days (2)"),
    (3, "Nearly every day (3)"),
]
PHQ2_QUESTIONS = {
    "interest": "Little interest or pleasure in doing things",
    "down": "Feeling down, depressed, or hopeless",
}
FALL_QUESTIONS = {  # CDC STEADI's three key questions
    "fallen": "Has fallen in the past year",
    "unsteady": "Feels unsteady when standing or walking",
    "worries": "Worries about falling",
}
YES_NO = [("no", "No"), ("yes", "Yes")]


def _number(label: str, **attrs: Any) -> forms.DecimalField:
    widget_attrs = {"step": "any", "inputmode": "decimal", "autocomplete": "off", **attrs}
    return forms.DecimalField(
        label=label, required=False, widget=forms.NumberInput(attrs=widget_attrs)
    )


def _choice(
    label: str, choices: list[tuple[str, str]], *, blank: bool = True, initial: str = ""
) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        required=False,
        initial=initial,
        choices=([("", "—")] if blank else []) + choices,
    )


class ChiefComplaintForm(ServiceForm):
    chief_complaint = forms.CharField(
        label="Chief complaint (in the patient's words)",
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class Phq2Form(LabelledForm):
    """PHQ-2: over the last two weeks, how often has the patient been bothered by …"""

    interest = forms.TypedChoiceField(
        label=PHQ2_QUESTIONS["interest"], coerce=int, choices=PHQ2_CHOICES, widget=forms.RadioSelect
    )
    down = forms.TypedChoiceField(
        label=PHQ2_QUESTIONS["down"], coerce=int, choices=PHQ2_CHOICES, widget=forms.RadioSelect
    )

    def score(self) -> int:
        return self.cleaned_data["interest"] + self.cleaned_data["down"]


class FallRiskForm(LabelledForm):
    """STEADI: any 'yes' means the patient is at risk of falling."""

    fallen = forms.ChoiceField(
        label=FALL_QUESTIONS["fallen"], choices=YES_NO, widget=forms.RadioSelect
    )
    unsteady = forms.ChoiceField(
        label=FALL_QUESTIONS["unsteady"], choices=YES_NO, widget=forms.RadioSelect
    )
    worries = forms.ChoiceField(
        label=FALL_QUESTIONS["worries"], choices=YES_NO, widget=forms.RadioSelect
    )

    def score(self) -> int:
        return sum(self.cleaned_data[name] == "yes" for name in FALL_QUESTIONS)

    def result(self) -> str:
        yes = [FALL_QUESTIONS[n].lower() for n in FALL_QUESTIONS if self.cleaned_data[n] == "yes"]
        return ("at risk: " + "; ".join(yes)) if yes else "not at risk"


class VitalsForm(ServiceForm):
    """One set of vital signs, in the units the MAT chose (field names as in VitalsEntry)."""

    systolic = _number("Systolic (mmHg)", size=4)
    diastolic = _number("Diastolic (mmHg)", size=4)
    bp_position = _choice(
        "Position",
        [("sitting", "Sitting"), ("standing", "Standing"), ("lying", "Lying")],
        initial="sitting",
    )
    bp_arm = _choice("Arm", [("left", "Left"), ("right", "Right")])
    bp_cuff_size = _choice(
        "Cuff size",
        [
            ("infant", "Infant"),
            ("child", "Child"),
            ("small_adult", "Small adult"),
            ("adult", "Adult"),
            ("large_adult", "Large adult"),
            ("thigh", "Thigh"),
        ],
    )
    heart_rate = _number("Pulse (beats/min)")
    respiratory_rate = _number("Respiratory rate (/min)")
    temperature = _number("Temperature")
    temperature_unit = _choice("Unit", [("F", "°F"), ("C", "°C")], blank=False, initial="F")
    temperature_route = _choice(
        "Route",
        [
            ("oral", "Oral"),
            ("tympanic", "Tympanic (ear)"),
            ("temporal", "Temporal"),
            ("axillary", "Axillary"),
            ("rectal", "Rectal"),
        ],
    )
    spo2 = _number("SpO2 (%)")
    o2_flow = _number("O2 flow (L/min, blank: room air)")
    height = _number("Height (cm)", **{"data-height-cm": ""})
    height_feet = _number("Height (ft)", **{"data-height-ft": ""})
    height_inches = _number("(in)", **{"data-height-in": ""})
    weight = _number("Weight", **{"data-weight": ""})
    weight_unit = _choice("Unit", [("lb", "lb"), ("kg", "kg")], blank=False, initial="lb")
    head_circumference = _number("Head circumference")
    head_circumference_unit = _choice(
        "Unit", [("cm", "cm"), ("in", "in")], blank=False, initial="cm"
    )
    pain = forms.IntegerField(
        label="Pain (0-10)",
        required=False,
        widget=forms.NumberInput(attrs={"step": "1", "inputmode": "numeric"}),
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, head_circumference: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["weight_unit"].widget.attrs["data-weight-unit"] = ""
        if not head_circumference:
            del self.fields["head_circumference"]
            del self.fields["head_circumference_unit"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        metric = data.get("height") is not None
        imperial = data.get("height_feet") is not None or data.get("height_inches") is not None
        if metric and imperial:
            self.add_error("height", "Height: give it in cm, or in feet and inches, not both")
        return data

    def to_entry(self) -> VitalsEntry:
        data = dict(self.cleaned_data)
        data.pop("note", None)
        imperial = data.get("height_feet") is not None or data.get("height_inches") is not None
        data["height_unit"] = "ft_in" if imperial else "cm"
        values = {name: value for name, value in data.items() if value is not None and value != ""}
        return VitalsEntry(**values)
