"""Forms for the inbox pages. They parse; `inbox.services` decides and writes (its field errors
come back onto these forms)."""

from __future__ import annotations

from typing import Any

from django import forms

from carebench.accounts.roles import ROLE_LABELS
from carebench.patients.forms import ServiceForm
from carebench.patients.models import MedicationStatement

from .models import Item
from .services import Assignee

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
KIND_FIELDS: dict[str, list[str]] = {
    Item.Kind.PHONE: ["caller_name", "caller_relationship", "callback_number", "best_time"],
    Item.Kind.REFILL: ["medication", "medication_text", "pharmacy", "quantity"],
    Item.Kind.TASK: [],
}
ALL_KIND_FIELDS = {name for names in KIND_FIELDS.values() for name in names}


def _text(label: str, *, max_length: int = 200, **attrs: Any) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, max_length=max_length, widget=forms.TextInput(attrs=attrs)
    )


def _note(label: str, *, rows: int = 2) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": rows})
    )


class AssigneeField(forms.ChoiceField):
    """One picker for "a role's queue" or "a person": values role:NAME and user:ID."""

    def __init__(self, *, users: list[Any], **kwargs: Any) -> None:
        self.users = {user.pk: user for user in users}
        choices = [
            ("Teams", [(f"role:{role}", f"{label} (team)") for role, label in ROLE_LABELS.items()]),
            ("People", [(f"user:{user.pk}", user.display_name) for user in users]),
        ]
        super().__init__(choices=[("", "Choose…"), *choices], label="Assign to", **kwargs)

    def to_assignee(self, value: str) -> Assignee:
        kind, _, rest = value.partition(":")
        if kind == "user" and rest.isdigit() and int(rest) in self.users:
            return Assignee(user=self.users[int(rest)])
        return Assignee(role=rest)


class MedicationField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        parts = [obj.medication, obj.dose, obj.frequency]
        return " · ".join(p for p in parts if p)


class ItemForm(ServiceForm):
    """A new item: common fields, then the fields of its kind (the others are removed)."""

    service_fields = {"assignee": "assignee", "medication": "medication", "due_at": "due_at"}

    subject = _text("Subject", autofocus=True)
    priority = forms.ChoiceField(choices=Item.Priority.choices, initial=Item.Priority.ROUTINE)
    caller_name = _text("Caller")
    caller_relationship = _text("Relationship to patient", max_length=60)
    callback_number = _text("Call-back number", max_length=30, inputmode="tel")
    best_time = _text("Best time to call", max_length=100)
    medication = MedicationField(
        queryset=None, required=False, label="Medication on the list", empty_label="(not listed)"
    )
    medication_text = _text("Or the medication as said", max_length=200)
    pharmacy = _text("Pharmacy")
    quantity = _text("Quantity", max_length=60)
    body = _note("Message", rows=4)
    due_at = forms.DateTimeField(
        label="Due (leave empty for the usual time)",
        required=False,
        widget=DATETIME_WIDGET,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def __init__(
        self,
        *args: Any,
        kind: str,
        users: list[Any],
        medications: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["assignee"] = AssigneeField(users=users)
        self.fields["subject"].required = True
        self.fields["subject"].error_messages["required"] = "Subject: is required"
        self.fields["assignee"].error_messages["required"] = "Assign to: is required"
        for name in ALL_KIND_FIELDS - set(KIND_FIELDS[kind]):
            del self.fields[name]
        if "medication" in self.fields:
            field: Any = self.fields["medication"]
            field.queryset = (
                medications if medications is not None else MedicationStatement.objects.none()
            )
        if kind == Item.Kind.PHONE:
            self.fields["callback_number"].required = True
            self.fields["callback_number"].error_messages["required"] = (
                "Call-back number: a phone message needs a call-back number"
            )
        self.order_fields(["subject", "assignee", "priority", *KIND_FIELDS[kind], "body", "due_at"])

    def kind_fields(self) -> list[Any]:
        return [self[name] for name in KIND_FIELDS[self.kind]]

    def common_fields(self) -> list[Any]:
        return [self[name] for name in ("subject", "assignee", "priority")]

    def to_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        field: Any = self.fields["assignee"]
        data["assignee"] = field.to_assignee(data["assignee"])
        return data


class AssignForm(ServiceForm):
    note = _note("Note")

    def __init__(self, *args: Any, users: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = AssigneeField(users=users)
        self.fields["assignee"].error_messages["required"] = "Assign to: is required"
        self.order_fields(["assignee", "note"])

    def assignee(self) -> Assignee:
        field: Any = self.fields["assignee"]
        return field.to_assignee(self.cleaned_data["assignee"])


class NoteForm(ServiceForm):
    note = _note("Note")


class CommentForm(ServiceForm):
    note = _note("Comment")


class CancelForm(ServiceForm):
    reason = _note("Reason")
