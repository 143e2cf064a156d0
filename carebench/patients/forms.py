"""Forms for the patient pages: they parse fields (dates, choices); the services validate.

A form turns what was typed into Python values. Business rules (a birth date in the future, a
phone number that is not dialable, a category ICD-10-CM code) come back from the services as a
`ValidationError`, and `apply_service_errors` puts each message on the field it names.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.text import capfirst

from .models import (
    Allergy,
    Coverage,
    GenderIdentity,
    HistoryEntry,
    Language,
    MedicationStatement,
    Problem,
    Sex,
    SexAtBirth,
    TobaccoStatus,
)
from .validation import format_phone

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y"]


def _blank(choices: Any, label: str = "—") -> list[tuple[str, str]]:
    return [("", label), *[(str(value), str(text)) for value, text in choices]]


class DateField(forms.DateField):
    """A date typed as YYYY-MM-DD (the browser's date picker) or MM/DD/YYYY."""

    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", DATE_INPUT_FORMATS)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


def _text(
    label: str, *, required: bool = False, max_length: int = 200, **attrs: Any
) -> forms.CharField:
    return forms.CharField(
        label=label, required=required, max_length=max_length, widget=forms.TextInput(attrs=attrs)
    )


def _note(label: str = "Note") -> forms.CharField:
    return forms.CharField(
        label=label, required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class LabelledForm(forms.Form):
    """A form whose own messages name the field, the way the services' messages do."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            label = capfirst(field.label or name.replace("_", " "))
            field.error_messages["required"] = f"{label}: is required"
            field.error_messages["invalid_choice"] = f"{label}: choose one of the options"
            if isinstance(field, forms.DateField):
                field.error_messages["invalid"] = (
                    f"{label}: enter a date as YYYY-MM-DD or MM/DD/YYYY"
                )
            if name == "icd10_code":
                self._code_typeahead(name)

    def _code_typeahead(self, name: str) -> None:
        """ICD-10-CM typeahead: type a code or words, pick a billable code from the list."""
        bound = self[name]
        options = f"{bound.auto_id}_options"
        self.fields[name].widget.attrs.update(
            {
                "hx-get": reverse("patients:icd10_search"),
                "hx-trigger": "input changed delay:250ms, search",
                "hx-target": f"#{options}",
                "hx-sync": "this:replace",
                "aria-controls": options,
            }
        )


class ServiceForm(LabelledForm):
    """A form whose values go to a service; the service's field errors come back onto it."""

    #: service field name -> form field name, where they differ
    service_fields: dict[str, str] = {}

    def to_service(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's `ValidationError` on the form: each message on the field it names.

    Messages for fields the form does not show go to the form's own (non-field) errors,
    prefixed with the field's name so the rule is still clear.
    """
    mapping = getattr(form, "service_fields", {})
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, capfirst(message))
        return
    for name, messages in error.message_dict.items():
        target = mapping.get(name, name)
        for message in messages:
            if target in form.fields:
                label = form.fields[target].label or target.replace("_", " ")
                form.add_error(target, f"{capfirst(label)}: {message}")
            elif name == "__all__":
                form.add_error(None, capfirst(message))
            else:
                form.add_error(None, f"{capfirst(name.replace('_', ' '))}: {message}")


class PatientForm(ServiceForm):
    """Demographics; the names of the fields are those of `services.PatientDetails`."""

    family_name = _text("Last name", required=True, max_length=100, autocomplete="off")
    given_name = _text("First name", required=True, max_length=100, autocomplete="off")
    middle_name = _text("Middle name", max_length=100, autocomplete="off")
    suffix = _text("Suffix", max_length=20, autocomplete="off")
    preferred_name = _text("Preferred name", max_length=100, autocomplete="off")
    birth_date = DateField(label="Date of birth", required=True)
    sex = forms.ChoiceField(label="Sex", choices=_blank(Sex.choices, "Choose…"))
    sex_at_birth = forms.ChoiceField(
        label="Sex assigned at birth", required=False, choices=_blank(SexAtBirth.choices)
    )
    gender_identity = forms.ChoiceField(
        label="Gender identity", required=False, choices=_blank(GenderIdentity.choices)
    )
    phone_mobile = _text("Mobile phone", max_length=30, type="tel", autocomplete="off")
    phone_home = _text("Home phone", max_length=30, type="tel", autocomplete="off")
    email = forms.CharField(
        label="Email",
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    address_line1 = _text("Address", autocomplete="off")
    address_line2 = _text("Address line 2", autocomplete="off")
    city = _text("City", max_length=100, autocomplete="off")
    state = _text("State", max_length=2, autocomplete="off", size=3)
    postal_code = _text("ZIP code", max_length=10, autocomplete="off", inputmode="numeric")
    preferred_language = forms.ChoiceField(
        label="Preferred language", choices=Language.choices, initial=Language.ENGLISH
    )
    emergency_contact_name = _text("Emergency contact", autocomplete="off")
    emergency_contact_relationship = _text("Relationship", max_length=50, autocomplete="off")
    emergency_contact_phone = _text(
        "Emergency contact phone", max_length=30, type="tel", autocomplete="off"
    )

    PHONE_FIELDS = ("phone_mobile", "phone_home", "emergency_contact_phone")

    @classmethod
    def initial_from(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Initial values for an edit form, with phone numbers formatted for reading."""
        initial = dict(values)
        for name in cls.PHONE_FIELDS:
            initial[name] = format_phone(initial.get(name) or "")
        return initial


class AllergyForm(ServiceForm):
    substance = _text("Substance", required=True, autocomplete="off")
    kind = forms.ChoiceField(
        label="Type",
        initial=Allergy.Kind.ALLERGY,
        choices=[(Allergy.Kind.ALLERGY, "Allergy"), (Allergy.Kind.INTOLERANCE, "Intolerance")],
    )
    category = forms.ChoiceField(
        label="Category", required=False, choices=_blank(Allergy.Category.choices)
    )
    reaction = _text("Reaction", autocomplete="off")
    severity = forms.ChoiceField(
        label="Severity", required=False, choices=_blank(Allergy.Severity.choices)
    )
    status = forms.ChoiceField(
        label="Status", choices=Allergy.Status.choices, initial=Allergy.Status.ACTIVE
    )
    onset_date = DateField(label="Onset date")
    note = _note()


class MedicationForm(ServiceForm):
    medication = _text("Medication (drug, strength, form)", required=True, autocomplete="off")
    dose = _text("Dose", max_length=100, autocomplete="off")
    route = _text("Route", max_length=50, autocomplete="off")
    frequency = _text("Frequency", max_length=100, autocomplete="off")
    status = forms.ChoiceField(
        label="Status",
        choices=MedicationStatement.Status.choices,
        initial=MedicationStatement.Status.ACTIVE,
    )
    start_date = DateField(label="Start date")
    end_date = DateField(label="End date")
    prescriber = _text("Prescriber", autocomplete="off")
    rxnorm_code = _text("RxNorm code", max_length=20, autocomplete="off", inputmode="numeric")
    note = _note()


class ProblemForm(ServiceForm):
    icd10_code = _text(
        "ICD-10-CM code", required=True, max_length=10, autocomplete="off", spellcheck="false"
    )
    description = _text("Description", max_length=300, autocomplete="off")
    status = forms.ChoiceField(
        label="Status", choices=Problem.Status.choices, initial=Problem.Status.ACTIVE
    )
    onset_date = DateField(label="Onset date")
    resolved_date = DateField(label="Resolved date")
    note = _note()


class HistoryForm(ServiceForm):
    kind = forms.ChoiceField(label="History type", choices=HistoryEntry.Kind.choices)
    description = _text("Description", max_length=300, autocomplete="off")
    relative = _text("Relative (family history)", max_length=50, autocomplete="off")
    tobacco_status = forms.ChoiceField(
        label="Tobacco status", required=False, choices=_blank(TobaccoStatus.choices)
    )
    icd10_code = _text("ICD-10-CM code", max_length=10, autocomplete="off", spellcheck="false")
    occurred = _text("When (year or date)", max_length=40, autocomplete="off")
    note = _note()


class CoverageForm(ServiceForm):
    payer_name = _text("Payer", required=True, autocomplete="off")
    payer_code = _text("Payer ID", max_length=20, autocomplete="off")
    plan_name = _text("Plan", autocomplete="off")
    member_id = _text("Member ID", required=True, max_length=40, autocomplete="off")
    group_number = _text("Group number", max_length=40, autocomplete="off")
    priority = forms.TypedChoiceField(
        label="Priority",
        coerce=int,
        choices=Coverage.Priority.choices,
        initial=Coverage.Priority.PRIMARY,
    )
    relationship = forms.ChoiceField(
        label="Patient is the subscriber's",
        choices=Coverage.Relationship.choices,
        initial=Coverage.Relationship.SELF,
    )
    subscriber_name = _text("Subscriber name", autocomplete="off")
    subscriber_birth_date = DateField(label="Subscriber date of birth")
    start_date = DateField(label="Start date")
    end_date = DateField(label="End date")

    service_fields = {"payer": "payer_name"}


class ReasonMixin(LabelledForm):
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        required=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class VoidForm(ReasonMixin):
    """Why an entry is voided (entered in error, wrong patient, ...)."""


def correction_form(form_class: type[ServiceForm]) -> type[ServiceForm]:
    """The section's entry form plus a required reason, for correcting an entry."""
    return type(f"Correct{form_class.__name__}", (form_class, ReasonMixin), {})


class SearchForm(forms.Form):
    q = forms.CharField(label="Find a patient", required=False, max_length=100)
