"""What a file really is, from its first bytes (pure: no Django).

Uploaded documents are kept only when their content is a PDF, JPEG, PNG or TIFF; the name the
browser sent and the content type it claimed are not trusted (a `.pdf` that is really a program
is refused; a PNG named `.pdf` is kept as a PNG).
"""

from __future__ import annotations

import re
import unicodedata

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"

EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png", TIFF: "tif"}
LABELS = {PDF: "PDF", JPEG: "JPEG image", PNG: "PNG image", TIFF: "TIFF image"}
# Images a browser shows inline; a TIFF is offered as a download.
INLINE = {PDF, JPEG, PNG}

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def sniff(data: bytes) -> str | None:
    """The content type of `data` (PDF, JPEG, PNG or TIFF), or None for anything else."""
    if data.startswith(b"%PDF-") and len(data) > 8:
        return PDF
    if data.startswith(b"\xff\xd8\xff") and len(data) > 4:
        return JPEG
    if data.startswith(_PNG_MAGIC) and data[12:16] == b"IHDR":
        return PNG
    if data[:4] in (b"II*\x00", b"MM\x00*") and len(data) > 8:
        return TIFF
    return None


def is_complete(data: bytes, content_type: str) -> bool:
    """False for a PDF cut short: one without the `%%EOF` end marker in its last kilobyte
    (where every PDF writer puts it). Images are not checked."""
    if content_type == PDF:
        return b"%%EOF" in data[-1024:]
    return True


def describe(data: bytes) -> str:
    """A few words on what an unaccepted file looks like, for the refusal message."""
    if data.startswith(b"MZ"):
        return "a Windows program"
    if data.startswith(b"\x7fELF"):
        return "a program"
    if data.startswith(b"PK\x03\x04"):
        return "a ZIP archive (or an Office document)"
    if data.startswith(b"GIF8"):
        return "a GIF image"
    if data.lstrip()[:1] in (b"<",):
        return "an HTML or XML file"
    if not data:
        return "empty"
    return "not a PDF, JPEG, PNG or TIFF file"


def safe_filename(name: str, content_type: str, *, fallback: str = "document") -> str:
    """A download name: ASCII letters, digits, spaces, dots and dashes only, at most 100
    characters, ending in the extension of what the file really is."""
    base = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = base.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = _UNSAFE.sub("_", stem).strip(" ._") or fallback
    return f"{stem[:90]}.{EXTENSIONS.get(content_type, 'bin')}"
