"""Trend charts as server-made SVG (pure; no Django): one series (two for blood pressure)
over time, with the normal band shaded and abnormal points marked.

Text is escaped; the SVG uses no scripts or inline styles (the pages' CSP forbids them), only
presentation attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 32


@dataclass(frozen=True)
class Point:
    at: datetime
    value: Decimal
    abnormal: bool = False


@dataclass(frozen=True)
class Series:
    name: str
    points: list[Point]
    color: str = "#2f6f8f"


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def trend_svg(
    title: str, unit: str, series: list[Series], *, band: tuple[float, float] | None = None
) -> str:
    """An accessible SVG line chart. `band` is the normal range to shade."""
    points = [p for s in series for p in s.points]
    label = escape(f"{title} trend ({unit})")
    if not points:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{label}" '
            f'viewBox="0 0 {WIDTH} 60" width="100%"><text x="10" y="35" '
            f'font-size="14" fill="#555">No {escape(title.lower())} recorded yet</text></svg>'
        )
    values = [float(p.value) for p in points]
    low = min(values + ([band[0]] if band else []))
    high = max(values + ([band[1]] if band else []))
    pad = (high - low) * 0.1 or 1.0
    low, high = low - pad, high + pad
    times = [p.at.timestamp() for p in points]
    t0, t1 = min(times), max(times)
    span = (t1 - t0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        if t1 == t0:
            return LEFT + plot_w / 2
        return LEFT + (at.timestamp() - t0) / span * plot_w

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{label}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" class="trend">',
        f"<title>{label}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fbfcfd" '
        f'stroke="#d5dde3"/>',
    ]
    if band:
        top, bottom = y(band[1]), y(band[0])
        parts.append(
            f'<rect x="{LEFT}" y="{top:.1f}" width="{plot_w}" '
            f'height="{bottom - top:.1f}" fill="#e3f2e6"><title>normal range '
            f"{_fmt(band[0])}-{_fmt(band[1])} {escape(unit)}</title></rect>"
        )
    for tick in range(5):
        value = low + (high - low) * tick / 4
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#555">{_fmt(value)}</text>'
        )
    first, last = min(points, key=lambda p: p.at).at, max(points, key=lambda p: p.at).at
    parts.append(
        f'<text x="{LEFT}" y="{HEIGHT - 10}" font-size="11" fill="#555">{first:%Y-%m-%d}</text>'
    )
    parts.append(
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 10}" font-size="11" '
        f'text-anchor="end" fill="#555">{last:%Y-%m-%d}</text>'
    )
    for s in series:
        ordered = sorted(s.points, key=lambda p: p.at)
        if len(ordered) > 1:
            path = " ".join(f"{x(p.at):.1f},{y(float(p.value)):.1f}" for p in ordered)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="2"/>'
            )
        for p in ordered:
            fill = "#b3261e" if p.abnormal else s.color
            parts.append(
                f'<circle cx="{x(p.at):.1f}" cy="{y(float(p.value)):.1f}" r="4" '
                f'fill="{fill}"><title>{escape(s.name)} {_fmt(float(p.value))} '
                f"{escape(unit)} on {p.at:%Y-%m-%d %H:%M}"
                f"{' (abnormal)' if p.abnormal else ''}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)
