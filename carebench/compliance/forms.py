"""Forms for the compliance pages. They parse; `compliance.services` decides and writes (its
field errors come back onto these forms)."""

from __future__ import annotations

from typing import Any

from django import forms

from carebench.patients.forms import DateField, ServiceForm

from .models import Device, Excursion, ExcursionLot, MaintenancePlan, ServiceRecord, SterilizerCycle

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M"]
TEMP_ATTRS = {"inputmode": "decimal", "step": "0.1", "autocomplete": "off"}


def _temp(label: str, required: bool = False, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=5,
        decimal_places=1,
        help_text=help_text,
        widget=forms.NumberInput(attrs=TEMP_ATTRS),
    )


def _when(label: str, required: bool = False, help_text: str = "") -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=DATETIME_FORMATS,
        widget=DATETIME_WIDGET,
        help_text=help_text,
    )


class NamedChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


class DeviceForm(ServiceForm):
    facility = NamedChoiceField(queryset=None)
    kind = forms.ChoiceField(choices=[("", "Choose…"), *Device.Kind.choices])
    name = forms.CharField(max_length=100, help_text="as staff know it: Glucometer room 3")
    serial_number = forms.CharField(max_length=60)
    make = forms.CharField(max_length=100, required=False)
    model_name = forms.CharField(max_length=100, required=False, label="Model")
    location = forms.CharField(max_length=100, required=False)
    poc_device = NamedChoiceField(
        queryset=None, required=False, label="Point-of-care device it is (lab QC)"
    )
    storage_unit = NamedChoiceField(
        queryset=None, required=False, label="Vaccine storage unit it is"
    )

    def __init__(
        self, *args: Any, facilities: Any, poc_devices: Any, storage_units: Any, **kwargs: Any
    ) -> None:
        kwargs.setdefault("prefix", "device")
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities  # type: ignore[attr-defined]
        self.fields["poc_device"].queryset = poc_devices  # type: ignore[attr-defined]
        self.fields["storage_unit"].queryset = storage_units  # type: ignore[attr-defined]
        only = list(facilities[:2])
        if len(only) == 1:
            self.fields["facility"].initial = only[0].pk


class DeviceStatusForm(ServiceForm):
    status = forms.ChoiceField(choices=Device.Status.choices)
    reason = forms.CharField(max_length=300, required=False)


class PlanForm(ServiceForm):
    kind = forms.ChoiceField(choices=[("", "Choose…"), *MaintenancePlan.Kind.choices])
    interval_days = forms.IntegerField(label="Every (days)", min_value=1, initial=365)
    next_due = DateField(label="Next due", required=True)
    instructions = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "plan")
        super().__init__(*args, **kwargs)


class ServiceRecordForm(ServiceForm):
    plan = NamedChoiceField(queryset=None, required=False, label="For the plan")
    done_on = DateField(label="Done on", required=True)
    result = forms.ChoiceField(choices=[("", "Choose…"), *ServiceRecord.Result.choices])
    vendor = forms.CharField(max_length=200, required=False, help_text="blank: you did it yourself")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, plans: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "service")
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans  # type: ignore[attr-defined]


class ReadingForm(ServiceForm):
    current_c = _temp("Now (°C)", required=True, help_text="what the display shows")
    min_c = _temp("Min since reset (°C)")
    max_c = _temp("Max since reset (°C)")
    taken_at = _when("Taken at", help_text="blank: now")
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "reading")
        super().__init__(*args, **kwargs)


class UploadForm(ServiceForm):
    file = forms.FileField(label="Data logger file (CSV)")
    unit = forms.ChoiceField(
        label="Temperatures in",
        required=False,
        choices=[("", "As the file's header says"), ("C", "°C"), ("F", "°F")],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "upload")
        super().__init__(*args, **kwargs)


class ResolveForm(ServiceForm):
    contacted = forms.ChoiceField(
        label="Contacted", choices=[("", "Choose…"), *Excursion.Contacted.choices]
    )
    contact_name = forms.CharField(
        max_length=200, required=False, label="Who answered (name, reference number)"
    )
    answer = forms.CharField(label="Their answer", widget=forms.Textarea(attrs={"rows": 3}))
    action = forms.CharField(label="What was done", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, held: list[ExcursionLot], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "resolve")
        super().__init__(*args, **kwargs)
        for entry in held:
            self.fields[f"lot_{entry.lot_id}"] = forms.ChoiceField(
                label=f"{entry.lot.product.name} lot {entry.lot.lot_number} "
                f"({entry.doses_held} dose(s))",
                choices=[("", "Choose…"), *ExcursionLot.Decision.choices],
            )
        self.held = held

    def decisions(self) -> dict[int, str]:
        return {entry.lot_id: self.cleaned_data[f"lot_{entry.lot_id}"] for entry in self.held}


class InstrumentSetForm(ServiceForm):
    name = forms.CharField(max_length=100)
    barcode = forms.CharField(max_length=60, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    contents = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "set")
        super().__init__(*args, **kwargs)


class SetChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


class CycleForm(ServiceForm):
    autoclave = NamedChoiceField(queryset=None)
    cycle_number = forms.CharField(max_length=20, label="Cycle number (from the printout)")
    run_at = _when("Run at", required=True)
    instrument_sets = SetChoices(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label="Load: sets"
    )
    load_notes = forms.CharField(max_length=300, required=False, label="Load: anything else")
    duration_minutes = forms.IntegerField(label="Exposure (minutes)", min_value=0)
    temperature_c = forms.DecimalField(label="Temperature (°C)", max_digits=4, decimal_places=1)
    pressure_psi = forms.DecimalField(label="Pressure (psi)", max_digits=4, decimal_places=1)
    chemical_indicator = forms.ChoiceField(
        label="Chemical indicator", choices=[("", "Choose…"), *SterilizerCycle.Indicator.choices]
    )
    biological_indicator = forms.ChoiceField(
        label="Biological indicator",
        choices=[("", "Choose…"), *SterilizerCycle.Biological.choices],
    )

    def __init__(self, *args: Any, autoclaves: Any, sets: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["autoclave"].queryset = autoclaves  # type: ignore[attr-defined]
        self.fields["instrument_sets"].queryset = sets  # type: ignore[attr-defined]
        only = list(autoclaves[:2])
        if len(only) == 1:
            self.fields["autoclave"].initial = only[0].pk


class BiForm(ServiceForm):
    result = forms.ChoiceField(
        label="BI result",
        choices=[
            ("", "Choose…"),
            (SterilizerCycle.Biological.PASS, "Pass (no growth)"),
            (SterilizerCycle.Biological.FAIL, "Fail (growth)"),
        ],
    )
    read_at = _when("Read at", help_text="blank: now")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "bi")
        super().__init__(*args, **kwargs)


class RecallForm(ServiceForm):
    reason = forms.CharField(max_length=300, label="Why recall this load")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "recall")
        super().__init__(*args, **kwargs)
