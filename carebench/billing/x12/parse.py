"""Read an X12 interchange into segments (pure; no Django): the reader every X12 engine uses.

The delimiters come from the fixed-width ISA (106 characters: the element separator is its
4th character, the repetition separator ISA11, the component separator ISA16 and the segment
terminator the character after it), so any delimiters work, with or without line breaks after
the segment terminators. The envelopes are checked as they are read; anything we cannot take
raises `X12Error` naming the segment and its position (1-based, ISA = 1):

    the text does not start with ISA; the ISA is not 106 characters or its delimiters clash;
    a segment id that is empty or not 2-3 uppercase letters/digits;
    a segment outside an ST/SE (other than GS, GE, IEA); ST outside a GS; GS or IEA inside an
    open transaction or group; the interchange ends before its IEA (truncated);
    SE01 not the number of segments ST..SE; SE02 not ST02;
    GE01 not the number of transactions; GE02 not GS06;
    IEA01 not the number of groups; IEA02 not ISA13; anything after the IEA.

The reader does not know any transaction's rules: `check837`, `ack`, `remit835` and `elig` read
the segments it returns. Plain frozen dataclasses out.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

ISA_LENGTH = 106
# Where the 16 element separators of a well-formed ISA sit (ISA01..ISA16 are fixed width).
ISA_SEPARATOR_OFFSETS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
_SEGMENT_ID = re.compile(r"[A-Z0-9]{2,3}")


class X12Error(ValueError):
    """A file we cannot read: which segment (its id and 1-based position) and why."""

    def __init__(self, segment: str, position: int, message: str) -> None:
        self.segment = segment
        self.position = position
        self.message = message
        super().__init__(f"segment {position} ({segment or 'empty id'}): {message}")


@dataclass(frozen=True)
class Delimiters:
    """The interchange's separators, as the ISA declares them."""

    element: str
    component: str
    repetition: str  # "" for a 4010 interchange (ISA11 is then a standards id)
    segment: str


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its id, its data elements (elements[0] is XX01) and its 1-based position
    in the file. `element(n)` and `components(n)` read the n-th element (1-based)."""

    id: str
    elements: tuple[str, ...]
    position: int
    component_separator: str = field(default=":", repr=False, compare=False)
    repetition_separator: str = field(default="^", repr=False, compare=False)

    def element(self, n: int) -> str:
        """XXnn (1-based); "" when the segment stops before it."""
        return self.elements[n - 1] if 0 < n <= len(self.elements) else ""

    def components(self, n: int) -> tuple[str, ...]:
        """The components of XXnn (a composite, e.g. SV101 HC:99213:25); () when empty."""
        value = self.element(n)
        return tuple(value.split(self.component_separator)) if value else ()

    def repetitions(self, n: int) -> tuple[str, ...]:
        """The repeats of XXnn (5010 repetition separator); () when empty."""
        value = self.element(n)
        if not value:
            return ()
        if not self.repetition_separator:
            return (value,)
        return tuple(value.split(self.repetition_separator))

    def __str__(self) -> str:
        return "*".join((self.id, *self.elements))


@dataclass(frozen=True)
class Transaction:
    """One transaction set: ST..SE inclusive; `type` is ST01 (837, 270, 271, 835, 999...)."""

    st: Segment
    segments: tuple[Segment, ...]
    type: str

    @property
    def control_number(self) -> str:
        return self.st.element(2)

    @property
    def version(self) -> str:
        """ST03 (the implementation guide, e.g. 005010X222A1), when sent."""
        return self.st.element(3)

    @property
    def body(self) -> tuple[Segment, ...]:
        """The segments between ST and SE."""
        return self.segments[1:-1]


@dataclass(frozen=True)
class Group:
    """One functional group (GS..GE) and its transactions."""

    gs: Segment
    transactions: tuple[Transaction, ...]

    @property
    def functional_id(self) -> str:
        """GS01: HC (837), HS (270), HB (271), HP (835), FA (999)..."""
        return self.gs.element(1)

    @property
    def control_number(self) -> str:
        return self.gs.element(6)

    @property
    def version(self) -> str:
        """GS08, e.g. 005010X222A1."""
        return self.gs.element(8)


@dataclass(frozen=True)
class Interchange:
    """A whole interchange: its delimiters, the ISA, its groups, and every segment in order
    (ISA..IEA)."""

    delimiters: Delimiters
    isa: Segment
    groups: tuple[Group, ...]
    segments: tuple[Segment, ...]

    @property
    def control_number(self) -> str:
        return self.isa.element(13)

    @property
    def sender_id(self) -> str:
        return self.isa.element(6).strip()

    @property
    def receiver_id(self) -> str:
        return self.isa.element(8).strip()

    @property
    def usage(self) -> str:
        """ISA15: P production, T test."""
        return self.isa.element(15)

    @property
    def transactions(self) -> tuple[Transaction, ...]:
        return tuple(t for g in self.groups for t in g.transactions)


LATIN1_BOM = "\xef\xbb\xbf"


def _decode(raw: str | bytes) -> str:
    if isinstance(raw, bytes):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    return raw


def read_delimiters(text: str) -> Delimiters:
    """The delimiters the ISA declares, or `X12Error` when the ISA is not a 106-character ISA."""
    if not text.startswith("ISA"):
        shown = text[:3].strip() or "(empty)"
        raise X12Error("ISA", 1, f"an X12 interchange starts with ISA, not {shown!r}")
    if len(text) < 4 or text[3].isalnum() or text[3].isspace():
        raise X12Error("ISA", 1, "no element separator after ISA")
    element = text[3]
    offsets = [i for i, ch in enumerate(text[:ISA_LENGTH]) if ch == element]
    if tuple(offsets[:16]) != ISA_SEPARATOR_OFFSETS:
        raise X12Error("ISA", 1, _isa_shape(text, element))
    if len(text) < ISA_LENGTH:
        raise X12Error(
            "ISA",
            1,
            f"ISA is {len(text)} characters: it must be {ISA_LENGTH} (the file is truncated)",
        )
    component, terminator = text[104], text[105]
    version = text[84:89]
    repetition = text[82] if version >= "00501" else ""
    if repetition and (repetition.isalnum() or repetition == " "):
        raise X12Error("ISA", 1, f"ISA11 {repetition!r} is not a repetition separator")
    used = [element, component, terminator] + ([repetition] if repetition else [])
    if len(set(used)) != len(used):
        raise X12Error(
            "ISA",
            1,
            "the element, component, repetition separators and segment terminator must differ",
        )
    if component.isalnum() or component == " ":
        raise X12Error("ISA", 1, f"ISA16 {component!r} is not a component separator")
    if terminator.isalnum() or terminator == " ":
        raise X12Error(
            "ISA",
            1,
            f"ISA is not {ISA_LENGTH} characters: {terminator!r} follows ISA16 where the segment "
            "terminator should be",
        )
    return Delimiters(element, component, repetition, terminator)


def _isa_shape(text: str, element: str) -> str:
    """Why the ISA's separators are not where they belong: its length and the first element
    whose width is wrong."""
    line = text
    parts = line.split(element, 16)
    if len(parts) < 17:
        return f"ISA has {len(parts) - 1} elements before the text ends: it needs 16"
    last = parts[16]
    isa_text = element.join(parts[:16]) + element + last[:2]  # ISA16 + the terminator
    for number, (value, width) in enumerate(zip(parts[1:16], ISA_WIDTHS, strict=False), start=1):
        if len(value) != width:
            return (
                f"ISA is {len(isa_text)} characters: it must be {ISA_LENGTH} "
                f"(ISA{number:02d} is {len(value)} characters wide, the standard says {width})"
            )
    return f"ISA is {len(isa_text)} characters: it must be {ISA_LENGTH}"


def _split(text: str, delimiters: Delimiters) -> list[str]:
    """The segments' texts. Line breaks are not X12 data, so unless one is a delimiter they are
    dropped wherever they are (after terminators, or wrapping a long line)."""
    used = (delimiters.element, delimiters.component, delimiters.repetition, delimiters.segment)
    for ch in "\r\n":
        if ch not in used and ch in text:
            text = text.replace(ch, "")
    pieces = text.split(delimiters.segment)
    while pieces and not pieces[-1].strip():
        pieces.pop()
    return pieces


def _slot_setter(name: str) -> Any:
    return cast(Any, Segment.__dict__[name]).__set__


# Segments are built without the dataclass __init__ (a 10,000-claim 837P has 230,000 of them;
# setting the slots directly halves the cost). `Segment(...)` works as usual for everyone else.
_NEW = object.__new__
_SET_ID = _slot_setter("id")
_SET_ELEMENTS = _slot_setter("elements")
_SET_POSITION = _slot_setter("position")
_SET_COMPONENT = _slot_setter("component_separator")
_SET_REPETITION = _slot_setter("repetition_separator")


def _count(segment: Segment, n: int, what: str) -> int:
    value = segment.element(n).strip()
    if not value.isdigit():
        raise X12Error(
            segment.id,
            segment.position,
            f"{segment.id}{n:02d} ({what}) must be a number, not {value!r}",
        )
    return int(value)


def _same_number(a: str, b: str) -> bool:
    a, b = a.strip(), b.strip()
    if a.isdigit() and b.isdigit():
        return int(a) == int(b)
    return a == b


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a block that builds many objects and no cycles.

    Without it the collector walks every segment built so far, again and again (a third of
    the time of reading a 10,000-claim 837P).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def read_interchange(raw: str | bytes) -> Interchange:
    """The interchange's segments and envelopes, or `X12Error` naming the segment and position
    of the first thing wrong with them."""
    with gc_paused():
        return _read(raw)


def _read(raw: str | bytes) -> Interchange:
    text = _decode(raw).lstrip("\ufeff \t\r\n")
    if text.startswith(LATIN1_BOM):  # a UTF-8 BOM that was read as Latin-1
        text = text[len(LATIN1_BOM) :].lstrip(" \t\r\n")
    delimiters = read_delimiters(text)
    if "\x00" in text:
        for position, piece in enumerate(_split(text, delimiters), start=1):
            if "\x00" in piece:
                raise X12Error(
                    piece.split(delimiters.element, 1)[0][:3].replace("\x00", "?"),
                    position,
                    "holds a NUL byte: X12 is text (is the file UTF-16 or binary?)",
                )
    element_sep = delimiters.element
    component = delimiters.component
    repetition = delimiters.repetition
    segment_id = _SEGMENT_ID.fullmatch
    known: set[str] = set()

    segments: list[Segment] = []
    append = segments.append
    groups: list[Group] = []
    transactions: list[Transaction] = []
    isa: Segment | None = None
    gs: Segment | None = None
    st: Segment | None = None
    st_index = 0
    ended = False
    new, set_id, set_elements, set_position = _NEW, _SET_ID, _SET_ELEMENTS, _SET_POSITION
    set_component, set_repetition = _SET_COMPONENT, _SET_REPETITION

    pieces = _split(text, delimiters)
    for position, piece in enumerate(pieces, start=1):
        parts = piece.split(element_sep)
        sid = parts[0]
        if sid not in known:
            if not segment_id(sid):
                if not sid.strip():
                    raise X12Error("", position, "empty segment id (two terminators in a row?)")
                raise X12Error(
                    sid[:10],
                    position,
                    f"segment id {sid[:10]!r} is not 2-3 uppercase letters/digits",
                )
            known.add(sid)
        seg = new(Segment)
        set_id(seg, sid)
        set_elements(seg, tuple(parts[1:]))
        set_position(seg, position)
        set_component(seg, component)
        set_repetition(seg, repetition)
        append(seg)
        if st is not None:
            if sid == "SE":
                count = _count(seg, 1, "number of included segments")
                found = position - st.position + 1
                if count != found:
                    raise X12Error(
                        "SE",
                        position,
                        f"SE01 says {count} segments, the transaction set has {found} (ST..SE)",
                    )
                if seg.element(2) != st.element(2):
                    raise X12Error(
                        "SE",
                        position,
                        f"SE02 {seg.element(2)!r} does not match ST02 {st.element(2)!r}",
                    )
                transactions.append(Transaction(st, tuple(segments[st_index:]), st.element(1)))
                st = None
            elif sid in ("ST", "GS", "GE", "IEA", "ISA"):
                raise X12Error(
                    sid,
                    position,
                    f"{sid} inside transaction set {st.element(2)!r} (ST at segment "
                    f"{st.position}): its SE is missing",
                )
            continue
        if sid == "ISA":
            if position != 1:
                raise X12Error("ISA", position, "a second ISA: one interchange per file")
            isa = seg
            if len(seg.elements) != 16:
                raise X12Error("ISA", position, f"ISA has {len(seg.elements)} elements, not 16")
        elif sid == "GS":
            if gs is not None:
                raise X12Error(
                    "GS",
                    position,
                    f"GS inside functional group {gs.element(6)!r} (GS at segment "
                    f"{gs.position}): its GE is missing",
                )
            gs = seg
            transactions = []
        elif sid == "ST":
            if gs is None:
                raise X12Error("ST", position, "ST outside a functional group (no GS before it)")
            st = seg
            st_index = len(segments) - 1
        elif sid == "GE":
            if gs is None:
                raise X12Error("GE", position, "GE without a GS")
            count = _count(seg, 1, "number of transaction sets included")
            if count != len(transactions):
                raise X12Error(
                    "GE",
                    position,
                    f"GE01 says {count} transaction sets, the group has {len(transactions)}",
                )
            if not _same_number(seg.element(2), gs.element(6)):
                raise X12Error(
                    "GE",
                    position,
                    f"GE02 {seg.element(2)!r} does not match GS06 {gs.element(6)!r}",
                )
            groups.append(Group(gs, tuple(transactions)))
            gs = None
        elif sid == "IEA":
            if gs is not None:
                raise X12Error(
                    "IEA",
                    position,
                    f"IEA inside functional group {gs.element(6)!r} (GS at segment "
                    f"{gs.position}): its GE is missing",
                )
            assert isa is not None
            count = _count(seg, 1, "number of included functional groups")
            if count != len(groups):
                raise X12Error(
                    "IEA",
                    position,
                    f"IEA01 says {count} functional groups, the interchange has {len(groups)}",
                )
            if seg.element(2).strip() != isa.element(13).strip():
                raise X12Error(
                    "IEA",
                    position,
                    f"IEA02 {seg.element(2)!r} does not match ISA13 {isa.element(13)!r}",
                )
            ended = True
            break
        elif sid == "TA1":
            continue  # an interchange acknowledgment sits between ISA and the groups
        else:
            raise X12Error(
                sid, position, f"{sid} outside a transaction set (every segment goes in ST..SE)"
            )

    if ended and len(pieces) > len(segments):
        position = len(segments) + 1
        raise X12Error(
            pieces[position - 1].split(element_sep)[0][:10],
            position,
            "data after the IEA: one interchange per file, and it has ended",
        )
    if not ended:
        last = segments[-1]
        where = f"the file ends after segment {last.position} ({last.id})"
        if st is not None:
            raise X12Error(
                "SE",
                last.position + 1,
                f"truncated interchange: {where}, inside transaction set "
                f"{st.element(2)!r} (no SE, GE or IEA)",
            )
        if gs is not None:
            raise X12Error(
                "GE",
                last.position + 1,
                f"truncated interchange: {where}, inside functional group "
                f"{gs.element(6)!r} (no GE or IEA)",
            )
        raise X12Error("IEA", last.position + 1, f"truncated interchange: {where} (no IEA)")
    assert isa is not None
    return Interchange(delimiters, isa, tuple(groups), tuple(segments))
