"""Text on PDF pages with reportlab (pure; no Django): the fonts (an embedded TTF covering
Latin-1 and more, for accents in Spanish and names, else Helvetica), text widths, and a word
wrap. Used by the patient handouts and the MAR."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import reportlab
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

TAB_SPACES = 4


def _font_files() -> Iterator[tuple[Path, Path]]:
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.origin:
        ttf = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"
        yield ttf / "DejaVuSans.ttf", ttf / "DejaVuSans-Bold.ttf"
    fonts = Path(reportlab.__file__).parent / "fonts"
    yield fonts / "Vera.ttf", fonts / "VeraBd.ttf"


@lru_cache(maxsize=1)
def fonts() -> tuple[str, str]:
    """Regular and bold font names: an embedded TTF, or the standard Helvetica (WinAnsi: enough
    for Spanish) when no TTF can be found."""
    for regular, bold in _font_files():
        if not (regular.is_file() and bold.is_file()):
            continue
        names = (f"Text-{regular.stem}", f"Text-{bold.stem}")
        try:
            for name, path in zip(names, (regular, bold), strict=True):
                if name not in pdfmetrics.getRegisteredFontNames():
                    pdfmetrics.registerFont(TTFont(name, str(path)))
        except (TTFError, OSError):
            continue
        return names
    return "Helvetica", "Helvetica-Bold"


def width(text: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, font, size))


def wrap(text: str, font: str, size: float, line_width: float) -> list[str]:
    """Greedy word wrap; a word wider than the line is broken by characters. Leading spaces
    (indentation) are kept on every line."""
    text = text.expandtabs(TAB_SPACES)
    body = text.lstrip(" ")
    indent = text[: len(text) - len(body)]
    line_width = max(line_width - width(indent, font, size), size)
    lines: list[str] = []
    current = ""
    for word in body.split(" "):
        candidate = f"{current} {word}" if current else word
        if width(candidate, font, size) <= line_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for char in word:
            if current and width(current + char, font, size) > line_width:
                lines.append(current)
                current = ""
            current += char
    lines.append(current)
    return [indent + line for line in lines]
