"""`carebench ekg ...`: analyse a file, print its report, or watch the EKG cart's folder.

    carebench ekg analyze FILE [--json]        measurements (one JSON object with --json)
    carebench ekg report FILE -o OUT.pdf       the 12-lead page; format from the extension
    carebench ekg watch DIR --org SLUG [--interval 5] [--once] [--patient-mrn MRN]

`analyze` and `report` read files only: they need no database. A WFDB record is named by its
path without extension (`qtdb/sel100`). An unreadable file exits 1 with the reason.

`watch` polls DIR for files the EKG cart writes. A file is taken once its size has stopped
changing between two looks (a cart still writing is left alone). Each file is matched to a
patient of the organization by the MRN in it (or, failing that, name and birth date; or the
`--patient-mrn` given), attached (to the patient's open visit if there is exactly one) as the
system, and moved to DIR/processed/. A file that cannot be attached goes to DIR/failed/ with
`<name>.error.txt` saying why. A WFDB record (.hea with its .dat) moves as one.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

IGNORED_SUFFIXES = {".tmp", ".part", ".partial", ".crdownload", ".lock", ".swp"}
WFDB_COMPANIONS = {".dat", ".atr", ".q1c", ".q2c", ".qt1", ".qt2", ".pu", ".pu0", ".pu1"}


class WatchError(Exception):
    """Why a file in the watched folder could not be attached."""


@dataclass
class Seen:
    size: int
    mtime: float


class Command(BaseCommand):
    help = "EKG files: analyze, report, or watch the folder an EKG cart writes to."
    # analyze and report must work without a database or a working URL map
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        analyze = sub.add_parser("analyze", help="measure a file and print the results")
        analyze.add_argument("file", help="the file (a WFDB record: its path without extension)")
        analyze.add_argument("--json", action="store_true", help="print one JSON object")
        report = sub.add_parser("report", help="write the 12-lead page (pdf, png or svg)")
        report.add_argument("file")
        report.add_argument("-o", "--output", required=True, help="OUT.pdf, OUT.png or OUT.svg")
        report.add_argument("--paper", choices=["letter", "a4"], default="letter")
        watch = sub.add_parser("watch", help="attach files an EKG cart writes to a folder")
        watch.add_argument("folder")
        watch.add_argument("--org", required=True, help="the organization's slug")
        watch.add_argument("--patient-mrn", default="", help="attach every file to this MRN")
        watch.add_argument("--interval", type=float, default=5.0, help="seconds between looks")
        watch.add_argument("--once", action="store_true", help="one pass, then stop")
        watch.add_argument(
            "--settle",
            type=float,
            default=1.0,
            help="with --once: seconds between the two looks that show a file is complete",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "analyze":
            self._analyze(options["file"], as_json=options["json"])
        elif action == "report":
            self._report(options["file"], options["output"], options["paper"])
        else:
            self._watch(options)

    # --- analyze and report (no database) ------------------------------------------------------

    def _load(self, file: str) -> Any:
        from carebench.ekg import importers
        from carebench.ekg.recording import RecordingError

        path = Path(file)
        if not path.exists() and not path.with_name(path.name + ".hea").exists():
            raise CommandError(f"{file}: no such file (a WFDB record is named without extension)")
        try:
            return importers.load(path)
        except RecordingError as exc:
            raise CommandError(str(exc)) from None

    def _analyze(self, file: str, *, as_json: bool) -> None:
        from carebench.ekg import analysis

        result = analysis.analyze(self._load(file)).to_dict()
        if as_json:
            self.stdout.write(json.dumps(result, separators=(",", ":")))
            return
        labels = [
            ("heart_rate_bpm", "Heart rate", "bpm"),
            ("pr_ms", "PR", "ms"),
            ("qrs_ms", "QRS", "ms"),
            ("qt_ms", "QT", "ms"),
            ("qtc_bazett_ms", "QTc (Bazett)", "ms"),
            ("qtc_fridericia_ms", "QTc (Fridericia)", "ms"),
            ("axis_deg", "QRS axis", "deg"),
        ]
        self.stdout.write(f"{file}: computer-measured, unconfirmed")
        self.stdout.write(
            f"  {result['sampling_rate_hz']:g} Hz, {len(result['r_peaks'])} beats detected"
        )
        for key, label, unit in labels:
            value = result.get(key)
            self.stdout.write(f"  {label:<17} {'—' if value is None else f'{value:g} {unit}'}")
        self.stdout.write(f"  Rhythm: {', '.join(result['rhythm']) or '—'}")
        for lead, quality in result.get("quality", {}).items():
            reasons = ", ".join(quality.get("reasons") or [])
            self.stdout.write(f"  {lead:<4} {quality.get('status', '')} {reasons}".rstrip())

    def _report(self, file: str, output: str, paper: str) -> None:
        from carebench.ekg import analysis, report

        out = Path(output)
        fmt = out.suffix.lower().lstrip(".")
        if fmt not in report.FORMATS:
            raise CommandError(f"{output}: the extension must be .pdf, .png or .svg")
        recording = self._load(file)
        measurements = analysis.analyze(recording).to_dict()
        hint = recording.patient_hint
        header = {
            "name": hint.get("name", ""),
            "birth_date": hint.get("birth_date", ""),
            "mrn": hint.get("id", ""),
            "sex": hint.get("sex", ""),
        }
        body = report.render(recording, measurements, header, fmt, paper=paper)
        try:
            out.write_bytes(body)
        except OSError as exc:
            raise CommandError(f"{output}: cannot write ({exc.strerror})") from None
        self.stdout.write(f"wrote {output} ({len(body)} bytes)")

    # --- watch ---------------------------------------------------------------------------------

    def _watch(self, options: dict[str, Any]) -> None:
        from carebench.core.actor import Actor
        from carebench.core.models import Organization

        folder = Path(options["folder"])
        if not folder.is_dir():
            raise CommandError(f"{folder}: not a folder")
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"no organization with slug {options['org']!r}")
        actor = Actor.system(organization)
        (folder / "processed").mkdir(exist_ok=True)
        (folder / "failed").mkdir(exist_ok=True)
        seen: dict[Path, Seen] = {}
        if options["once"]:
            self._look(folder, seen)
            time.sleep(max(options["settle"], 0.0))
            self._process_ready(folder, seen, actor, options["patient_mrn"])
            return
        self.stdout.write(f"watching {folder} every {options['interval']:g} s (Ctrl+C stops)")
        try:
            while True:
                self._process_ready(folder, seen, actor, options["patient_mrn"])
                time.sleep(max(options["interval"], 0.2))
        except KeyboardInterrupt:
            self.stdout.write("stopped")

    def _candidates(self, folder: Path) -> list[Path]:
        found = []
        for path in sorted(folder.iterdir()):
            name = path.name
            if not path.is_file() or name.startswith((".", "~")):
                continue
            if path.suffix.lower() in IGNORED_SUFFIXES or name.endswith(".error.txt"):
                continue
            if path.suffix.lower() in WFDB_COMPANIONS:
                continue  # travels with its .hea
            found.append(path)
        return found

    def _group(self, path: Path) -> list[Path]:
        if path.suffix.lower() != ".hea":
            return [path]
        return [path] + [
            sibling
            for sibling in sorted(path.parent.glob(path.stem + ".*"))
            if sibling.suffix.lower() in WFDB_COMPANIONS and sibling.is_file()
        ]

    def _look(self, folder: Path, seen: dict[Path, Seen]) -> dict[Path, bool]:
        """Record sizes; say which groups are unchanged since the last look."""
        stable: dict[Path, bool] = {}
        for path in self._candidates(folder):
            ok = True
            for member in self._group(path):
                try:
                    stat = member.stat()
                except FileNotFoundError:
                    ok = False
                    continue
                now = Seen(stat.st_size, stat.st_mtime)
                before = seen.get(member)
                if before is None or before != now or now.size == 0:
                    ok = False
                seen[member] = now
            if path.suffix.lower() == ".hea" and len(self._group(path)) < 2:
                ok = False  # the .dat is not there yet
            stable[path] = ok
        return stable

    def _process_ready(
        self, folder: Path, seen: dict[Path, Seen], actor: Any, patient_mrn: str
    ) -> None:
        for path, ready in self._look(folder, seen).items():
            if not ready:
                continue
            group = self._group(path)
            try:
                row = self._attach(path, actor, patient_mrn)
            except WatchError as exc:
                self._move(group, folder / "failed", reason=str(exc))
                self.stderr.write(f"{path.name}: failed: {exc}")
            else:
                self._move(group, folder / "processed")
                self.stdout.write(
                    f"{path.name}: attached as EKG {row.pk} (patient {row.patient_id})"
                )
            for member in group:
                seen.pop(member, None)

    def _move(self, group: list[Path], target: Path, *, reason: str = "") -> None:
        for member in group:
            destination = target / member.name
            if destination.exists():
                destination = target / f"{member.stem}-{int(time.time() * 1000)}{member.suffix}"
            shutil.move(str(member), destination)
        if reason:
            note = target / f"{group[0].name}.error.txt"
            note.write_text(reason + "\n", encoding="utf-8")

    def _attach(self, path: Path, actor: Any, patient_mrn: str) -> Any:
        from django.core.exceptions import ValidationError

        from carebench.ekg import files, services
        from carebench.ekg.recording import RecordingError

        try:
            if path.suffix.lower() == ".hea":
                filename, data = path.stem + ".zip", files.zip_wfdb(path)
            else:
                filename, data = path.name, path.read_bytes()
            recording = files.load_bytes(filename, data)
        except RecordingError as exc:
            raise WatchError(str(exc)) from None
        except OSError as exc:
            raise WatchError(f"cannot read the file: {exc.strerror}") from None
        patient = self._patient(actor.organization, recording.patient_hint, patient_mrn)
        encounter = self._open_visit(actor.organization, patient)
        try:
            return services.attach_ekg(
                actor=actor, patient=patient, encounter=encounter, filename=filename, data=data
            )
        except ValidationError as exc:
            text = "; ".join(f"{k}: {m}" for k, ms in exc.message_dict.items() for m in ms)
            raise WatchError(text) from None

    def _patient(self, organization: Any, hint: dict[str, str], patient_mrn: str) -> Any:
        from datetime import date

        from carebench.patients import selectors
        from carebench.patients.validation import search_key

        patients = selectors.patients_for(organization)
        mrn = patient_mrn or hint.get("id", "")
        if mrn:
            found = patients.filter(mrn=mrn.strip()).first()
            if found is not None:
                return found
            if patient_mrn:
                raise WatchError(f"no patient with MRN {patient_mrn} in {organization.slug}")
        name, born = hint.get("name", ""), hint.get("birth_date", "")
        if not name or not born:
            which = f"MRN {mrn} matches no patient" if mrn else "the file names no MRN"
            raise WatchError(f"{which}, and it gives no name and birth date to match by")
        try:
            birth_date = date.fromisoformat(born)
        except ValueError:
            raise WatchError(f"the file's birth date {born!r} is not a date") from None
        tokens = {search_key(part) for part in re.split(r"[\s^,]+", name) if part.strip()}
        tokens.discard("")
        matches = [
            p
            for p in patients.filter(birth_date=birth_date, family_key__in=tokens)
            if p.given_key in tokens or len(tokens) == 1
        ]
        if len(matches) != 1:
            count = "no patient" if not matches else f"{len(matches)} patients"
            raise WatchError(
                f"{count} match {'MRN ' + mrn + ' or ' if mrn else ''}name {name!r} "
                f"born {born}; attach it by hand"
            )
        return matches[0]

    def _open_visit(self, organization: Any, patient: Any) -> Any:
        from carebench.encounters.models import Encounter

        visits = list(
            Encounter.objects.for_org(organization).filter(
                patient=patient, status=Encounter.Status.IN_PROGRESS
            )[:2]
        )
        return visits[0] if len(visits) == 1 else None
