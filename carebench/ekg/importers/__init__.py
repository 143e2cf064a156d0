"""EKG file importers: `load(path)` detects the format and returns a validated Recording (pure).

Formats: WFDB (`.hea`/`.dat` or the record name without extension), DICOM waveform (`.dcm` or the
DICM preamble), GE MUSE XML (root <RestingECG>), Philips Sierra XML (<restingecgdata>), HL7 aECG
(<AnnotatedECG>) and CSV (see `importers.csv`). Every failure is a RecordingError whose message
names the file and the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from carebench.ekg.importers import csv, dicom, hl7_aecg, muse, philips, wfdb
from carebench.ekg.importers.common import read_bytes, standard_lead_name
from carebench.ekg.recording import Recording, RecordingError

__all__ = ["load", "detect", "standard_lead_name", "LOADERS"]

LOADERS: dict[str, Callable[[str | Path], Recording]] = {
    "wfdb": wfdb.load,
    "dicom": dicom.load,
    "muse-xml": muse.load,
    "philips-xml": philips.load,
    "hl7-aecg": hl7_aecg.load,
    "csv": csv.load,
}
_XML_ROOTS = {"restingecg": "muse-xml", "restingecgdata": "philips-xml", "annotatedecg": "hl7-aecg"}
_ROOT_TAG = re.compile(r"<(?![?!])(?:[\w.-]+:)?([\w.-]+)")


def detect(path: str | Path) -> str:
    """The format name (a key of LOADERS) for a file, by extension and then content."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".hea", ".dat") or (
        not path.is_file() and path.with_name(path.name + ".hea").is_file()
    ):
        return "wfdb"
    data = read_bytes(path)
    head = data[:4096]
    if suffix in (".dcm", ".dicom") or head[128:132] == b"DICM":
        return "dicom"
    text = head.decode("utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8", "ignore")
    stripped = text.lstrip("\ufeff \t\r\n")
    if suffix == ".xml" or stripped.startswith("<"):
        body = re.sub(r"<!--.*?-->", "", stripped, flags=re.DOTALL)
        match = _ROOT_TAG.search(body)
        if not match:
            raise RecordingError(f"{path.name}: XML has no root element (truncated file?)")
        root = match[1]
        fmt = _XML_ROOTS.get(root.lower())
        if fmt is None:
            raise RecordingError(
                f"{path.name}: XML root <{root}> is not a known ECG format "
                f"(expected RestingECG, restingecgdata or AnnotatedECG)"
            )
        return fmt
    if suffix in (".csv", ".txt", ".tsv") or "," in stripped.split("\n", 1)[0]:
        return "csv"
    raise RecordingError(f"{path.name}: unrecognised file format")


def load(path: str | Path) -> Recording:
    """Read any supported EKG file into a validated Recording (RecordingError when unusable)."""
    return LOADERS[detect(path)](path)
