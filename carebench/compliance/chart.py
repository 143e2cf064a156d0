"""A storage unit's temperatures over a date range as an SVG line chart (pure; no Django).

The acceptable band is shaded, each reading is a point on the line (min/max thermometer values,
when given, are a thin whisker through it), and readings outside the band are marked in red
with their value. No scripts or inline styles (the pages' CSP forbids them): presentation
attributes only, and every text escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 16, 36
LINE, BAND, BAD, GRID = "#2f6f8f", "#e3f2e6", "#b42318", "#d5dde3"


@dataclass(frozen=True)
class ChartPoint:
    at: datetime
    value: Decimal
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    out_of_range: bool = False


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def temperature_svg(
    title: str,
    points: list[ChartPoint],
    *,
    start: datetime,
    end: datetime,
    band: tuple[Decimal, Decimal] | None = None,
    zone: tzinfo | None = None,
) -> str:
    """An accessible SVG chart of `points` between `start` and `end` (aware datetimes)."""
    label = escape(
        f"{title}: temperatures (°C) {start.astimezone(zone):%m/%d/%Y} to "
        f"{end.astimezone(zone):%m/%d/%Y}"
    )
    shown = sorted((p for p in points if start <= p.at <= end), key=lambda p: p.at)
    if not shown:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{label}" '
            f'viewBox="0 0 {WIDTH} 60" width="100%"><title>{label}</title><text x="10" y="35" '
            f'font-size="14" fill="#555">No readings in these dates</text></svg>'
        )
    values = [float(v) for p in shown for v in (p.value, p.minimum, p.maximum) if v is not None]
    if band:
        values += [float(band[0]), float(band[1])]
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or 1.0
    low, high = low - pad, high + pad
    t0, t1 = start.timestamp(), end.timestamp()
    span = (t1 - t0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        return LEFT + (at.timestamp() - t0) / span * plot_w

    def y(value: float | Decimal) -> float:
        return TOP + (high - float(value)) / (high - low) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{label}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" class="temperature-chart">',
        f"<title>{label}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fbfcfd" '
        f'stroke="{GRID}"/>',
    ]
    if band:
        top, bottom = y(band[1]), y(band[0])
        parts.append(
            f'<rect class="band" x="{LEFT}" y="{top:.1f}" width="{plot_w}" '
            f'height="{bottom - top:.1f}" fill="{BAND}"><title>acceptable '
            f"{band[0]} to {band[1]} °C</title></rect>"
        )
        for band_edge in band:
            parts.append(
                f'<text x="{LEFT - 6}" y="{y(band_edge) + 4:.1f}" font-size="11" text-anchor="end" '
                f'fill="#333">{_fmt(float(band_edge))}</text>'
            )
    for edge in (low, high):
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(edge) + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#777">{_fmt(edge)}</text>'
        )
    ticks = 4
    for i in range(ticks + 1):
        at = datetime.fromtimestamp(t0 + span * i / ticks, tz=start.tzinfo).astimezone(zone)
        tx = LEFT + plot_w * i / ticks
        anchor = "start" if i == 0 else "end" if i == ticks else "middle"
        parts.append(
            f'<line x1="{tx:.1f}" y1="{TOP}" x2="{tx:.1f}" y2="{TOP + plot_h}" stroke="{GRID}" '
            f'stroke-dasharray="2 3"/>'
            f'<text x="{tx:.1f}" y="{HEIGHT - 12}" font-size="11" text-anchor="{anchor}" '
            f'fill="#333">{at:%m/%d %H:%M}</text>'
        )
    line = " ".join(f"{x(p.at):.1f},{y(p.value):.1f}" for p in shown)
    parts.append(f'<polyline points="{line}" fill="none" stroke="{LINE}" stroke-width="1.5"/>')
    for p in shown:
        px = x(p.at)
        if p.minimum is not None and p.maximum is not None:
            parts.append(
                f'<line class="minmax" x1="{px:.1f}" y1="{y(p.maximum):.1f}" x2="{px:.1f}" '
                f'y2="{y(p.minimum):.1f}" stroke="{BAD if p.out_of_range else LINE}" '
                f'stroke-opacity="0.5"/>'
            )
        extra = ""
        if p.minimum is not None or p.maximum is not None:
            extra = (
                f" (min {p.minimum if p.minimum is not None else '?'}, max "
                f"{p.maximum if p.maximum is not None else '?'})"
            )
        when = p.at.astimezone(zone)
        tip = escape(f"{when:%m/%d/%Y %H:%M}: {p.value} °C{extra}")
        if p.out_of_range:
            parts.append(
                f'<circle class="reading excursion" cx="{px:.1f}" cy="{y(p.value):.1f}" r="4.5" '
                f'fill="{BAD}" stroke="#fff"><title>out of range: {tip}</title></circle>'
            )
        else:
            parts.append(
                f'<circle class="reading" cx="{px:.1f}" cy="{y(p.value):.1f}" r="3" '
                f'fill="{LINE}"><title>{tip}</title></circle>'
            )
    parts.append("</svg>")
    return "".join(parts)
