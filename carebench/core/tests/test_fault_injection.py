"""A database failure in the middle of a multi-row write leaves nothing behind.

For each service that writes several rows at once, the test first runs it once inside a
transaction that is rolled back, to list the write statements it sends (INSERT, UPDATE, DELETE;
and PostgreSQL's COPY where the 835 posting uses it). Then, for every one of those statements in
turn, it runs the service again with the database refusing exactly that statement (a real error
from the database: the statement is swapped for an INSERT into a table that does not exist), and
checks that the error reaches the caller and that every table of the database holds exactly the
rows it held before (no orphan, no partial row, no counter moved, no audit event; the audit chain
still verifies). Last, the same call without a fault succeeds, so the scenario is a real one.
The tests run in pytest-django's transaction, so a service's own transaction is a savepoint and
its rollback the savepoint's: the same rows are undone as by a top-level rollback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from carebench.audit.verify import verify_all
from carebench.billing import remit_services
from carebench.billing import services as billing
from carebench.billing.tests.test_remit_services import Clp, Svc, write_835
from carebench.core import clock
from carebench.encounters import services as encounters
from carebench.encounters.vitals import VitalsEntry
from carebench.labs import hl7_services
from carebench.labs import services as labs
from carebench.labs.models import LabOrder
from carebench.labs.tests.conftest import lab, order_for  # noqa: F401  (the lab fixture)
from carebench.labs.tests.hl7_helpers import for_order
from carebench.meds import emar_services
from carebench.meds.emar_models import ResidentOrder
from carebench.scheduling import services as sched
from carebench.scheduling.models import Status
from carebench.testing import (
    actor_for,
    make_billing_clinic,
    make_claim,
    make_documented_visit,
    make_home,
    make_patient,
    make_schedule,
    next_weekday_at,
)

pytestmark = pytest.mark.django_db

FAULT_TABLE = "carebench_injected_fault"
FAULT_SQL = f"INSERT INTO {FAULT_TABLE} VALUES (1)"  # noqa: S608 - a constant
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
TARGET = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\S+)", re.IGNORECASE)


class RefuseNthWrite:
    """A `connection.execute_wrapper` that lists the write statements sent and makes the
    database refuse the `nth` one (None: refuse nothing, only list)."""

    def __init__(self, nth: int | None = None) -> None:
        self.nth = nth
        self.writes: list[str] = []
        self.fired = False

    def _next(self, description: str) -> bool:
        self.writes.append(description)
        if len(self.writes) == self.nth:
            self.fired = True
            return True
        return False

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql != FAULT_SQL and WRITE.match(sql):
            match = TARGET.match(sql)
            if self._next(f"{sql.split()[0].upper()} {match.group(1) if match else '?'}"):
                return execute(FAULT_SQL, [()] if many else None, many, context)
        return execute(sql, params, many, context)

    def before_copy(self, cursor: Any, table: str) -> None:
        """PostgreSQL's COPY does not pass through execute(): the 835 posting calls this."""
        if self._next(f"COPY {table}"):
            cursor.execute(FAULT_SQL)


def fingerprint() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table in tables:
            continue
        tables[meta.db_table] = list(model._base_manager.order_by("pk").values_list())
    return tables


def changed_tables(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [table for table in before if before[table] != after.get(table)]


class _RolledBack(Exception):
    pass


def writes_of(action: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The write statements `action` sends, from one run that is then rolled back."""
    recorder = RefuseNthWrite(None)
    _hook_copy(recorder, monkeypatch)
    with connection.execute_wrapper(recorder), pytest.raises(_RolledBack):
        with transaction.atomic():
            action()
            raise _RolledBack
    return recorder.writes


ORIGINAL_COPY = remit_services._copy


def _hook_copy(injector: RefuseNthWrite, monkeypatch: pytest.MonkeyPatch) -> None:
    def counted_copy(cursor: Any, table: str, names: str, rows: Any) -> None:
        injector.before_copy(cursor, table)
        ORIGINAL_COPY(cursor, table, names, rows)

    monkeypatch.setattr(remit_services, "_copy", counted_copy)


def assert_each_failing_write_leaves_nothing(
    action: Callable[[], Any], monkeypatch: pytest.MonkeyPatch, *, at_least: int
) -> list[str]:
    writes = writes_of(action, monkeypatch)
    assert len(writes) >= at_least, writes
    before = fingerprint()
    for nth, statement in enumerate(writes, start=1):
        injector = RefuseNthWrite(nth)
        _hook_copy(injector, monkeypatch)
        try:
            with connection.execute_wrapper(injector):
                action()
        except DatabaseError as exc:
            assert FAULT_TABLE in str(exc), exc
        else:
            pytest.fail(
                f"write {nth} ({statement}) was refused but the call returned normally "
                f"(refused: {injector.fired}; writes this time: {injector.writes})"
            )
        after = fingerprint()
        assert after == before, (
            f"write {nth} of {len(writes)} ({statement}) failed and left rows changed in "
            f"{changed_tables(before, after)}; the writes were {writes}"
        )
    assert [report.problems for report in verify_all() if report.problems] == []
    monkeypatch.undo()
    action()  # without a fault the same call is stored
    assert fingerprint() != before
    return writes


# --- labs ---------------------------------------------------------------------------------------


def test_a_lab_order_with_its_tests_is_all_or_nothing(lab, monkeypatch):  # noqa: F811
    def place() -> LabOrder:
        return order_for(lab, "CBC", "CMP", "PTINR", "TSH")

    writes = assert_each_failing_write_leaves_nothing(place, monkeypatch, at_least=4)
    assert any("labs_laborderitem" in w for w in writes), writes
    assert any("hl7" in w.lower() for w in writes), writes  # the ORM^O01 in the outbox


def test_labelling_an_orders_specimens_is_all_or_nothing(lab, monkeypatch):  # noqa: F811
    order = order_for(lab, "CBC", "CMP", "PTINR")

    def label() -> Any:
        return labs.create_specimens(actor=lab.mat, order=LabOrder.objects.get(pk=order.pk))

    writes = assert_each_failing_write_leaves_nothing(label, monkeypatch, at_least=6)
    # one tube each: lavender, gold, light blue
    assert writes.count('INSERT "labs_specimen"') == 3, writes


def _oru(order: LabOrder, control_id: str, accession: str) -> str:
    raw = for_order("oru_cbc.hl7", order, accession)
    return raw.replace("|Q2025031400001|", f"|{control_id}|")


def test_an_hl7_result_batch_is_all_or_nothing(lab, monkeypatch):  # noqa: F811
    raws = []
    for n in range(3):
        order = order_for(lab, "CBC")
        specimen = labs.create_specimens(actor=lab.mat, order=order)[0]
        raws.append(_oru(order, f"FAULT{n}", specimen.accession))

    def ingest() -> Any:
        out = hl7_services.ingest_many(actor=hl7_services.Actor.system(lab.org), raws=raws)
        assert [row.status for _, row in out] == ["accepted"] * 3
        return out

    writes = assert_each_failing_write_leaves_nothing(ingest, monkeypatch, at_least=4)
    assert any("labs_labresult" in w for w in writes), writes


# --- vital signs --------------------------------------------------------------------------------


@pytest.fixture
def visit(frontdesk: Any) -> Any:
    setup = make_schedule(frontdesk)
    patient = make_patient(frontdesk, birth_date=date(1960, 2, 3))
    appointment = sched.book_appointment(
        actor=setup.actor,
        request=sched.BookingRequest(
            patient=patient,
            provider=setup.provider,
            appointment_type=setup.visit,
            start=next_weekday_at(9),
            facility=setup.facility,
        ),
    )
    sched.advance_flow(actor=setup.actor, appointment=appointment, to=Status.ARRIVED)
    return appointment.encounter


def test_a_full_vital_signs_set_is_all_or_nothing(visit, mat, monkeypatch):
    entry = VitalsEntry(
        systolic=Decimal(192),  # severe: an alert for the provider and a recheck
        diastolic=Decimal(124),
        bp_position="sitting",
        heart_rate=Decimal(88),
        respiratory_rate=Decimal(18),
        temperature=Decimal("37.4"),
        spo2=Decimal(96),
        height=Decimal(170),
        weight=Decimal(80),
        pain=3,
    )

    def record() -> Any:
        return encounters.record_vitals(
            actor=actor_for(mat), patient=visit.patient, entry=entry, encounter=visit
        )

    writes = assert_each_failing_write_leaves_nothing(record, monkeypatch, at_least=5)
    assert any("encounters_alert" in w for w in writes), writes
    assert any("encounters_roomingitem" in w for w in writes), writes


# --- billing ------------------------------------------------------------------------------------


@pytest.fixture
def clinic(biller: Any, icd10: Any) -> Any:
    return make_billing_clinic(biller)


def test_a_claim_with_its_lines_is_all_or_nothing(clinic, biller, monkeypatch):
    visit = make_documented_visit(clinic, biller)

    def build() -> Any:
        return billing.create_claim(
            actor=clinic.actor, encounter=visit, diagnoses=["I10", "E11.9"], em_code="99213"
        )

    writes = assert_each_failing_write_leaves_nothing(build, monkeypatch, at_least=4)
    assert any("billing_claimline" in w for w in writes), writes
    assert any("billing_billingprofile" in w for w in writes), writes  # the claim number


def test_posting_an_835_is_all_or_nothing(clinic, monkeypatch):
    first = make_claim(clinic, lines=[("99213", "110.00"), ("96372", "30.00")])
    second = make_claim(clinic, lines=[("99214", "165.00")])
    text = write_835(
        [
            Clp(
                first.number,
                "140.00",
                "100.00",
                lines=[
                    Svc("99213", "110.00", "80.00", ("25",), cas=[("CO", "45", "30.00")]),
                    Svc("96372", "30.00", "20.00", cas=[("PR", "1", "10.00")]),
                ],
            ),
            Clp(second.number, "165.00", "0.00", status="4", cas=[("CO", "29", "165.00")]),
        ]
    )

    def post() -> Any:
        return remit_services.post_835(actor=clinic.actor, text=text, file_name="era.835")

    writes = assert_each_failing_write_leaves_nothing(post, monkeypatch, at_least=5)
    assert any("billing_linepayment" in w for w in writes), writes
    assert any("billing_claimevent" in w for w in writes), writes


# --- the eMAR -----------------------------------------------------------------------------------


def test_a_controlled_dose_is_all_or_nothing(nurse, medtech, monkeypatch):
    home = make_home(nurse, medtech)
    zone = ZoneInfo(home.home.time_zone)
    at = datetime.combine(clock.today(home.home.time_zone), time(10), tzinfo=zone)

    def give() -> Any:
        with clock.frozen(at):
            return emar_services.record_dose(
                actor=home.medtech,
                order=ResidentOrder.objects.get(pk=home.lorazepam.pk),
                outcome="given",
                prn_reason="anxious, pacing",
            )

    writes = assert_each_failing_write_leaves_nothing(give, monkeypatch, at_least=4)
    # the dose, the stock on hand, the count sheet's balance and its entry
    assert any("meds_countentry" in w.lower() for w in writes), writes
