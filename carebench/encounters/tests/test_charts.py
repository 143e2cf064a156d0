from datetime import UTC, datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree

from carebench.encounters.charts import Point, Series, trend_svg


def _points(values, abnormal_at=()):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Point(start + timedelta(days=i), Decimal(v), i in abnormal_at) for i, v in enumerate(values)
    ]


def test_chart_is_well_formed_svg_with_band_and_marked_abnormal_points():
    svg = trend_svg(
        "Heart rate",
        "beats/min",
        [Series("Heart rate", _points([72, 80, 120], {2}))],
        band=(60, 100),
    )
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    circles = root.findall(f"{ns}circle")
    assert len(circles) == 3
    assert circles[2].get("fill") == "#b3261e"
    assert any(
        "normal range 60-100" in (r.findtext(f"{ns}title") or "") for r in root.findall(f"{ns}rect")
    )
    assert root.get("role") == "img"


def test_empty_series_says_so():
    svg = trend_svg("Weight", "kg", [Series("Weight", [])])
    assert "No weight recorded yet" in svg
    ElementTree.fromstring(svg)


def test_text_is_escaped():
    svg = trend_svg("<script>", "kg", [Series("<b>", _points([1, 2]))])
    assert "<script>" not in svg.replace("&lt;script&gt;", "")
    ElementTree.fromstring(svg)
