"""Vector charts for the report, written as SVG by hand: small, deterministic, no libraries.

Each function takes figures that are already computed (integers in minor units) and the
words to print, already translated, and returns SVG markup that WeasyPrint embeds as vector
graphics. Coordinates are printed with two decimals and nothing depends on the clock or on
dictionary order, so the same figures always give the same bytes. Every chart carries a
<title> and <desc> for readers that cannot see it, and the report prints the same figures as
tables beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from giving.reports.data import Series

FONT = "Noto Sans CJK SC, Noto Sans, DejaVu Sans, sans-serif"
COLOUR_IN = "#1f6f50"
COLOUR_OUT = "#b4461f"
COLOUR_HELD = "#1d3f7a"
COLOUR_BUDGET = "#555555"
COLOUR_AXIS = "#444444"
COLOUR_GRID = "#d9d9d9"


def _n(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros ("12.5", "3")."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def nice_step(maximum: int, ticks: int = 4) -> int:
    """A step of 1, 2 or 5 times a power of ten giving at most ``ticks`` steps to ``maximum``."""
    if maximum <= 0:
        return 1
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if -(-maximum // step) <= ticks:
                return step
        magnitude *= 10


@dataclass(frozen=True)
class ChartWords:
    title: str
    description: str
    money_in: str = ""
    money_out: str = ""
    held: str = ""
    budget: str = ""


def _text(x: float, y: float, content: str, *, anchor: str = "start", size: float = 8) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" text-anchor="{anchor}" '
        f'fill="{COLOUR_AXIS}">{escape(content)}</text>'
    )


def _open(width: int, height: int, words: ChartWords) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family={quoteattr(FONT)}>',
        f"<title>{escape(words.title)}</title>",
        f"<desc>{escape(words.description)}</desc>",
    ]


def money_over_time(
    series: Series,
    words: ChartWords,
    *,
    amount_label: Callable[[int], str],
    period_label: Callable[[int], str],
    width: int = 640,
    height: int = 260,
) -> str:
    """Bars of money in and out per period, and a line of what the fund held after each."""
    left, right, top, bottom = 78, 12, 28, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    points = series.points
    peak = max([max(p.money_in, p.money_out, p.held_after) for p in points] + [1])
    low = min([p.held_after for p in points] + [0])
    step = nice_step(peak)
    top_value = step * -(-peak // step)
    bottom_value = -step * -(low // step) if low < 0 else 0
    span = top_value - bottom_value

    def y_of(value: int) -> float:
        return top + plot_h * (top_value - value) / span

    out = _open(width, height, words)
    value = bottom_value
    while value <= top_value:
        y = y_of(value)
        out.append(
            f'<line x1="{left}" y1="{_n(y)}" x2="{width - right}" y2="{_n(y)}" '
            f'stroke="{COLOUR_GRID}" stroke-width="0.5"/>'
        )
        out.append(_text(left - 4, y + 3, amount_label(value), anchor="end", size=7))
        value += step
    zero = y_of(0)
    out.append(
        f'<line x1="{left}" y1="{_n(zero)}" x2="{width - right}" y2="{_n(zero)}" '
        f'stroke="{COLOUR_AXIS}" stroke-width="0.8"/>'
    )
    count = max(len(points), 1)
    slot = plot_w / count
    bar = max(min(slot * 0.38, 18.0), 0.6)
    label_every = max(1, -(-count // 12))
    held_path: list[str] = []
    for index, point in enumerate(points):
        x0 = left + slot * index + slot / 2
        for offset, amount, colour in (
            (-bar, point.money_in, COLOUR_IN),
            (0.0, point.money_out, COLOUR_OUT),
        ):
            if amount:
                y = y_of(amount)
                out.append(
                    f'<rect x="{_n(x0 + offset)}" y="{_n(y)}" width="{_n(bar)}" '
                    f'height="{_n(zero - y)}" fill="{colour}"/>'
                )
        held_path.append(f"{'M' if index == 0 else 'L'}{_n(x0)} {_n(y_of(point.held_after))}")
        if index % label_every == 0:
            out.append(
                _text(x0, height - bottom + 12, period_label(index), anchor="middle", size=7)
            )
    if held_path:
        out.append(
            f'<path d="{" ".join(held_path)}" fill="none" stroke="{COLOUR_HELD}" '
            f'stroke-width="1.4"/>'
        )
    legend_y = height - 10
    for index, (label, colour) in enumerate(
        ((words.money_in, COLOUR_IN), (words.money_out, COLOUR_OUT), (words.held, COLOUR_HELD))
    ):
        x = left + index * 170
        out.append(f'<rect x="{x}" y="{legend_y - 7}" width="9" height="9" fill="{colour}"/>')
        out.append(_text(x + 13, legend_y + 1, label, size=8))
    out.append(_text(left, 14, series.currency, size=8))
    out.append("</svg>")
    return "\n".join(out)


def spending_by_category(
    rows: Sequence[tuple[str, int, int | None]],
    words: ChartWords,
    *,
    amount_label: Callable[[int], str],
    width: int = 640,
) -> str:
    """Horizontal bars of spending per category (label, actual, budget or None)."""
    row_h, top, left, right = 26, 14, 110, 150
    height = top + row_h * max(len(rows), 1) + 26
    plot_w = width - left - right
    peak = max([max(actual, budget or 0) for _, actual, budget in rows] + [1])
    out = _open(width, height, words)
    for index, (label, actual, budget) in enumerate(rows):
        y = top + index * row_h
        out.append(_text(left - 6, y + 13, label, anchor="end", size=9))
        length = plot_w * max(actual, 0) / peak
        out.append(
            f'<rect x="{left}" y="{y + 4}" width="{_n(length)}" height="12" fill="{COLOUR_OUT}"/>'
        )
        if budget is not None:
            bx = left + plot_w * budget / peak
            out.append(
                f'<line x1="{_n(bx)}" y1="{y + 1}" x2="{_n(bx)}" y2="{y + 19}" '
                f'stroke="{COLOUR_BUDGET}" stroke-width="1.6" stroke-dasharray="3 2"/>'
            )
        out.append(_text(left + length + 5, y + 13, amount_label(actual), size=8))
    legend_y = height - 8
    out.append(f'<rect x="{left}" y="{legend_y - 8}" width="9" height="9" fill="{COLOUR_OUT}"/>')
    out.append(_text(left + 13, legend_y, words.money_out, size=8))
    if any(budget is not None for _, _, budget in rows):
        x = left + 200
        out.append(
            f'<line x1="{x}" y1="{legend_y - 9}" x2="{x}" y2="{legend_y + 1}" '
            f'stroke="{COLOUR_BUDGET}" stroke-width="1.6" stroke-dasharray="3 2"/>'
        )
        out.append(_text(x + 6, legend_y, words.budget, size=8))
    out.append("</svg>")
    return "\n".join(out)
