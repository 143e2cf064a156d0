"""Forms for the staff pages: they parse; the services validate."""

from __future__ import annotations

from typing import Any

from django import forms

from carebench.accounts.roles import ROLE_LABELS
from carebench.core.models import Facility
from carebench.patients.forms import DateField, ServiceForm

from .models import CredentialType, Task


class WorkerChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


class CredentialTypeChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code}: {obj.name} ({obj.issuer})"


class CredentialForm(ServiceForm):
    """A credential for oneself, or (a manager) for any worker of the organization."""

    user = WorkerChoice(queryset=None, label="Worker", required=False)
    credential_type = CredentialTypeChoice(queryset=None, label="Credential")
    number = forms.CharField(max_length=60, label="Certificate or licence number")
    issued_on = DateField(label="Issued on", required=True)
    expires_on = DateField(label="Expires on", required=True)
    proof = forms.FileField(
        label="Proof (PDF, JPEG or PNG, up to 5 MB)",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )

    def __init__(self, *args: Any, types: Any, workers: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "cred")
        super().__init__(*args, **kwargs)
        self.fields["credential_type"].queryset = types  # type: ignore[attr-defined]
        if workers is None:
            del self.fields["user"]
        else:
            self.fields["user"].queryset = workers  # type: ignore[attr-defined]
            self.fields["user"].required = True


class CeForm(ServiceForm):
    user = WorkerChoice(queryset=None, label="Worker", required=False)
    taken_on = DateField(label="Date", required=True)
    hours = forms.DecimalField(label="Hours", max_digits=5, decimal_places=2, min_value=0)
    title = forms.CharField(max_length=200, label="Course or activity")
    provider = forms.CharField(max_length=200, label="CE provider", required=False)
    credential_type = CredentialTypeChoice(
        queryset=None, label="Counts toward", required=False, empty_label="Any credential"
    )

    def __init__(self, *args: Any, types: Any, workers: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "ce")
        super().__init__(*args, **kwargs)
        self.fields["credential_type"].queryset = types  # type: ignore[attr-defined]
        if workers is None:
            del self.fields["user"]
        else:
            self.fields["user"].queryset = workers  # type: ignore[attr-defined]
            self.fields["user"].required = True


class VoidForm(ServiceForm):
    reason = forms.CharField(max_length=500, label="Why void it?")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "void")
        super().__init__(*args, **kwargs)


class RuleForm(ServiceForm):
    task = forms.ChoiceField(choices=Task.choices, label="Task")
    state = forms.CharField(max_length=2, required=False, label="State (blank = any)")
    facility_kind = forms.ChoiceField(
        choices=[("", "Any kind"), *Facility.Kind.choices],
        required=False,
        label="Facility kind",
    )
    roles = forms.MultipleChoiceField(
        choices=list(ROLE_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
        label="Roles that may do it",
    )
    credential_types = forms.ModelMultipleChoiceField(
        queryset=CredentialType.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Needs a current credential of one of (none = no credential needed)",
    )
    requires_cosign = forms.BooleanField(required=False, label="A provider must co-sign")
    note = forms.CharField(max_length=500, required=False, label="Note (the law it follows)")

    def __init__(self, *args: Any, types: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "rule")
        super().__init__(*args, **kwargs)
        self.fields["credential_types"].queryset = types  # type: ignore[attr-defined]
