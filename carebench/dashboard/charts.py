"""Small SVG bar charts for the dashboard (pure; no Django, no JavaScript).

A picture reads faster than a table for "which step is slow" and "where are the claims":
horizontal bars, a label and the value at the end of each bar, an optional marker line
(the step's threshold). Text is escaped; the SVG has a <title> for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str = ""  # shown at the end of the bar (default: the value)
    marker: float | None = None  # a threshold line across this bar
    alert: bool = False


ROW = 26
LABEL_WIDTH = 170
BAR_WIDTH = 300
VALUE_WIDTH = 90


def bar_chart(title: str, bars: Sequence[Bar]) -> str:
    height = max(len(bars), 1) * ROW + 8
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    top = max([b.value for b in bars] + [b.marker or 0 for b in bars] + [1.0])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="bar-chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f"<title>{escape(title)}</title>",
    ]
    for index, bar in enumerate(bars):
        y = 4 + index * ROW
        length = BAR_WIDTH * max(bar.value, 0) / top
        fill = "#b3261e" if bar.alert else "#2f6f8f"
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end" '
            f'font-size="13">{escape(bar.label)}</text>'
        )
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{length:.1f}" height="{ROW - 8}" '
            f'fill="{fill}"><title>{escape(bar.label)}: {escape(bar.text or str(bar.value))}'
            "</title></rect>"
        )
        if bar.marker is not None:
            x = LABEL_WIDTH + BAR_WIDTH * bar.marker / top
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y + 1}" y2="{y + ROW - 1}" '
                'stroke="#444" stroke-dasharray="3 2"/>'
            )
        parts.append(
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 17}" font-size="13">'
            f"{escape(bar.text or f'{bar.value:g}')}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
