"""Posting what comes back: 835 remittances onto claims and their lines, 999 acknowledgments onto
our 837P batches, and 277CA claim acknowledgments onto claims.

Every function is keyword-only with the `Actor` first and writes in one transaction with one
audit event per file (with counts). A file we cannot read, an 835 already posted (same payer and
trace number) or one that does not balance raises a `ValidationError` naming the field, and
nothing is written. Only the actor's organization's claims are ever looked at or changed.

The 835 is posted in bulk (claims read by 500 numbers a query, 5,000 on PostgreSQL; COPY or
multi-row inserts; one UPDATE per table): the same rows `services.add_event` would write,
without a query per claim. See docs/subsystems/remittance.md for what goes where and the
matching order.
"""

from __future__ import annotations

import functools
import json
import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, Model, TextField
from django.db.models.functions import Cast

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor

from .models import (
    Claim,
    ClaimBatch,
    ClaimEvent,
    ClaimLine,
    ClaimPayment,
    LinePayment,
    Remittance,
)
from .x12 import ack, codes, remit835
from .x12.parse import X12Error, read_interchange

ZERO = Decimal("0.00")
CHUNK = 500  # claim numbers per query (SQLite)
PG_CHUNK = 5000  # claim numbers per query (PostgreSQL)
WRITE_BATCH = 2000  # rows per bulk insert or update (capped lower by the database's limits)
MAX_PROBLEMS_SHOWN = 20
# CLP02: the payer processed the claim (as primary, secondary, tertiary; maybe forwarded).
PROCESSED = frozenset({"1", "2", "3", "19", "20", "21"})
DENIED = "4"
REVERSAL = "22"
PATIENT_GROUP = "PR"
PR_LABELS = {"1": "deductible", "2": "coinsurance", "3": "copay"}
# 277CA STC01-1: what moves a claim to accepted (the rejections are ack.REJECTED_CATEGORIES).
ACCEPTED_CATEGORIES = frozenset({"A1", "A2", "A5"})
# A 999 or 277CA moves claims only from these statuses (a paid claim stays paid).
ACK_MOVABLE = frozenset({Claim.Status.SUBMITTED, Claim.Status.ACCEPTED, Claim.Status.REJECTED})


# --- small helpers ------------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _read_error(exc: X12Error) -> ValidationError:
    return ValidationError({"file": [f"The file cannot be read: {exc}"]})


def _source(file_name: str) -> str:
    return (file_name or "")[:200]


def _audit(
    actor: Actor, resource_type: str, resource_id: int | str, detail: dict[str, Any]
) -> None:
    """One audit event per file posted, with its counts (not one per claim)."""
    audit.record_for_actor(
        actor,
        action=Action.CREATE,
        patient_id=None,
        resource_type=resource_type,
        resource_id=resource_id,
        detail=detail,
    )


@functools.lru_cache(maxsize=4096)
def _adjustment_head(group: str, reason: str) -> str:
    return f'{{"group": {json.dumps(group)}, "reason": {json.dumps(reason)}, "amount": '


def _adjustments_json(adjustments: Iterable[remit835.Adjustment]) -> str:
    """[{"group": "CO", "reason": "45", "amount": "49.60"}] as JSON text, as json.dumps writes
    it (built directly: tens of thousands of them in an 835)."""
    parts = [f'{_adjustment_head(a.group, a.reason)}"{a.amount:.2f}"}}' for a in adjustments]
    return "[" + ", ".join(parts) + "]"


@functools.lru_cache(maxsize=4096)
def _json_codes(codes: tuple[str, ...]) -> str:
    """Modifiers or remark codes as a JSON list (the same few lists over and over)."""
    return json.dumps(list(codes))


def _split(adjustments: Iterable[remit835.Adjustment]) -> tuple[Decimal, Decimal]:
    """(patient responsibility, every other adjustment): PR against CO, OA, PI and CR."""
    patient = other = ZERO
    for a in adjustments:
        if a.group == PATIENT_GROUP:
            patient += a.amount
        else:
            other += a.amount
    return patient, other


def _adjustment_words(adjustments: Iterable[remit835.Adjustment], *, meanings: bool) -> str:
    """ "PR-1 deductible $20.00; CO-45 $35.00", summed per group and reason, PR first."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for a in adjustments:
        totals[(a.group, a.reason)] += a.amount
    parts = []
    for (group, reason), amount in sorted(totals.items(), key=lambda i: (i[0][0] != "PR", i[0])):
        label = PR_LABELS.get(reason, "") if group == PATIENT_GROUP else ""
        text = f"{group}-{reason}{' ' + label if label else ''} {_money(amount)}"
        if meanings and not label:
            text += f" ({codes.carc(reason).rstrip('.')})"
        parts.append(text)
    return "; ".join(parts)


# --- bulk writes --------------------------------------------------------------------------------
# Django's bulk_create and bulk_update prepare every value of every row through the field (and
# bulk_update builds a CASE per field and row): for an 835 of 10,000 claims that was most of the
# time. These send values as they are: JSON columns as their JSON text (see `_json_codes` and
# `_adjustments_json`), datetimes adapted once. On PostgreSQL the rows go by COPY; on SQLite as
# multi-row INSERTs and an executemany UPDATE. They skip model save() and signals, as
# bulk_create does.


def _column(model: type[Model], name: str) -> str:
    """The quoted column of a field (by name or attname)."""
    column = getattr(model._meta.get_field(name), "column", None)
    assert column, f"{model.__name__}.{name} is not a column"
    return str(connection.ops.quote_name(column))


def _param_limit() -> int:
    """Parameters one SQLite statement may carry (its compiled limit)."""
    import sqlite3

    connection.ensure_connection()
    try:
        return int(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except AttributeError:  # Python < 3.11
        return int(connection.features.max_query_params or 999)


def _prepared(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Any:
    """The rows with their datetimes as text the database takes (SQLite: as the backend stores
    them; PostgreSQL: ISO 8601 with the offset, which COPY reads several times faster than
    psycopg adapting each datetime). The same datetime object (`now`) is adapted once; other
    values, JSON text included, go as they are."""
    jobs = [
        i
        for i, name in enumerate(columns)
        if isinstance(model._meta.get_field(name), DateTimeField)
    ]
    if not jobs:
        return rows
    adapt = (
        datetime.isoformat
        if connection.vendor == "postgresql"
        else connection.ops.adapt_datetimefield_value
    )
    cache: dict[int, Any] = {}  # the rows hold their values, so an id is not reused meanwhile
    out = []
    for row in rows:
        values = list(row)
        for i in jobs:
            value = values[i]
            if value is not None:
                key = id(value)
                if key not in cache:
                    cache[key] = adapt(value)
                values[i] = cache[key]
        out.append(values)
    return out


def _copy(cursor: Any, table: str, names: str, rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL: COPY the rows in (text format; JSON columns as JSON text, None as NULL)."""
    with connection.wrap_database_errors, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _new_ids(cursor: Any, model: type[Model], count: int) -> list[int]:
    """PostgreSQL: `count` primary keys taken from the table's sequence, ascending."""
    meta = model._meta
    assert meta.pk is not None
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
        [connection.ops.quote_name(meta.db_table), meta.pk.column, count],
    )
    return sorted(row[0] for row in cursor.fetchall())


def insert_rows(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: bool = False,
) -> list[int]:
    """Insert `rows` (values in `columns` order, by attname: "claim_id"; JSON columns as their
    JSON text); with `returning`, the new primary keys in row order (ascending, as bulk_create
    gives them). PostgreSQL: one COPY (the keys taken from the sequence first); SQLite:
    multi-row VALUES up to its parameter limit, with RETURNING."""
    if not rows:
        return []
    meta = model._meta
    assert meta.pk is not None
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = ", ".join(_column(model, c) for c in columns)
    ids: list[int] = []
    # only quoted model names and placeholders are put in the text; values go as data
    with connection.cursor() as cursor:
        values = _prepared(model, columns, rows)
        if connection.vendor == "postgresql":
            if not returning:
                _copy(cursor, table, names, values)
                return ids
            ids = _new_ids(cursor, model, len(values))
            names = f"{_column(model, meta.pk.name)}, {names}"
            _copy(cursor, table, names, ((pk, *row) for pk, row in zip(ids, values, strict=True)))
            return ids
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        suffix = f" RETURNING {_column(model, meta.pk.name)}" if returning else ""
        per_statement = max(1, min(1000, _param_limit() // len(columns)))
        for start in range(0, len(values), per_statement):
            chunk = values[start : start + per_statement]
            rows_sql = ", ".join([one] * len(chunk))
            sql = f"INSERT INTO {table} ({names}) VALUES {rows_sql}{suffix}"  # noqa: S608
            cursor.execute(sql, [v for row in chunk for v in row])
            if returning:
                ids += [row[0] for row in cursor.fetchall()]
    return ids


def update_rows(model: type[Model], rows: Sequence[Any], fields: Sequence[str]) -> None:
    """Save `fields` (attnames; no JSON fields) of many rows of one model by primary key:
    model instances or any objects with those attributes and `pk`. PostgreSQL: the values are
    COPYed into a temporary table, then one UPDATE ... FROM it by primary key; SQLite: one
    prepared UPDATE run for every row (executemany)."""
    if not rows:
        return
    meta = model._meta
    assert meta.pk is not None
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = [_column(model, name) for name in fields]
    pk_column = _column(model, meta.pk.name)
    values_of = operator.attrgetter(*fields, "pk")
    plain = [values_of(row) for row in rows]
    values = _prepared(model, [*fields, meta.pk.attname], plain)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _update_from_copy(cursor, model, [*fields, meta.pk.attname], values)
            return
        sets = ", ".join(f"{c} = %s" for c in columns)
        sql = f"UPDATE {table} SET {sets} WHERE {pk_column} = %s"  # noqa: S608
        cursor.executemany(sql, values)


def _update_from_copy(
    cursor: Any, model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """PostgreSQL: UPDATE the table's `fields[:-1]` from `rows` (the primary key last), COPYed
    into a temporary table first (dropped after; and at commit, or with a rollback, if the
    UPDATE fails).

    The UPDATE finds each row by the primary key's index: hash and merge joins are turned off
    for this statement alone (SET LOCAL, then put back). Otherwise the planner, not knowing
    how few rows of a big table are touched (claims written minutes ago have no statistics
    yet), reads and hashes the whole table: about 30% slower for 20,000 of 340,000 lines, and
    growing with the table."""
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    temp = quote(f"_rows_{meta.db_table}")
    types = ", ".join(
        f"c{i} {meta.get_field(c).db_type(connection)}"  # type: ignore[union-attr]
        for i, c in enumerate(fields)
    )
    sets = ", ".join(f"{_column(model, c)} = x.c{i}" for i, c in enumerate(fields[:-1]))
    where = f"{table}.{_column(model, fields[-1])} = x.c{len(fields) - 1}"
    cursor.execute(f"CREATE TEMPORARY TABLE {temp} ({types}) ON COMMIT DROP")
    _copy(cursor, temp, ", ".join(f"c{i}" for i in range(len(fields))), rows)
    cursor.execute(
        "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin'), "
        "set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)"
    )
    before = list(cursor.fetchone()[:2])
    cursor.execute(f"UPDATE {table} SET {sets} FROM {temp} x WHERE {where}")  # noqa: S608
    cursor.execute(
        "SELECT set_config('enable_hashjoin', %s, true), set_config('enable_mergejoin', %s, true)",
        before,
    )
    cursor.execute(f"DROP TABLE {temp}")


# --- 835 ----------------------------------------------------------------------------------------


def post_835(*, actor: Actor, text: str | bytes, file_name: str = "") -> list[Remittance]:
    """Post every payment (ST..SE) of an 835 onto the organization's claims; the `Remittance`
    rows written, in file order.

    Refused with nothing written (`ValidationError`): a file the reader cannot take (the
    message names the segment and its position), a payment already posted (same payer name and
    TRN02 trace number in this organization), and one that does not balance.
    """
    try:
        remittances = remit835.read_835(text)
    except X12Error as exc:
        raise _read_error(exc) from None
    if not remittances:
        raise ValidationError({"file": ["The file has no 835 payment (no ST*835)."]})
    problems = [p for r in remittances for p in remit835.balance_problems(r)]
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        if more:
            shown.append(f"... and {more} more.")
        raise ValidationError(
            {"balance": ["The 835 does not balance; nothing was posted.", *shown]}
        )
    try:
        with transaction.atomic():
            _refuse_posted(actor, remittances)
            return [_post_remittance(actor, r, file_name) for r in remittances]
    except IntegrityError:  # the same payment posted by someone else at the same moment
        _refuse_posted(actor, remittances)
        raise


def _refuse_posted(actor: Actor, remittances: Sequence[remit835.Remittance]) -> None:
    seen: set[tuple[str, str]] = set()
    for r in remittances:
        key = (r.payer.name[:200], r.trace_number[:50])
        earlier = (
            Remittance.objects.filter(
                organization=actor.organization, payer_name=key[0], trace_number=key[1]
            )
            .only("imported_at", "file_name")
            .first()
        )
        if earlier is not None or key in seen:
            when = f" on {earlier.imported_at:%Y-%m-%d %H:%M}" if earlier is not None else ""
            name = f" from {earlier.file_name}" if earlier is not None and earlier.file_name else ""
            raise ValidationError(
                {
                    "trace_number": [
                        f"TRN02 trace number {r.trace_number} from {r.payer.name} was already "
                        f"posted{when}{name}; nothing was posted."
                    ]
                }
            )
        seen.add(key)


def _payer_for(actor: Actor, remittance: remit835.Remittance) -> Any:
    """Our payer: by payer ID (REF*2U or N104), else by name."""
    from carebench.patients.models import Payer

    payers = Payer.objects.filter(organization=actor.organization)
    ids = [value for qualifier, value in remittance.payer.references if qualifier == "2U"]
    ids += [remittance.payer.id] if remittance.payer.id else []
    found = payers.filter(payer_code__in=ids).first() if ids else None
    return found or payers.filter(name__iexact=remittance.payer.name).first()


class _Line:
    """A claim line as posting needs it (no model instance: 20,000 of them are built)."""

    __slots__ = (
        "pk", "number", "code", "modifiers", "charge", "status", "paid_amount",
        "allowed_amount", "adjustment_amount", "patient_responsibility", "updated_at",
    )  # fmt: skip

    def __init__(self, values: Sequence[Any]) -> None:
        (
            self.pk, self.number, self.code, self.modifiers, self.charge, self.status,
            self.paid_amount, self.allowed_amount, self.adjustment_amount,
            self.patient_responsibility,
        ) = values  # fmt: skip
        if isinstance(self.modifiers, str):  # the JSON text as read
            self.modifiers = _modifiers(self.modifiers)
        self.updated_at: Any = None


class _Claim:
    """A claim as posting needs it, with its lines in number order."""

    __slots__ = (
        "pk", "number", "status", "paid_amount", "adjustment_amount", "patient_responsibility",
        "payer_claim_number", "updated_at", "lines",
    )  # fmt: skip

    def __init__(self, values: Sequence[Any]) -> None:
        (
            self.pk, self.number, self.status, self.paid_amount, self.adjustment_amount,
            self.patient_responsibility, self.payer_claim_number,
        ) = values  # fmt: skip
        self.updated_at: Any = None
        self.lines: list[_Line] = []


LINE_FIELDS = (
    "id", "number", "code", "modifiers", "charge", "status", "paid_amount", "allowed_amount",
    "adjustment_amount", "patient_responsibility",
)  # fmt: skip
CLAIM_FIELDS = (
    "id", "number", "status", "paid_amount", "adjustment_amount", "patient_responsibility",
    "payer_claim_number",
)  # fmt: skip


def _fetch_claims(actor: Actor, numbers: Sequence[str]) -> dict[str, _Claim]:
    """The organization's claims with these numbers and their lines (in number order), as
    plain values. PostgreSQL: one query per 5,000 numbers; SQLite: two per 500."""
    out: dict[str, _Claim] = {}
    if connection.vendor == "postgresql":
        for chunk in _chunks(numbers, PG_CHUNK):
            out.update(_fetch_claims_pg(actor.organization.pk, chunk))
    else:
        modifiers = Cast("modifiers", TextField())  # JSON text: decoded once per distinct list
        for chunk in _chunks(numbers, CHUNK):
            query = Claim.objects.filter(organization=actor.organization, number__in=chunk)
            by_id = {row[0]: _Claim(row) for row in query.order_by().values_list(*CLAIM_FIELDS)}
            lines = ClaimLine.objects.filter(claim_id__in=list(by_id)).order_by(
                "claim_id", "number"
            )
            fields = ["claim_id", *LINE_FIELDS]
            fields[fields.index("modifiers")] = "modifiers_text"
            for row in lines.annotate(modifiers_text=modifiers).values_list(*fields):
                by_id[row[0]].lines.append(_Line(row[1:]))
            out.update((claim.number, claim) for claim in by_id.values())
    return out


def _fetch_claims_pg(org_id: int, numbers: Sequence[str]) -> dict[str, _Claim]:
    """PostgreSQL, one query: for each number (unnest), its claim by the (organization,
    number) unique index and the claim's lines by their claim index. LATERAL with LIMIT and
    OFFSET keeps those index lookups whatever the planner's statistics say (claims written
    minutes ago have none yet; `number IN (...)` then read the whole table)."""
    quote = connection.ops.quote_name
    claim_columns = ", ".join(f"c.{_column(Claim, name)}" for name in CLAIM_FIELDS)
    line_columns = ", ".join(f"l.{_column(ClaimLine, name)}" for name in LINE_FIELDS)
    claims, lines = quote(Claim._meta.db_table), quote(ClaimLine._meta.db_table)
    sql = (
        f"SELECT {claim_columns}, {line_columns} FROM unnest(%s::text[]) AS n(number) "  # noqa: S608
        f"CROSS JOIN LATERAL (SELECT * FROM {claims} c WHERE c.{_column(Claim, 'organization')}"
        f" = %s AND c.{_column(Claim, 'number')} = n.number LIMIT 1) c "
        f"LEFT JOIN LATERAL (SELECT * FROM {lines} l WHERE l.{_column(ClaimLine, 'claim')}"
        f" = c.{_column(Claim, 'id')} OFFSET 0) l ON true"
    )
    by_id: dict[int, _Claim] = {}
    width = len(CLAIM_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(numbers), org_id])
        for row in cursor.fetchall():
            claim = by_id.get(row[0])
            if claim is None:
                claim = by_id[row[0]] = _Claim(row[:width])
            if row[width] is not None:  # a claim without lines has one row of NULLs
                claim.lines.append(_Line(row[width:]))
    for claim in by_id.values():
        claim.lines.sort(key=_line_number)
    return {claim.number: claim for claim in by_id.values()}


def _line_number(line: _Line) -> int:
    return int(line.number)


@functools.lru_cache(maxsize=1024)
def _modifiers(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


class LineLike(Protocol):
    number: int
    code: str
    modifiers: list[str]
    charge: Decimal


L = TypeVar("L", bound=LineLike)


def match_lines(
    claim_number: str, lines: Sequence[L], services: Sequence[remit835.ServiceLine]
) -> list[L | None]:
    """The claim line each SVC pays (None when none fits), each claim line used once.

    In order, over every SVC still unmatched: the REF*6R control number; the procedure as billed
    (SVC06 when the payer changed it, else SVC01) with the same modifiers; the code alone (a
    payer that dropped or changed a modifier); the charge.
    """
    by_control = {f"{claim_number}-{line.number}": line for line in lines}
    found: list[L | None] = []
    used: set[int] = set()
    for svc in services:
        line = by_control.get(svc.control_number) if svc.control_number else None
        if line is not None and line.number not in used:
            used.add(line.number)
            found.append(line)
        else:
            found.append(None)
    if len(used) == len(found) or len(used) == len(lines):
        return found

    def same_code_and_modifiers(svc: remit835.ServiceLine, line: L) -> bool:
        billed = svc.submitted_procedure
        return billed.code == line.code and list(billed.modifiers) == list(line.modifiers)

    def same_code(svc: remit835.ServiceLine, line: L) -> bool:
        return line.code in (svc.submitted_procedure.code, svc.procedure.code)

    def same_charge(svc: remit835.ServiceLine, line: L) -> bool:
        return svc.charge == line.charge

    for rule in (same_code_and_modifiers, same_code, same_charge):
        for i, svc in enumerate(services):
            if found[i] is not None:
                continue
            match = next((x for x in lines if x.number not in used and rule(svc, x)), None)
            if match is not None:
                used.add(match.number)
                found[i] = match
    return found


@dataclass
class _Totals:
    """What one remittance's posting did, for the audit event and the summary."""

    claims: int = 0
    matched: int = 0
    unmatched: int = 0
    paid: int = 0
    denied: int = 0
    reversed: int = 0
    lines_unmatched: int = 0


PAYMENT_COLUMNS = (
    "created_at", "updated_at", "organization_id", "created_by_id", "remittance_id", "claim_id",
    "patient_control_number", "status_code", "charge", "paid", "patient_responsibility",
    "payer_claim_number", "adjustments", "remark_codes",
)  # fmt: skip
LINE_PAYMENT_COLUMNS = (
    "created_at", "updated_at", "organization_id", "created_by_id", "payment_id", "line_id",
    "code", "modifiers", "charge", "paid", "allowed", "units", "adjustments", "remark_codes",
)  # fmt: skip
EVENT_COLUMNS = (
    "created_at", "updated_at", "claim_id", "at", "by_id", "from_status", "to_status", "note",
    "source",
)  # fmt: skip
LINE_UPDATE = (
    "status", "paid_amount", "allowed_amount", "adjustment_amount", "patient_responsibility",
    "updated_at",
)  # fmt: skip
CLAIM_UPDATE = (
    "status", "paid_amount", "adjustment_amount", "patient_responsibility", "payer_claim_number",
    "updated_at",
)  # fmt: skip


def _post_remittance(actor: Actor, r: remit835.Remittance, file_name: str) -> Remittance:
    org, user, now = actor.organization, actor.user, clock.now()
    user_id = user.pk if user is not None else None
    numbers = list(dict.fromkeys(c.patient_control_number for c in r.claims))
    claims = _fetch_claims(actor, numbers)
    source = _source(file_name)
    row = Remittance.objects.create(
        organization=org,
        created_by=user,
        payer=_payer_for(actor, r),
        payer_name=r.payer.name[:200],
        trace_number=r.trace_number[:50],
        payment_date=r.payment_date,
        payment_method=r.payment_method[:3],
        total_paid=r.net_paid,
        provider_adjustments=[
            {"reason": a.reason, "reference": a.reference, "amount": f"{a.amount:.2f}"}
            for a in r.provider_adjustments
        ],
        balance_problems=[],
        file_name=source,
        imported_at=now,
        imported_by=user,
        claim_count=len(r.claims),
    )
    totals = _Totals(claims=len(r.claims))
    payments: list[tuple[Any, ...]] = []
    line_payments: list[tuple[int, tuple[Any, ...]]] = []  # (index in payments, the rest)
    events: list[tuple[Any, ...]] = []
    touched_claims: dict[int, _Claim] = {}
    touched_lines: dict[int, _Line] = {}
    for index, clp in enumerate(r.claims):
        claim = claims.get(clp.patient_control_number)
        all_adjustments = clp.all_adjustments
        patient_share, other = _split(all_adjustments)
        responsibility = clp.patient_responsibility or patient_share
        payments.append(
            (
                now, now, org.pk, user_id, row.pk, claim.pk if claim else None,
                clp.patient_control_number[:38], clp.status_code[:2], clp.charge, clp.paid,
                responsibility, clp.payer_claim_control_number[:50],
                _adjustments_json(clp.adjustments), _json_codes(clp.remark_codes),
            )
        )  # fmt: skip
        if claim is None:
            totals.unmatched += 1
            matches: list[_Line | None] = [None] * len(clp.lines)
        else:
            totals.matched += 1
            matches = match_lines(claim.number, claim.lines, clp.lines)
        for svc, line in zip(clp.lines, matches, strict=True):
            billed = svc.submitted_procedure
            line_payments.append(
                (
                    index,
                    (
                        line.pk if line else None, billed.code[:5], _json_codes(billed.modifiers),
                        svc.charge, svc.paid, svc.allowed, svc.units,
                        _adjustments_json(svc.adjustments), _json_codes(svc.remark_codes),
                    ),
                )
            )  # fmt: skip
            if line is not None:
                _post_line(line, svc, clp, now)
                touched_lines[line.pk] = line
        if claim is None:
            continue
        unmatched_lines = sum(1 for m in matches if m is None)
        totals.lines_unmatched += unmatched_lines
        if clp.status_code == DENIED and not clp.lines:
            for line in claim.lines:  # denied whole, without line detail
                if line.status == ClaimLine.Status.OPEN:
                    line.status = ClaimLine.Status.DENIED
                    line.updated_at = now
                    touched_lines[line.pk] = line
        from_status, to_status, note = _post_claim(
            claim, clp, all_adjustments, other, responsibility, unmatched_lines, totals
        )
        claim.updated_at = now
        touched_claims[claim.pk] = claim
        events.append(
            (now, now, claim.pk, now, user_id, from_status, to_status, note[:500], source)
        )

    payment_ids = insert_rows(ClaimPayment, PAYMENT_COLUMNS, payments, returning=True)
    insert_rows(
        LinePayment,
        LINE_PAYMENT_COLUMNS,
        [(now, now, org.pk, user_id, payment_ids[i], *rest) for i, rest in line_payments],
    )
    update_rows(ClaimLine, list(touched_lines.values()), LINE_UPDATE)
    update_rows(Claim, list(touched_claims.values()), CLAIM_UPDATE)
    insert_rows(ClaimEvent, EVENT_COLUMNS, events)
    if totals.unmatched:
        row.unmatched_count = totals.unmatched
        row.save(update_fields=["unmatched_count", "updated_at"])
    _audit(
        actor,
        "Remittance",
        row.pk,
        {
            "what": "835 posted",
            "payer": row.payer_name,
            "trace_number": row.trace_number,
            "total_paid": f"{row.total_paid:.2f}",
            "file": source,
            "claims": totals.claims,
            "matched": totals.matched,
            "unmatched": totals.unmatched,
            "paid": totals.paid,
            "denied": totals.denied,
            "reversed": totals.reversed,
            "lines_unmatched": totals.lines_unmatched,
        },
    )
    return row


def _post_line(
    line: _Line, svc: remit835.ServiceLine, clp: remit835.ClaimPayment, now: Any
) -> None:
    """Add the SVC's amounts to the line (a reversal's are negative) and set its status."""
    patient_share, other = _split(svc.adjustments)
    line.paid_amount += svc.paid
    line.adjustment_amount += other
    line.patient_responsibility += patient_share
    if clp.status_code == REVERSAL:
        line.allowed_amount = None
        line.status = ClaimLine.Status.OPEN
    else:
        line.allowed_amount = svc.allowed if svc.allowed is not None else svc.charge - other
        processed = svc.paid > 0 or patient_share > 0
        line.status = ClaimLine.Status.PAID if processed else ClaimLine.Status.DENIED
    line.updated_at = now


def _post_claim(
    claim: _Claim,
    clp: remit835.ClaimPayment,
    all_adjustments: Sequence[remit835.Adjustment],
    other: Decimal,
    responsibility: Decimal,
    unmatched_lines: int,
    totals: _Totals,
) -> tuple[str, str, str]:
    """Add the CLP's amounts to the claim and move its status: (from, to, note) for the trail
    (from and to empty when the status does not change, as `services.add_event` writes).
    `all_adjustments` are the CLP's and its lines', `other` their non-PR sum."""
    claim.paid_amount += clp.paid
    claim.patient_responsibility += responsibility
    claim.adjustment_amount += other
    if clp.payer_claim_control_number and clp.status_code != REVERSAL:
        claim.payer_claim_number = clp.payer_claim_control_number[:50]
    to_status = ""
    if clp.status_code == REVERSAL:
        to_status = Claim.Status.ACCEPTED
        totals.reversed += 1
        note = (
            f"Payer reversed an earlier payment: {_money(clp.paid)} paid, "
            f"{_money(responsibility)} patient share; back to accepted"
        )
    elif clp.status_code == DENIED or (
        clp.status_code in PROCESSED and clp.paid <= 0 and responsibility <= 0
    ):
        to_status = Claim.Status.DENIED
        totals.denied += 1
        reasons = _adjustment_words(all_adjustments, meanings=True)
        remarks = list(clp.remark_codes) + [c for svc in clp.lines for c in svc.remark_codes]
        note = f"Denied: {_money(clp.paid)} of {_money(clp.charge)} paid"
        note += f"; {reasons}" if reasons else ""
        note += "".join(f"; {c} ({codes.rarc(c).rstrip('.')})" for c in dict.fromkeys(remarks))
    elif clp.status_code in PROCESSED:
        to_status = Claim.Status.PAID
        totals.paid += 1
        words = _adjustment_words(all_adjustments, meanings=False)
        note = f"Paid {_money(clp.paid)} of {_money(clp.charge)}"
        note += f"; {words}" if words else ""
    else:
        words = _adjustment_words(all_adjustments, meanings=False)
        note = f"835 claim status {clp.status_code}: {clp.status}; {_money(clp.paid)} paid"
        note += f"; {words}" if words else ""
    if unmatched_lines:
        note += f"; {unmatched_lines} service line(s) not matched to a claim line"
    from_status = claim.status
    if to_status:
        claim.status = to_status
    return (from_status if to_status else "", to_status, note)


# --- 999 and 277CA ------------------------------------------------------------------------------


@dataclass
class AckResult:
    """What a 999 or 277CA did: claims accepted and rejected, batches (999) and what matched
    nothing of ours (group control numbers for a 999, claim numbers for a 277CA)."""

    kind: str  # "999" or "277CA"
    accepted: int = 0
    rejected: int = 0
    other: int = 0  # claims acknowledged without a decision (pending, received) or left as is
    batches: list[str] = field(default_factory=list)  # "837P 000000302: partial"
    unmatched: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.kind}: {self.accepted} claim(s) accepted, {self.rejected} rejected"]
        out[0] += f", {self.other} other" if self.other else ""
        out += self.batches
        if self.unmatched:
            out.append(f"not ours (not found): {', '.join(self.unmatched)}")
        return out


def _ack_events(
    claims: Iterable[Claim], to_status: str, note: str, actor: Actor, source: str, now: Any
) -> list[ClaimEvent]:
    events = []
    for claim in claims:
        move = bool(to_status) and claim.status in ACK_MOVABLE
        events.append(
            ClaimEvent(
                claim=claim,
                at=now,
                by=actor.user,
                from_status=claim.status if move else "",
                to_status=to_status if move else "",
                note=note[:500],
                source=source,
            )
        )
        if move:
            claim.status = to_status
            claim.updated_at = now
    return events


def _claims_by_set(batch: ClaimBatch) -> dict[str, list[Claim]]:
    """The batch's claims by the transaction set (ST02) they went in, read from the 837P as
    written (the writer keeps a subscriber's claims together, so number order is not enough)."""
    by_number = {c.number: c for c in Claim.objects.filter(batch=batch)}
    sets: dict[str, list[Claim]] = {}
    for group in read_interchange(batch.content).groups:
        for transaction_set in group.transactions:
            sets[transaction_set.st.element(2)] = [
                by_number[segment.element(1)]
                for segment in transaction_set.segments
                if segment.id == "CLM" and segment.element(1) in by_number
            ]
    return sets


@transaction.atomic
def post_999(*, actor: Actor, text: str | bytes, file_name: str = "") -> AckResult:
    """Post a 999 onto the ClaimBatch it answers (AK102 = our GS06): accepted transaction sets
    leave their claims submitted with a "999 accepted" event; rejected ones move their claims to
    rejected with the errors in words. The batch becomes accepted, partial or rejected."""
    try:
        answers = ack.read_999(text)
    except X12Error as exc:
        raise _read_error(exc) from None
    result = AckResult(kind="999")
    now, source = clock.now(), _source(file_name)
    events: list[ClaimEvent] = []
    moved: list[Claim] = []
    batches: list[ClaimBatch] = []
    for answer in answers:
        group = answer.group_control_number
        batch = (
            ClaimBatch.objects.filter(
                organization=actor.organization, group_control=int(group) if group.isdigit() else -1
            )
            .order_by("-created_at")
            .first()
        )
        if batch is None:
            result.unmatched.append(f"group {group}")
            continue
        sets = _claims_by_set(batch)
        told = {t.control_number: t for t in answer.transactions}
        group_ok = answer.accepted or answer.partially_accepted
        accepted_sets = rejected_sets = 0
        for control, members in sets.items():
            answer_set = told.get(control)
            ok = answer_set.accepted if answer_set is not None else group_ok
            if ok:
                accepted_sets += 1
                result.accepted += len(members)
                note = f"999 accepted (transaction set {control}, group {group})"
                events += _ack_events(members, "", note, actor, source, now)
                continue
            rejected_sets += 1
            result.rejected += len(members)
            general = answer_set.describe() if answer_set is not None else answer.describe()
            for claim in members:
                own = [
                    line
                    for e in (answer_set.segment_errors if answer_set is not None else ())
                    if e.claim_id == claim.number
                    for line in e.describe()
                ]
                note = "999 rejected: " + " ".join(own + general)
                events += _ack_events([claim], Claim.Status.REJECTED, note, actor, source, now)
            moved += members
        batch.status = (
            ClaimBatch.Status.ACCEPTED
            if not rejected_sets
            else ClaimBatch.Status.REJECTED
            if not accepted_sets
            else ClaimBatch.Status.PARTIAL
        )
        batch.save(update_fields=["status", "updated_at"])
        batches.append(batch)
        result.batches.append(f"{batch}: {batch.get_status_display()}")
    update_rows(Claim, moved, ["status", "updated_at"])
    ClaimEvent.objects.bulk_create(events, batch_size=WRITE_BATCH)
    _audit(
        actor,
        "ClaimBatch",
        batches[0].pk if len(batches) == 1 else "",
        {
            "what": "999 posted",
            "file": source,
            "batches": [b.pk for b in batches],
            "accepted": result.accepted,
            "rejected": result.rejected,
            "unmatched": result.unmatched,
        },
    )
    return result


@transaction.atomic
def post_277ca(*, actor: Actor, text: str | bytes, file_name: str = "") -> AckResult:
    """Post a 277CA: each claim (TRN02 = our claim number) acknowledged A1/A2/A5 becomes
    accepted (with REF*1K as the payer claim number), A3/A4/A6/A7/A8 (or a rejected line or
    provider) rejected with the status codes in words. Unknown claim numbers are listed in the
    result, not refused."""
    try:
        statuses = ack.read_277ca(text)
    except X12Error as exc:
        raise _read_error(exc) from None
    result = AckResult(kind="277CA")
    now, source = clock.now(), _source(file_name)
    numbers = list(dict.fromkeys(s.claim_id for s in statuses))
    claims: dict[str, Claim] = {}
    for chunk in _chunks(numbers, CHUNK):
        query = Claim.objects.filter(organization=actor.organization, number__in=chunk)
        claims.update((c.number, c) for c in query)
    events: list[ClaimEvent] = []
    for status in statuses:
        claim = claims.get(status.claim_id)
        if claim is None:
            result.unmatched.append(status.claim_id)
            continue
        words = " ".join(status.describe()[1:])
        to_status: str
        if status.rejected:
            result.rejected += 1
            to_status = Claim.Status.REJECTED
            note = f"277CA rejected: {words}"
        elif any(s.category in ACCEPTED_CATEGORIES for s in status.statuses):
            result.accepted += 1
            to_status = Claim.Status.ACCEPTED
            note = f"277CA accepted: {words}"
            if status.payer_claim_control_number:
                claim.payer_claim_number = status.payer_claim_control_number[:50]
                note += f" Payer claim number {status.payer_claim_control_number}."
        else:
            result.other += 1
            to_status = ""
            note = f"277CA: {words}"
        events += _ack_events([claim], to_status, note, actor, source, now)
        claim.updated_at = now
    update_rows(Claim, list(claims.values()), ["status", "payer_claim_number", "updated_at"])
    ClaimEvent.objects.bulk_create(events, batch_size=WRITE_BATCH)
    _audit(
        actor,
        "Claim",
        "",
        {
            "what": "277CA posted",
            "file": source,
            "accepted": result.accepted,
            "rejected": result.rejected,
            "other": result.other,
            "unmatched": result.unmatched,
        },
    )
    return result
