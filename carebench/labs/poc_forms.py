"""Forms for point-of-care pages: kit lots, devices, QC runs and result entry. They parse; the
`poc_services` decide and write (their field errors come back onto these forms)."""

from __future__ import annotations

from typing import Any

from django import forms

from carebench.patients.forms import ServiceForm

from . import poc
from .models import PocDevice, PocKitLot, QcRun

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
FASTING_CHOICES = [("", "As on the order"), ("yes", "Yes, fasting"), ("no", "No (random)")]


class TestField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} · {obj.name}"


class TestsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} · {obj.name}"


class KitLotForm(ServiceForm):
    test = TestField(queryset=None, label="Test")
    kit_name = forms.CharField(max_length=100, label="Kit or strips")
    manufacturer = forms.CharField(max_length=100, required=False)
    lot_number = forms.CharField(max_length=40, label="Lot number")
    expires_on = forms.DateField(label="Expires on", widget=DATE_WIDGET)
    received_on = forms.DateField(label="Received on", required=False, widget=DATE_WIDGET)

    def __init__(self, *args: Any, tests: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "lot")
        super().__init__(*args, **kwargs)
        self.fields["test"].queryset = tests  # type: ignore[attr-defined]


class DeviceForm(ServiceForm):
    name = forms.CharField(max_length=100, label="Device name", help_text="e.g. Glucometer room 3")
    model_name = forms.CharField(max_length=100, required=False, label="Model")
    serial_number = forms.CharField(max_length=60, label="Serial number")
    tests = TestsField(
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        label="Tests it reads",
        error_messages={"required": "choose the test(s) the device reads"},
    )

    def __init__(self, *args: Any, tests: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "device")
        super().__init__(*args, **kwargs)
        self.fields["tests"].queryset = tests  # type: ignore[attr-defined]


class QcRunForm(ServiceForm):
    """One row per control level of the test: the expected result (fixed for a qualitative
    control; the range printed on the bottle for a meter) and what was observed."""

    note = forms.CharField(max_length=300, required=False, label="Note")

    def __init__(self, *args: Any, definition: poc.PocTest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.levels = list(definition.qc_levels)
        self.service_fields = {}
        for index, spec in enumerate(self.levels):
            expected_name, observed_name = f"level_{index}_expected", f"level_{index}_observed"
            if spec.expected:
                self.fields[expected_name] = forms.CharField(
                    label=f"{spec.name}: expected", initial=spec.expected, disabled=True
                )
            else:
                self.fields[expected_name] = forms.CharField(
                    label=f"{spec.name}: expected range",
                    max_length=60,
                    help_text="as printed on the control bottle, e.g. 36-60",
                )
            if spec.answers:
                self.fields[observed_name] = forms.ChoiceField(
                    label=f"{spec.name}: observed",
                    choices=[("", "Choose…")] + [(a, a) for a in spec.answers],
                )
            else:
                self.fields[observed_name] = forms.CharField(
                    label=f"{spec.name}: observed", max_length=60
                )
            self.service_fields[f"levels[{index}].expected"] = expected_name
            self.service_fields[f"levels[{index}].observed"] = observed_name
        self.order_fields([f for f in self.fields if f != "note"] + ["note"])
        # ServiceForm's "is required" messages are set in __init__ for the fields it saw
        for name, field in self.fields.items():
            field.error_messages["required"] = f"{field.label or name}: is required"

    def level_fields(self) -> list[tuple[Any, Any]]:
        return [
            (self[f"level_{i}_expected"], self[f"level_{i}_observed"])
            for i in range(len(self.levels))
        ]

    def qc_levels(self) -> list[poc.QcLevel]:
        data = self.cleaned_data
        return [
            poc.QcLevel(
                spec.name,
                str(data.get(f"level_{i}_expected") or ""),
                str(data.get(f"level_{i}_observed") or ""),
            )
            for i, spec in enumerate(self.levels)
        ]


def lot_label(lot: PocKitLot, qc: QcRun | None, *, with_qc: bool = True) -> str:
    """A kit lot as offered at entry, with today's QC (a meter's strips: QC is on the meter)."""
    label = f"{lot.kit_name} lot {lot.lot_number} (expires {lot.expires_on:%m/%d/%Y})"
    if not with_qc:
        return label
    status = "no QC today" if qc is None else ("QC passed today" if qc.passed else "QC FAILED")
    return f"{label} · {status}"


def device_label(device: PocDevice, qc: QcRun | None) -> str:
    status = "no QC today" if qc is None else ("QC passed today" if qc.passed else "QC FAILED")
    return f"{device.name} ({device.serial_number}) · {status}"


class PocResultForm(ServiceForm):
    """The kit lot (and device), then one input per analyte: a select for a pad or an antigen
    line, a text box for a number. Field names are the analytes' LOINC codes."""

    kit_lot = forms.ChoiceField(label="Kit lot")
    note = forms.CharField(max_length=500, required=False, label="Note")

    def __init__(
        self,
        *args: Any,
        definition: poc.PocTest,
        lots: list[tuple[Any, str]],
        devices: list[tuple[Any, str]] | None,
        reference: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.definition = definition
        self.fields["kit_lot"].choices = [("", "Choose the kit lot…")] + lots  # type: ignore[attr-defined]
        if devices is not None:
            self.fields["device"] = forms.ChoiceField(
                label="Device", choices=[("", "Choose the device…")] + devices
            )
        if any(r.note == "fasting" for a in definition.analytes for r in a.ranges):
            self.fields["fasting"] = forms.ChoiceField(
                label="Fasting?", choices=FASTING_CHOICES, required=False
            )
        for analyte in definition.analytes:
            label = f"{analyte.name}{f' ({analyte.unit})' if analyte.unit else ''}"
            help_text = (
                f"reference {reference[analyte.code]}" if reference.get(analyte.code) else ""
            )
            if analyte.kind == poc.CHOICE:
                self.fields[analyte.code] = forms.ChoiceField(
                    label=label,
                    choices=[("", "Choose…")] + [(v, v) for v in analyte.choice_values],
                    help_text=help_text,
                    required=False,
                )
            else:
                if analyte.off_scale is not None:
                    help_text = f"{help_text}; LO or HI when the meter shows it".lstrip("; ")
                self.fields[analyte.code] = forms.CharField(
                    label=label,
                    max_length=60,
                    required=False,
                    help_text=help_text,
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
                )
        self.order_fields(
            ["kit_lot", "device", "fasting"] + [a.code for a in definition.analytes] + ["note"]
        )

    def analyte_fields(self) -> list[Any]:
        return [self[a.code] for a in self.definition.analytes]

    def setup_fields(self) -> list[Any]:
        return [self[name] for name in ("kit_lot", "device", "fasting") if name in self.fields]

    def entries(self) -> dict[str, str]:
        return {a.code: str(self.cleaned_data.get(a.code) or "") for a in self.definition.analytes}

    def fasting(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data.get("fasting") or "")
