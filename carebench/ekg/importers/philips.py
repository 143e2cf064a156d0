"""Philips (Sierra) resting ECG XML (root <restingecgdata>) -> Recording, via ecgdatakit (pure).

ecgdatakit decodes the XLI-compressed and plain base64 variants and rebuilds the derived limb
leads the way the PageWriter stores them. Global measurements (rate, PR, QRS, QT, QTc, axes) and
interpretation statements go to `device_measurements`.

PageWriter exports end with the printed calibration pulse (zeros, 1 mV, zeros) written into every
lead alike. That tail is not ECG (it would read as a 1 mV step in all leads), so the samples at the
end where all leads hold the identical value are cut off.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ecgdatakit.parsing.parsers.sierra_xml import SierraXMLParser

from carebench.ekg.importers.common import (
    find_local,
    finish,
    from_ecgdatakit,
    parse_xml,
    read_bytes,
    run_ecgdatakit,
)
from carebench.ekg.recording import Recording, RecordingError

ROOT = "restingecgdata"


def load(path: str | Path) -> Recording:
    path = Path(path)
    root = parse_xml(read_bytes(path), path, ROOT)
    rates = [(el.text or "").strip() for el in find_local(root, "samplingrate")]
    if not any(rates):
        raise RecordingError(
            f"{path.name}: <signalcharacteristics> has no <samplingrate> (sampling rate missing)"
        )
    if not find_local(root, "parsedwaveforms"):
        raise RecordingError(f"{path.name}: no <parsedwaveforms> element (no waveform data)")
    record = run_ecgdatakit(SierraXMLParser, path)
    recording = from_ecgdatakit(record, path, "philips-xml")
    recording.leads = trim_calibration_tail(recording.leads)
    return finish(recording)


def trim_calibration_tail(leads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Drop the trailing samples where every lead has the same value (the calibration pulse)."""
    if len(leads) < 3:
        return leads
    stacked = np.vstack(list(leads.values()))
    same = np.all(stacked == stacked[0], axis=0)
    differing = np.flatnonzero(~same)
    if not len(differing):
        return leads
    end = int(differing[-1]) + 1
    if end == stacked.shape[1]:
        return leads
    return {name: samples[:end] for name, samples in leads.items()}
