"""Bulk table writing for the bench seeder (`carebench bench seed`): rows as plain tuples, ids
chosen here, one statement per table and chunk.

The seeder knows every row's primary key before it writes (a block of ids is taken from the
table at the start of the chunk's transaction), so foreign keys between new rows are plain
integers and nothing is read back. SQLite: one `executemany` of a prepared INSERT per table, the
columns that hold the same value for every row written as SQL literals (fewer values to bind);
the write lock is held from BEGIN (IMMEDIATE), so `max(id) + 1` is ours. PostgreSQL: one COPY
per table; the table is locked against other writers (EXCLUSIVE: reads go on) and its sequence
moved past the block.

Values arrive ready for the database: text, int, bool, None; datetimes and dates as text (see
`Clock` in seed_schedule.py), decimals as text, JSON as its text. Columns a table's rows do not give
get the field's default (None for a nullable field, '' for text), so a field added to a model
later does not break the seeder unless it needs a value.

`SecondaryIndexes` drops and re-creates a table's non-unique indexes around a large load (a
B-tree built once from sorted keys costs far less than one updated for every row); the
statements are kept in a file until they have run again, so a killed run is repaired by the
next one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.db.models.fields import NOT_PROVIDED


class SeedError(Exception):
    """The seeder cannot go on (with a message for the person who ran it)."""


def _literal(value: Any) -> str:
    """A constant as SQL text (only values the seeder chose: ints, bools, None, plain text)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text.replace("'", "''") + "'"


def field_default(field: models.Field[Any, Any]) -> Any:
    """What a column holds when the seeder gives no value: the field's default, ready to write."""
    if field.default is not NOT_PROVIDED:
        value = field.get_default()
        if isinstance(field, models.JSONField):
            return json.dumps(value)
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return int(value)
        return str(value)
    if field.null:
        return None
    if isinstance(field, models.CharField | models.TextField):
        return ""
    raise SeedError(
        f"{field.model.__name__}.{field.name} needs a value: the seeder does not fill it yet"
    )


class Table:
    """One model's bulk writer: the columns each row gives (the primary key first), constants
    for the whole run, defaults for the rest."""

    def __init__(
        self,
        model: type[models.Model],
        columns: Sequence[str],
        constants: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        meta = model._meta
        self.name = meta.db_table
        by_attname = {f.attname: f for f in meta.concrete_fields}
        constants = dict(constants or {})
        unknown = [c for c in [*columns, *constants] if c not in by_attname]
        if unknown:
            raise SeedError(f"{model.__name__} has no column(s) {', '.join(unknown)}")
        assert meta.pk is not None
        if columns[0] != meta.pk.attname:
            raise SeedError(f"{model.__name__}: the primary key must be the first column")
        for attname, field in by_attname.items():
            if attname not in columns and attname not in constants:
                constants[attname] = field_default(field)
        self.columns = list(columns)
        self.constant_columns = list(constants)
        self.constant_values = tuple(constants[c] for c in self.constant_columns)
        self.width = len(self.columns)
        self.written = 0
        quote = connection.ops.quote_name
        self.quoted = quote(self.name)
        names = [quote(str(by_attname[c].column)) for c in [*self.columns, *self.constant_columns]]
        self._names = ", ".join(names)
        self._sequence: str | None = None

    # --- ids -------------------------------------------------------------------------------

    def begin(self, cursor: Any) -> int:
        """Inside the chunk's transaction: the first id this chunk's rows of the table get."""
        if connection.vendor == "postgresql":
            if self._sequence is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self.quoted])
                self._sequence = cursor.fetchone()[0]
                if self._sequence is None:
                    raise SeedError(f"{self.name} has no id sequence")
            cursor.execute(f"LOCK TABLE {self.quoted} IN EXCLUSIVE MODE")
            cursor.execute("SELECT nextval(%s)", [self._sequence])
            first = int(cursor.fetchone()[0])
        else:
            cursor.execute(f"SELECT max(id) FROM {self.quoted}")  # noqa: S608 - model metadata
            highest = cursor.fetchone()[0] or 0
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [self.name])
            found = cursor.fetchone()
            first = max(int(highest), int(found[0]) if found else 0) + 1
        return first

    def finish(self, cursor: Any, first: int, count: int) -> None:
        """After the rows are written: the table's sequence moves past the ids used."""
        if connection.vendor == "postgresql":
            if count:
                cursor.execute("SELECT setval(%s, %s)", [self._sequence, first + count - 1])
            else:
                cursor.execute("SELECT setval(%s, %s, false)", [self._sequence, first])

    # --- rows ------------------------------------------------------------------------------

    def write(self, rows: list[tuple[Any, ...]]) -> int:
        """Insert the rows (each a tuple in `columns` order); returns how many."""
        if not rows:
            return 0
        raw = connection.connection
        if connection.vendor == "postgresql":
            constants = self.constant_values
            sql = f"COPY {self.quoted} ({self._names}) FROM STDIN"
            with raw.cursor() as cursor, cursor.copy(sql) as copy:
                write_row = copy.write_row
                if constants:
                    for row in rows:
                        write_row(row + constants)
                else:
                    for row in rows:
                        write_row(row)
        else:
            marks = ", ".join(["?"] * self.width)
            literals = ", ".join(_literal(v) for v in self.constant_values)
            values = f"{marks}, {literals}" if literals else marks
            sql = f"INSERT INTO {self.quoted} ({self._names}) VALUES ({values})"  # noqa: S608
            cursor = raw.cursor()
            try:
                cursor.executemany(sql, rows)
            finally:
                cursor.close()
        self.written += len(rows)
        return len(rows)


# --- a large load: indexes and foreign keys out of the way ----------------------------------------


def _database_key() -> str:
    """A name for this database (for the file that remembers what a load dropped)."""
    params = connection.settings_dict
    text = f"{connection.vendor}:{params.get('HOST', '')}:{params.get('PORT', '')}:{params['NAME']}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _pending_file() -> Path:
    return Path(settings.VAR_DIR) / "bench" / f"seed-dropped-{_database_key()}.json"


def _secondary_indexes(cursor: Any, table: str) -> list[list[str]]:
    """["index", name, table, CREATE statement] of a table's non-unique indexes."""
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "JOIN pg_class c ON c.relname = i.indexname "
            "JOIN pg_index x ON x.indexrelid = c.oid "
            "WHERE i.schemaname = current_schema() AND i.tablename = %s "
            "AND NOT x.indisunique AND NOT x.indisprimary",
            [table],
        )
    else:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
            "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%%'",
            [table],
        )
    return [["index", str(name), table, str(sql)] for name, sql in cursor.fetchall()]


def _foreign_keys(cursor: Any, table: str) -> list[list[str]]:
    """PostgreSQL: ["fk", name, table, ALTER TABLE ... ADD CONSTRAINT] of a table's foreign
    keys (checked row by row at commit, they cost more than the insert itself)."""
    if connection.vendor != "postgresql":
        return []
    quoted = connection.ops.quote_name(table)
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid = %s::regclass",
        [quoted],
    )
    return [
        ["fk", str(name), table, f"ALTER TABLE {quoted} ADD CONSTRAINT {quote(name)} {definition}"]
        for name, definition in cursor.fetchall()
    ]


def quote(name: str) -> str:
    return str(connection.ops.quote_name(name))


class LoadShortcuts:
    """For a large load into (nearly) empty tables, set aside what costs most per row and put
    it back afterwards: non-unique indexes (a B-tree built once from sorted keys costs far less
    than one updated for every row) and foreign keys (PostgreSQL: a trigger per row at commit;
    added back, one join checks them all; SQLite cannot drop them, so this connection stops
    checking them). What was dropped is kept in a file until it is back, so a killed run is
    repaired by the next one (`repair`)."""

    def __init__(self, tables: Sequence[str], *, indexes: bool = True) -> None:
        self.tables = list(tables)
        self.indexes = indexes
        self.dropped: list[list[str]] = []

    @staticmethod
    def repair() -> int:
        """Put back what an interrupted run left dropped; returns how many were made."""
        path = _pending_file()
        if not path.exists():
            return 0
        made = _restore(json.loads(path.read_text(encoding="utf-8")))
        path.unlink()
        return made

    def drop(self) -> int:
        with connection.cursor() as cursor:
            for table in self.tables:
                if self.indexes:
                    self.dropped += _secondary_indexes(cursor, table)
                self.dropped += _foreign_keys(cursor, table)
            path = _pending_file()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(self.dropped), encoding="utf-8")
            if connection.vendor == "postgresql" and connection.in_atomic_block:
                # checks still queued in this transaction would block dropping their keys
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            if connection.vendor == "sqlite":
                # SQLite cannot drop a table's foreign keys: it stops checking them instead
                # (outside a transaction only; the seeder's ids are consistent by construction)
                cursor.execute("PRAGMA foreign_keys = OFF")
            for kind, name, table, _sql in self.dropped:
                if kind == "fk":
                    cursor.execute(
                        f"ALTER TABLE {quote(table)} DROP CONSTRAINT IF EXISTS {quote(name)}"
                    )
                else:
                    cursor.execute(f"DROP INDEX IF EXISTS {quote(name)}")
        return len(self.dropped)

    def restore(self) -> int:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA foreign_keys = ON")
        if not self.dropped:
            return 0
        made = _restore(self.dropped)
        _pending_file().unlink(missing_ok=True)
        self.dropped = []
        return made


def _restore(entries: Sequence[Sequence[str]]) -> int:
    """Create the indexes, then add the foreign keys, that do not exist (again)."""
    made = 0
    ordered = [e for e in entries if e[0] == "index"] + [e for e in entries if e[0] == "fk"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET maintenance_work_mem = '256MB'")
        for kind, name, table, sql in ordered:
            if kind == "fk":
                cursor.execute(
                    "SELECT 1 FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
                    [name, quote(table)],
                )
            elif connection.vendor == "postgresql":
                cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [name])
            else:
                cursor.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = %s", [name]
                )
            if cursor.fetchone() is None:
                cursor.execute(sql)  # as the database itself reported it
                made += 1
    return made
