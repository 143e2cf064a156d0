"""`bulk_insert`: `bulk_create` for new rows, at a fraction of its Python cost (batch writes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connections, models, router

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
