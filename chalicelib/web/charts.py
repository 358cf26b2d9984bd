"""Charts of the statistics pages, drawn on the server as inline SVG: no JavaScript, no external file,
nothing for the Content-Security-Policy to allow, and printable. Pure: numbers in, markup out.

Every chart is `role="img"` with a <title> and a <desc> that says its numbers in words, so a screen
reader hears the figures; the page puts the same numbers in a <table> beside it. Every label is
escaped (an agency's or a category's name is data an admin typed). The drawing scales to its
container (viewBox, width 100%), so a phone never scrolls sideways.
"""
from __future__ import annotations

from html import escape
from typing import Any, Sequence

from markupsafe import Markup

COLOURS = ("#14213d", "#a4161a", "#1b6b2f", "#b36b00")
EMPTY = "Chưa có số liệu trong khoảng thời gian này."


def _e(text: Any) -> str:
    return escape(str(text), quote=True)


def _number(value: float | int | None, unit: str = "") -> str:
    if value is None:
        return "–"
    text = f"{value:.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return text.replace(".", ",") + unit


def _frame(width: int, height: int, title: str, desc: str, body: str, css_class: str) -> Markup:
    return Markup(f'<svg class="chart {css_class}" role="img" viewBox="0 0 {width} {height}" width="100%" '
                  f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg" '
                  f'style="max-width:{width}px;height:auto">'
                  f'<title>{_e(title)}</title><desc>{_e(desc)}</desc>{body}</svg>')


def _empty(title: str, css_class: str) -> Markup:
    return _frame(480, 40, title, EMPTY, f'<text x="0" y="24" font-size="14" fill="#555">{_e(EMPTY)}</text>',
                  css_class)


def bar_chart(title: str, bars: Sequence[dict[str, Any]], unit: str = "", max_value: float | None = None,
              css_class: str = "bars") -> Markup:
    """Horizontal bars, one per {label, value[, href][, note]}: the label above its bar, the value at the
    bar's end; a bar with an href links to the list behind it. `max_value` fixes the scale (100 for %);
    a None value is drawn as no bar and said as "–"."""
    if not bars:
        return _empty(title, css_class)
    width, row, label_h, bar_h = 480, 44, 16, 18
    top = max([max_value or 0] + [float(b["value"] or 0) for b in bars]) or 1
    room = width - 130  # the value's text (and its note) after the longest bar
    parts = []
    for i, bar in enumerate(bars):
        y = i * row
        value = bar.get("value")
        length = 0 if value is None else max(1.0, float(value) / top * room) if value else 0
        shown = _number(value, unit) + (f" {bar['note']}" if bar.get("note") else "")
        drawn = (f'<text x="0" y="{y + 13}" font-size="13" fill="#1b1b1b">{_e(bar["label"])}</text>'
                 f'<rect x="0" y="{y + label_h + 2}" width="{length:.1f}" height="{bar_h}" fill="{COLOURS[0]}">'
                 f'<title>{_e(bar["label"])}: {_e(shown)}</title></rect>'
                 f'<text x="{length + 6:.1f}" y="{y + label_h + 15}" font-size="13" font-weight="700" '
                 f'fill="#1b1b1b">{_e(shown)}</text>')
        parts.append(f'<a href="{_e(bar["href"])}">{drawn}</a>' if bar.get("href") else drawn)
    desc = "; ".join(f"{b['label']}: {_number(b.get('value'), unit)}" for b in bars)
    return _frame(width, len(bars) * row, title, desc, "".join(parts), css_class)


def line_chart(title: str, labels: Sequence[str], series: Sequence[dict[str, Any]], unit: str = "",
               max_value: float | None = None, css_class: str = "lines") -> Markup:
    """Lines over buckets: `labels` along the bottom, each series {name, values} a line with a dot per
    bucket (one bucket: dots only), a legend on top. `max_value` fixes the scale (100 for %)."""
    values = [v for s in series for v in s["values"] if v is not None]
    if not labels or not values:
        return _empty(title, css_class)
    width, height, left, right, top_pad, bottom = 480, 240, 40, 10, 30, 40
    top = max([max_value or 0] + [float(v) for v in values]) or 1
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    step = plot_w / max(1, len(labels) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (i * step if len(labels) > 1 else plot_w / 2)
        return x, top_pad + plot_h - float(v) / top * plot_h

    parts = [f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - right}" y2="{top_pad + plot_h}" stroke="#999"/>',
             f'<text x="{left - 4}" y="{top_pad + 4}" font-size="11" text-anchor="end" fill="#555">'
             f'{_e(_number(int(top) if top == int(top) else top, unit))}</text>',
             f'<text x="{left - 4}" y="{top_pad + plot_h}" font-size="11" text-anchor="end" fill="#555">0</text>']
    every = max(1, -(-len(labels) // 7))  # at most 7 labels along the bottom
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            x, _ = xy(i, 0)
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" font-size="11" text-anchor="middle" '
                         f'fill="#555">{_e(label)}</text>')
    for n, line in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        points = [(i, v) for i, v in enumerate(line["values"]) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in points))
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for i, v in points:
            x, y = xy(i, v)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                         f'<title>{_e(line["name"])} · {_e(labels[i])}: {_e(_number(v, unit))}</title></circle>')
        parts.append(f'<rect x="{left + n * 150}" y="4" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{left + n * 150 + 16}" y="15" font-size="12" fill="#1b1b1b">{_e(line["name"])}</text>')
    desc = "; ".join(f"{s['name']}: " + ", ".join(f"{label} {_number(v, unit)}" for label, v in zip(labels, s["values"]))
                     for s in series)
    return _frame(width, height, title, desc, "".join(parts), css_class)
