"""The printed 12-lead EKG page: PDF, PNG or SVG from a Recording (pure; matplotlib, no pyplot).

`render(recording, measurements, header, fmt)` draws a landscape page (US letter by default, A4 on
request) at true physical scale: 25 mm/s and 10 mm/mV, on a 1 mm grid with a bold 5 mm grid. The
whole page is one Axes whose data units are millimetres from the bottom-left corner of the paper,
so the scale is exact at any output resolution.

Layout: the standard 3 x 4 arrangement (I, aVR, V1, V4 / II, aVL, V2, V5 / III, aVF, V3, V6), each
column showing the next 2.5 s of the same 10 s, then a 10 s rhythm strip of lead II (or the first
lead when there is no II). Each row starts with a 1 mV, 200 ms calibration pulse. Leads the
recording lacks are drawn as labelled blank panels; derived leads are marked with `*`.

`header` keys: `name` and `birth_date` (the two patient identifiers), `mrn` (optional),
`acquired_at` (defaults to the recording's), and optionally `sex`, `age`, `clinic`, `title`,
`operator`. `measurements` keys are those of the analysis: heart_rate_bpm, pr_ms, qrs_ms, qt_ms,
qtc_bazett_ms, qtc_fridericia_ms, axis_deg, rhythm (list of strings), confirmed_by, confirmed_at;
any may be missing or None and is printed as "—". Without `confirmed_by` the page says
"Computer-measured, unconfirmed".
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib import rc_context
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from scipy import signal as sp_signal

from carebench.ekg.recording import Recording

MM_PER_S = 25.0
MM_PER_MV = 10.0
MM_PER_INCH = 25.4
PAPERS = {"letter": (279.4, 215.9), "a4": (297.0, 210.0)}  # landscape width, height in mm

LAYOUT = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
RHYTHM_LEAD = "II"
COLUMN_S = 2.5
STRIP_S = 10.0
CAL_MM = 10.0  # room at the start of each row for the calibration pulse
ROW_MM = 37.5  # height of a row (3 rows + rhythm strip = 150 mm of grid)
GRID_W_MM = CAL_MM + STRIP_S * MM_PER_S  # 260 mm
GRID_H_MM = 4 * ROW_MM  # 150 mm
DRAW_RATE_HZ = 500.0
PNG_DPI = 150
DASH = "—"

MINOR_COLOR = "#f6c6c6"
MAJOR_COLOR = "#e88a8a"
TRACE_COLOR = "#111111"
FORMATS = ("pdf", "png", "svg")


def _value(measurements: Mapping[str, Any], key: str, unit: str) -> str:
    value = measurements.get(key)
    if value is None:
        return DASH
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(number):
        return DASH
    return f"{number:.0f}{unit}" if unit == "°" else f"{number:.0f} {unit}".strip()


def _text(value: Any) -> str:
    return DASH if value in (None, "") else str(value)


def header_lines(
    recording: Recording, measurements: Mapping[str, Any], header: Mapping[str, Any]
) -> dict[str, list[str]]:
    """The header text by block (patient, measurements, findings); also used by the tests."""
    patient = [
        f"Name: {_text(header.get('name'))}",
        f"Date of birth: {_text(header.get('birth_date'))}",
    ]
    if header.get("mrn"):
        patient.append(f"MRN: {header['mrn']}")
    extra = ", ".join(str(header[k]) for k in ("sex", "age") if header.get(k))
    if extra:
        patient.append(extra)
    patient.append(f"Acquired: {_text(header.get('acquired_at') or recording.acquired_at)}")
    source = recording.device or recording.source_format
    if source:
        patient.append(f"Source: {source}")

    numbers = [
        f"HR: {_value(measurements, 'heart_rate_bpm', 'bpm')}",
        f"PR: {_value(measurements, 'pr_ms', 'ms')}",
        f"QRS: {_value(measurements, 'qrs_ms', 'ms')}",
        f"QT: {_value(measurements, 'qt_ms', 'ms')}",
        f"QTc Bazett: {_value(measurements, 'qtc_bazett_ms', 'ms')}",
        f"QTc Fridericia: {_value(measurements, 'qtc_fridericia_ms', 'ms')}",
        f"Axis: {_value(measurements, 'axis_deg', '°')}",
    ]

    rhythm = measurements.get("rhythm") or []
    if isinstance(rhythm, str):
        rhythm = [rhythm]
    findings = [str(r) for r in rhythm] or [DASH]
    if measurements.get("confirmed_by"):
        when = measurements.get("confirmed_at")
        status = f"Confirmed and signed by {measurements['confirmed_by']}"
        status += f" on {when}" if when else ""
    else:
        status = "Computer-measured, unconfirmed"
    return {"patient": patient, "measurements": numbers, "findings": findings, "status": [status]}


def _prepare(samples: np.ndarray, rate: float, seconds: float) -> tuple[np.ndarray, float]:
    """The first `seconds` of a lead at about DRAW_RATE_HZ, offset removed, NaN kept as gaps."""
    part = np.asarray(samples[: int(round(seconds * rate))], dtype=float)
    factor = int(rate // DRAW_RATE_HZ)
    if factor >= 2 and len(part) > 30 * factor and np.isfinite(part).all():
        part = sp_signal.decimate(part, factor, ftype="fir", zero_phase=True)
        rate = rate / factor
    finite = np.isfinite(part)
    if finite.any():
        part = part - float(np.median(part[finite]))
    return part, rate


def _grid(ax: Any, x0: float, y0: float) -> None:
    def lines(step: float, skip_every: int) -> list[list[tuple[float, float]]]:
        segs: list[list[tuple[float, float]]] = []
        for i in range(int(round(GRID_W_MM / step)) + 1):
            if skip_every and i % skip_every == 0:
                continue
            x = x0 + i * step
            segs.append([(x, y0), (x, y0 + GRID_H_MM)])
        for j in range(int(round(GRID_H_MM / step)) + 1):
            if skip_every and j % skip_every == 0:
                continue
            y = y0 + j * step
            segs.append([(x0, y), (x0 + GRID_W_MM, y)])
        return segs

    ax.add_collection(LineCollection(lines(1.0, 5), colors=MINOR_COLOR, linewidths=0.3))
    ax.add_collection(LineCollection(lines(5.0, 0), colors=MAJOR_COLOR, linewidths=0.7))


def _cal_pulse(x: float, y: float) -> np.ndarray:
    """A 1 mV x 200 ms square pulse starting at (x, y): 10 mm high, 5 mm wide."""
    high = y + MM_PER_MV
    w = 0.2 * MM_PER_S
    return np.array(
        [(x, y), (x + 2, y), (x + 2, high), (x + 2 + w, high), (x + 2 + w, y), (x + CAL_MM, y)]
    )


def _trace(samples: np.ndarray, rate: float, x: float, y: float) -> np.ndarray:
    t = np.arange(len(samples)) / rate
    return np.column_stack((x + t * MM_PER_S, y + samples * MM_PER_MV))


def render(
    recording: Recording,
    measurements: Mapping[str, Any] | None,
    header: Mapping[str, Any] | None,
    fmt: str = "pdf",
    paper: str = "letter",
) -> bytes:
    """The EKG page as PDF, PNG or SVG bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {', '.join(PAPERS)}, not {paper!r}")
    measurements = measurements or {}
    header = header or {}
    page_w, page_h = PAPERS[paper]
    fig = Figure(figsize=(page_w / MM_PER_INCH, page_h / MM_PER_INCH))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, page_w)
    ax.set_ylim(0, page_h)
    ax.set_axis_off()

    x0 = (page_w - GRID_W_MM) / 2
    y0 = 12.0  # footer below the grid
    _grid(ax, x0, y0)
    _draw_header(ax, recording, measurements, header, x0, y0 + GRID_H_MM + 4, page_w)

    rate = recording.sampling_rate_hz
    prepared: dict[str, tuple[np.ndarray, float]] = {}

    def lead(name: str, seconds: float) -> tuple[np.ndarray, float] | None:
        if name not in recording.leads or not rate:
            return None
        if name not in prepared:
            prepared[name] = _prepare(recording.leads[name], rate, STRIP_S)
        samples, drawn_rate = prepared[name]
        return samples, drawn_rate

    traces: list[np.ndarray] = []
    labels: list[tuple[float, float, str, bool]] = []  # x, y, text, blank
    derived = set(recording.derived_leads)
    for row, names in enumerate(LAYOUT):
        base = y0 + GRID_H_MM - ROW_MM * (row + 0.5)
        traces.append(_cal_pulse(x0, base))
        for col, name in enumerate(names):
            sx = x0 + CAL_MM + col * COLUMN_S * MM_PER_S
            got = lead(name, STRIP_S)
            label = name + ("*" if name in derived else "")
            if got is None:
                labels.append((sx, base, f"{name}: not recorded", True))
                continue
            samples, drawn_rate = got
            start, stop = (
                int(round(col * COLUMN_S * drawn_rate)),
                int(round((col + 1) * COLUMN_S * drawn_rate)),
            )
            piece = samples[start : stop + 1]
            if len(piece) > 1:
                traces.append(_trace(piece, drawn_rate, sx, base))
            labels.append((sx, base, label, False))
            if col:
                traces.append(np.array([(sx, base - 3), (sx, base + 3)]))  # column marker

    strip_name = RHYTHM_LEAD if RHYTHM_LEAD in recording.leads else next(iter(recording.leads), "")
    base = y0 + ROW_MM * 0.5
    traces.append(_cal_pulse(x0, base))
    got = lead(strip_name, STRIP_S) if strip_name else None
    if got is None:
        labels.append((x0 + CAL_MM, base, "Rhythm strip: no lead recorded", True))
    else:
        samples, drawn_rate = got
        traces.append(_trace(samples, drawn_rate, x0 + CAL_MM, base))
        labels.append((x0 + CAL_MM, base, f"{strip_name} (rhythm)", False))

    ax.add_collection(LineCollection(traces, colors=TRACE_COLOR, linewidths=0.6))
    for x, y, text, blank in labels:
        if blank:
            ax.text(x + 4, y, text, fontsize=7, color="#666666", va="center", style="italic")
        else:
            ax.text(x + 1, y + 8.5, text, fontsize=8, weight="bold", va="bottom")

    footer = f"{MM_PER_S:g} mm/s   {MM_PER_MV:g} mm/mV   {recording.sampling_rate_hz:g} Hz"
    if derived:
        footer += "   * derived from I and II"
    if recording.duration_s < STRIP_S:
        footer += f"   recording is {recording.duration_s:.1f} s (shorter than 10 s)"
    ax.text(x0, y0 - 3, footer, fontsize=7, va="top")
    ax.text(x0 + GRID_W_MM, y0 - 3, "carebench", fontsize=7, va="top", ha="right", color="#666")

    buffer = io.BytesIO()
    metadata: dict[str, Any] = {"Title": "12-lead EKG"} if fmt in ("pdf", "svg") else {}
    # real text in SVG and TrueType in PDF so the page is searchable; rc_context restores the
    # settings afterwards
    with rc_context({"svg.fonttype": "none", "pdf.fonttype": 42, "svg.hashsalt": "carebench"}):
        fig.savefig(buffer, format=fmt, dpi=PNG_DPI, metadata=metadata or None)
    return buffer.getvalue()


def _draw_header(
    ax: Any,
    recording: Recording,
    measurements: Mapping[str, Any],
    header: Mapping[str, Any],
    x0: float,
    y_bottom: float,
    page_w: float,
) -> None:
    blocks = header_lines(recording, measurements, header)
    top = y_bottom + 36
    title = header.get("title") or "12-lead EKG"
    if header.get("clinic"):
        title = f"{title}  —  {header['clinic']}"
    ax.text(x0, top, title, fontsize=11, weight="bold", va="top")
    body_top = top - 6
    _block(ax, x0, body_top, blocks["patient"])
    _block(ax, x0 + 85, body_top, blocks["measurements"][:4])
    _block(ax, x0 + 125, body_top, blocks["measurements"][4:])
    findings: Sequence[str] = blocks["findings"]
    _block(ax, x0 + 180, body_top, ["Rhythm / findings:", *findings[:5]])
    confirmed = bool(measurements.get("confirmed_by"))
    ax.text(
        x0 + GRID_W_MM,
        top,
        blocks["status"][0],
        fontsize=9,
        weight="bold",
        va="top",
        ha="right",
        color="#1b5e20" if confirmed else "#b71c1c",
    )


def _block(ax: Any, x: float, top: float, lines: Sequence[str]) -> None:
    ax.text(x, top, "\n".join(lines), fontsize=8, va="top", linespacing=1.35)
