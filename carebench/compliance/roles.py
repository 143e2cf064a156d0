"""Which role holds which permission of this app (merged into accounts/roles.py).

Everyone clinical sees the logs; medical assistants record temperature readings, service
records, autoclave cycles (and read their BIs) and instrument-set uses; managers keep the device
list, the maintenance plans and the instrument sets, and resolve temperature excursions;
administrators do all of it.
"""

from __future__ import annotations

_MODELS = [
    "device",
    "maintenanceplan",
    "servicerecord",
    "temperaturereading",
    "excursion",
    "instrumentset",
    "sterilizercycle",
    "instrumentsetuse",
]
VIEW = [f"compliance.view_{model}" for model in _MODELS]
RECORD = [
    "compliance.add_temperaturereading",
    "compliance.add_servicerecord",
    "compliance.add_sterilizercycle",
    "compliance.change_sterilizercycle",  # read the BI, recall a load
    "compliance.add_instrumentsetuse",
]
MANAGE = [
    "compliance.add_device",
    "compliance.change_device",
    "compliance.add_maintenanceplan",
    "compliance.change_maintenanceplan",
    "compliance.add_instrumentset",
    "compliance.change_instrumentset",
    "compliance.change_excursion",  # resolve an excursion
]

PERMISSIONS: dict[str, list[str]] = {
    "mat": VIEW + RECORD,
    "provider": VIEW + ["compliance.add_instrumentsetuse"],
    "nurse": VIEW + ["compliance.add_temperaturereading"],
    "manager": VIEW + MANAGE + ["compliance.add_servicerecord"],
    "admin": VIEW + RECORD + MANAGE,
}
