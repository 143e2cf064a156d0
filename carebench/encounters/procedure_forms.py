"""Forms of the procedure room and wound care: they parse; the services decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms

from carebench.patients.forms import LabelledForm

from . import vitals as rules
from .procedure_models import Procedure, ProcedureConsent, Wound, WoundAssessment


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def _choices(rows: list[Any], label: Any = str) -> list[tuple[str, str]]:
    return [(str(row.pk), label(row)) for row in rows]


class NewProcedureForm(LabelledForm):
    template = forms.ChoiceField(label="Procedure")
    site = forms.CharField(label="Body site", max_length=100)
    side = forms.ChoiceField(choices=[("", "—")] + list(Procedure.Side.choices))

    def __init__(self, *args: Any, templates: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "template").choices = [("", "Choose…")] + _choices(templates)


class SetUpForm(LabelledForm):
    performed_by = forms.ChoiceField(label="Performed by (provider)")
    room = forms.ChoiceField(label="Room", required=False)
    instrument_set = forms.CharField(
        label="Instrument set (scan the tray's barcode)", max_length=60, required=False
    )
    assistants = forms.MultipleChoiceField(
        label="Assisted by", required=False, widget=forms.CheckboxSelectMultiple
    )
    service_fields = {"instrument_set": "instrument_set", "performed_by": "performed_by"}

    def __init__(
        self, *args: Any, providers: list[Any], rooms: list[Any], staff: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "performed_by").choices = [("", "Choose…")] + _choices(
            providers, lambda p: p.display_name
        )
        _choice_field(self, "room").choices = [("", "—")] + _choices(rooms, lambda r: r.name)
        _choice_field(self, "assistants").choices = _choices(
            staff, lambda u: u.get_full_name() or u.username
        )
        self.fields["instrument_set"].widget.attrs.update({"autocomplete": "off"})


class ConsentForm(LabelledForm):
    method = forms.ChoiceField(
        label="How was it signed?",
        choices=ProcedureConsent.Method.choices,
        initial=ProcedureConsent.Method.DRAWN,
        widget=forms.RadioSelect,
    )
    signer_name = forms.CharField(label="Signed by (full name)", max_length=120)
    relationship = forms.ChoiceField(
        label="Relationship to the patient",
        choices=ProcedureConsent.Relationship.choices,
        initial=ProcedureConsent.Relationship.SELF,
    )
    signature = forms.CharField(widget=forms.HiddenInput, required=False)
    scan = forms.FileField(label="Scanned consent (PDF, PNG or JPEG)", required=False)


class TimeoutForm(LabelledForm):
    confirmed = forms.MultipleChoiceField(
        label="Time-out: confirm each aloud", widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, checklist: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "confirmed").choices = checklist


class AnaestheticForm(LabelledForm):
    anaesthetic_name = forms.CharField(label="Anaesthetic", max_length=100)
    anaesthetic_lot = forms.CharField(label="Lot number", max_length=40)
    anaesthetic_expires_on = forms.DateField(
        label="Expires", widget=forms.DateInput(attrs={"type": "date"})
    )
    anaesthetic_amount = forms.CharField(label="Amount", max_length=40)


class SupplyForm(LabelledForm):
    supply_name = forms.CharField(label="Supply", max_length=100)
    quantity = forms.IntegerField(label="Count", min_value=1, max_value=500, initial=1)


class SpecimenForm(LabelledForm):
    description = forms.CharField(label="Specimen", max_length=200)
    diagnosis_codes = forms.CharField(
        label="Reason (ICD-10-CM codes, comma-separated)", max_length=200
    )

    def codes(self) -> list[str]:
        return [c.strip() for c in self.cleaned_data["diagnosis_codes"].split(",") if c.strip()]


class ProcedureVitalsForm(LabelledForm):
    phase = forms.ChoiceField(choices=[("before", "Before"), ("after", "After")])
    systolic = forms.DecimalField(label="Systolic", required=False, max_digits=5)
    diastolic = forms.DecimalField(label="Diastolic", required=False, max_digits=5)
    heart_rate = forms.DecimalField(label="Pulse", required=False, max_digits=5)
    respiratory_rate = forms.DecimalField(label="Resp. rate", required=False, max_digits=5)
    spo2 = forms.DecimalField(label="SpO2 %", required=False, max_digits=5)

    def to_entry(self) -> rules.VitalsEntry:
        data = self.cleaned_data
        return rules.VitalsEntry(
            systolic=data.get("systolic"),
            diastolic=data.get("diastolic"),
            heart_rate=data.get("heart_rate"),
            respiratory_rate=data.get("respiratory_rate"),
            spo2=data.get("spo2"),
        )


class CompleteForm(LabelledForm):
    no_complications = forms.BooleanField(label="No complications", required=False)
    complications = forms.CharField(
        label="Complications", required=False, max_length=500, widget=forms.Textarea({"rows": 2})
    )
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea({"rows": 2}))

    def complication_text(self) -> str:
        text = (self.cleaned_data.get("complications") or "").strip()
        if self.cleaned_data.get("no_complications") and not text:
            return "none"
        return text


class AbandonForm(LabelledForm):
    reason = forms.CharField(label="Why was it stopped?", max_length=300)


class TemplateForm(LabelledForm):
    name = forms.CharField(max_length=100)
    tray = forms.CharField(label="Instrument set to open", max_length=100, required=False)
    sterile_tray = forms.BooleanField(label="A sterilized tray is scanned", required=False)
    supplies = forms.CharField(
        label="Supplies (one per line)", required=False, widget=forms.Textarea({"rows": 6})
    )
    consent_text = forms.CharField(label="Consent text", widget=forms.Textarea({"rows": 5}))
    timeout_items = forms.CharField(
        label="Extra time-out checks (one per line)",
        required=False,
        widget=forms.Textarea({"rows": 3}),
    )
    codes = forms.CharField(
        label="Usual codes (one per line: code, then our short label)",
        required=False,
        widget=forms.Textarea({"rows": 3}),
    )
    vitals_before_after = forms.BooleanField(label="Vitals before and after", required=False)
    specimen_usual = forms.BooleanField(label="A specimen is usual", required=False)
    aftercare_en = forms.CharField(
        label="Aftercare (English; '- ' starts a bullet)",
        required=False,
        widget=forms.Textarea({"rows": 6}),
    )
    aftercare_es = forms.CharField(
        label="Aftercare (Spanish)", required=False, widget=forms.Textarea({"rows": 6})
    )
    is_active = forms.BooleanField(label="In use", required=False)

    @classmethod
    def initial_for(cls, template: Any) -> dict[str, Any]:
        return {
            "name": template.name,
            "tray": template.tray,
            "sterile_tray": template.sterile_tray,
            "supplies": "\n".join(template.supplies),
            "consent_text": template.consent_text,
            "timeout_items": "\n".join(template.timeout_items),
            "codes": "\n".join(f"{c['code']} {c['label']}" for c in template.codes),
            "vitals_before_after": template.vitals_before_after,
            "specimen_usual": template.specimen_usual,
            "aftercare_en": template.aftercare_en,
            "aftercare_es": template.aftercare_es,
            "is_active": template.is_active,
        }


class WoundForm(LabelledForm):
    location = forms.CharField(max_length=120)
    kind = forms.ChoiceField(label="Type", choices=[("", "Choose…")] + list(Wound.Kind.choices))
    stage = forms.ChoiceField(
        label="Stage (pressure injuries)",
        choices=[("", "—")] + list(Wound.Stage.choices),
        required=False,
    )
    onset_on = forms.DateField(
        label="Onset", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class AssessmentForm(LabelledForm):
    length_cm = forms.DecimalField(label="Length (cm)", required=False, max_digits=6)
    width_cm = forms.DecimalField(label="Width (cm)", required=False, max_digits=6)
    depth_cm = forms.DecimalField(label="Depth (cm)", required=False, max_digits=6)
    exudate = forms.ChoiceField(
        choices=[("", "—")] + list(WoundAssessment.Exudate.choices), required=False
    )
    tissue = forms.CharField(label="Wound bed", max_length=200, required=False)
    dressing = forms.CharField(label="Dressing applied", max_length=200, required=False)
    note = forms.CharField(max_length=500, required=False)
    photo = forms.FileField(label="Photo (JPEG or PNG)", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("length_cm", "width_cm", "depth_cm"):
            value = data.get(name)
            if isinstance(value, Decimal):
                data[name] = value.quantize(Decimal("0.1"))
        return data
