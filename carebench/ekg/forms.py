"""Forms for the EKG pages: upload a file, sign (with corrected values), void.

They only parse; the services check the file, the plausible ranges and the rules, and their
messages come back onto the fields of the same names.
"""

from __future__ import annotations

from typing import Any

from django import forms

from carebench.patients.forms import ServiceForm

from .models import MEASUREMENTS, EkgRecording

ACCEPT = ".zip,.xml,.dcm,.dicom,.csv,.txt"


class UploadForm(ServiceForm):
    file = forms.FileField(
        label="EKG file",
        help_text=(
            "GE MUSE or Philips XML, HL7 aECG XML, DICOM (.dcm), CSV, or a WFDB record "
            "(.hea and .dat zipped together)"
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    encounter = forms.IntegerField(required=False, widget=forms.HiddenInput)


class SignForm(ServiceForm):
    interpretation = forms.CharField(
        label="Interpretation",
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 5000}),
        max_length=5000,
    )
    billing_code = forms.ChoiceField(label="Billing", choices=EkgRecording.Billing.choices)

    def __init__(self, *args: Any, recording: EkgRecording | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        computer = recording.measurements if recording else {}
        for key, (label, unit) in MEASUREMENTS.items():
            value = computer.get(key)
            self.fields[key] = forms.DecimalField(
                label=f"{label} ({unit})",
                required=False,
                widget=forms.NumberInput(
                    attrs={
                        "step": "any",
                        "inputmode": "decimal",
                        "autocomplete": "off",
                        "placeholder": "—" if value is None else f"{value:g}",
                        "data-measure": key,
                    }
                ),
                help_text="blank keeps the computer's value",
            )
            self.fields[key].error_messages["invalid"] = f"{label}: enter a number"
        if recording is not None and not self.is_bound:
            self.initial.setdefault("billing_code", recording.billing_code)
        # the interpretation last, after the numbers it rests on
        self.order_fields([*MEASUREMENTS, "interpretation", "billing_code"])

    def corrections(self) -> dict[str, Any]:
        return {
            key: self.cleaned_data[key]
            for key in MEASUREMENTS
            if self.cleaned_data.get(key) is not None
        }


class VoidForm(ServiceForm):
    reason = forms.CharField(label="Reason", max_length=500)
