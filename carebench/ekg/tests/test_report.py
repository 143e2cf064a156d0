"""The printed EKG page: formats, physical scale, header text, missing leads and speed."""

from __future__ import annotations

import io
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib import image as mpimg

from carebench.ekg import report
from carebench.ekg.importers import load
from carebench.ekg.recording import Recording

MEASUREMENTS = {
    "heart_rate_bpm": 72,
    "pr_ms": 160,
    "qrs_ms": 94,
    "qt_ms": 380,
    "qtc_bazett_ms": 415.4,
    "qtc_fridericia_ms": 403,
    "axis_deg": -30,
    "rhythm": ["Sinus rhythm", "Left axis deviation"],
}
HEADER = {"name": "Jane Doe", "birth_date": "1909-01-01", "mrn": "PTB0010"}


def _data_dir() -> Path | None:
    env = os.environ.get("CAREBENCH_ECG_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[4] / "shared" / "data" / "ecg")
    return next((p for p in candidates if p.is_dir()), None)


@pytest.fixture(scope="module")
def ecg_data() -> Path:
    found = _data_dir()
    if found is None:
        pytest.skip("shared ECG recordings not found (../shared/data/ecg or $CAREBENCH_ECG_DATA)")
    return found


@pytest.fixture(scope="module")
def ptb(ecg_data) -> Recording:
    return load(ecg_data / "ptbdb/s0010_re")


def _svg_text(svg: bytes) -> str:
    root = ET.fromstring(svg)
    return " ".join(t for el in root.iter() for t in (el.text or "",) if t.strip())


def test_all_three_formats(ptb):
    pdf = report.render(ptb, MEASUREMENTS, HEADER, "pdf")
    png = report.render(ptb, MEASUREMENTS, HEADER, "png")
    svg = report.render(ptb, MEASUREMENTS, HEADER, "svg")
    assert pdf.startswith(b"%PDF")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")


@pytest.mark.parametrize(("paper", "width_mm"), [("letter", 279.4), ("a4", 297.0)])
def test_page_size_and_scale(ptb, paper, width_mm):
    svg = report.render(ptb, MEASUREMENTS, HEADER, "svg", paper=paper)
    root = ET.fromstring(svg)
    width_pt = float(root.attrib["width"].removesuffix("pt"))
    assert width_pt / 72 * 25.4 == pytest.approx(width_mm, rel=0.01)
    # the page's data units are millimetres, so a 10 s strip spans this much paper:
    strip_mm = report.GRID_W_MM - report.CAL_MM
    assert strip_mm / report.STRIP_S == pytest.approx(25.0, rel=0.01)  # mm/s
    assert report.COLUMN_S * 4 == report.STRIP_S


def test_calibration_pulse_measures_10_mm_by_5_mm(ptb):
    """Measure the first row's calibration pulse in the PNG: 1 mV = 10 mm, 200 ms = 5 mm."""
    png = report.render(ptb, MEASUREMENTS, HEADER, "png")
    pixels = mpimg.imread(io.BytesIO(png))
    px_per_mm = report.PNG_DPI / 25.4
    page_w, page_h = report.PAPERS["letter"]
    x0 = (page_w - report.GRID_W_MM) / 2
    top_base_mm = 12.0 + report.GRID_H_MM - report.ROW_MM * 0.5  # first row's baseline
    # crop the calibration area of the first row (image y grows downwards)
    left = int((x0 + 1) * px_per_mm)
    right = int((x0 + report.CAL_MM - 1) * px_per_mm)
    bottom = int((page_h - top_base_mm + 2) * px_per_mm)
    top = int((page_h - top_base_mm - 12) * px_per_mm)
    crop = pixels[top:bottom, left:right, :3].mean(axis=2)
    dark = crop < 0.35
    rows = np.flatnonzero(dark.any(axis=1))
    height_mm = (rows[-1] - rows[0]) / px_per_mm
    assert height_mm == pytest.approx(10.0, abs=0.5)
    top_row = dark[rows[0] : rows[0] + 2].any(axis=0)
    cols = np.flatnonzero(top_row)
    width_mm = (cols[-1] - cols[0]) / px_per_mm
    assert width_mm == pytest.approx(5.0, abs=0.5)


def test_header_identifiers_and_unconfirmed(ptb):
    text = _svg_text(report.render(ptb, MEASUREMENTS, HEADER, "svg"))
    for expected in (
        "Jane Doe",
        "1909-01-01",
        "PTB0010",
        "unconfirmed",
        "HR: 72 bpm",
        "QTc Bazett: 415 ms",
        "QTc Fridericia: 403 ms",
        "Axis: -30°",
        "Sinus rhythm",
        "25 mm/s",
        "10 mm/mV",
    ):
        assert expected in text, expected
    for lead in ("aVR", "V6", "II (rhythm)"):
        assert lead in text


def test_confirmed_by(ptb):
    measurements = {
        **MEASUREMENTS,
        "confirmed_by": "Dr. A. Smith",
        "confirmed_at": "2024-05-01 10:00",
    }
    text = _svg_text(report.render(ptb, measurements, HEADER, "svg"))
    assert "Confirmed and signed by Dr. A. Smith on 2024-05-01 10:00" in text
    assert "unconfirmed" not in text


def test_missing_measurements_print_dashes(ptb):
    lines = report.header_lines(ptb, {"pr_ms": None}, {"name": "X"})
    assert "PR: —" in lines["measurements"]
    assert "HR: —" in lines["measurements"]
    assert "Date of birth: —" in lines["patient"]
    assert lines["status"] == ["Computer-measured, unconfirmed"]


def test_two_lead_record_draws_blank_panels(ecg_data):
    rec = load(ecg_data / "qtdb/sel100")
    svg = report.render(rec, {}, HEADER, "svg")
    text = _svg_text(svg)
    assert "aVR: not recorded" in text
    assert "V1: not recorded" in text
    assert "II (rhythm)" in text
    assert report.render(rec, {}, HEADER, "pdf").startswith(b"%PDF")


def test_derived_leads_are_marked(ecg_data):
    rec = load(ecg_data / "formats/generated/s0010_muse.xml")
    text = _svg_text(report.render(rec, MEASUREMENTS, HEADER, "svg"))
    assert "III*" in text
    assert "derived from I and II" in text


def test_short_recording_and_bad_format():
    rate = 500.0
    t = np.arange(int(3 * rate)) / rate
    rec = Recording(rate, {"I": np.sin(t), "II": np.cos(t)}, "csv")
    assert report.render(rec, None, None, "png").startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="format"):
        report.render(rec, {}, {}, "jpeg")


def test_no_pyplot_state(ptb):
    before = dict(matplotlib.rcParams)
    report.render(ptb, MEASUREMENTS, HEADER, "svg")
    assert dict(matplotlib.rcParams) == before
    import sys

    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []


def test_render_time(ptb):
    report.render(ptb, MEASUREMENTS, HEADER, "pdf")  # start-up: fonts, caches
    times = {}
    for fmt in report.FORMATS:
        start = time.perf_counter()
        report.render(ptb, MEASUREMENTS, HEADER, fmt)
        times[fmt] = time.perf_counter() - start
    print("render seconds:", {k: round(v, 3) for k, v in times.items()})
    assert max(times.values()) < 3.0
