from datetime import datetime
from zoneinfo import ZoneInfo

from carebench.core import clock, demo
from carebench.encounters.models import Observation
from carebench.scheduling import demo as schedule_demo
from carebench.scheduling import selectors
from carebench.scheduling.models import Appointment, AvailabilityRule, Provider


def test_demo_schedule_fills_a_realistic_board_once_a_day(db, icd10):
    org = demo.build_demo(patients=60)
    schedule_demo.build_schedule(org)
    assert Provider.objects.filter(organization=org).count() == 3
    assert AvailabilityRule.objects.filter(organization=org, kind="blocked").exists()
    assert Observation.objects.filter(organization=org).exists()  # vitals history
    late_morning = datetime(2026, 12, 2, 11, 0, tzinfo=ZoneInfo("America/Chicago"))
    with clock.frozen(late_morning):
        booked = schedule_demo.ensure_today(org)
        assert booked > 20
        assert schedule_demo.ensure_today(org) == 0  # once a day
        clinic = schedule_demo._clinic(org)
        rows = selectors.flow_board(org, clinic)
    statuses = {row.appointment.status for row in rows}
    assert {"booked", "done"} <= statuses
    assert len(statuses) >= 4
    done = next(r for r in rows if r.appointment.status == "done")
    assert done.step_times["arrived"] < done.step_times["done"]
    assert Appointment.objects.filter(organization=org).count() == booked


def test_demo_vitals_are_normal_for_age_except_the_planted_high_blood_pressures(db, icd10):
    from carebench.encounters.models import Alert

    org = demo.build_demo(patients=60)
    schedule_demo.build_schedule(org)
    with clock.frozen(datetime(2026, 12, 2, 16, 0, tzinfo=ZoneInfo("America/Chicago"))):
        schedule_demo.ensure_today(org)
    messages = list(Alert.objects.filter(organization=org).values_list("message", flat=True))
    assert all(m.startswith("Severe blood pressure") for m in messages), messages
