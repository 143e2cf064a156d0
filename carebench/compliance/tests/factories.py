"""Compliance rows for tests, made through the real services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from carebench.compliance import services
from carebench.core import clock
from carebench.meds import services as meds
from carebench.testing import actor_for


def make_device(user: Any, **overrides: Any) -> Any:
    actor = actor_for(user)
    fields: dict[str, Any] = {
        "facility": actor.organization.facilities.first(),
        "kind": "glucometer",
        "name": "Glucometer room 3",
        "serial_number": "CN-20417",
        "make": "Contour",
        "model_name": "Next One",
        "location": "Room 3",
    }
    fields.update(overrides)
    return services.add_device(actor=actor, **fields)


def make_plan(user: Any, device: Any, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "kind": "calibration",
        "interval_days": 180,
        "next_due": clock.today() + timedelta(days=30),
    }
    fields.update(overrides)
    return services.add_plan(actor=actor_for(user), device=device, **fields)


def make_autoclave(user: Any, serial: str = "AC-1001") -> Any:
    return make_device(user, kind="autoclave", name="Autoclave", serial_number=serial)


def make_set(user: Any, name: str = "Suture removal kit", barcode: str = "SET-001") -> Any:
    return services.add_instrument_set(
        actor=actor_for(user), name=name, barcode=barcode, contents="scissors, forceps"
    )


def make_cycle(user: Any, autoclave: Any, sets: list[Any], **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "cycle_number": "101",
        "run_at": clock.now() - timedelta(hours=3),
        "duration_minutes": 30,
        "temperature_c": Decimal("121.0"),
        "pressure_psi": Decimal("15.0"),
        "chemical_indicator": "pass",
        "biological_indicator": "none",
    }
    fields.update(overrides)
    return services.record_cycle(
        actor=actor_for(user), autoclave=autoclave, instrument_sets=sets, **fields
    )


def second_fridge(clinic: Any, name: str = "Back fridge") -> Any:
    """Another refrigerator with its own lot of the clinic's Tdap vaccine."""
    unit = meds.add_storage_unit(
        actor=clinic.actor, facility=clinic.facility, name=name, kind="refrigerator"
    )
    lot = meds.receive_stock(
        actor=clinic.actor,
        product=clinic.tdap,
        lot_number="TD5K1",
        expires_on=clock.today() + timedelta(days=300),
        ndc="58160-0842-52",
        funding="private",
        storage_unit=unit,
        doses=4,
    )
    return SimpleNamespace(unit=unit, lot=lot)
