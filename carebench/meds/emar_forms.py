"""Forms for the eMAR pages. They parse; `emar_services` decides and writes."""

from __future__ import annotations

from typing import Any

from django import forms

from carebench.patients.forms import ServiceForm

from .emar_models import CONTROLLED_SCHEDULES, ORAL_ROUTES, Absence, DoseRecord

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
VITALS = [
    ("pulse", "Pulse (/min)"),
    ("systolic", "Systolic BP (mmHg)"),
    ("diastolic", "Diastolic BP (mmHg)"),
    ("glucose", "Blood glucose (mg/dL)"),
    ("temperature", "Temperature (°F)"),
    ("respirations", "Respirations (/min)"),
    ("spo2", "SpO2 (%)"),
]


class AdmitForm(ServiceForm):
    mrn = forms.CharField(
        max_length=20, label="Patient's MRN", help_text="register the patient first"
    )
    room = forms.CharField(max_length=20)
    admitted_on = forms.DateField(widget=DATE_WIDGET, label="Admitted on")
    prescriber_name = forms.CharField(max_length=200, label="Prescriber")
    pharmacy_name = forms.CharField(max_length=200, required=False, label="Pharmacy")
    pharmacy_phone = forms.CharField(max_length=20, required=False, label="Pharmacy phone")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "admit")
        super().__init__(*args, **kwargs)


class OrderForm(ServiceForm):
    drug_name = forms.CharField(max_length=200, label="Medication")
    strength = forms.CharField(max_length=60, required=False)
    form = forms.CharField(
        max_length=40, required=False, label="Form", help_text="tablet, capsule, solution"
    )
    dose = forms.CharField(max_length=60, help_text="e.g. 1 tablet")
    route = forms.ChoiceField(choices=list(ORAL_ROUTES.items()))
    frequency = forms.CharField(
        max_length=20, help_text="QD, BID, TID, QID, QHS, Q8H, WEEKLY, PRN ..."
    )
    custom_times = forms.CharField(
        max_length=100,
        required=False,
        label="Times (optional)",
        help_text="HH:MM, comma-separated, if the order names them",
    )
    weekday = forms.TypedChoiceField(
        choices=[("", "—")]
        + [(str(i), d) for i, d in enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])],
        coerce=int,
        empty_value=None,
        required=False,
        label="Day (weekly)",
    )
    prn_indication = forms.CharField(max_length=200, required=False, label="PRN: for")
    prn_min_interval_minutes = forms.IntegerField(
        min_value=1, required=False, label="PRN: minimum minutes between doses"
    )
    prn_max_per_day = forms.IntegerField(min_value=1, required=False, label="PRN: most doses a day")
    start_date = forms.DateField(widget=DATE_WIDGET)
    stop_date = forms.DateField(widget=DATE_WIDGET, required=False)
    hold_text = forms.CharField(
        max_length=200,
        required=False,
        label="Hold parameters",
        help_text="e.g. hold if pulse < 60 or systolic < 100",
    )
    instructions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Special instructions"
    )
    prescriber = forms.CharField(max_length=200)
    ndc = forms.CharField(max_length=13, required=False, label="NDC on the card")
    controlled = forms.ChoiceField(choices=CONTROLLED_SCHEDULES, required=False, label="Controlled")
    quantity_on_hand = forms.IntegerField(min_value=0, initial=30, label="Doses on hand")
    reorder_at = forms.IntegerField(min_value=0, initial=7, label="Reorder at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "order")
        super().__init__(*args, **kwargs)

    def clean_custom_times(self) -> list[Any]:
        from datetime import time

        text = self.cleaned_data.get("custom_times", "")
        times = []
        for part in [p.strip() for p in text.split(",") if p.strip()]:
            try:
                times.append(time.fromisoformat(part))
            except ValueError:
                raise forms.ValidationError(f"{part!r} is not a time like 08:00") from None
        return times


class DoseForm(forms.Form):
    """One dose's outcome at the pass; vitals for orders with hold parameters."""

    outcome = forms.ChoiceField(choices=DoseRecord.Outcome.choices)
    scheduled_at = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=300, required=False)
    prn_reason = forms.CharField(max_length=300, required=False, label="Why now")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in VITALS:
            self.fields[f"vital_{name}"] = forms.DecimalField(
                max_digits=6, decimal_places=1, required=False, label=label
            )

    def vitals(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[f"vital_{name}"]
            for name, _label in VITALS
            if self.cleaned_data.get(f"vital_{name}") is not None
        }


class EffectivenessForm(forms.Form):
    result = forms.ChoiceField(choices=[("", "Choose…")] + list(DoseRecord.Effect.choices))
    note = forms.CharField(max_length=300, required=False)


class AbsenceForm(ServiceForm):
    kind = forms.ChoiceField(choices=Absence.Kind.choices)
    starts_at = forms.DateTimeField(widget=DATETIME_WIDGET, label="Left at")
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "absence")
        super().__init__(*args, **kwargs)


class RefillForm(ServiceForm):
    quantity = forms.IntegerField(min_value=1, max_value=1000)
    rx_number = forms.CharField(max_length=40, required=False, label="Rx number")
    card_label = forms.CharField(max_length=60, required=False, label="Card or bottle (controlled)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "refill")
        super().__init__(*args, **kwargs)


class ResolveForm(ServiceForm):
    resolution = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), label="What was found and done"
    )
    correct_counts = forms.BooleanField(
        required=False, label="Correct the sheets to the counted numbers"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "resolve")
        super().__init__(*args, **kwargs)
