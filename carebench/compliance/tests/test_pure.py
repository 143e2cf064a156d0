"""The pure engines: ranges, the data-logger CSV reader, the SVG chart."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from carebench.compliance import chart, logger_csv, ranges

DATA = Path(__file__).parent / "data"
SVG = "{http://www.w3.org/2000/svg}"


def test_ranges_name_each_value_out_of_range():
    assert ranges.out_of_range("refrigerator", Decimal("5.0"), Decimal("2.1"), Decimal("8.0")) == []
    assert ranges.out_of_range("refrigerator", Decimal("5.0"), Decimal("1.5"), Decimal("9.5")) == [
        "min 1.5 °C",
        "max 9.5 °C",
    ]
    assert ranges.out_of_range("freezer", Decimal("-12")) == ["current -12 °C"]
    assert ranges.out_of_range("room", Decimal("30")) == []  # no range: logged only


def test_fahrenheit_file_with_preamble_is_converted_to_celsius():
    parsed = logger_csv.parse_logger_csv((DATA / "logtag_fahrenheit.csv").read_text("utf-8"))
    assert parsed.unit == "F"
    assert parsed.time_columns == ("Date", "Time")
    assert [r.celsius for r in parsed.rows] == [
        Decimal("4.5"),
        Decimal("5.0"),
        Decimal("4.0"),
        Decimal("9.0"),
        Decimal("6.0"),
    ]
    assert parsed.rows[0].at == datetime(2026, 11, 2, 8, 0)
    assert parsed.rows[0].line == 6


def test_celsius_timestamp_column_and_extra_columns():
    parsed = logger_csv.parse_logger_csv((DATA / "celsius_timestamp.csv").read_text("utf-8"))
    assert parsed.unit == "C" and parsed.temperature_column == "Temperature °C"
    assert [r.celsius for r in parsed.rows] == [Decimal("4.6"), Decimal("4.8"), Decimal("5.0")]


def test_a_bad_row_is_named_by_line_and_column():
    with pytest.raises(logger_csv.LoggerCsvError) as caught:
        logger_csv.parse_logger_csv((DATA / "bad_row.csv").read_text("utf-8"))
    assert caught.value.problems == [
        "line 3, column 'Temperature (°F)': 'forty' is not a temperature"
    ]


def test_unit_must_be_said_when_the_header_does_not():
    text = "Timestamp,Temperature\n2026-11-02 08:00,4.5\n"
    with pytest.raises(logger_csv.LoggerCsvError, match="does not say °C or °F"):
        logger_csv.parse_logger_csv(text)
    assert logger_csv.parse_logger_csv(text, unit="F").rows[0].celsius == Decimal("-15.3")
    with pytest.raises(logger_csv.LoggerCsvError, match="was chosen"):
        logger_csv.parse_logger_csv("Timestamp,Temp (C)\n2026-11-02 08:00,4.5\n", unit="F")


def test_no_header_and_duplicate_times_are_refused():
    with pytest.raises(logger_csv.LoggerCsvError, match="no header row"):
        logger_csv.parse_logger_csv("a,b\n1,2\n")
    with pytest.raises(logger_csv.LoggerCsvError, match="line 3: the same time as line 2"):
        logger_csv.parse_logger_csv(
            "Timestamp,Temp (C)\n2026-11-02 08:00,4.5\n2026-11-02 08:00,4.6\n"
        )


def test_chart_svg_parses_with_a_point_per_reading_and_excursions_marked():
    start = datetime(2026, 11, 1, tzinfo=UTC)
    points = [
        chart.ChartPoint(at=start + timedelta(hours=12 * i), value=Decimal(v), out_of_range=bad)
        for i, (v, bad) in enumerate([("4.5", False), ("5.1", False), ("9.5", True), ("6", False)])
    ]
    points[1] = chart.ChartPoint(
        at=points[1].at, value=Decimal("5.1"), minimum=Decimal("3.9"), maximum=Decimal("6.2")
    )
    svg = chart.temperature_svg(
        "Vaccine fridge <1>",
        points,
        start=start,
        end=start + timedelta(days=3),
        band=ranges.range_for("refrigerator"),
    )
    root = ET.fromstring(svg)
    circles = root.findall(f"{SVG}circle")
    assert len(circles) == 4
    bad = [c for c in circles if "excursion" in c.get("class", "")]
    assert len(bad) == 1 and "9.5 °C" in bad[0].find(f"{SVG}title").text
    assert root.find(f"{SVG}rect[@class='band']") is not None
    assert len(root.findall(f"{SVG}line[@class='minmax']")) == 1
    assert len(root.find(f"{SVG}polyline").get("points").split()) == 4
    assert "Vaccine fridge <1>" in root.find(f"{SVG}title").text  # escaped, then parsed back


def test_chart_without_readings_says_so():
    start = datetime(2026, 11, 1, tzinfo=UTC)
    svg = chart.temperature_svg("Fridge", [], start=start, end=start + timedelta(days=1))
    assert "No readings" in "".join(ET.fromstring(svg).itertext())
