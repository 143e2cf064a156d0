"""How X12 files reach the clearinghouse and come back: a small `Clearinghouse` interface and
`FileDrop`, the one implementation carebench ships, which uses two folders.

`send(kind, name, text)` hands over one file (an 837, a 270) and says where it went;
`receive(kinds=None)` takes what came back (999, 277CA, 271, 835), each as an `Incoming` whose
`kind` is the transaction type of its first ST segment ("271", "835", "999", "277"); a file the
caller cannot handle yet is left where it is; `set_aside(incoming, reason)` moves a received
file the caller could not use out of the way, with the reason.

`FileDrop(outbox, inbox)` is for a clearinghouse that exchanges files through folders (an SFTP
client or a vendor's sync agent keeps them in step with the clearinghouse):

* `send` writes `outbox/<name>` atomically: a hidden temporary file in the same folder, flushed
  and renamed over, so the agent never picks up half a file. A name already there gets `-2`,
  `-3`... before its extension; nothing is overwritten.
* `receive` reads every file in the inbox (hidden files, `.tmp`/`.part` files and folders are
  skipped), reads its envelopes with the X12 reader to learn its kind, and moves each file it
  returns to `inbox/processed/`. A file that is not a readable X12 interchange goes to
  `inbox/failed/`, with `<name>.error.txt` beside it saying why (and is returned with `error`
  set, so the caller can report it).

A clearinghouse reached through an API (real-time 270/271 over HTTPS, AS2, a vendor SDK) would
be another class with the same three methods, chosen by configuration; the services only call
the interface. `clearinghouse_for(profile)` builds the `FileDrop` from the organization's
`BillingProfile` folders.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from django.core.exceptions import ValidationError

from .x12.parse import X12Error, read_interchange

if TYPE_CHECKING:
    from .models import BillingProfile

SKIPPED_SUFFIXES = frozenset({".tmp", ".part", ".partial", ".crdownload", ".lock", ".swp"})
PROCESSED = "processed"
FAILED = "failed"


class ClearinghouseError(Exception):
    """A file could not be handed over (the folder is missing, the disk is full...)."""


@dataclass(frozen=True)
class Incoming:
    """One file that came back: its name, its text and its X12 transaction type (ST01)."""

    name: str
    text: str
    kind: str  # "271", "835", "999", "277"...
    location: str = ""  # where it is now (FileDrop: the path in processed/, or in the inbox)
    taken: bool = True  # False: left in the inbox (a kind the caller did not ask for)
    error: str = ""  # not a readable X12 file: why (it was set aside, kind is "")


class Clearinghouse(Protocol):
    """What the billing services need from a clearinghouse."""

    def send(self, kind: str, name: str, text: str) -> str:
        """Hand over one file (kind "837" or "270"); return where it went."""
        ...

    def receive(self, kinds: Collection[str] | None = None) -> list[Incoming]:
        """Every file waiting. With `kinds`, only those kinds are taken (`taken` True); the
        others are returned with `taken` False and left waiting for whoever handles them. A
        file that is not readable X12 is set aside and returned with `error` saying why."""
        ...

    def set_aside(self, incoming: Incoming, reason: str) -> str:
        """A received file its handler refused: keep it apart, with the reason."""
        ...


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/stem-2.ext`, `-3`... when that is taken."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{stem}-{n}{suffix}"
    return target


def kind_of(text: str) -> str:
    """The transaction type of an interchange: ST01 of its first transaction set ("TA1" for an
    interchange acknowledgment alone). Raises `X12Error` for a file that is not X12."""
    interchange = read_interchange(text)
    for transaction in interchange.transactions:
        return transaction.type
    if any(segment.id == "TA1" for segment in interchange.segments):
        return "TA1"
    raise X12Error("ST", 0, "the interchange holds no transaction set")


class FileDrop:
    """A clearinghouse reached through an outbox folder and an inbox folder."""

    def __init__(self, outbox: Path | str, inbox: Path | str) -> None:
        self.outbox = Path(outbox)
        self.inbox = Path(inbox)

    def __repr__(self) -> str:
        return f"FileDrop(outbox={str(self.outbox)!r}, inbox={str(self.inbox)!r})"

    # --- sending -------------------------------------------------------------------------------

    def send(self, kind: str, name: str, text: str) -> str:
        if not name or Path(name).name != name or name.startswith("."):
            raise ClearinghouseError(f"{name!r} is not a plain file name")
        if not self.outbox.is_dir():
            raise ClearinghouseError(f"the outbox {self.outbox} is not a folder")
        data = text.encode("utf-8")
        try:
            handle, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.outbox)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                target = _free_name(self.outbox, name)
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise ClearinghouseError(
                f"cannot write {name} ({kind}) to {self.outbox}: {exc.strerror or exc}"
            ) from exc
        return str(target)

    # --- receiving -----------------------------------------------------------------------------

    def waiting(self) -> list[Path]:
        """The files in the inbox, by name (what `receive` will look at)."""
        if not self.inbox.is_dir():
            raise ClearinghouseError(f"the inbox {self.inbox} is not a folder")
        return sorted(
            path
            for path in self.inbox.iterdir()
            if path.is_file()
            and not path.name.startswith((".", "~"))
            and path.suffix.lower() not in SKIPPED_SUFFIXES
        )

    def receive(self, kinds: Collection[str] | None = None) -> list[Incoming]:
        out: list[Incoming] = []
        for path in self.waiting():
            try:
                text = _decode(path.read_bytes())
            except OSError as exc:
                reason = f"cannot read the file: {exc.strerror or exc}"
                target = self._fail(path, reason)
                out.append(Incoming(path.name, "", "", str(target), taken=False, error=reason))
                continue
            try:
                kind = kind_of(text)
            except X12Error as exc:
                reason = f"not a readable X12 interchange: {exc}"
                target = self._fail(path, reason)
                out.append(Incoming(path.name, text, "", str(target), taken=False, error=reason))
                continue
            if kinds is not None and kind not in kinds:
                out.append(Incoming(path.name, text, kind, str(path), taken=False))
                continue
            target = self._move(path, PROCESSED)
            out.append(Incoming(path.name, text, kind, str(target)))
        return out

    def set_aside(self, incoming: Incoming, reason: str) -> str:
        path = Path(incoming.location) if incoming.location else self.inbox / incoming.name
        if not path.exists():
            raise ClearinghouseError(f"{incoming.name} is no longer at {path}")
        return str(self._fail(path, reason))

    def _move(self, path: Path, folder: str) -> Path:
        where = self.inbox / folder
        where.mkdir(exist_ok=True)
        target = _free_name(where, path.name)
        os.replace(path, target)
        return target

    def _fail(self, path: Path, reason: str) -> Path:
        target = self._move(path, FAILED)
        note = target.with_name(target.name + ".error.txt")
        note.write_text(reason.rstrip() + "\n", encoding="utf-8")
        return target


def clearinghouse_for(profile: BillingProfile | None) -> Clearinghouse:
    """The organization's clearinghouse: a `FileDrop` on its billing profile's folders.

    Raises `ValidationError` naming the field that is not set up.
    """
    if profile is None:
        raise ValidationError(
            {"billing_profile": "set up the organization's billing profile first"}
        )
    missing = {}
    for field in ("clearinghouse_outbox", "clearinghouse_inbox"):
        if not getattr(profile, field).strip():
            label = "outbox" if field.endswith("outbox") else "inbox"
            missing[field] = f"set the clearinghouse {label} folder in the billing profile"
    if missing:
        raise ValidationError(missing)
    return FileDrop(
        Path(profile.clearinghouse_outbox.strip()), Path(profile.clearinghouse_inbox.strip())
    )
