"""Storage temperatures: readings, the twice-a-day check, excursions and their lots, the
data-logger import."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from carebench.compliance import selectors, services
from carebench.compliance.models import Excursion, ExcursionLot, TemperatureReading
from carebench.compliance.tests.factories import second_fridge
from carebench.core import clock
from carebench.meds import services as meds
from carebench.meds.models import StockLot, StockMovement
from carebench.testing import NO_TO_ALL, actor_for, make_patient, make_vaccine_clinic

DATA = Path(__file__).parent / "data"


@pytest.fixture
def clinic(mat, provider):
    return make_vaccine_clinic(mat, provider)


def _reading(user, unit, current, **kwargs):
    return services.record_reading(
        actor=actor_for(user), storage_unit=unit, current_c=Decimal(current), **kwargs
    )


def test_units_missing_a_reading_in_the_facility_zone(mat, clinic):
    facility = clinic.facility
    facility.time_zone = "America/Los_Angeles"
    facility.save()
    other = second_fridge(clinic).unit
    # 11/02/2026 08:30 in Los Angeles (PST, UTC-8); the other unit's 23:00 the day before.
    with clock.frozen(datetime(2026, 11, 2, 16, 30, tzinfo=UTC)):
        _reading(mat, clinic.fridge, "4.5")
    with clock.frozen(datetime(2026, 11, 2, 7, 0, tzinfo=UTC)):
        _reading(mat, other, "4.4")
    org = mat.organization
    at_11 = datetime(2026, 11, 2, 19, 0, tzinfo=UTC)
    missing = selectors.units_missing_readings(org, at=at_11)
    assert [(m.unit, m.slot) for m in missing] == [(other, "morning")]
    assert missing[0].text == "Back fridge: no morning reading on 11/02/2026"
    at_9 = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)  # 09:00: the morning check is not due yet
    assert selectors.units_missing_readings(org, at=at_9) == []
    at_17 = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)  # 17:00 on 11/02 in Los Angeles
    assert [(m.unit.name, m.slot) for m in selectors.units_missing_readings(org, at=at_17)] == [
        ("Back fridge", "morning"),
        ("Back fridge", "afternoon"),
        ("Vaccine fridge", "afternoon"),
    ]


def test_an_out_of_range_max_opens_an_excursion_and_quarantines_the_units_lots(mat, clinic):
    other = second_fridge(clinic)
    meds.set_lot_status(
        actor=clinic.actor, lot=clinic.expired_lot, status="retired", reason="expired"
    )
    reading = _reading(mat, clinic.fridge, "7.0", min_c=Decimal("3.0"), max_c=Decimal("9.5"))
    excursion = Excursion.objects.get()
    assert reading.excursion == excursion and excursion.is_open
    assert excursion.highest_c == Decimal("9.5") and excursion.lowest_c == Decimal("3.0")
    assert [entry.lot for entry in excursion.held_lots.all()] == [clinic.good_lot]
    good = StockLot.objects.get(pk=clinic.good_lot.pk)
    assert good.status == "quarantined"
    assert good.status_reason.startswith("temperature excursion: Vaccine fridge max 9.5 °C")
    assert StockLot.objects.get(pk=clinic.expired_lot.pk).status == "retired"
    assert StockLot.objects.get(pk=other.lot.pk).status == "available"


def test_later_out_of_range_readings_join_the_open_excursion(mat, clinic):
    _reading(mat, clinic.fridge, "9.5")
    _reading(mat, clinic.fridge, "1.0")
    _reading(mat, clinic.fridge, "5.0")
    excursion = Excursion.objects.get()
    assert excursion.readings.count() == 2
    assert (excursion.lowest_c, excursion.highest_c) == (Decimal("1.0"), Decimal("9.5"))
    assert [e.pk for e in selectors.open_excursions(mat.organization)] == [excursion.pk]


def test_the_injection_refuses_a_lot_the_excursion_quarantined(mat, clinic):
    _reading(mat, clinic.fridge, "9.5")
    patient = make_patient(mat)
    order = meds.start_standing_order(
        actor=clinic.actor,
        protocol=clinic.standing,
        patient=patient,
        product=clinic.flu,
        answers=NO_TO_ALL,
    )
    with pytest.raises(ValidationError) as caught:
        meds.administer(
            actor=clinic.actor,
            order=order,
            patient_check=meds.PatientCheck(scanned=patient.mrn),
            lot=StockLot.objects.get(pk=clinic.good_lot.pk),
            dose_amount=Decimal("0.5"),
            dose_unit="mL",
            route="C28161",
            site="LD",
            eligibility="V01",
            vis_given_on=clock.today(),
        )
    assert "lot FL7Y2 is quarantined (temperature excursion" in caught.value.message_dict["lot"][0]


def test_resolving_releases_and_discards_lots(mat, manager, clinic):
    other = second_fridge(clinic, name="Vaccine fridge 2")
    tdap = meds.receive_stock(
        actor=clinic.actor,
        product=clinic.tdap,
        lot_number="TD9Z9",
        expires_on=clock.today() + timedelta(days=100),
        ndc="58160-0842-52",
        funding="private",
        storage_unit=clinic.fridge,
        doses=3,
    )
    assert other.lot.storage_unit != clinic.fridge
    _reading(mat, clinic.fridge, "9.5")
    excursion = Excursion.objects.get()
    with pytest.raises(ValidationError) as caught:
        services.resolve_excursion(
            actor=actor_for(manager),
            excursion=excursion,
            contacted="manufacturer",
            contact_name="",
            answer="",
            action="",
            decisions={clinic.good_lot.pk: "release"},
        )
    assert {"answer", "action", f"lot_{tdap.pk}", "excursion"} <= set(caught.value.message_dict)
    _reading(mat, clinic.fridge, "4.8")
    services.resolve_excursion(
        actor=actor_for(manager),
        excursion=excursion,
        contacted="both",
        contact_name="GSK medical information, case 55-1234",
        answer="Flu lot viable after 2 h at 9.5 °C; Tdap not: discard",
        action="thermostat reset; probe moved to the middle shelf",
        decisions={
            clinic.good_lot.pk: "release",
            tdap.pk: "discard",
            clinic.expired_lot.pk: "discard",
        },
    )
    excursion.refresh_from_db()
    assert excursion.status == "resolved" and excursion.resolved_by == manager
    assert StockLot.objects.get(pk=clinic.good_lot.pk).status == "available"
    gone = StockLot.objects.get(pk=tdap.pk)
    assert (gone.status, gone.doses_on_hand) == ("retired", 0)
    assert StockMovement.objects.filter(lot=gone, kind="wasted", doses=-3).exists()
    assert set(ExcursionLot.objects.values_list("decision", flat=True)) == {"release", "discard"}


def test_impossible_readings_are_refused_naming_the_field(mat, clinic):
    with pytest.raises(ValidationError) as caught:
        _reading(mat, clinic.fridge, "5.0", min_c=Decimal("6.0"), max_c=Decimal("99"))
    assert set(caught.value.message_dict) == {"max_c", "min_c"}
    assert not TemperatureReading.objects.exists()


def test_logger_import_converts_fahrenheit_and_opens_the_excursion(mat, clinic):
    clinic.facility.time_zone = "America/New_York"
    clinic.facility.save()
    data = (DATA / "logtag_fahrenheit.csv").read_bytes()
    with clock.frozen(datetime(2026, 11, 3, 12, 0, tzinfo=UTC)):
        result = services.import_logger_csv(
            actor=actor_for(mat), storage_unit=clinic.fridge, data=data, filename="lt.csv"
        )
        again = services.import_logger_csv(
            actor=actor_for(mat), storage_unit=clinic.fridge, data=data, filename="lt.csv"
        )
    assert (result.created, result.out_of_range) == (5, 1)
    assert (again.created, again.skipped) == (0, 5)
    rows = list(TemperatureReading.objects.order_by("taken_at"))
    assert [r.current_c for r in rows] == [Decimal(v) for v in ("4.5", "5.0", "4.0", "9.0", "6.0")]
    assert rows[0].taken_at == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert rows[3].excursion == result.excursion
    assert StockLot.objects.get(pk=clinic.good_lot.pk).status == "quarantined"


def test_a_bad_logger_row_writes_nothing(mat, clinic):
    with pytest.raises(ValidationError) as caught:
        services.import_logger_csv(
            actor=actor_for(mat),
            storage_unit=clinic.fridge,
            data=(DATA / "bad_row.csv").read_bytes(),
        )
    assert caught.value.message_dict["file"] == [
        "line 3, column 'Temperature (°F)': 'forty' is not a temperature"
    ]
    assert not TemperatureReading.objects.exists()
