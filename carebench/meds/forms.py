"""Forms for the injection and immunization pages. They parse; `meds.services` decides and
writes (its field errors come back onto these forms)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from carebench.patients.forms import ServiceForm

from .models import (
    ELIGIBILITY,
    REACTION_CODES,
    REFUSAL_REASONS,
    ROUTES,
    SITES,
    SOURCES,
    AdverseReaction,
    Product,
    StockLot,
    StockMovement,
    StorageUnit,
)

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
ROUTE_CHOICES = [(code, f"{name} ({code})") for code, name in ROUTES.items()]
SITE_CHOICES = [("", "(none: intranasal or oral)")] + [(c, f"{n} ({c})") for c, n in SITES.items()]
ELIGIBILITY_CHOICES = [("", "Choose…")] + [(c, f"{c} · {n}") for c, n in ELIGIBILITY.items()]
HISTORY_SOURCES = [(c, n) for c, n in SOURCES.items() if c != "00"]


class ProductField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} · NDC {obj.ndc}"


class LotField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return (
            f"Lot {obj.lot_number} · exp {obj.expires_on:%m/%d/%Y} · {obj.get_funding_display()}"
            f" · {obj.doses_on_hand} on hand"
        )


class StandingOrderForm(ServiceForm):
    """Run a standing order: the protocol's screening questions become yes/no fields."""

    product = ProductField(queryset=None, label="Vaccine")

    def __init__(self, *args: Any, protocol: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"so{protocol.pk}")
        super().__init__(*args, **kwargs)
        self.protocol = protocol
        products = protocol.products.filter(is_active=True)
        self.fields["product"].queryset = products  # type: ignore[attr-defined]
        if len(products) == 1:
            self.fields["product"].initial = products[0].pk
        self.questions: list[tuple[str, str]] = []
        for index, question in enumerate(protocol.screening_questions):
            name = f"q{index}"
            self.fields[name] = forms.TypedChoiceField(
                label=question,
                choices=[("", "Ask the patient…"), ("no", "No"), ("yes", "Yes")],
                required=True,
                error_messages={"required": "ask the patient and record the answer"},
            )
            self.questions.append((name, question))

    def answers(self) -> dict[str, bool]:
        return {question: self.cleaned_data[name] == "yes" for name, question in self.questions}


class ProviderOrderForm(ServiceForm):
    product = ProductField(queryset=None, label="Product")
    dose_amount = forms.DecimalField(
        max_digits=7,
        decimal_places=3,
        required=False,
        label="Dose",
        help_text="blank: the usual dose",
    )
    route = forms.ChoiceField(choices=[("", "The usual route")] + ROUTE_CHOICES, required=False)
    instructions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Instructions for the patient",
        help_text="printed on the handout as you write them",
    )
    allergy_reviewed = forms.BooleanField(
        required=False, label="I reviewed the patient's allergies and order it anyway"
    )

    def __init__(self, *args: Any, products: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "order")
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products  # type: ignore[attr-defined]


class GiveForm(ServiceForm):
    """The five rights at the chair: who (scan or two identifiers), what (scan or pick the lot),
    how much, which way, where, and the paperwork (eligibility, VIS)."""

    service_fields = {"patient": "patient_scan", "lot": "lot_scan", "given_at": "given_at"}

    patient_scan = forms.CharField(
        max_length=40,
        required=False,
        label="Scan the wristband or card",
        help_text="or type the name and date of birth below",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
    patient_name = forms.CharField(max_length=200, required=False, label="Patient's full name")
    patient_birth_date = forms.DateField(required=False, label="Date of birth", widget=DATE_WIDGET)
    lot_scan = forms.CharField(
        max_length=120,
        required=False,
        label="Scan the vial or syringe",
        help_text="the 2D barcode, or type the lot number",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    lot = LotField(queryset=None, required=False, label="Or choose the lot", empty_label="—")
    dose_amount = forms.DecimalField(max_digits=7, decimal_places=3, label="Dose")
    dose_unit = forms.CharField(max_length=10, label="Unit")
    route = forms.ChoiceField(choices=ROUTE_CHOICES)
    site = forms.ChoiceField(choices=SITE_CHOICES, required=False)
    given_at = forms.DateTimeField(
        required=False,
        widget=DATETIME_WIDGET,
        label="Given at",
        help_text="leave empty for now; charting later, the time it was given",
    )
    eligibility = forms.ChoiceField(
        choices=ELIGIBILITY_CHOICES, required=False, label="VFC eligibility"
    )
    vis_given_on = forms.DateField(required=False, label="VIS given on", widget=DATE_WIDGET)
    observation_minutes = forms.IntegerField(
        min_value=0, max_value=120, initial=15, label="Observe for (minutes)"
    )
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: Any, lots: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "give")
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = lots  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("patient_scan") and not (
            data.get("patient_name") and data.get("patient_birth_date")
        ):
            self.add_error(
                "patient_scan", "scan the wristband, or type the full name and the date of birth"
            )
        if not data.get("lot_scan") and not data.get("lot"):
            self.add_error("lot_scan", "scan the vial, or choose the lot")
        return data


class RefusalForm(ServiceForm):
    reason = forms.ChoiceField(choices=[("", "Choose…")] + list(REFUSAL_REASONS.items()))
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "refuse")
        super().__init__(*args, **kwargs)


class HistoryForm(ServiceForm):
    """A dose given elsewhere."""

    vaccine_code = forms.CharField(
        max_length=4, label="Vaccine (CVX code)", help_text="e.g. 140 flu, 115 Tdap, 208 COVID-19"
    )
    given_on = forms.DateField(label="Date given", widget=DATE_WIDGET)
    date_is_estimated = forms.BooleanField(required=False, label="The date is an estimate")
    source = forms.ChoiceField(
        choices=HISTORY_SOURCES, initial="02", label="Where the record came from"
    )
    lot_number = forms.CharField(max_length=40, required=False)
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "history")
        super().__init__(*args, **kwargs)


class ReactionForm(ServiceForm):
    onset_at = forms.DateTimeField(label="Started at", widget=DATETIME_WIDGET)
    code = forms.ChoiceField(
        choices=[("", "None of these / other")]
        + [(c, label) for c, (label, _s) in REACTION_CODES.items()],
        required=False,
        label="Registry reaction code",
    )
    description = forms.CharField(max_length=500, label="What happened")
    severity = forms.ChoiceField(choices=[("", "Choose…")] + list(AdverseReaction.Severity.choices))
    treatment = forms.CharField(max_length=500, required=False, label="What was done")
    reported_to_vaers = forms.BooleanField(required=False, label="Reported to VAERS")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "reaction")
        super().__init__(*args, **kwargs)


class VoidForm(ServiceForm):
    reason = forms.CharField(max_length=300, label="Why is this entry wrong?")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "void")
        super().__init__(*args, **kwargs)


class ReceiveForm(ServiceForm):
    product = ProductField(queryset=None)
    lot_number = forms.CharField(max_length=20, label="Lot number")
    expires_on = forms.DateField(label="Expires on", widget=DATE_WIDGET)
    ndc = forms.CharField(
        max_length=13, label="NDC on the box", help_text="with dashes, e.g. 58160-0919-52"
    )
    funding = forms.ChoiceField(choices=StockLot.Funding.choices, label="Funding source")
    storage_unit: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None, label="Stored in")
    doses = forms.IntegerField(min_value=1, max_value=10_000, label="Doses received")
    received_on = forms.DateField(required=False, label="Received on", widget=DATE_WIDGET)

    def __init__(self, *args: Any, products: Any, units: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "receive")
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products  # type: ignore[attr-defined]
        self.fields["storage_unit"].queryset = units  # type: ignore[attr-defined]


class LotStatusForm(ServiceForm):
    status = forms.ChoiceField(choices=StockLot.Status.choices)
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "status")
        super().__init__(*args, **kwargs)


class AdjustForm(ServiceForm):
    kind = forms.ChoiceField(
        choices=[
            (StockMovement.Kind.WASTED, "Wasted"),
            (StockMovement.Kind.ADJUSTED, "Count adjusted"),
        ]
    )
    doses = forms.IntegerField(
        label="Doses (+ or -)", help_text="wasted doses are negative, e.g. -1"
    )
    reason = forms.CharField(max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "adjust")
        super().__init__(*args, **kwargs)


class ProductForm(ServiceForm):
    kind = forms.ChoiceField(choices=Product.Kind.choices)
    name = forms.CharField(max_length=200)
    ndc = forms.CharField(max_length=13, label="NDC", help_text="unit of use, with dashes")
    vaccine_code = forms.CharField(max_length=4, required=False, label="CVX (vaccines)")
    manufacturer = forms.CharField(max_length=4, required=False, label="MVX (vaccines)")
    strength = forms.CharField(max_length=60, required=False)
    dose_amount = forms.DecimalField(max_digits=7, decimal_places=3, initial=Decimal("0.5"))
    dose_unit = forms.CharField(max_length=10, initial="mL")
    route = forms.ChoiceField(choices=ROUTE_CHOICES)
    billing_code = forms.CharField(max_length=5, required=False, label="CPT/HCPCS code")
    billing_units = forms.DecimalField(
        label="HCPCS units per dose",
        required=False,
        min_value=Decimal("0.001"),
        decimal_places=3,
        help_text="J codes: the units the standard dose bills (J1050 is per 1 mg: 150); empty: 1",
    )

    def clean_billing_units(self) -> Decimal:
        return self.cleaned_data.get("billing_units") or Decimal(1)

    vis_edition_date = forms.DateField(required=False, label="VIS edition date", widget=DATE_WIDGET)
    allergy_terms = forms.CharField(
        max_length=300,
        required=False,
        label="Allergy components",
        help_text="comma-separated: egg, latex, gelatin",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "product")
        super().__init__(*args, **kwargs)


class StorageUnitForm(ServiceForm):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=StorageUnit.Kind.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "unit")
        super().__init__(*args, **kwargs)
