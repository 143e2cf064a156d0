"""PhysioNet WFDB records (.hea header + signal files) -> Recording, read with `wfdb` (pure).

A record is named by its path without extension (`qtdb/sel100`); a path to the `.hea` or `.dat`
file is accepted too. Physical values are read in the header's units and converted to mV
(mV, uV/µV and V are understood; channels in other units, such as respiration, are skipped).
Vendor lead names are mapped (MLII -> II); leads that are not standard keep their names (PTB's
Frank leads vx, vy, vz). Samples the header marks as invalid become NaN.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import wfdb as wfdb_lib

from carebench.ekg.importers.common import add_lead, finish
from carebench.ekg.recording import Recording, RecordingError

_TO_MV = {"mv": 1.0, "": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}


def record_name(path: str | Path) -> Path:
    """The record path without extension, for a record name or its .hea/.dat file."""
    path = Path(path)
    if path.suffix.lower() in (".hea", ".dat"):
        return path.with_suffix("")
    return path


# bytes per sample for the common WFDB storage formats
_BYTES_PER_SAMPLE = {
    8: 1.0,
    16: 2.0,
    61: 2.0,
    80: 1.0,
    160: 2.0,
    212: 1.5,
    24: 3.0,
    32: 4.0,
    310: 4 / 3,
    311: 4 / 3,
}


def _readable_channels(head: wfdb_lib.Record, name: Path) -> list[int]:
    """Channels whose signal file exists and is long enough; RecordingError if none or truncated.

    A record may list signals in files that are not present (PTB keeps its Frank leads in a
    separate .xyz file); those channels are skipped.
    """
    if not head.n_sig or not head.file_name:
        raise RecordingError(f"{name.name}.hea: header lists no signals")
    if not head.fs:
        raise RecordingError(f"{name.name}.hea: header gives no sampling frequency")
    files = list(dict.fromkeys(head.file_name))
    present = [f for f in files if (name.parent / f).is_file()]
    if not present:
        raise RecordingError(f"{name.name}: WFDB signal file not found ({', '.join(files)})")
    for file_name in present:
        idx = [i for i, f in enumerate(head.file_name) if f == file_name]
        per_sample = _BYTES_PER_SAMPLE.get(int(head.fmt[idx[0]]))
        offset = int((head.byte_offset or [0] * head.n_sig)[idx[0]] or 0)
        if per_sample is None or not head.sig_len:
            continue
        expected = offset + int(head.sig_len * len(idx) * per_sample)
        size = (name.parent / file_name).stat().st_size
        if size < expected:
            raise RecordingError(
                f"{file_name}: signal file is truncated ({size} of {expected} bytes)"
            )
    return [i for i, f in enumerate(head.file_name) if f in present]


def load(path: str | Path) -> Recording:
    name = record_name(path)
    header = name.with_name(name.name + ".hea")
    if not header.is_file():
        raise RecordingError(f"{header.name}: WFDB header file not found")
    if not header.read_bytes().strip():
        raise RecordingError(f"{header.name}: the WFDB header file is empty")
    try:
        head = wfdb_lib.rdheader(str(name))
    except Exception as exc:  # wfdb raises ValueError and others on a bad header
        raise RecordingError(f"{header.name}: cannot read WFDB header ({exc})") from exc
    channels = _readable_channels(head, name)
    try:
        record = wfdb_lib.rdrecord(str(name), physical=True, channels=channels)
    except Exception as exc:  # wfdb raises ValueError, IndexError... on bad data
        raise RecordingError(
            f"{name.name}: cannot read WFDB signals ({type(exc).__name__}: {exc})"
        ) from exc
    if record.p_signal is None or not record.sig_name:
        raise RecordingError(f"{name.name}: WFDB record holds no signals")
    if not record.fs:
        raise RecordingError(f"{header.name}: header gives no sampling frequency")
    expected = record.sig_len
    signal = np.asarray(record.p_signal, dtype=float)
    if expected and signal.shape[0] < expected:
        raise RecordingError(
            f"{name.name}: signal file is truncated ({signal.shape[0]} of {expected} samples)"
        )
    leads: dict[str, np.ndarray] = {}
    for index, (label, unit) in enumerate(zip(record.sig_name, record.units or [], strict=False)):
        factor = _TO_MV.get((unit or "").strip().lower())
        if factor is None:
            continue
        add_lead(leads, label, signal[:, index] * factor)
    acquired = ""
    if record.base_date and record.base_time:
        acquired = dt.datetime.combine(record.base_date, record.base_time).isoformat()
    elif record.base_date:
        acquired = record.base_date.isoformat()
    return finish(
        Recording(
            sampling_rate_hz=float(record.fs),
            leads=leads,
            source_format="wfdb",
            acquired_at=acquired,
        )
    )
