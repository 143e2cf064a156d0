"""Forms for imaging and referral orders: they parse; the services check the rules (billable
ICD-10-CM codes, which statuses an order may move from)."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from carebench.scheduling.models import Provider

from .document_forms import DocumentUploadForm
from .forms import DateField, ServiceForm, _blank
from .referral_models import OutsideOrder


class OutsideOrderForm(ServiceForm):
    kind = forms.ChoiceField(choices=OutsideOrder.Kind.choices, label="Order")
    modality = forms.ChoiceField(
        choices=_blank(OutsideOrder.Modality.choices), required=False, label="Imaging study type"
    )
    specialty = forms.CharField(
        max_length=100, required=False, label="Specialty (referrals)", help_text="cardiology…"
    )
    requested = forms.CharField(
        max_length=300,
        label="Study or specialist asked for",
        help_text="“Chest X-ray, 2 views”, “Dr. Lee, cardiology: evaluate murmur”",
    )
    cpt_code = forms.CharField(max_length=5, required=False, label="CPT code (when known)")
    diagnosis_codes = forms.CharField(
        label="Reason (ICD-10-CM codes)",
        max_length=200,
        help_text="billable codes separated by commas, e.g. E11.9, I10",
    )
    priority = forms.ChoiceField(choices=OutsideOrder.Priority.choices)
    ordering_provider: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=Provider.objects.none(), label="Ordering provider"
    )
    destination_name = forms.CharField(
        max_length=200, required=False, label="Imaging center or practice"
    )
    destination_phone = forms.CharField(max_length=20, required=False, label="Its phone")
    destination_fax = forms.CharField(max_length=20, required=False, label="Its fax")
    patient_instructions = forms.CharField(
        max_length=2000,
        required=False,
        label="Notes for the patient (preparation)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(
        max_length=2000,
        required=False,
        label="Note to the destination",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, providers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ordering_provider"].queryset = providers  # type: ignore[attr-defined]
        self._code_typeahead("diagnosis_codes")

    def clean_diagnosis_codes(self) -> list[str]:
        return [c for c in re.split(r"[\s,;]+", self.cleaned_data["diagnosis_codes"]) if c]


class SendForm(ServiceForm):
    via = forms.CharField(max_length=40, required=False, label="Sent by", help_text="fax, portal…")


class ScheduleForm(ServiceForm):
    scheduled_on = DateField(label="Scheduled for")


class ResultForm(DocumentUploadForm):
    """The report or consult note that came back (its category follows the order's kind)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["category"]
        del self.fields["note"]


class ReviewForm(ServiceForm):
    note = forms.CharField(
        max_length=2000,
        required=False,
        label="Review note",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CancelForm(ServiceForm):
    reason = forms.CharField(max_length=500, label="Reason")
