"""`carebench bench seed`: the synthetic network is complete, readable by the real selectors,
pages and API, free of double bookings, and seeding again only adds what is missing."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from carebench.accounts.models import User
from carebench.billing.models import Claim, ClaimLine
from carebench.core import clock, seed, seed_writer
from carebench.core.models import Organization
from carebench.encounters.models import Encounter, Observation, VitalSigns
from carebench.fhir.tests.conftest import FhirClient, token_for
from carebench.labs.models import LabOrder, LabResult, Specimen
from carebench.meds.models import Administration, StockLot, StockMovement
from carebench.patients.models import Allergy, Coverage, MedicationStatement, Patient, Problem
from carebench.scheduling import services as scheduling
from carebench.scheduling.models import ACTIVE_STATUSES, Appointment, AppointmentType
from carebench.testing import actor_for, make_patient

pytestmark = pytest.mark.django_db

PATIENTS = 120


@pytest.fixture
def seeded():
    return seed.seed(patients=PATIENTS, seed=7)


def _bench() -> Organization:
    return Organization.objects.get(slug=seed.DEFAULT_SLUG)


def _check_foreign_keys() -> list[tuple]:
    """Rows whose foreign keys point nowhere (PostgreSQL checks its deferred keys now)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            return []
        cursor.execute("PRAGMA foreign_key_check")
        return list(cursor.fetchall())


def test_seed_fills_every_table_with_a_realistic_mix(seeded):
    org = _bench()
    patients = Patient.objects.filter(organization=org).count()
    assert patients == PATIENTS == seeded.added
    per_patient = {
        model.__name__: model.objects.filter(organization=org).count() / patients
        for model in (Appointment, Encounter, VitalSigns, Observation, Coverage, Claim)
    }
    assert 7 <= per_patient["Observation"] <= 14  # ~10 vitals per patient
    assert 1.8 <= per_patient["Appointment"] <= 12  # ~2 each, and the chosen day's 1,000
    assert 0.8 <= per_patient["Coverage"] <= 1
    for model in (Allergy, MedicationStatement, Problem, LabOrder, Specimen, LabResult):
        assert model.objects.filter(organization=org).exists(), model.__name__
    assert Administration.objects.filter(organization=org).exists()
    assert ClaimLine.objects.filter(organization=org).count() >= per_patient["Claim"] * patients
    # the summary counts what is in the tables
    assert seeded.rows["observation"] == Observation.objects.filter(organization=org).count()


def test_the_set_up_is_the_clinic_the_benchmarks_expect(seeded):
    from carebench.core.npi import validate_npi
    from carebench.scheduling.models import AvailabilityRule, Provider, Resource

    org = _bench()
    assert org.name == "Bench Health Network"
    providers = list(Provider.objects.filter(organization=org))
    assert len(providers) == 40 and all(validate_npi(p.npi) for p in providers)
    rules = AvailabilityRule.objects.filter(organization=org, kind="available")
    assert rules.count() == 80
    assert {r.starts_on for r in rules} == {seed.anchor_of(org) - timedelta(days=730)}
    assert {(r.start_time, r.end_time) for r in rules} == {
        (time(8), time(12)),
        (time(13), time(17)),
    }
    assert Resource.objects.filter(organization=org, room_type="exam").count() == 60
    assert AppointmentType.objects.filter(organization=org).count() == 7
    for role in ("mat", "frontdesk", "provider", "biller"):
        user = User.objects.get(username=f"bench-{role}")
        assert user.check_password("bench-pass")
        assert list(user.groups.values_list("name", flat=True)) == [role]


def test_seeded_rows_keep_their_foreign_keys(seeded):
    assert _check_foreign_keys() == []


def test_each_done_visit_has_its_encounter_and_vitals_with_observations(seeded):
    org = _bench()
    done = Appointment.objects.filter(organization=org, status="done")
    assert done.exists()
    assert Encounter.objects.filter(appointment__in=done).count() == done.count()
    vital = VitalSigns.objects.filter(organization=org).first()
    observations = list(vital.observations.all())
    assert observations and all(o.encounter_id == vital.encounter_id for o in observations)
    assert {o.effective_at for o in observations} == {vital.taken_at}


def test_seeding_again_adds_nothing(seeded):
    again = seed.seed(patients=PATIENTS, seed=7)
    assert again.added == 0
    assert Patient.objects.filter(organization=_bench()).count() == PATIENTS


def test_seeding_more_adds_only_the_missing_patients_with_new_mrns(seeded):
    more = seed.seed(patients=PATIENTS + 30, seed=7)
    org = _bench()
    assert more.added == 30
    mrns = list(Patient.objects.filter(organization=org).values_list("mrn", flat=True))
    assert len(set(mrns)) == PATIENTS + 30
    org.refresh_from_db()
    assert org.next_mrn == max(int(m) for m in mrns) + 1
    assert _check_foreign_keys() == []


def test_no_provider_is_booked_twice_at_once(seeded):
    seed.seed(patients=PATIENTS + 40, seed=7)  # a second run allocates around the first
    by_provider = defaultdict(list)
    for provider, start, end in Appointment.objects.filter(
        organization=_bench(), status__in=ACTIVE_STATUSES
    ).values_list("provider_id", "start", "end"):
        by_provider[provider].append((start, end))
    for visits in by_provider.values():
        visits.sort()
        for (_s1, end), (start, _e2) in zip(visits, visits[1:], strict=False):
            assert end <= start


def test_the_chosen_day_holds_25_booked_visits_per_provider(seeded):
    org = _bench()
    day = seed.show_day()
    assert day == seeded.chosen_day and day.weekday() == 2 and day > clock.today()
    begin = datetime.combine(day, time(0), ZoneInfo("America/Chicago"))
    visits = Appointment.objects.filter(
        organization=org, start__gte=begin, start__lt=begin + timedelta(days=1)
    )
    counts = defaultdict(int)
    for provider_id, status in visits.values_list("provider_id", "status"):
        assert status == "booked"
        counts[provider_id] += 1
    assert len(counts) == 40 and set(counts.values()) == {25}
    assert seeded.chosen_booked == 1000


def test_a_future_slot_weeks_ahead_can_still_be_booked(seeded):
    org = _bench()
    frontdesk = User.objects.get(username="bench-frontdesk")
    patient = Patient.objects.filter(organization=org).first()
    follow_up = AppointmentType.objects.get(organization=org, name="Follow-up")
    provider = org_provider = None
    day = clock.today("America/Chicago") + timedelta(weeks=5)
    while day.weekday() != 1:
        day += timedelta(days=1)
    start = datetime.combine(day, time(15, 20), ZoneInfo("America/Chicago"))
    for org_provider in seed_providers(org):
        if not Appointment.objects.filter(
            provider=org_provider, start__lt=start + timedelta(minutes=20), end__gt=start
        ).exists():
            provider = org_provider
            break
    assert provider is not None
    booked = scheduling.book_appointment(
        actor=actor_for(frontdesk),
        request=scheduling.BookingRequest(
            patient=patient,
            provider=provider,
            appointment_type=follow_up,
            start=start,
            facility=provider.facilities.first(),
        ),
    )
    assert booked.pk and booked.status == "booked"


def seed_providers(org):
    from carebench.scheduling.models import Provider

    return Provider.objects.filter(organization=org).order_by("npi")


def test_a_patient_registered_after_seeding_gets_the_next_mrn(seeded):
    org = _bench()
    highest = max(
        int(m) for m in Patient.objects.filter(organization=org).values_list("mrn", flat=True)
    )
    patient = make_patient(User.objects.get(username="bench-frontdesk"), family_name="Later")
    assert int(patient.mrn) == highest + 1


def test_the_chart_page_shows_a_seeded_patients_lists(seeded):
    org = _bench()
    problem = Problem.objects.filter(organization=org).select_related("patient").first()
    client = Client()
    client.force_login(User.objects.get(username="bench-mat"))
    page = client.get(f"/patients/{problem.patient_id}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert problem.patient.family_name in text
    assert problem.icd10_code in text


def test_the_fhir_api_reads_a_seeded_patient_and_their_vital_signs(seeded):
    org = _bench()
    observation = Observation.objects.filter(organization=org, code="85354-9").first()
    api = FhirClient(token_for(User.objects.get(username="bench-mat")))
    patient = api.get(f"/fhir/Patient/{observation.patient_id}")
    assert patient.status_code == 200
    assert patient.json()["identifier"][0]["value"] == observation.patient.mrn
    found = api.get("/fhir/Observation", {"patient": observation.patient_id})
    assert found.status_code == 200
    bundle = found.json()
    stored = Observation.objects.filter(patient_id=observation.patient_id).count()
    assert bundle["total"] == stored
    codes = {e["resource"]["code"]["coding"][0]["code"] for e in bundle["entry"]}
    assert "85354-9" in codes


def test_the_vaccine_ledger_balances(seeded):
    org = _bench()
    for lot in StockLot.objects.filter(organization=org):
        movements = list(StockMovement.objects.filter(lot=lot).order_by("created_at", "pk"))
        assert sum(m.doses for m in movements) == lot.doses_on_hand
        assert movements[-1].balance == lot.doses_on_hand
        assert sum(m.doses for m in movements if m.doses > 0) == lot.doses_received


def test_a_large_load_puts_back_every_index_and_key_it_set_aside(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path

    def schema() -> set[tuple]:
        with connection.cursor() as cursor:
            found: set[tuple] = set()
            for table in ("encounters_observation", "scheduling_appointment"):
                found.update(tuple(e[:3]) for e in seed_writer._secondary_indexes(cursor, table))
                found.update(tuple(e[:3]) for e in seed_writer._foreign_keys(cursor, table))
            return found

    before = schema()
    monkeypatch.setattr(seed, "FAST_LOAD_MIN", 0)
    result = seed.seed(patients=50, seed=3)
    assert result.indexes_rebuilt >= len(before)
    assert schema() == before
    assert not list(tmp_path.glob("bench/seed-dropped-*.json"))
    assert _check_foreign_keys() == []


def test_the_command_prints_the_summary_and_the_day():
    out = io.StringIO()
    call_command("carebench_bench", "seed", "--patients", "45", "--no-progress", stdout=out)
    text = out.getvalue()
    assert "Seeded 45 patients" in text and "observation" in text
    day = io.StringIO()
    call_command("carebench_bench", "seed", "--show-day", stdout=day)
    assert day.getvalue().strip() == seed.show_day().isoformat()


def test_chunks_built_by_the_worker_process_are_those_built_inline(monkeypatch):
    def made(slug: str) -> tuple[list[tuple], int, int]:
        org = Organization.objects.get(slug=slug)
        people = list(
            Patient.objects.filter(organization=org)
            .order_by("mrn")
            .values_list("family_name", "given_name", "birth_date")
        )
        observations = Observation.objects.filter(organization=org).count()
        return people, observations, Appointment.objects.filter(organization=org).count()

    seed.seed(patients=60, seed=5, chunk_size=20, slug="bench-a")  # three chunks: the worker
    monkeypatch.setattr(seed, "_from_worker", seed.produce)
    seed.seed(patients=60, seed=5, chunk_size=20, slug="bench-b")  # the same, built inline
    assert made("bench-a") == made("bench-b")
    assert len(made("bench-a")[0]) == 60
    assert _check_foreign_keys() == []


def test_a_patient_registered_during_the_seeding_stops_it_with_a_clear_message(monkeypatch):
    frontdesk: list[User] = []

    def interfering(builder, start, stop, size, firsts, numbers):
        for number, chunk in enumerate(seed.produce(builder, start, stop, size, firsts, numbers)):
            if number == 1:
                make_patient(frontdesk[0], family_name="Walkin")
            yield chunk

    monkeypatch.setattr(seed, "_from_worker", interfering)
    seed.seed(patients=0)
    frontdesk.append(User.objects.get(username="bench-frontdesk"))
    with pytest.raises(seed_writer.SeedError, match="changed during the seeding"):
        seed.seed(patients=60, seed=5, chunk_size=20)


def test_the_command_refuses_a_negative_patient_count():
    with pytest.raises(CommandError, match="--patients: must be 0 or more"):
        call_command("carebench_bench", "seed", "--patients", "-5", stdout=io.StringIO())
