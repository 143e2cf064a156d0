"""The one shape every EKG importer produces and the analysis and report consume (pure).

Signals are in millivolts, one 1-D float array per lead, all leads the same length and sampled at
`sampling_rate_hz`. Lead names are the standard ones in `STANDARD_LEADS` (importers map vendor
names such as "MLII" or "V5" as well as they can and keep others as they are).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
LIMB_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF")


class RecordingError(ValueError):
    """A file that cannot be a usable recording: the message says what is wrong and where."""


@dataclass
class Recording:
    sampling_rate_hz: float
    leads: dict[str, np.ndarray]  # lead name -> samples in mV
    source_format: str  # wfdb, hl7-aecg, dicom, philips-xml, muse-xml, csv
    acquired_at: str = ""  # ISO 8601 when the file says
    patient_hint: dict[str, str] = field(default_factory=dict)  # name/id/birth date if present
    device: str = ""
    device_measurements: dict[str, Any] = field(default_factory=dict)  # as the machine reported
    derived_leads: list[str] = field(default_factory=list)  # leads we computed (III, aVR...)

    @property
    def n_samples(self) -> int:
        return len(next(iter(self.leads.values()))) if self.leads else 0

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sampling_rate_hz if self.sampling_rate_hz else 0.0

    @property
    def lead_names(self) -> list[str]:
        return list(self.leads)


def derive_limb_leads(leads: dict[str, np.ndarray]) -> list[str]:
    """Fill in III, aVR, aVL, aVF from I and II (Einthoven and Goldberger); returns what was added."""
    added: list[str] = []
    if "I" not in leads or "II" not in leads:
        return added
    lead_i, lead_ii = leads["I"], leads["II"]
    formulas = {
        "III": lambda: lead_ii - lead_i,
        "aVR": lambda: -(lead_i + lead_ii) / 2,
        "aVL": lambda: lead_i - lead_ii / 2,
        "aVF": lambda: lead_ii - lead_i / 2,
    }
    for name, make in formulas.items():
        if name not in leads:
            leads[name] = make()
            added.append(name)
    return added


MIN_RATE_HZ = 100.0
MAX_RATE_HZ = 20_000.0
MIN_DURATION_S = 2.0
MAX_LEAD_NAME = 40  # characters; a lead name is printable text (no NUL, no control character)
MAX_ABS_MV = 20.0  # beyond this the units are wrong (microvolts read as millivolts, say)


def validate(recording: Recording) -> Recording:
    """Raise RecordingError naming the rule a recording breaks; return it when usable."""
    if not recording.leads:
        raise RecordingError("no leads: the file holds no ECG signal")
    if not MIN_RATE_HZ <= recording.sampling_rate_hz <= MAX_RATE_HZ:
        raise RecordingError(
            f"sampling rate {recording.sampling_rate_hz:g} Hz is outside "
            f"{MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz"
        )
    lengths = {name: len(samples) for name, samples in recording.leads.items()}
    if len(set(lengths.values())) != 1:
        raise RecordingError(f"leads differ in length: {lengths}")
    if recording.duration_s < MIN_DURATION_S:
        raise RecordingError(
            f"recording is {recording.duration_s:.2f} s long; at least "
            f"{MIN_DURATION_S:g} s is needed (truncated file?)"
        )
    for name, samples in recording.leads.items():
        if not name.isprintable() or len(name) > MAX_LEAD_NAME:
            raise RecordingError(
                f"lead name {name[:MAX_LEAD_NAME]!r} is not a lead name (at most "
                f"{MAX_LEAD_NAME} printable characters)"
            )
        if samples.ndim != 1:
            raise RecordingError(f"lead {name}: samples must be one-dimensional")
        finite = np.isfinite(samples)
        if not finite.any():
            raise RecordingError(f"lead {name}: no valid samples")
        peak = float(np.nanmax(np.abs(samples[finite])))
        if peak > MAX_ABS_MV:
            raise RecordingError(
                f"lead {name}: amplitude {peak:.1f} mV is not physiological "
                f"(over {MAX_ABS_MV:g} mV; wrong units?)"
            )
    return recording
