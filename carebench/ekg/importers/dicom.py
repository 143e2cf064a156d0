"""DICOM ECG waveforms (12-lead, General ECG, ...) -> Recording, read with pydicom (pure).

The multiplex group used is the rhythm group: the first one whose label is not a median/average
beat, preferring the longest. Each channel's samples are scaled as the standard (PS3.3 C.10.9)
says: value = sample * Channel Sensitivity * Channel Sensitivity Correction Factor + Channel
Baseline, in the Channel Sensitivity Units (uV, mV or V, UCUM), then converted to mV. Lead names
come from the Channel Source Sequence code meaning ("Lead I (Einthoven)" -> I). Measurements in the
Waveform Annotation Sequence (rate, PR, QRS, QT, QTc, axes) and its free-text statements go to
`device_measurements`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from carebench.ekg.importers.common import add_lead, clean_measurements, finish, read_bytes
from carebench.ekg.recording import Recording, RecordingError

_TO_MV = {"uv": 1e-3, "µv": 1e-3, "mv": 1.0, "v": 1e3, "nv": 1e-6}
_DTYPES = {(8, "SB"): "i1", (8, "UB"): "u1", (16, "SS"): "<i2", (16, "US"): "<u2",
           (32, "SL"): "<i4", (32, "UL"): "<u4"}  # fmt: skip
_MEDIAN_WORDS = ("median", "average", "represent")

# Waveform annotation concept names (lower-case code meanings) -> device_measurements keys
_CONCEPTS = {
    "ventricular heart rate": "heart_rate_bpm",
    "heart rate": "heart_rate_bpm",
    "rr interval global": "rr_ms",
    "pr interval global": "pr_ms",
    "pr interval": "pr_ms",
    "qrs duration global": "qrs_ms",
    "qrs duration": "qrs_ms",
    "qt interval global": "qt_ms",
    "qt interval": "qt_ms",
    "qtc interval global": "qtc_ms",
    "qtc interval": "qtc_ms",
    "p axis": "p_axis_deg",
    "qrs axis": "axis_deg",
    "t axis": "t_axis_deg",
}


def _code_meaning(item: Any, sequence: str) -> str:
    seq = item.get(sequence)
    if not seq:
        return ""
    first = seq[0]
    return str(first.get("CodeMeaning") or first.get("CodeValue") or "")


def _pick_group(groups: Any) -> tuple[int, Any]:
    usable = [
        (i, g)
        for i, g in enumerate(groups)
        if not any(w in str(g.get("MultiplexGroupLabel", "")).lower() for w in _MEDIAN_WORDS)
    ] or list(enumerate(groups))
    return max(usable, key=lambda pair: int(pair[1].get("NumberOfWaveformSamples", 0) or 0))


def _acquired_at(ds: Any) -> str:
    text = str(ds.get("AcquisitionDateTime") or "")
    if not text:
        day = str(ds.get("AcquisitionDate") or ds.get("ContentDate") or "")
        time = str(ds.get("AcquisitionTime") or ds.get("ContentTime") or "")
        text = day + time
    try:
        if len(text) >= 14:
            return dt.datetime.strptime(text[:14], "%Y%m%d%H%M%S").isoformat()
        if len(text) >= 8:
            return dt.datetime.strptime(text[:8], "%Y%m%d").date().isoformat()
    except ValueError:
        return ""
    return ""


def _patient(ds: Any) -> dict[str, str]:
    hint = {"id": str(ds.get("PatientID") or "")}
    name = ds.get("PatientName")
    if name:
        parts = [str(name.given_name), str(name.family_name)]
        hint["name"] = " ".join(p for p in parts if p) or str(name)
    birth = str(ds.get("PatientBirthDate") or "")
    if len(birth) == 8 and birth.isdigit():
        hint["birth_date"] = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
    hint["sex"] = str(ds.get("PatientSex") or "")
    return {k: v for k, v in hint.items() if v}


def _measurements(ds: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"statements": []}
    for item in ds.get("WaveformAnnotationSequence") or []:
        text = str(item.get("UnformattedTextValue") or "").strip()
        if text:
            raw["statements"].append(text)
        concept = _code_meaning(item, "ConceptNameCodeSequence").strip().lower()
        key = _CONCEPTS.get(concept)
        if key and item.get("NumericValue") is not None:
            try:
                raw[key] = float(item.NumericValue)
            except (TypeError, ValueError):
                continue
    if "qtc_ms" in raw:
        raw.setdefault("qtc_bazett_ms", None)
    return clean_measurements(raw)


def load(path: str | Path) -> Recording:
    path = Path(path)
    read_bytes(path)  # clear messages for missing and empty files
    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError as exc:
        raise RecordingError(f"{path.name}: not a DICOM file ({exc})") from exc
    except Exception as exc:  # truncated files raise EOFError, OSError, ValueError...
        raise RecordingError(f"{path.name}: DICOM file is malformed or truncated ({exc})") from exc
    groups = ds.get("WaveformSequence")
    if not groups:
        sop = ds.get("SOPClassUID")
        kind = f"{sop.name}" if sop is not None else "unknown SOP class"
        raise RecordingError(
            f"{path.name}: no WaveformSequence: not an ECG waveform DICOM ({kind})"
        )
    index, group = _pick_group(groups)
    where = f"{path.name}: WaveformSequence item {index + 1}"
    missing = [
        tag
        for tag in (
            "SamplingFrequency",
            "NumberOfWaveformChannels",
            "NumberOfWaveformSamples",
            "WaveformBitsAllocated",
            "WaveformSampleInterpretation",
            "WaveformData",
            "ChannelDefinitionSequence",
        )
        if group.get(tag) in (None, "")
    ]
    if missing:
        raise RecordingError(f"{where}: missing {', '.join(missing)}")
    rate = float(group.SamplingFrequency)
    n_channels = int(group.NumberOfWaveformChannels)
    n_samples = int(group.NumberOfWaveformSamples)
    dtype = _DTYPES.get((int(group.WaveformBitsAllocated), str(group.WaveformSampleInterpretation)))
    if dtype is None:
        raise RecordingError(
            f"{where}: unsupported sample encoding {group.WaveformBitsAllocated} bits "
            f"{group.WaveformSampleInterpretation}"
        )
    data = bytes(group.WaveformData)
    expected = n_samples * n_channels * np.dtype(dtype).itemsize
    if len(data) < expected:
        raise RecordingError(
            f"{where}: WaveformData is truncated ({len(data)} of {expected} bytes)"
        )
    samples = np.frombuffer(data[:expected], dtype=dtype).reshape(n_samples, n_channels)
    channels = group.ChannelDefinitionSequence
    if len(channels) != n_channels:
        raise RecordingError(
            f"{where}: {len(channels)} channel definitions for {n_channels} channels"
        )
    leads: dict[str, np.ndarray] = {}
    for number, channel in enumerate(channels):
        label = _code_meaning(channel, "ChannelSourceSequence") or str(
            channel.get("ChannelLabel") or f"channel {number + 1}"
        )
        unit = _code_meaning(channel, "ChannelSensitivityUnitsSequence")
        unit_code = ""
        if channel.get("ChannelSensitivityUnitsSequence"):
            unit_code = str(channel.ChannelSensitivityUnitsSequence[0].get("CodeValue") or unit)
        factor = _TO_MV.get(unit_code.strip().lower())
        if factor is None:
            factor = {"microvolt": 1e-3, "millivolt": 1.0, "volt": 1e3}.get(unit.strip().lower())
        if factor is None:
            raise RecordingError(
                f"{where}: channel {number + 1} ({label}): sensitivity units "
                f"{unit_code or unit or 'missing'!r} are not a voltage"
            )
        sensitivity = float(channel.get("ChannelSensitivity") or 1.0)
        correction = float(channel.get("ChannelSensitivityCorrectionFactor") or 1.0)
        baseline = float(channel.get("ChannelBaseline") or 0.0)
        values = samples[:, number] * (sensitivity * correction) + baseline
        add_lead(leads, label, values * factor)
    recording = Recording(
        sampling_rate_hz=rate,
        leads=leads,
        source_format="dicom",
        acquired_at=_acquired_at(ds),
        patient_hint=_patient(ds),
        device=" ".join(
            str(ds.get(t) or "") for t in ("Manufacturer", "ManufacturerModelName") if ds.get(t)
        ),
        device_measurements=_measurements(ds),
    )
    return finish(recording)
