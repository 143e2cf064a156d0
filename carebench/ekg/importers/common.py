"""Helpers shared by the importers: lead names, XML safety, ecgdatakit records, finishing (pure)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from carebench.ekg.recording import (
    STANDARD_LEADS,
    Recording,
    RecordingError,
    derive_limb_leads,
    validate,
)

_BY_LOWER = {name.lower(): name for name in STANDARD_LEADS}
_ALIASES = {
    "mli": "I",
    "mlii": "II",
    "mliii": "III",
    "di": "I",
    "dii": "II",
    "diii": "III",
    "avr": "aVR",
    "avl": "aVL",
    "avf": "aVF",
}
_PREFIX = re.compile(r"^(?:mdc_ecg_lead_|lead[\s_:-]*)", re.IGNORECASE)
_PAREN = re.compile(r"\s*\(.*?\)\s*")


def standard_lead_name(raw: str) -> str:
    """Map a vendor lead label to the standard name, or return it stripped when unknown.

    "MLII" -> "II", "avr" -> "aVR", "Lead I (Einthoven)" -> "I", "MDC_ECG_LEAD_V5" -> "V5".
    """
    text = _PAREN.sub(" ", raw).split(",")[0].strip()  # "aVR, augmented voltage, right"
    text = _PREFIX.sub("", text).strip()
    key = text.lower().replace(" ", "")
    if key in _BY_LOWER:
        return _BY_LOWER[key]
    if key in _ALIASES:
        return _ALIASES[key]
    return text or raw.strip()


def order_leads(leads: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Standard leads first in the usual order, then any others as they came."""
    ordered = {name: leads[name] for name in STANDARD_LEADS if name in leads}
    ordered.update({name: samples for name, samples in leads.items() if name not in ordered})
    return ordered


def add_lead(leads: dict[str, np.ndarray], raw_name: str, samples: np.ndarray) -> None:
    """Store samples under the standard name; a repeated name gets a numeric suffix."""
    name = standard_lead_name(raw_name)
    unique, n = name, 2
    while unique in leads:
        unique, n = f"{name}_{n}", n + 1
    leads[unique] = np.asarray(samples, dtype=float)


def finish(recording: Recording) -> Recording:
    """Derive missing limb leads, order the leads and validate (names the file on failure)."""
    added = derive_limb_leads(recording.leads)
    recording.derived_leads = [*recording.derived_leads, *added]
    recording.leads = order_leads(recording.leads)
    return validate(recording)


def read_bytes(path: Path) -> bytes:
    """The file's bytes; RecordingError for a missing or empty file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RecordingError(f"{path.name}: file not found") from None
    except IsADirectoryError:
        raise RecordingError(f"{path.name}: is a directory, not a file") from None
    except OSError as exc:
        raise RecordingError(f"{path.name}: cannot read the file ({exc.strerror})") from exc
    if not data.strip():
        raise RecordingError(f"{path.name}: the file is empty")
    return data


_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)


def check_xml_safe(data: bytes, path: Path) -> None:
    """Refuse entity declarations and DTD internal subsets (entity expansion, XXE).

    A plain `<!DOCTYPE RestingECG SYSTEM "restecg.dtd">` line (GE MUSE writes one) is allowed:
    ElementTree never fetches external DTDs.
    """
    head = data.replace(b"\x00", b"")  # crude but enough to see markup in UTF-16 files
    if b"<!ENTITY" in head.upper():
        raise RecordingError(f"{path.name}: XML entity declarations are not allowed")
    if _DOCTYPE_SUBSET.search(head):
        raise RecordingError(f"{path.name}: XML DTD internal subsets are not allowed")


def local(tag: Any) -> str:
    """Tag name without its namespace."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_xml(data: bytes, path: Path, expected_root: str) -> ET.Element:
    """Parse XML safely and check the root element's local name (case-insensitive)."""
    check_xml_safe(data, path)
    try:
        root = ET.fromstring(data)  # noqa: S314 - entities and DTD subsets refused above
    except ET.ParseError as exc:
        raise RecordingError(f"{path.name}: XML is malformed or truncated ({exc})") from exc
    if local(root.tag).lower() != expected_root.lower():
        raise RecordingError(
            f"{path.name}: XML root is <{local(root.tag)}>, expected <{expected_root}>"
        )
    return root


def find_local(root: ET.Element, name: str) -> list[ET.Element]:
    """All descendants whose local tag name equals `name` (case-insensitive)."""
    wanted = name.lower()
    return [el for el in root.iter() if local(el.tag).lower() == wanted]


def iso(value: date | datetime | None) -> str:
    return value.isoformat() if value else ""


def _positive(value: Any) -> int | None:
    """A device interval/rate: 0 or negative means 'not measured'."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number) if number > 0 else None


def clean_measurements(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Device measurements with placeholders dropped.

    Keys: heart_rate_bpm, rr_ms, pr_ms, qrs_ms, qt_ms, qtc_ms, qtc_bazett_ms, qtc_fridericia_ms,
    p_axis_deg, axis_deg (QRS), t_axis_deg, statements (list of str). Intervals and rates of 0
    mean "not measured" and are left out; axes are kept only when some interval or rate was
    measured (an all-zero block is an export placeholder).
    """
    out: dict[str, Any] = {}
    for key in (
        "heart_rate_bpm",
        "rr_ms",
        "pr_ms",
        "qrs_ms",
        "qt_ms",
        "qtc_ms",
        "qtc_bazett_ms",
        "qtc_fridericia_ms",
    ):
        value = _positive(raw.get(key))
        if value is not None:
            out[key] = value
    if out:
        for key in ("p_axis_deg", "axis_deg", "t_axis_deg"):
            value = raw.get(key)
            if value is not None:
                try:
                    out[key] = round(float(value))
                except (TypeError, ValueError):
                    pass
    statements = [s for s in raw.get("statements", []) if s]
    if statements:
        out["statements"] = statements
    return out


def from_ecgdatakit(record: Any, path: Path, source_format: str) -> Recording:
    """Turn an ecgdatakit ECGRecord (already parsed) into our Recording, in mV."""
    rates = {int(lead.sampling_rate) for lead in record.leads}
    if not record.leads:
        raise RecordingError(f"{path.name}: no ECG leads found in the waveform data")
    if len(rates) != 1 or not next(iter(rates)):
        raise RecordingError(f"{path.name}: missing or inconsistent sampling rate ({rates})")
    leads: dict[str, np.ndarray] = {}
    for lead in record.leads:
        try:
            physical = lead.to_physical().convert_units("mV")
        except Exception as exc:  # ecgdatakit raises ValueError/RawSamplesError
            raise RecordingError(f"{path.name}: lead {lead.label}: {exc}") from exc
        add_lead(leads, lead.label, physical.samples)
    lengths = {len(s) for s in leads.values()}
    if len(lengths) > 1:
        shortest = min(lengths)
        raise RecordingError(
            f"{path.name}: leads differ in length {sorted(lengths)} (truncated waveform data?"
            f" shortest {shortest} samples)"
        )
    m = record.measurements
    statements = [
        ": ".join(part for part in statement if part)
        for statement in record.interpretation.statements
    ]
    measurements = clean_measurements(
        {
            "heart_rate_bpm": m.heart_rate,
            "rr_ms": m.rr_interval,
            "pr_ms": m.pr_interval,
            "qrs_ms": m.qrs_duration,
            "qt_ms": m.qt_interval,
            "qtc_bazett_ms": m.qtc_bazett,
            "qtc_fridericia_ms": m.qtc_fridericia,
            "p_axis_deg": m.p_axis,
            "axis_deg": m.qrs_axis,
            "t_axis_deg": m.t_axis,
            "statements": statements,
        }
    )
    patient = record.patient
    hint = {
        "id": patient.patient_id,
        "name": " ".join(p for p in (patient.first_name, patient.last_name) if p),
        "birth_date": patient.birth_date.date().isoformat()
        if isinstance(patient.birth_date, datetime)
        else iso(patient.birth_date),
        "sex": patient.sex,
    }
    device = record.recording.device
    return Recording(
        sampling_rate_hz=float(next(iter(rates))),
        leads=leads,
        source_format=source_format,
        acquired_at=iso(record.recording.date),
        patient_hint={k: v for k, v in hint.items() if v},
        device=" ".join(p for p in (device.manufacturer, device.model) if p),
        device_measurements=measurements,
    )


def run_ecgdatakit(parser_cls: Any, path: Path) -> Any:
    """Run one ecgdatakit parser class, turning its failures into RecordingError."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return parser_cls().parse(path)
    except RecordingError:
        raise
    except Exception as exc:  # the reader raises many types on bad input
        raise RecordingError(f"{path.name}: cannot decode ({type(exc).__name__}: {exc})") from exc
