"""Forms for the billing pages. They parse; `billing.services` decides and writes."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms

from carebench.patients.forms import ServiceForm

from .services import PROFILE_FIELDS, LineInput
from .superbill import EM_CODES, EM_NEW

MAX_EDIT_LINES = 20
EM_CHOICES = [("", "No E/M visit billed")] + [
    (code, f"{code} · {'new' if code in EM_NEW else 'established'} patient, level {code[-1]}")
    for code in EM_CODES
]


def split_codes(text: str) -> list[str]:
    """'I10, E11.9  Z00.00' -> ['I10', 'E11.9', 'Z00.00']."""
    return [c for c in re.split(r"[\s,;]+", text.strip()) if c]


class SuperbillForm(ServiceForm):
    """The provider's E/M level and the diagnoses, principal first; the coverage to bill."""

    em_code = forms.ChoiceField(label="E/M level", choices=EM_CHOICES, required=False)
    diagnoses = forms.CharField(
        label="Diagnoses (ICD-10-CM, principal first)",
        help_text="up to 12, separated by commas or spaces, e.g. I10, E11.9",
        max_length=200,
    )
    coverage: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, label="Bill to", required=False
    )

    def __init__(self, *args: Any, coverages: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["coverage"]
        field.queryset = coverages  # type: ignore[attr-defined]
        field.empty_label = "The primary coverage in force that day"  # type: ignore[attr-defined]

    def to_service(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "em_code": data["em_code"],
            "diagnoses": split_codes(data["diagnoses"]),
            "coverage": data["coverage"],
        }


class ClaimEditForm(forms.Form):
    """The claim's diagnoses and up to 20 lines (code, modifiers, units, pointers, charge)."""

    diagnoses = forms.CharField(label="Diagnoses (ICD-10-CM, principal first)", max_length=200)
    prior_auth_number = forms.CharField(
        label="Prior authorization number", max_length=50, required=False
    )

    def __init__(self, *args: Any, rows: int = 6, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for n in range(1, rows + 1):
            self.fields[f"code_{n}"] = forms.CharField(label=f"Line {n} code", required=False)
            self.fields[f"modifiers_{n}"] = forms.CharField(label="Modifiers", required=False)
            self.fields[f"units_{n}"] = forms.DecimalField(
                label="Units", required=False, min_value=Decimal("0.001"), decimal_places=3
            )
            self.fields[f"pointers_{n}"] = forms.CharField(label="Pointers", required=False)
            self.fields[f"charge_{n}"] = forms.DecimalField(
                label="Charge", required=False, min_value=Decimal(0), decimal_places=2
            )
            self.fields[f"ndc_{n}"] = forms.CharField(label="NDC", required=False)

    def line_fields(self) -> list[list[Any]]:
        return [
            [
                self[f"{name}_{n}"]
                for name in ("code", "modifiers", "units", "pointers", "charge", "ndc")
            ]
            for n in range(1, self.rows + 1)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for n in range(1, self.rows + 1):
            pointers = data.get(f"pointers_{n}") or ""
            if pointers and not re.fullmatch(r"[\d\s,]+", pointers):
                self.add_error(f"pointers_{n}", "pointers are diagnosis numbers: 1, 2")
        return data

    def lines(self, existing: dict[str, Any]) -> list[LineInput]:
        """The lines entered; a line keeps its NDC details and source when its code is kept."""
        data = self.cleaned_data
        result = []
        for n in range(1, self.rows + 1):
            code = (data.get(f"code_{n}") or "").strip().upper()
            if not code:
                continue
            pointers = tuple(int(p) for p in re.findall(r"\d+", data.get(f"pointers_{n}") or "1"))
            old = existing.get(code)
            ndc = (data.get(f"ndc_{n}") or "").strip()
            result.append(
                LineInput(
                    code=code,
                    modifiers=tuple(split_codes((data.get(f"modifiers_{n}") or "").upper())),
                    units=data.get(f"units_{n}") or Decimal(1),
                    pointers=pointers or (1,),
                    charge=data.get(f"charge_{n}"),
                    description=old.description if old else "",
                    ndc=ndc,
                    ndc_quantity=old.ndc_quantity if old and ndc else None,
                    ndc_unit=old.ndc_unit if old and ndc else "",
                    source=old.source if old else "",
                )
            )
        return result


class MoveForm(forms.Form):
    to_status = forms.ChoiceField(label="Move to", choices=[])
    note = forms.CharField(label="Why", max_length=500)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_status"].choices = choices  # type: ignore[attr-defined]


class ProfileForm(ServiceForm):
    submitter_name = forms.CharField(max_length=60)
    submitter_id = forms.CharField(label="Submitter ETIN", max_length=80)
    contact_name = forms.CharField(max_length=60)
    contact_phone = forms.CharField(max_length=20, required=False)
    contact_email = forms.CharField(max_length=80, required=False)
    receiver_name = forms.CharField(label="Clearinghouse name", max_length=60)
    receiver_id = forms.CharField(label="Clearinghouse ID", max_length=80)
    billing_name = forms.CharField(label="Billing provider name", max_length=60)
    address_line = forms.CharField(max_length=55)
    city = forms.CharField(max_length=30)
    state = forms.CharField(max_length=2)
    postal_code = forms.CharField(label="ZIP+4", max_length=10)
    phone = forms.CharField(max_length=20, required=False)
    taxonomy = forms.CharField(max_length=10, required=False)
    place_of_service = forms.CharField(max_length=2, initial="11")
    usage = forms.ChoiceField(choices=[("T", "Test"), ("P", "Production")], initial="T")
    clearinghouse_outbox = forms.CharField(max_length=300, required=False)
    clearinghouse_inbox = forms.CharField(max_length=300, required=False)

    def to_service(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) or "" for name in PROFILE_FIELDS}


class CodeFileForm(forms.Form):
    file = forms.FileField(label="Code file (CSV: code,label[,kind][,active])")


class FeeFileForm(forms.Form):
    schedule: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None, label="Fee schedule")
    file = forms.FileField(label="Fees (CSV: code,amount[,modifier])")

    def __init__(self, *args: Any, schedules: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["schedule"].queryset = schedules  # type: ignore[attr-defined]


class X12FileForm(forms.Form):
    file = forms.FileField(label="X12 file (999, 277CA, 835 or 271)")


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class EligibilityForm(ServiceForm):
    coverage: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None, label="Coverage")
    service_date = forms.DateField(
        label="Date of service", required=False, widget=DATE_WIDGET, help_text="today when empty"
    )

    def __init__(self, *args: Any, coverages: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["coverage"].queryset = coverages  # type: ignore[attr-defined]
        if len(coverages) == 1:
            self.fields["coverage"].initial = coverages[0].pk


class BatchEligibilityForm(forms.Form):
    day = forms.DateField(label="Appointments on", widget=DATE_WIDGET)


class PriorAuthForm(ServiceForm):
    coverage: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None, label="Coverage")
    codes = forms.CharField(label="Procedure codes (CPT/HCPCS)", max_length=200)
    diagnosis_codes = forms.CharField(label="Diagnoses (ICD-10-CM)", max_length=200)
    note = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, coverages: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["coverage"].queryset = coverages  # type: ignore[attr-defined]

    def to_service(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "coverage": data["coverage"],
            "codes": split_codes(data["codes"].upper()),
            "diagnosis_codes": split_codes(data["diagnosis_codes"]),
            "note": data["note"],
        }


class DecisionForm(ServiceForm):
    status = forms.ChoiceField(choices=[])
    number = forms.CharField(label="Authorization number", max_length=50, required=False)
    units_approved = forms.IntegerField(min_value=1, required=False)
    start_date = forms.DateField(required=False, widget=DATE_WIDGET)
    end_date = forms.DateField(required=False, widget=DATE_WIDGET)
    reference = forms.CharField(label="Payer's reference", max_length=100, required=False)
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = choices  # type: ignore[attr-defined]


class RuleForm(ServiceForm):
    payer: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Every payer"
    )
    code_from = forms.CharField(label="Code (or first of a range)", max_length=5)
    code_to = forms.CharField(label="Last code of the range", max_length=5, required=False)
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, payers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payer"].queryset = payers  # type: ignore[attr-defined]


FILING_CHOICES = [
    ("CI", "CI · Commercial insurance"),
    ("MB", "MB · Medicare Part B"),
    ("MA", "MA · Medicare Part A"),
    ("MC", "MC · Medicaid"),
    ("BL", "BL · Blue Cross/Blue Shield"),
    ("HM", "HM · HMO"),
    ("12", "12 · PPO"),
    ("13", "13 · POS"),
    ("14", "14 · EPO"),
    ("CH", "CH · TRICARE"),
    ("VA", "VA · Veterans Affairs"),
    ("WC", "WC · Workers' compensation"),
    ("ZZ", "ZZ · Other"),
]


class PayerBillingForm(ServiceForm):
    payer: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None)
    payer_code = forms.CharField(label="Payer ID", max_length=20)
    filing_indicator = forms.ChoiceField(label="Claim filing indicator", choices=FILING_CHOICES)
    timely_filing_days = forms.IntegerField(label="Timely filing (days)", initial=365)

    def __init__(self, *args: Any, payers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payer"].queryset = payers  # type: ignore[attr-defined]
