"""HL7 annotated ECG (aECG, root <AnnotatedECG>) -> Recording, via ecgdatakit (pure).

The rhythm series is used; each lead's digits are scaled by its `scale` and `origin` to mV. The
global annotations (PR, QRS, QT, QTc, axes, rate) that aECG files carry go to
`device_measurements`.
"""

from __future__ import annotations

from pathlib import Path

from ecgdatakit.parsing.parsers.hl7_aecg import HL7aECGParser

from carebench.ekg.importers.common import (
    find_local,
    finish,
    from_ecgdatakit,
    parse_xml,
    read_bytes,
    run_ecgdatakit,
)
from carebench.ekg.recording import Recording, RecordingError

ROOT = "AnnotatedECG"


def load(path: str | Path) -> Recording:
    path = Path(path)
    root = parse_xml(read_bytes(path), path, ROOT)
    if not find_local(root, "increment"):
        raise RecordingError(
            f"{path.name}: no time <increment> in any sequence (sampling rate missing)"
        )
    record = run_ecgdatakit(HL7aECGParser, path)
    return finish(from_ecgdatakit(record, path, "hl7-aecg"))
