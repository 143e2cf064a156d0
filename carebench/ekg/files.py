"""An EKG file as bytes in, a Recording out (pure: no Django).

The upload form, the watched folder and the stored copy all hand over bytes and a file name; the
importers read paths, so the bytes go to a private temporary folder first. A WFDB record is two
files (`.hea` + `.dat`), so it travels as one `.zip` holding them; the zip is unpacked with
checks (no paths, no links, a size cap, exactly one record).
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from carebench.ekg import importers
from carebench.ekg.recording import Recording, RecordingError

MAX_FILE_BYTES = 50 * 1024 * 1024  # the largest file (or unpacked zip) accepted
WFDB_SUFFIXES = {".hea", ".dat", ".atr", ".q1c", ".q2c", ".qt1", ".qt2", ".pu", ".pu0", ".pu1"}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(filename: str) -> str:
    """The file's base name with anything odd replaced (never a path, never empty)."""
    base = PurePosixPath(filename.replace("\\", "/")).name
    cleaned = _SAFE.sub("_", base).lstrip(".")[:120]
    return cleaned or "upload.bin"


def is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, total: int) -> int:
    """Write one member a megabyte at a time, stopping once the zip's total passes the limit
    (a member whose header understates its size is never inflated whole); the new total."""
    with archive.open(info) as source, target.open("wb") as out:
        while chunk := source.read(1024 * 1024):
            total += len(chunk)
            if total > MAX_FILE_BYTES:
                break
            out.write(chunk)
    return total


def _unzip_wfdb(name: str, data: bytes, folder: Path) -> Path:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise RecordingError(f"{name}: not a readable zip file (truncated?)") from None
    total = 0
    headers: list[Path] = []
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            member = PurePosixPath(info.filename.replace("\\", "/")).name
            suffix = PurePosixPath(member).suffix.lower()
            if suffix not in WFDB_SUFFIXES or member.startswith("."):
                continue
            total += info.file_size
            if total > MAX_FILE_BYTES:
                raise RecordingError(f"{name}: the zip unpacks to more than 50 MB")
            target = folder / safe_name(member)
            try:
                total = _unpack(archive, info, target, total - info.file_size)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise RecordingError(f"{name}: {member} cannot be unpacked ({exc})") from None
            if total > MAX_FILE_BYTES:
                raise RecordingError(f"{name}: the zip unpacks to more than 50 MB")
            if suffix == ".hea":
                headers.append(target)
    if not headers:
        raise RecordingError(
            f"{name}: the zip holds no WFDB header (.hea); zip the record's .hea and .dat together"
        )
    if len(headers) > 1:
        raise RecordingError(f"{name}: the zip holds {len(headers)} records; attach one at a time")
    return headers[0].with_suffix("")


def load_bytes(filename: str, data: bytes) -> Recording:
    """Import an EKG file given as bytes (RecordingError naming the file when unusable)."""
    name = safe_name(filename)
    if not data:
        raise RecordingError(f"{name}: the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise RecordingError(f"{name}: the file is over 50 MB")
    with tempfile.TemporaryDirectory(prefix="carebench-ekg-") as tmp:
        folder = Path(tmp)
        if is_zip(data):
            path = _unzip_wfdb(name, data, folder)
        else:
            if PurePosixPath(name).suffix.lower() in (".hea", ".dat"):
                raise RecordingError(
                    f"{name}: a WFDB record is two files; zip the .hea and .dat together"
                )
            path = folder / name
            path.write_bytes(data)
        try:
            return importers.load(path)
        except RecordingError as exc:
            text = str(exc)
            if text.startswith((name, path.name)):
                raise
            raise RecordingError(f"{name}: {text}") from None
        except (OSError, ValueError, KeyError, IndexError, TypeError, EOFError) as exc:
            raise RecordingError(f"{name}: cannot be read as an EKG ({exc})") from None


def zip_wfdb(header_path: Path) -> bytes:
    """One WFDB record (the .hea and the files beside it with the same stem) as zip bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for sibling in sorted(header_path.parent.glob(header_path.stem + ".*")):
            if sibling.suffix.lower() in WFDB_SUFFIXES and sibling.is_file():
                archive.write(sibling, sibling.name)
    return buffer.getvalue()
