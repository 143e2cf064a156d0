"""The hash over one audit event's content (pure; no Django)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64

HASHED_FIELDS = (
    "chain",
    "seq",
    "occurred_at",
    "organization_id",
    "user_id",
    "username",
    "patient_id",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "client_address",
    "channel",
    "detail",
    "prev_hash",
)


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return value


def event_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the hashed fields, in a fixed order."""
    payload = [[name, _canonical(fields.get(name))] for name in HASHED_FIELDS]
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
