"""HL7 v2 text escaping with the standard delimiters (`|^~\\&`), and timestamps (pure)."""

from __future__ import annotations

from datetime import date, datetime

FIELD, COMPONENT, REPETITION, ESCAPE, SUBCOMPONENT = "|", "^", "~", "\\", "&"
ENCODING_CHARACTERS = COMPONENT + REPETITION + ESCAPE + SUBCOMPONENT

_ESCAPES = {
    ESCAPE: "\\E\\",
    FIELD: "\\F\\",
    COMPONENT: "\\S\\",
    SUBCOMPONENT: "\\T\\",
    REPETITION: "\\R\\",
}
_UNESCAPES = {"E": ESCAPE, "F": FIELD, "S": COMPONENT, "T": SUBCOMPONENT, "R": REPETITION}


def clean(text: str) -> str:
    """Control characters as spaces, runs of whitespace as one space, no ends."""
    spaced = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in str(text))
    return " ".join(spaced.split())


def escape(text: str) -> str:
    """Text as an HL7 value: cleaned (one line), delimiters escaped."""
    return "".join(_ESCAPES.get(ch, ch) for ch in clean(text))


def unescape(text: str) -> str:
    r"""The text of an HL7 value: \F\ \S\ \T\ \R\ \E\ back to their characters, `\.br\` to a
    line break; other escape sequences (highlighting, hex) are dropped."""
    if ESCAPE not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != ESCAPE:
            out.append(ch)
            i += 1
            continue
        end = text.find(ESCAPE, i + 1)
        if end < 0:
            out.append(text[i:])
            break
        code = text[i + 1 : end]
        if code in _UNESCAPES:
            out.append(_UNESCAPES[code])
        elif code == ".br":
            out.append("\n")
        i = end + 1
    return "".join(out)


def ts(moment: datetime) -> str:
    """A DTM with seconds and the UTC offset, e.g. 20250314093000-0500 (aware datetimes only)."""
    if moment.tzinfo is None:
        raise ValueError("HL7 timestamps are written from aware datetimes")
    return moment.strftime("%Y%m%d%H%M%S%z")


def dt(day: date) -> str:
    return day.strftime("%Y%m%d")
