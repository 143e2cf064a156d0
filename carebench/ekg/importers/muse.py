"""GE MUSE resting ECG XML (root <RestingECG>) -> Recording, read with ecgdatakit (pure).

The rhythm waveform is used (not the median beat). MUSE usually stores I, II and V1-V6; III, aVR,
aVL and aVF are then derived. Device measurements (RestingECGMeasurements) and diagnosis statements
go to `device_measurements`; an all-zero measurement block is treated as "not measured".
"""

from __future__ import annotations

from pathlib import Path

from ecgdatakit.parsing.parsers.ge_muse_xml import GEMuseXMLParser

from carebench.ekg.importers.common import (
    finish,
    from_ecgdatakit,
    parse_xml,
    read_bytes,
    run_ecgdatakit,
)
from carebench.ekg.recording import Recording, RecordingError

ROOT = "RestingECG"


def load(path: str | Path) -> Recording:
    path = Path(path)
    root = parse_xml(read_bytes(path), path, ROOT)
    rhythm = [
        wf
        for wf in root.findall("Waveform")
        if (wf.findtext("WaveformType") or "Rhythm").strip().lower() == "rhythm"
    ]
    if not rhythm:
        raise RecordingError(f"{path.name}: no <Waveform> with WaveformType Rhythm")
    if not (rhythm[0].findtext("SampleBase") or "").strip():
        raise RecordingError(
            f"{path.name}: rhythm <Waveform> has no <SampleBase> (sampling rate missing)"
        )
    record = run_ecgdatakit(GEMuseXMLParser, path)
    return finish(from_ecgdatakit(record, path, "muse-xml"))
