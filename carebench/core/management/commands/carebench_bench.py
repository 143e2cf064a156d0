"""`carebench bench seed`: build the synthetic benchmark network (see carebench/core/seed.py).

    carebench bench seed --patients 100000 [--seed 1] [--organization bench]
    carebench bench seed --show-day [--organization bench]

Uses the database of DATABASE_URL (the default SQLite file otherwise) and migrates it first when
needed. Additive: an organization already holding N patients is left as it is.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from carebench.core import seed as seeder
from carebench.core.management.commands.carebench_serve import migrate_if_needed
from carebench.core.seed_writer import SeedError


class Command(BaseCommand):
    help = "Benchmark data: `seed` builds the synthetic clinic network (issue #10)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["seed"], help="seed: build the benchmark network")
        parser.add_argument(
            "--patients", type=int, default=None, help="patients the organization should hold"
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--organization",
            default=seeder.DEFAULT_SLUG,
            help=f"organization slug (default {seeder.DEFAULT_SLUG})",
        )
        parser.add_argument(
            "--show-day",
            action="store_true",
            help="print the chosen day (1,000 booked visits) as YYYY-MM-DD and stop",
        )
        parser.add_argument(
            "--chunk", type=int, default=seeder.CHUNK, help="patients per transaction"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")

    def handle(self, *args: Any, **options: Any) -> None:
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        slug = options["organization"]
        if options["show_day"]:
            migrate_if_needed(self.stderr)
            day = seeder.show_day(slug)
            if day is None:
                raise CommandError(f"organization {slug!r} is not seeded yet")
            self.stdout.write(day.isoformat())
            return
        patients = options["patients"]
        if patients is None:
            raise CommandError("give --patients N (or --show-day)")
        if patients < 0:
            raise CommandError("--patients: must be 0 or more")
        if options["chunk"] < 1:
            raise CommandError("--chunk: must be 1 or more")
        migrate_if_needed(self.stdout)
        try:
            summary = self._run(slug, patients, options)
        except SeedError as exc:
            raise CommandError(str(exc)) from exc
        self._report(summary)

    def _run(self, slug: str, patients: int, options: Any) -> seeder.Summary:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        def say(text: str) -> None:
            self.stdout.write(text)

        if options["no_progress"]:
            began = time.perf_counter()
            shown = [0]

            def log(added: int, to_add: int, rows: int) -> None:
                tenth = added * 10 // max(to_add, 1)
                if tenth > shown[0]:
                    shown[0] = tenth
                    elapsed = time.perf_counter() - began
                    say(f"  {added:,}/{to_add:,} patients, {rows:,} rows, {elapsed:.0f} s")
                    self.stdout.flush()

            return seeder.seed(
                patients=patients,
                seed=options["seed"],
                slug=slug,
                chunk_size=options["chunk"],
                progress=log,
                say=say,
            )
        columns = (
            TextColumn("[bold]seeding"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("patients  {task.fields[rows]:,} rows  {task.fields[rate]:,.0f} rows/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, transient=True) as bar:
            task = bar.add_task("seed", total=None, rows=0, rate=0.0)
            began = time.perf_counter()

            def progress(added: int, to_add: int, rows: int) -> None:
                elapsed = time.perf_counter() - began
                rate = rows / elapsed if elapsed > 0 else 0.0
                bar.update(task, completed=added, total=to_add, rows=rows, rate=rate)

            return seeder.seed(
                patients=patients,
                seed=options["seed"],
                slug=slug,
                chunk_size=options["chunk"],
                progress=progress,
                say=bar.console.print,
            )

    def _report(self, summary: seeder.Summary) -> None:
        write = self.stdout.write
        if summary.added == 0:
            write(
                f"Organization {summary.organization!r} already holds "
                f"{summary.patients_before:,} patients: nothing to add."
            )
        else:
            write(
                f"Seeded {summary.added:,} patients into {summary.organization!r} "
                f"({summary.patients_after:,} now) in {summary.seconds:.1f} s: "
                f"{summary.per_second:,.0f} patients/s."
            )
            width = max(len(k) for k in summary.rows) if summary.rows else 10
            for key, count in summary.rows.items():
                write(f"  {key:<{width}}  {count:>12,}")
            write(f"  {'total rows':<{width}}  {sum(summary.rows.values()):>12,}")
            phases = summary.phases
            write(
                "  time (wall / CPU s): "
                + ", ".join(
                    f"{name} {phases.wall[name]:.1f}/{phases.cpu[name]:.1f}" for name in phases.wall
                )
            )
            if summary.indexes_rebuilt:
                write(f"Indexes dropped for the load and built again: {summary.indexes_rebuilt}.")
        if summary.chosen_day is not None:
            write(
                f"Chosen day (day-view benchmark): {summary.chosen_day.isoformat()} "
                f"{summary.chosen_day:%A}, {summary.chosen_booked:,} booked visits "
                "(`carebench bench seed --show-day` prints it)."
            )
