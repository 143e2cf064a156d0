"""`bulk_insert`: `bulk_create` for new rows, at a fraction of its Python cost (batch writes);
`fast_values`: `values_list` with its datetimes read at a fraction of their cost (busy pages)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connections, models, router
from django.db.models import F, FloatField, Func, QuerySet, TextField
from django.db.models.functions import Cast

M = TypeVar("M", bound=models.Model)

_SLOW = object()


def _fast_value(field: models.Field[Any, Any], connection: Any) -> Callable[[Any], Any] | None:
    """For a column, a function giving its database value when that is the Python value as
    it is (or as the backend adapts it), None where the field's own conversion must run."""
    ops = connection.ops
    if isinstance(field, models.CharField | models.TextField):
        return lambda v: v if isinstance(v, str) else _SLOW
    if isinstance(field, models.IntegerField | models.ForeignKey):
        return lambda v: v if type(v) is int else _SLOW
    if isinstance(field, models.DateTimeField):
        adapt = ops.adapt_datetimefield_value
        return lambda v: adapt(v) if isinstance(v, datetime) and v.tzinfo is not None else _SLOW
    if isinstance(field, models.DecimalField):
        adapt_decimal = ops.adapt_decimalfield_value
        digits, places = field.max_digits, field.decimal_places
        return lambda v: (
            adapt_decimal(v, digits, places) if type(v) is Decimal and v.is_finite() else _SLOW
        )
    return None


def bulk_insert(rows: Sequence[M]) -> list[M]:
    """INSERT new rows of one model and set their pks: the statement `bulk_create` runs
    (multi-row VALUES cut to the database's parameter limit, RETURNING the ids in order),
    without the ORM's per-value machinery, which costs some 40 Python calls for each column of
    each row (an HL7 batch stores a thousand 40-column results: that was most of its time).
    Text in a text column, an int in an integer or foreign-key column, an aware datetime, a
    finite Decimal and None are converted as the field would (the backend's own `adapt_*`);
    anything else goes through the field's `get_db_prep_save`, and the auto_now stamps through
    its `pre_save`, as in `bulk_create`. No signals are sent (nor does `bulk_create` send any).
    Rows that already have a pk are refused."""
    rows = list(rows)
    if not rows:
        return rows
    model = type(rows[0])
    if any(type(row) is not model or row.pk is not None for row in rows):
        raise ValueError("bulk_insert takes new rows of one model")
    connection = connections[router.db_for_write(model)]
    if not connection.features.can_return_rows_from_bulk_insert:
        return model._default_manager.bulk_create(rows)  # no RETURNING from a multi-row INSERT
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    for row in rows:
        for field in stamped:
            field.pre_save(row, add=True)  # sets created_at / updated_at on the row
    converters = [(field, field.attname, _fast_value(field, connection)) for field in fields]
    params: list[list[Any]] = []
    for row in rows:
        values = []
        for field, attname, fast in converters:
            value = getattr(row, attname)
            if value is not None:
                quick = fast(value) if fast is not None else _SLOW
                value = field.get_db_prep_save(value, connection) if quick is _SLOW else quick
            values.append(value)
        params.append(values)
    quote = connection.ops.quote_name
    limit = connection.features.max_query_params
    per_statement = max(1, limit // len(fields)) if limit else 1000
    table = quote(meta.db_table)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    head = f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 - names from the metadata
    returning = f"RETURNING {table}.{quote(str(pk.column))}"
    row_marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for first in range(0, len(rows), per_statement):
            chunk = rows[first : first + per_statement]
            # Only quoted names from the model's metadata and placeholders go into the text.
            cursor.execute(
                head + ", ".join([row_marks] * len(chunk)) + " " + returning,
                [value for values in params[first : first + per_statement] for value in values],
            )
            ids = cursor.fetchall()
            if len(ids) != len(chunk):
                raise RuntimeError("the database did not return the new rows' ids")
            for row, (new_pk,) in zip(chunk, ids, strict=True):
                row.pk = new_pk
                row._state.adding = False
                row._state.db = connection.alias
    return rows


def _epoch(field: str) -> Func:
    """Seconds since 1970 of a timestamptz column, as float8 (PostgreSQL only)."""
    return Func(
        F(field), template="EXTRACT(EPOCH FROM %(expressions)s)::float8", output_field=FloatField()
    )


def fast_values(
    rows: QuerySet[Any],
    fields: tuple[str, ...],
    datetimes: tuple[str, ...] = (),
    dates: tuple[str, ...] = (),
) -> list[tuple[Any, ...]]:
    """`rows.values_list(*fields)` with the `datetimes` among them read fast, as aware UTC (and
    on SQLite the `dates` too).

    Django reads a datetime through a Python converter per value (SQLite: parse the text, make
    it aware; PostgreSQL: psycopg's pure-Python timestamptz loader, subclassed to set the zone).
    For the thousand visits of a busy day that costs more than the query. PostgreSQL sends
    epoch seconds instead (C-loaded floats), SQLite its text for the C ISO parsers. PostgreSQL
    loads dates in C already."""
    postgres = connections[rows.db].vendor == "postgresql"
    raw: dict[str, Any] = {
        f: _epoch(f) if postgres else Cast(f, TextField()) for f in fields if f in datetimes
    }
    if not postgres:
        raw.update({f: Cast(f, TextField()) for f in fields if f in dates})
    names = [f"{f}_fast" if f in raw else f for f in fields]
    query = rows.annotate(**{n: raw[f] for f, n in zip(fields, names, strict=True) if f in raw})
    parse_date = date.fromisoformat
    if postgres:

        def aware(value: Any) -> datetime:
            return datetime.fromtimestamp(value, UTC)
    else:

        def aware(value: Any) -> datetime:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)

    converters = [
        (i, aware if f in datetimes else parse_date) for i, f in enumerate(fields) if f in raw
    ]
    if not converters:
        return list(query.values_list(*names))
    out = []
    for row in query.values_list(*names):
        values = list(row)
        for i, convert in converters:
            if values[i] is not None:
                values[i] = convert(values[i])
        out.append(tuple(values))
    return out
