"""Checking the audit chains: find the first edited, inserted or deleted event in each chain."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .chain import GENESIS_HASH, event_hash
from .models import AuditChainHead, AuditEvent


@dataclass(frozen=True)
class Problem:
    chain: str
    seq: int
    event_id: int | None
    message: str

    def __str__(self) -> str:
        where = f"event id {self.event_id}" if self.event_id is not None else "missing event"
        return f"chain {self.chain}, seq {self.seq} ({where}): {self.message}"


@dataclass(frozen=True)
class ChainReport:
    chain: str
    events: int
    problems: list[Problem]


FIELDS = (
    "id",
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
    "hash",
)


def verify_chain(chain: str) -> ChainReport:
    problems: list[Problem] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0
    rows: Iterator[dict] = (
        AuditEvent.objects.filter(chain=chain).order_by("seq").values(*FIELDS).iterator(2000)
    )
    for row in rows:
        count += 1
        seq = row["seq"]
        if seq != expected_seq:
            for missing in range(expected_seq, seq):
                problems.append(Problem(chain, missing, None, "event deleted (sequence gap)"))
        if row["prev_hash"] != prev_hash:
            problems.append(Problem(chain, seq, row["id"], "link to the previous event is broken"))
        if event_hash(row) != row["hash"]:
            problems.append(
                Problem(chain, seq, row["id"], "content does not match its hash (edited)")
            )
        prev_hash = row["hash"]
        expected_seq = seq + 1
    head = AuditChainHead.objects.filter(chain=chain).first()
    if head is not None:
        for missing in range(expected_seq, head.seq + 1):
            problems.append(Problem(chain, missing, None, "event deleted (after the last row)"))
        if head.seq == expected_seq - 1 and head.hash != prev_hash:
            problems.append(Problem(chain, head.seq, None, "last event does not match the head"))
    return ChainReport(chain=chain, events=count, problems=problems)


def verify_all() -> list[ChainReport]:
    chains = set(AuditChainHead.objects.values_list("chain", flat=True))
    chains |= set(AuditEvent.objects.values_list("chain", flat=True).distinct())
    return [verify_chain(chain) for chain in sorted(chains)]
