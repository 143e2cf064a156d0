"""Forms for the schedule pages: they parse what was typed; the scheduling services decide.

Choices (providers, visit types, facilities, rooms, users) are limited to the signed-in user's
organization, so another organization's row is never a valid choice.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms

from carebench.accounts.models import User
from carebench.core.models import Facility, Organization
from carebench.patients.forms import DateField, LabelledForm, ServiceForm

from .models import AppointmentType, Provider, Resource, RoomType

WEEKDAYS = [
    ("MO", "Mon"),
    ("TU", "Tue"),
    ("WE", "Wed"),
    ("TH", "Thu"),
    ("FR", "Fri"),
    ("SA", "Sat"),
    ("SU", "Sun"),
]


def _time(label: str, *, required: bool = False) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=required,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )


def _color(label: str, initial: str) -> forms.CharField:
    return forms.RegexField(
        label=label,
        regex=r"^#[0-9a-fA-F]{6}$",
        initial=initial,
        error_messages={"invalid": f"{label}: a colour such as #2f6f8f"},
        widget=forms.TextInput(attrs={"type": "color"}),
    )


def _choices(form: forms.BaseForm, name: str) -> forms.ModelChoiceField[Any]:
    """The form's model-choice field `name` (`form.fields` is typed as plain `Field`)."""
    return cast("forms.ModelChoiceField[Any]", form.fields[name])


class _UserChoiceField(forms.ModelChoiceField):
    """Users shown as "Full Name (username)"."""

    def label_from_instance(self, obj: User) -> str:
        return f"{obj.get_full_name() or obj.username} ({obj.username})"


def facilities_of(organization: Organization) -> Any:
    return Facility.objects.filter(organization=organization, is_active=True).order_by("name")


def parse_slot(value: str) -> tuple[int, datetime] | None:
    """A chosen slot is '<provider id>|<ISO start>'."""
    provider_id, _, start = value.partition("|")
    try:
        moment = datetime.fromisoformat(start)
        return int(provider_id), moment
    except ValueError:
        return None


def slot_value(provider_id: int, start: datetime) -> str:
    return f"{provider_id}|{start.isoformat()}"


class BookForm(ServiceForm):
    """Who, what and where; then an open slot (or, with the provider, a time typed in)."""

    patient = forms.IntegerField(label="Patient", widget=forms.HiddenInput)
    appointment_type = forms.ModelChoiceField(
        label="Appointment type", queryset=AppointmentType.objects.none()
    )
    facility = forms.ModelChoiceField(
        label="Facility", queryset=Facility.objects.none(), empty_label=None
    )
    provider = forms.ModelChoiceField(
        label="Provider",
        queryset=Provider.objects.none(),
        required=False,
        empty_label="Any provider",
    )
    date = DateField(label="On or after")
    slot = forms.CharField(label="Open slot", required=False, widget=forms.HiddenInput)
    start_time = _time("Or a time on that date")
    reason = forms.CharField(
        label="Reason for visit",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    repeat = forms.BooleanField(label="Recurring visit", required=False)
    every_weeks = forms.IntegerField(
        label="Every … weeks", min_value=1, max_value=8, initial=1, required=False
    )
    count = forms.IntegerField(
        label="Number of visits", min_value=2, max_value=52, initial=4, required=False
    )
    override_availability = forms.BooleanField(
        label="Book outside the provider's availability", required=False
    )

    service_fields = {"start": "slot", "rrule": "repeat", "room": "slot"}

    def __init__(
        self, *args: Any, organization: Organization, may_override: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "appointment_type").queryset = AppointmentType.objects.for_org(
            organization
        ).filter(is_active=True)
        _choices(self, "facility").queryset = facilities_of(organization)
        _choices(self, "provider").queryset = Provider.objects.for_org(organization).filter(
            is_active=True
        )
        self.fields["patient"].error_messages["required"] = (
            "Patient: is required; search and choose the patient"
        )
        if not may_override:
            del self.fields["override_availability"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        if self.errors:
            return data
        chosen = parse_slot(data.get("slot") or "")
        if data.get("slot") and chosen is None:
            self.add_error("slot", "Open slot: choose one of the slots listed")
        elif chosen is not None:
            provider_id, start = chosen
            providers = _choices(self, "provider").queryset
            assert providers is not None  # set in __init__
            provider = providers.filter(pk=provider_id).first()
            if provider is None:
                self.add_error("slot", "Open slot: choose one of the slots listed")
            data["provider"], data["start"] = provider, start
        elif data.get("start_time") and data.get("date"):
            if data.get("provider") is None:
                self.add_error("provider", "Provider: choose the provider when typing a time")
            else:
                zone = ZoneInfo(data["facility"].time_zone)
                data["start"] = datetime.combine(data["date"], data["start_time"], tzinfo=zone)
        else:
            self.add_error(
                "slot",
                "Open slot: find open slots and choose one "
                "(or type a time and choose the provider)",
            )
        if data.get("repeat") and not data.get("count"):
            self.add_error("count", "Number of visits: is required for a recurring visit")
        return data

    def rrule(self) -> str:
        weeks = self.cleaned_data.get("every_weeks") or 1
        return "FREQ=WEEKLY" + (f";INTERVAL={weeks}" if weeks > 1 else "")


class RescheduleForm(LabelledForm):
    date = DateField(label="On or after")
    slot = forms.CharField(label="New time", required=False, widget=forms.HiddenInput)
    start_time = _time("Or a time on that date")
    override_availability = forms.BooleanField(
        label="Book outside the provider's availability", required=False
    )

    def __init__(
        self,
        *args: Any,
        may_override: bool = False,
        zone: str = "UTC",
        provider_id: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.provider_id = provider_id  # the visit's provider: a slot must be theirs
        if not may_override:
            del self.fields["override_availability"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        chosen = parse_slot(data.get("slot") or "")
        if chosen is not None and self.provider_id is not None and chosen[0] != self.provider_id:
            self.add_error("slot", "New time: that slot is another provider's; choose one of these")
        elif chosen is not None:
            data["start"] = chosen[1]
        elif data.get("start_time") and data.get("date"):
            data["start"] = datetime.combine(
                data["date"], data["start_time"], tzinfo=ZoneInfo(self.zone)
            )
        elif not self.errors:
            self.add_error("slot", "New time: choose one of the open slots")
        return data


class CancelForm(LabelledForm):
    cancel_reason = forms.CharField(
        label="Reason for cancelling",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class CheckInForm(LabelledForm):
    copay_amount = forms.DecimalField(
        label="Copay",
        required=False,
        min_value=0,
        max_digits=8,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    copay_collected = forms.BooleanField(label="Collected", required=False)


# --- setup (managers) --------------------------------------------------------------------------


class ProviderForm(ServiceForm):
    given_name = forms.CharField(label="First name", max_length=100)
    family_name = forms.CharField(label="Last name", max_length=100)
    credentials = forms.CharField(
        label="Credentials", max_length=30, required=False, help_text="MD, DO, NP, PA-C"
    )
    npi = forms.CharField(
        label="NPI",
        max_length=10,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    specialty = forms.CharField(label="Specialty", max_length=100, required=False)
    facilities = forms.ModelMultipleChoiceField(
        label="Works at", queryset=Facility.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    user = _UserChoiceField(
        label="Sign-in account", queryset=User.objects.none(), required=False, empty_label="None"
    )
    color = _color("Colour", "#2f6f8f")

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "facilities").queryset = facilities_of(organization)
        _choices(self, "user").queryset = User.objects.filter(
            organization=organization, is_active=True, provider__isnull=True
        ).order_by("last_name", "first_name")


class ResourceForm(ServiceForm):
    facility = forms.ModelChoiceField(
        label="Facility", queryset=Facility.objects.none(), empty_label=None
    )
    name = forms.CharField(label="Name", max_length=100)
    kind = forms.ChoiceField(label="Kind", choices=Resource.Kind.choices)
    room_type = forms.ChoiceField(label="Room type", required=False, choices=RoomType.choices)
    sort_order = forms.IntegerField(
        label="Order on the board", min_value=0, max_value=999, initial=0, required=False
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "facility").queryset = facilities_of(organization)


class AppointmentTypeForm(ServiceForm):
    name = forms.CharField(label="Name", max_length=100)
    duration_minutes = forms.IntegerField(label="Duration (minutes)", initial=20)
    color = _color("Colour", "#4a7fb0")
    room_type = forms.ChoiceField(label="Room needed", required=False, choices=RoomType.choices)
    allow_overbook = forms.BooleanField(label="May overlap other visits (overbook)", required=False)
    procedure_codes = forms.CharField(
        label="Codes it usually bills",
        required=False,
        max_length=100,
        help_text="CPT/HCPCS, e.g. 99213 93000: booking warns when one needs a prior authorization",
    )


class _RuleForm(ServiceForm):
    facility = forms.ModelChoiceField(
        label="Facility", queryset=Facility.objects.none(), empty_label=None
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "facility").queryset = facilities_of(organization)


class WeeklyRuleForm(_RuleForm):
    """A weekly template: these weekdays, these hours, from a date (to a date)."""

    weekdays = forms.MultipleChoiceField(
        label="Days", choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple
    )
    every_weeks = forms.IntegerField(label="Every … weeks", min_value=1, max_value=4, initial=1)
    start_time = _time("From", required=True)
    end_time = _time("To", required=True)
    starts_on = DateField(label="Starting", required=True)
    ends_on = DateField(label="Ending (optional)")

    service_fields = {"rrule": "weekdays"}

    def to_service(self) -> dict[str, Any]:
        data = self.cleaned_data
        rrule = "FREQ=WEEKLY"
        if data["every_weeks"] > 1:
            rrule += f";INTERVAL={data['every_weeks']}"
        rrule += ";BYDAY=" + ",".join(data["weekdays"])
        return {
            "facility": data["facility"],
            "rrule": rrule,
            "start_time": data["start_time"],
            "end_time": data["end_time"],
            "starts_on": data["starts_on"],
            "ends_on": data["ends_on"],
            "kind": "available",
        }


class BlockedForm(_RuleForm):
    """A blocked period (holiday, leave): every day in a date range, all day or some hours."""

    starts_on = DateField(label="From date", required=True)
    ends_on = DateField(label="To date", required=True)
    start_time = _time("From time (blank: all day)")
    end_time = _time("To time")
    reason = forms.CharField(label="Reason", max_length=200, help_text="Holiday, leave, training …")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        if bool(data.get("start_time")) != bool(data.get("end_time")):
            self.add_error("end_time", "To time: give both times, or neither for all day")
        return data

    def to_service(self) -> dict[str, Any]:
        data = self.cleaned_data
        start, end = data.get("start_time") or time(0), data.get("end_time") or time(0)
        return {
            "facility": data["facility"],
            "rrule": "FREQ=DAILY",
            "start_time": start,
            "end_time": end,
            "starts_on": data["starts_on"],
            "ends_on": data["ends_on"],
            "kind": "blocked",
            "reason": data["reason"],
        }


def parse_date(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default
