"""The eMAR's writes: who may be assigned and who may document, residents and orders, the med
pass (holds, refusals, absences, late doses, PRN limits and checks), controlled-substance counts
and the supervisor's resolution, and the reads that feed the pass list and the MAR."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from carebench.audit.models import AuditEvent
from carebench.core import clock
from carebench.core.models import Facility
from carebench.meds import emar_selectors, emar_services, mar
from carebench.meds.emar_models import CountSheet, DoseRecord, ResidentOrder, ShiftCount
from carebench.testing import FacilityFactory, UserFactory, actor_for, make_home, make_patient

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("America/Chicago")


def _at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    day = clock.today("America/Chicago") + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


@pytest.fixture
def home(nurse: Any, medtech: Any) -> Any:
    return make_home(nurse, medtech, residents=3)


def _record(
    home: Any,
    order: ResidentOrder,
    outcome: str = "given",
    *,
    at: datetime | None = None,
    **kw: Any,
) -> DoseRecord:
    at = at or _at(8, 5)
    options: dict[str, Any] = {"actor": home.medtech, "order": order, "outcome": outcome}
    if not order.prn:
        options["scheduled_at"] = kw.pop("scheduled_at", _at(8))
    options.update(kw)
    with clock.frozen(at):
        return emar_services.record_dose(**options)


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(m for ms in exc.value.message_dict.values() for m in ms)


# --- who may do it ------------------------------------------------------------------------------


def test_a_med_tech_cannot_be_assigned_to_a_nursing_home(home: Any, medtech: Any) -> None:
    nursing_home = FacilityFactory(
        organization=medtech.organization, kind=Facility.Kind.LONG_TERM_CARE
    )
    with pytest.raises(ValidationError) as exc:
        emar_services.assign_worker(actor=home.nurse, user=medtech, facility=nursing_home)
    assert "may not work in a long-term-care (nursing) facility" in _errors(exc)
    assert AuditEvent.objects.filter(resource_type="Assignment", outcome="failure").exists()


def test_a_nurse_may_be_assigned_to_a_nursing_home(home: Any, nurse: Any) -> None:
    nursing_home = FacilityFactory(
        organization=nurse.organization, kind=Facility.Kind.LONG_TERM_CARE
    )
    assert emar_services.assign_worker(actor=home.nurse, user=nurse, facility=nursing_home).pk


def test_a_medical_assistant_does_not_document_a_med_pass(home: Any, mat: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        _record(home, home.metoprolol, actor=actor_for(mat), vitals={"pulse": 70})
    assert "only medication technicians and nurses" in _errors(exc)


def test_a_med_tech_not_assigned_to_the_home_is_refused(home: Any, org: Any) -> None:
    stranger = UserFactory(organization=org, roles=["medtech"])
    with pytest.raises(ValidationError) as exc:
        _record(home, home.lisinopril, actor=actor_for(stranger))
    assert "not assigned to Maple House" in _errors(exc)


# --- residents and orders -----------------------------------------------------------------------


def test_a_resident_is_admitted_only_to_a_home(home: Any, nurse: Any) -> None:
    clinic = nurse.organization.facilities.filter(kind="clinic").first()
    patient = make_patient(nurse)
    with pytest.raises(ValidationError) as exc:
        emar_services.admit_resident(
            actor=home.nurse,
            patient=patient,
            facility=clinic,
            room="1",
            admitted_on=clock.today(),
            prescriber_name="Dr A",
        )
    assert "not an assisted-living or group home" in _errors(exc)


def test_a_resident_lives_in_one_home_at_a_time(home: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        emar_services.admit_resident(
            actor=home.nurse,
            patient=home.resident.patient,
            facility=home.home,
            room="9",
            admitted_on=clock.today(),
            prescriber_name="Dr A",
        )
    assert "already living at Maple House" in _errors(exc)


def test_bid_becomes_the_homes_morning_and_evening_pass(home: Any) -> None:
    assert home.metoprolol.times == ["08:00", "20:00"]


def test_an_unknown_frequency_is_refused_by_name(home: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        emar_services.add_order(
            actor=home.nurse,
            residency=home.resident,
            drug_name="X",
            dose="1",
            route="oral",
            frequency="TWICE-ISH",
            start_date=clock.today(),
            prescriber="Dr A",
        )
    assert "TWICE-ISH" in exc.value.message_dict["frequency"][0]


def test_a_prn_order_needs_its_limits(home: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        emar_services.add_order(
            actor=home.nurse,
            residency=home.resident,
            drug_name="X",
            dose="1",
            route="oral",
            frequency="PRN",
            start_date=clock.today(),
            prescriber="Dr A",
        )
    assert {"prn_indication", "prn_min_interval_minutes", "prn_max_per_day"} <= set(
        exc.value.message_dict
    )


def test_discharge_discontinues_the_active_orders(home: Any) -> None:
    emar_services.discharge_resident(
        actor=home.nurse, residency=home.resident, on=clock.today(), reason="moved to family"
    )
    home.metoprolol.refresh_from_db()
    assert home.metoprolol.status == ResidentOrder.Status.DISCONTINUED


# --- the pass -----------------------------------------------------------------------------------


def test_a_dose_given_takes_one_from_the_card(home: Any) -> None:
    _record(home, home.lisinopril)
    home.lisinopril.refresh_from_db()
    assert home.lisinopril.quantity_on_hand == 29


def test_a_dose_is_documented_once(home: Any) -> None:
    _record(home, home.lisinopril)
    with pytest.raises(ValidationError) as exc:
        _record(home, home.lisinopril)
    assert "already documented" in _errors(exc)


def test_a_time_that_is_not_scheduled_is_refused(home: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        _record(home, home.lisinopril, scheduled_at=_at(12))
    assert "not scheduled at 12:00" in _errors(exc)


def test_a_dose_given_after_the_window_is_late(home: Any) -> None:
    dose = _record(home, home.lisinopril, at=_at(9, 30))
    assert dose.late


def test_a_hold_parameter_needs_the_vital_first(home: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        _record(home, home.metoprolol)
    assert "take the pulse first" in _errors(exc)


def test_a_pulse_under_the_hold_refuses_given(home: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        _record(home, home.metoprolol, vitals={"pulse": Decimal(52)})
    assert "record the dose as held" in _errors(exc)


def test_a_held_dose_keeps_the_vital_that_held_it(home: Any) -> None:
    dose = _record(home, home.metoprolol, "held", vitals={"pulse": Decimal(52)})
    assert (dose.vital_name, dose.vital_value) == ("pulse", Decimal(52))
    assert "52" in dose.reason
    home.metoprolol.refresh_from_db()
    assert home.metoprolol.quantity_on_hand == 30


def test_a_refusal_needs_what_the_resident_said(home: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        _record(home, home.lisinopril, "refused")
    assert "reason" in exc.value.message_dict


def test_a_resident_on_leave_is_not_given_a_dose(home: Any) -> None:
    emar_services.start_absence(
        actor=home.medtech, residency=home.resident, kind="hospital", starts_at=_at(6)
    )
    with pytest.raises(ValidationError) as exc:
        _record(home, home.lisinopril)
    assert "record it as away" in _errors(exc)
    assert _record(home, home.lisinopril, "away").outcome == "away"


# --- PRN ----------------------------------------------------------------------------------------


def test_a_prn_dose_needs_its_reason_and_schedules_the_check(home: Any) -> None:
    with pytest.raises(ValidationError):
        _record(home, home.tylenol)
    dose = _record(home, home.tylenol, prn_reason="knee pain 6/10", at=_at(10))
    assert dose.effectiveness_due_at == _at(11)


def test_a_prn_dose_too_soon_is_refused(home: Any) -> None:
    _record(home, home.tylenol, prn_reason="pain", at=_at(10))
    with pytest.raises(ValidationError) as exc:
        _record(home, home.tylenol, prn_reason="pain", at=_at(13))
    assert "too soon" in _errors(exc)


def test_the_effectiveness_check_is_recorded_once(home: Any) -> None:
    dose = _record(home, home.tylenol, prn_reason="pain", at=_at(10))
    with clock.frozen(_at(10, 45)):
        emar_services.record_effectiveness(actor=home.medtech, dose=dose, result="effective")
        with pytest.raises(ValidationError):
            emar_services.record_effectiveness(actor=home.medtech, dose=dose, result="effective")


def test_the_effectiveness_is_not_judged_in_the_first_half_hour(home: Any) -> None:
    dose = _record(home, home.tylenol, prn_reason="pain", at=_at(10))
    with clock.frozen(_at(10, 10)), pytest.raises(ValidationError) as exc:
        emar_services.record_effectiveness(actor=home.medtech, dose=dose, result="effective")
    assert "check from 10:30" in _errors(exc)


# --- controlled substances ----------------------------------------------------------------------


def _sheet(home: Any) -> CountSheet:
    return CountSheet.objects.get(order=home.lorazepam)


def test_a_controlled_dose_comes_off_its_count_sheet(home: Any) -> None:
    _record(home, home.lorazepam, prn_reason="anxious, pacing", at=_at(10))
    assert _sheet(home).balance == 9


def test_a_matching_count_hands_off(home: Any, nurse: Any) -> None:
    with clock.frozen(_at(14)):
        row = emar_services.count_shift(
            actor=home.medtech, facility=home.home, incoming=nurse, counts={_sheet(home).pk: 10}
        )
    assert row.status == ShiftCount.Status.MATCHED


def test_a_discrepancy_blocks_controlled_doses_and_the_next_count(home: Any, nurse: Any) -> None:
    with clock.frozen(_at(14)):
        emar_services.count_shift(
            actor=home.medtech, facility=home.home, incoming=nurse, counts={_sheet(home).pk: 9}
        )
    with pytest.raises(ValidationError) as exc:
        _record(home, home.lorazepam, prn_reason="anxious", at=_at(15))
    assert "discrepancy" in _errors(exc)
    with pytest.raises(ValidationError):
        emar_services.count_shift(
            actor=home.medtech, facility=home.home, incoming=nurse, counts={_sheet(home).pk: 9}
        )


def test_a_supervisor_who_did_not_count_resolves_the_discrepancy(
    home: Any, nurse: Any, org: Any
) -> None:
    with clock.frozen(_at(14)):
        row = emar_services.count_shift(
            actor=home.medtech, facility=home.home, incoming=nurse, counts={_sheet(home).pk: 9}
        )
    with pytest.raises(ValidationError):
        emar_services.resolve_discrepancy(
            actor=home.nurse,
            shift_count=row,
            resolution="recounted, one missing",
            correct_counts=True,
        )
    supervisor = actor_for(UserFactory(organization=org, roles=["nurse"]))
    emar_services.resolve_discrepancy(
        actor=supervisor,
        shift_count=row,
        resolution="one tablet dropped and wasted, not charted; incident report 12",
        correct_counts=True,
    )
    assert _sheet(home).balance == 9
    assert emar_services.handoff_blocked(home.home) is None


# --- reads --------------------------------------------------------------------------------------


def test_the_pass_lists_the_open_residents_doses_with_what_is_recorded(home: Any) -> None:
    _record(home, home.lisinopril)
    page = emar_selectors.pass_page(
        home.nurse.organization,
        home.home,
        day=_at(8).date(),
        center=time(8),
        now=_at(8, 10),
        open_residency=home.resident.pk,
    )
    assert [line.order.drug_name for line in page.lines] == ["Lisinopril", "Metoprolol tartrate"]
    assert page.lines[0].record is not None and page.lines[1].record is None
    assert page.lines[1].due.status == "due"
    assert [o.drug_name for o in page.prn_orders] == ["Acetaminophen", "Lorazepam"]


def test_the_pass_summary_counts_each_residents_doses(home: Any) -> None:
    _record(home, home.lisinopril)
    page = emar_selectors.pass_page(
        home.nurse.organization, home.home, day=_at(8).date(), center=time(8), now=_at(8, 10)
    )
    [summary] = page.summaries
    assert (summary.residency, summary.done, summary.due) == (home.resident, 1, 1)
    assert page.lines == []


def test_the_supervisor_sees_a_dose_never_documented(home: Any) -> None:
    view = emar_selectors.supervisor_view(home.nurse.organization, home.home, now=_at(10))
    assert {line.order.drug_name for line in view.missed} == {"Lisinopril", "Metoprolol tartrate"}


def test_the_mar_shows_the_held_dose_with_its_pulse(home: Any) -> None:
    _record(home, home.metoprolol, "held", vitals={"pulse": Decimal(52)})
    data = emar_selectors.mar_input(home.nurse.organization, home.resident, _at(8).date())
    text = "\n".join(mar.mar_notes(data))
    assert "pulse 52" in text
    assert mar.render_mar(data).startswith(b"%PDF")


def test_the_mar_initials_legend_names_who_documented(home: Any, medtech: Any) -> None:
    _record(home, home.lisinopril)
    data = emar_selectors.mar_input(home.nurse.organization, home.resident, _at(8).date())
    assert [s.name for s in data.staff] == [medtech.get_full_name()]


def test_a_prn_written_another_way_is_still_a_prn(home: Any) -> None:
    order = emar_services.add_order(
        actor=home.nurse,
        residency=home.resident,
        drug_name="Ondansetron",
        dose="4 mg",
        route="oral",
        frequency="Q8H PRN",
        start_date=clock.today(),
        prescriber="Dr A",
        prn_indication="nausea",
        prn_min_interval_minutes=480,
        prn_max_per_day=3,
    )
    assert order.prn and order.times == []


def test_voiding_a_controlled_dose_puts_it_back_on_the_count_sheet(home: Any) -> None:
    dose = _record(home, home.lorazepam, prn_reason="anxious", at=_at(10))
    emar_services.void_dose(actor=home.nurse, dose=dose, reason="wrong resident")
    assert _sheet(home).balance == 10
    home.lorazepam.refresh_from_db()
    assert home.lorazepam.quantity_on_hand == 10


def test_a_med_tech_does_not_void_a_dose(home: Any) -> None:
    dose = _record(home, home.lisinopril)
    with pytest.raises(ValidationError) as exc:
        emar_services.void_dose(actor=home.medtech, dose=dose, reason="oops")
    assert "only a nurse" in _errors(exc)
