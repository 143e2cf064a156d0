"""Point-of-care writes: kit lots, devices, daily QC, and results refused or stored."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from carebench.audit.models import AuditEvent
from carebench.core import clock
from carebench.encounters.models import Alert
from carebench.labs import poc, poc_services
from carebench.labs.models import LabResult, PocKitLot, QcRun
from carebench.labs.tests.conftest import order_for
from carebench.scheduling import selectors as sched_selectors
from carebench.scheduling import services as sched
from carebench.scheduling.models import Status
from carebench.testing import actor_for, make_patient, make_schedule, next_weekday_at

pytestmark = pytest.mark.django_db

PASS = [
    poc.QcLevel("Positive control", "Positive", "Positive"),
    poc.QcLevel("Negative control", "Negative", "Negative"),
]
FAIL = [
    poc.QcLevel("Positive control", "Positive", "Negative"),
    poc.QcLevel("Negative control", "Negative", "Negative"),
]
METER_PASS = [
    poc.QcLevel("Level 1 (low)", "36-60", "48"),
    poc.QcLevel("Level 2 (high)", "250-350", "301"),
]


def _lot(lab: SimpleNamespace, code: str = "RSTREP", **kw: Any) -> PocKitLot:
    options: dict[str, Any] = {
        "actor": lab.mat,
        "test": lab.tests[code],
        "kit_name": "QuickVue",
        "lot_number": kw.pop("lot_number", f"{code}-1"),
        "expires_on": clock.today() + timedelta(days=90),
    }
    options.update(kw)
    return poc_services.add_kit_lot(**options)


def _qc(lab: SimpleNamespace, lot: PocKitLot, levels: list[poc.QcLevel] = PASS) -> QcRun:
    return poc_services.record_qc_run(actor=lab.mat, test=lot.test, kit_lot=lot, levels=levels)


def _meter(lab: SimpleNamespace) -> SimpleNamespace:
    lot = _lot(lab, "GLUPOC", kit_name="Contour strips")
    device = poc_services.add_device(
        actor=lab.mat, name="Glucometer room 3", serial_number="gm-1", tests=[lab.tests["GLUPOC"]]
    )
    return SimpleNamespace(lot=lot, device=device)


def _strep(lab: SimpleNamespace, lot: PocKitLot, answer: str = "Negative", **kw: Any) -> Any:
    order = kw.pop("order", None) or order_for(lab, "RSTREP")
    return poc_services.record_poc_result(
        actor=lab.mat,
        order_item=order.items.get(),
        kit_lot=lot,
        entries={"78012-2": answer},
        **kw,
    )


def _refused(call: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


# --- kit lots, devices, QC ---------------------------------------------------------------------


def test_add_kit_lot_is_audited(lab: SimpleNamespace) -> None:
    lot = _lot(lab)
    assert lot.lot_number == "RSTREP-1" and lot.is_active
    assert AuditEvent.objects.filter(resource_type="PocKitLot", resource_id=str(lot.pk)).exists()


def test_an_expired_lot_cannot_be_added(lab: SimpleNamespace) -> None:
    errors = _refused(lambda: _lot(lab, expires_on=clock.today() - timedelta(days=1)))
    assert "expired" in errors["expires_on"][0]
    assert not PocKitLot.objects.exists()


def test_a_kit_lot_is_only_for_an_in_house_test(lab: SimpleNamespace) -> None:
    errors = _refused(lambda: _lot(lab, "CBC"))
    assert errors["test"] == ["CBC is not a point-of-care test"]


def test_the_same_lot_twice_is_refused(lab: SimpleNamespace) -> None:
    _lot(lab)
    assert "already recorded" in _refused(lambda: _lot(lab))["lot_number"][0]


def test_device_reads_only_meter_tests(lab: SimpleNamespace) -> None:
    errors = _refused(
        lambda: poc_services.add_device(
            actor=lab.mat, name="Reader", serial_number="R1", tests=[lab.tests["RSTREP"]]
        )
    )
    assert errors["tests"] == ["RSTREP is not read on a device"]


def test_qc_run_passes_only_when_every_level_passes(lab: SimpleNamespace) -> None:
    lot = _lot(lab)
    assert _qc(lab, lot).passed
    failed = _qc(lab, lot, FAIL)
    assert not failed.passed and failed.levels[0]["passed"] is False


def test_meter_qc_needs_the_device(lab: SimpleNamespace) -> None:
    meter = _meter(lab)
    errors = _refused(
        lambda: poc_services.record_qc_run(
            actor=lab.mat, test=lab.tests["GLUPOC"], kit_lot=meter.lot, levels=METER_PASS
        )
    )
    assert "choose the device" in errors["device"][0]


def test_retired_lot_is_refused_for_qc(lab: SimpleNamespace) -> None:
    lot = poc_services.retire_kit_lot(actor=lab.mat, kit_lot=_lot(lab))
    assert not lot.is_active
    assert "retired" in _refused(lambda: _qc(lab, lot))["kit_lot"][0]


# --- patient results ---------------------------------------------------------------------------


def test_result_on_a_lot_that_passed_qc_today_is_stored(lab: SimpleNamespace) -> None:
    lot = _lot(lab)
    qc = _qc(lab, lot)
    [row] = _strep(lab, lot, "pos")
    assert (row.value_text, row.flag, row.source) == ("Positive", "A", "poc")
    assert row.kit_lot == lot and row.qc_run == qc and row.performed_by == lab.mat.user
    assert row.performing_lab == "In-house (POC)"
    assert row.order.status == "completed"


def test_expired_kit_lot_is_refused(lab: SimpleNamespace) -> None:
    lot = _lot(lab)
    _qc(lab, lot)
    PocKitLot.objects.filter(pk=lot.pk).update(expires_on=clock.today() - timedelta(days=1))
    lot.refresh_from_db()
    errors = _refused(lambda: _strep(lab, lot))
    assert "expired on" in errors["kit_lot"][0]
    assert not LabResult.objects.exists()


def test_lot_expiring_today_is_still_usable(lab: SimpleNamespace) -> None:
    lot = _lot(lab, expires_on=clock.today())
    _qc(lab, lot)
    assert len(_strep(lab, lot)) == 1


def test_no_qc_today_is_refused(lab: SimpleNamespace) -> None:
    lot = _lot(lab)
    errors = _refused(lambda: _strep(lab, lot))
    assert errors["kit_lot"] == [
        f"no quality control today on lot {lot.lot_number}: "
        "run QC and pass it before testing patients"
    ]
    assert not LabResult.objects.exists()


def test_yesterdays_qc_does_not_count(lab: SimpleNamespace) -> None:
    lot = _lot(lab)
    with clock.frozen(clock.now() - timedelta(days=1)):
        _qc(lab, lot)
    assert "no quality control today" in _refused(lambda: _strep(lab, lot))["kit_lot"][0]


def test_failed_qc_after_a_pass_is_refused_until_a_new_pass(lab: SimpleNamespace) -> None:
    lot = _lot(lab)
    start = clock.now()
    with clock.frozen(start):
        _qc(lab, lot)
    with clock.frozen(start + timedelta(seconds=1)):
        _qc(lab, lot, FAIL)
    with clock.frozen(start + timedelta(seconds=2)):
        errors = _refused(lambda: _strep(lab, lot))
        assert "the last QC today on lot" in errors["kit_lot"][0]
        assert "failed" in errors["kit_lot"][0]
    with clock.frozen(start + timedelta(seconds=3)):
        passed = _qc(lab, lot)
        [row] = _strep(lab, lot)
    assert row.qc_run == passed


def test_lot_of_another_test_is_refused(lab: SimpleNamespace) -> None:
    lot = _lot(lab, "UHCG")
    _qc(lab, lot)
    errors = _refused(lambda: _strep(lab, lot))
    assert errors["kit_lot"] == [f"lot {lot.lot_number} is not a lot of RSTREP"]


def test_impossible_value_is_refused_naming_the_analyte_and_nothing_is_written(
    lab: SimpleNamespace,
) -> None:
    meter = _meter(lab)
    poc_services.record_qc_run(
        actor=lab.mat, test=lab.tests["GLUPOC"], device=meter.device, levels=METER_PASS
    )
    order = order_for(lab, "GLUPOC")
    before = AuditEvent.objects.count()
    errors = _refused(
        lambda: poc_services.record_poc_result(
            actor=lab.mat,
            order_item=order.items.get(),
            kit_lot=meter.lot,
            device=meter.device,
            entries={"41653-7": "1200"},
        )
    )
    assert errors["41653-7"][0].startswith("Glucose, fingerstick (meter): 1200 mg/dL is not")
    assert not LabResult.objects.exists() and not Alert.objects.exists()
    assert AuditEvent.objects.count() == before


def test_meter_test_needs_qc_on_the_device(lab: SimpleNamespace) -> None:
    meter = _meter(lab)
    poc_services.record_qc_run(  # QC on the strip lot alone does not count for a meter
        actor=lab.mat,
        test=lab.tests["GLUPOC"],
        device=poc_services.add_device(
            actor=lab.mat, name="Other meter", serial_number="gm-2", tests=[lab.tests["GLUPOC"]]
        ),
        kit_lot=meter.lot,
        levels=METER_PASS,
    )
    order = order_for(lab, "GLUPOC")
    errors = _refused(
        lambda: poc_services.record_poc_result(
            actor=lab.mat,
            order_item=order.items.get(),
            kit_lot=meter.lot,
            device=meter.device,
            entries={"41653-7": "101"},
        )
    )
    assert "no quality control today on Glucometer room 3" in errors["device"][0]


def test_reference_range_by_the_patients_sex(lab: SimpleNamespace) -> None:
    lot = _lot(lab, "HGBPOC", kit_name="HemoCue microcuvettes")
    device = poc_services.add_device(
        actor=lab.mat, name="HemoCue", serial_number="hb-1", tests=[lab.tests["HGBPOC"]]
    )
    poc_services.record_qc_run(
        actor=lab.mat,
        test=lab.tests["HGBPOC"],
        device=device,
        levels=[poc.QcLevel("Level 1", "7.5-9.5", "8.4"), poc.QcLevel("Level 2", "15-17", "16")],
    )
    rows = {}
    for sex in ("female", "male"):
        patient = make_patient(lab.mat.user, sex=sex, birth_date=date(1970, 1, 1))
        order = order_for(lab, "HGBPOC", patient=patient)
        [rows[sex]] = poc_services.record_poc_result(
            actor=lab.mat,
            order_item=order.items.get(),
            kit_lot=lot,
            device=device,
            entries={"718-7": "12.8"},
        )
    assert (rows["female"].flag, rows["female"].reference_low) == ("N", 12)
    assert (rows["male"].flag, rows["male"].reference_low) == ("L", 13.5)


def test_reference_range_by_the_patients_age_on_the_day(lab: SimpleNamespace) -> None:
    lot = _lot(lab, "HGBPOC", kit_name="HemoCue microcuvettes")
    device = poc_services.add_device(
        actor=lab.mat, name="HemoCue", serial_number="hb-1", tests=[lab.tests["HGBPOC"]]
    )
    poc_services.record_qc_run(
        actor=lab.mat,
        test=lab.tests["HGBPOC"],
        device=device,
        levels=[poc.QcLevel("Level 1", "7.5-9.5", "8.4"), poc.QcLevel("Level 2", "15-17", "16")],
    )
    today = clock.today()
    child = make_patient(lab.mat.user, sex="male", birth_date=today.replace(year=today.year - 4))
    order = order_for(lab, "HGBPOC", patient=child)
    [row] = poc_services.record_poc_result(
        actor=lab.mat,
        order_item=order.items.get(),
        kit_lot=lot,
        device=device,
        entries={"718-7": "11.2"},
    )
    assert (row.flag, row.reference_text) == ("N", "11-14")


def test_urinalysis_dipstick_stores_every_pad(lab: SimpleNamespace) -> None:
    lot = _lot(lab, "UADIP", kit_name="Multistix 10 SG")
    poc_services.record_qc_run(
        actor=lab.mat,
        test=lab.tests["UADIP"],
        kit_lot=lot,
        levels=[
            poc.QcLevel("Negative control", "Within range", "Within range"),
            poc.QcLevel("Positive control", "Within range", "Within range"),
        ],
    )
    order = order_for(lab, "UADIP")
    entries = {
        a.code: (a.choice_values[0] if a.choices else "") for a in poc.TESTS["UADIP"].analytes
    }
    entries.update({"5811-5": "1.020", "5803-2": "6.5", "5799-2": "Moderate (2+)"})
    rows = poc_services.record_poc_result(
        actor=lab.mat, order_item=order.items.get(), kit_lot=lot, entries=entries
    )
    assert len(rows) == 10
    assert [r.flag for r in rows if r.code == "5799-2"] == ["A"]
    assert AuditEvent.objects.filter(resource_type="LabResult").count() == 1


def test_critical_glucose_alerts_the_provider_on_the_flow_board(
    lab: SimpleNamespace, frontdesk: Any
) -> None:
    setup = make_schedule(frontdesk, npi="1245319599")
    start = next_weekday_at(9)
    with clock.frozen(start - timedelta(minutes=5)):
        appt = sched.book_appointment(
            actor=setup.actor,
            request=sched.BookingRequest(
                patient=lab.patient,
                provider=setup.provider,
                appointment_type=setup.visit,
                start=start,
                facility=setup.facility,
            ),
        )
    with clock.frozen(start + timedelta(minutes=10)):
        sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ARRIVED)
        meter = _meter(lab)
        poc_services.record_qc_run(
            actor=lab.mat, test=lab.tests["GLUPOC"], device=meter.device, levels=METER_PASS
        )
        order = order_for(lab, "GLUPOC", encounter=appt.encounter)
        [row] = poc_services.record_poc_result(
            actor=lab.mat,
            order_item=order.items.get(),
            kit_lot=meter.lot,
            device=meter.device,
            entries={"41653-7": "38"},
        )
        board = sched_selectors.flow_board(lab.org, setup.facility, start.date())
    assert row.flag == "LL"
    alert = Alert.objects.get(patient=lab.patient)
    assert alert.recipient == lab.provider.user and alert.encounter == appt.encounter
    [board_row] = board
    assert any("Critical lab" in a and "38 mg/dL" in a for a in board_row.alerts)


def test_fasting_order_uses_the_fasting_glucose_range(lab: SimpleNamespace) -> None:
    meter = _meter(lab)
    poc_services.record_qc_run(
        actor=lab.mat, test=lab.tests["GLUPOC"], device=meter.device, levels=METER_PASS
    )
    order = order_for(lab, "GLUPOC", fasting_confirmed=True)
    [row] = poc_services.record_poc_result(
        actor=lab.mat,
        order_item=order.items.get(),
        kit_lot=meter.lot,
        device=meter.device,
        entries={"41653-7": "112"},
    )
    assert row.flag == "H" and row.reference_text == "70-99 fasting"


def test_reference_lab_item_is_not_a_poc_test(lab: SimpleNamespace) -> None:
    lot = _lot(lab)
    order = order_for(lab, "CBC")
    errors = _refused(
        lambda: poc_services.record_poc_result(
            actor=lab.mat, order_item=order.items.get(), kit_lot=lot, entries={}
        )
    )
    assert errors["order_item"] == ["CBC is not a point-of-care test"]


def test_another_organizations_lot_is_a_permission_error(
    lab: SimpleNamespace, other_mat: Any
) -> None:
    lot = _lot(lab)
    with pytest.raises(PermissionError):
        poc_services.record_qc_run(
            actor=actor_for(other_mat), test=lot.test, kit_lot=lot, levels=PASS
        )


def test_qc_day_follows_the_facility_zone(lab: SimpleNamespace) -> None:
    lot = _lot(lab)
    zone = ZoneInfo(lab.org.facilities.first().time_zone)
    late = datetime.combine(clock.today(), datetime.min.time(), tzinfo=zone) + timedelta(
        hours=23, minutes=30
    )
    with clock.frozen(late):
        _qc(lab, lot)
    with clock.frozen(late + timedelta(hours=1)):  # after midnight in the clinic: a new day
        assert "no quality control today" in _refused(lambda: _strep(lab, lot))["kit_lot"][0]
