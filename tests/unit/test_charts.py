"""The statistics pages' SVG charts (chalicelib/web/charts.py): the numbers are in the drawing and in
its description, labels are escaped, empty data says so, and the drawing scales to a phone."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from chalicelib.web import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parsed(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # well-formed XML, or this raises


def test_a_bar_chart_shows_each_value_in_its_bars_and_its_description() -> None:
    svg = charts.bar_chart("Tỉ lệ đúng hạn theo cơ quan (%)", [
        {"label": "Sở Xây dựng", "value": 87.5, "href": "/staff/thong-ke/phan-anh?figure=answered&agency=so-xay-dung"},
        {"label": "Công an tỉnh", "value": 100.0},
        {"label": "Sở Y tế", "value": None}], unit="%", max_value=100)
    root = _parsed(svg)
    assert root.get("role") == "img" and root.find(f"{SVG}title").text == "Tỉ lệ đúng hạn theo cơ quan (%)"
    assert root.find(f"{SVG}desc").text == "Sở Xây dựng: 87,5%; Công an tỉnh: 100%; Sở Y tế: –"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["Sở Xây dựng", "87,5%", "Công an tỉnh", "100%", "Sở Y tế", "–"]
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] < widths[1] and widths[2] == 0  # 87.5 is shorter than 100; no value, no bar
    assert [a.get("href") for a in root.iter(f"{SVG}a")] == ["/staff/thong-ke/phan-anh?figure=answered&agency=so-xay-dung"]
    assert 'width="100%"' in svg and "viewBox" in svg  # scales down to a phone's width


def test_labels_are_escaped_never_markup() -> None:
    hostile = '<script>alert(1)</script> & "Sở"'
    svg = str(charts.bar_chart(hostile, [{"label": hostile, "value": 3}]))
    svg += str(charts.line_chart(hostile, [hostile], [{"name": hostile, "values": [1]}]))
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Sở&quot;" in svg
    for part in re.findall(r"<svg.*?</svg>", svg):
        _parsed(part)


def test_a_line_chart_draws_a_point_per_bucket_and_says_every_number() -> None:
    svg = charts.line_chart("Tiếp nhận và trả lời", ["01/11", "02/11", "03/11"], [
        {"name": "Tiếp nhận", "values": [12, 30, 7]}, {"name": "Đã trả lời", "values": [4, 9, 0]}])
    root = _parsed(svg)
    assert len(list(root.iter(f"{SVG}polyline"))) == 2
    assert len(list(root.iter(f"{SVG}circle"))) == 6
    assert root.find(f"{SVG}desc").text == ("Tiếp nhận: 01/11 12, 02/11 30, 03/11 7; "
                                           "Đã trả lời: 01/11 4, 02/11 9, 03/11 0")
    # the highest point is the 30 received on 02/11, at the top of the plot
    tops = {c.find(f"{SVG}title").text: float(c.get("cy")) for c in root.iter(f"{SVG}circle")}
    assert min(tops, key=tops.__getitem__) == "Tiếp nhận · 02/11: 30"
    assert "30" in [t.text for t in root.iter(f"{SVG}text")]  # the scale's top


def test_empty_data_says_there_are_no_figures() -> None:
    for svg in (charts.bar_chart("Tồn đọng", []), charts.line_chart("Xu hướng", [], []),
                charts.line_chart("Tỉ lệ", ["01/11"], [{"name": "Đúng hạn", "values": [None]}])):
        root = _parsed(svg)
        assert root.find(f"{SVG}desc").text == charts.EMPTY
        assert charts.EMPTY in [t.text for t in root.iter(f"{SVG}text")]


def test_buckets_and_dates_read_as_people_write_them() -> None:
    from chalicelib.web.stats_views import bucket_text, date_text

    assert [bucket_text(b) for b in ("2026-11-30", "2026-W49", "2026-11", "2026-Q4", "2026")] == \
        ["30/11", "T49/2026", "11/2026", "Q4/2026", "2026"]
    assert date_text("2026-11-01") == "01/11/2026" and date_text(None) == ""
