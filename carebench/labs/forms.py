"""Forms for the lab pages: they parse; the labs services decide and write."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms

from carebench.patients.forms import ServiceForm
from carebench.scheduling.models import Provider

from .models import LabOrder, LabTest, Specimen

FASTING_CHOICES = [("", "Not asked"), ("yes", "Yes, fasted"), ("no", "No, not fasting")]
SITE_CHOICES = [
    ("left antecubital", "Left antecubital"),
    ("right antecubital", "Right antecubital"),
    ("left hand", "Left hand (dorsal)"),
    ("right hand", "Right hand (dorsal)"),
    ("fingerstick", "Fingerstick"),
    ("urine (patient collected)", "Urine, patient collected"),
    ("throat", "Throat swab"),
    ("nasopharynx", "Nasopharyngeal swab"),
    ("other", "Other (write below)"),
]


class TestChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} · {obj.name}"


class OrderForm(ServiceForm):
    tests = TestChoiceField(
        queryset=LabTest.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Tests",
        error_messages={"required": "choose at least one test"},
    )
    ordering_provider: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=Provider.objects.none(), label="Ordering provider"
    )
    basis = forms.ChoiceField(choices=LabOrder.Basis.choices, label="Order basis")
    diagnosis_codes = forms.CharField(
        label="Reason (ICD-10-CM codes)",
        max_length=200,
        help_text="billable codes separated by commas, e.g. E11.9, I10: type a code or words to search",
    )
    priority = forms.ChoiceField(choices=LabOrder.Priority.choices)
    fasting_confirmed = forms.ChoiceField(
        choices=FASTING_CHOICES, required=False, label="Has the patient fasted?"
    )
    note = forms.CharField(max_length=300, required=False, label="Note to the lab")

    def __init__(
        self, *args: Any, tests: Any, providers: Any, may_sign: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tests"].queryset = tests  # type: ignore[attr-defined]
        self.fields["ordering_provider"].queryset = providers  # type: ignore[attr-defined]
        self._code_typeahead("diagnosis_codes")
        if not may_sign:
            self.fields["basis"].choices = [  # type: ignore[attr-defined]
                c for c in LabOrder.Basis.choices if c[0] != LabOrder.Basis.PROVIDER
            ]

    def clean_diagnosis_codes(self) -> list[str]:
        text = self.cleaned_data["diagnosis_codes"]
        return [c for c in re.split(r"[\s,;]+", text) if c]

    def clean_fasting_confirmed(self) -> bool | None:
        value = self.cleaned_data.get("fasting_confirmed")
        return {"yes": True, "no": False}.get(value or "")


class CollectForm(ServiceForm):
    site = forms.ChoiceField(choices=SITE_CHOICES, label="Site")
    other_site = forms.CharField(max_length=60, required=False, label="Other site")
    attempts = forms.IntegerField(min_value=1, max_value=5, initial=1, label="Attempts")
    collected_at = forms.DateTimeField(
        required=False,
        label="Collected at (leave blank for now)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args: Any, zone: str = "UTC", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("site") == "other":
            if not data.get("other_site", "").strip():
                self.add_error("other_site", "Other site: say where it was collected from")
            data["site"] = data.get("other_site", "")
        at: datetime | None = data.get("collected_at")
        if at is not None:
            data["collected_at"] = at.replace(tzinfo=None).replace(tzinfo=ZoneInfo(self.zone))
        return data


class ProcessForm(ServiceForm):
    centrifuged = forms.BooleanField(required=False)
    aliquoted = forms.BooleanField(required=False)
    note = forms.CharField(max_length=200, required=False)


class StoreForm(ServiceForm):
    temperature = forms.ChoiceField(choices=Specimen.Temperature.choices)
    location = forms.CharField(max_length=100, required=False, label="Where (fridge, rack)")


class ReceiveForm(ServiceForm):
    location = forms.CharField(max_length=100, required=False, label="Received at")


class RejectForm(ServiceForm):
    reason = forms.ChoiceField(choices=Specimen.Rejection.choices)
    note = forms.CharField(max_length=300, required=False)


class ManifestForm(ServiceForm):
    courier = forms.CharField(max_length=100)
    destination = forms.CharField(max_length=100, initial="Reference lab")
    specimens = forms.ModelMultipleChoiceField(
        queryset=Specimen.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "choose at least one specimen to pack"},
    )

    def __init__(self, *args: Any, specimens: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["specimens"].queryset = specimens  # type: ignore[attr-defined]


class CatalogUploadForm(forms.Form):
    file = forms.FileField(label="Catalog CSV")
