"""Small inline SVG charts for the HTML report: horizontal bars and lines over snapshots, every text escaped.

A chart is drawn only when it has something to draw: the callers show a sentence instead of an empty chart, so
that every `<svg>` of a page holds marks (elements of class `mark`), which the browser test checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#3b6ea8", "#c8553d", "#4f9d69", "#8e6bb8", "#d39c2f", "#5b8e9e", "#a05a7d", "#6b6b6b")
WIDTH = 720
ROW = 22
LABEL_WIDTH = 260
VALUE_WIDTH = 80
LABEL_CHARS = 38


def _short(label: str, chars: int = LABEL_CHARS) -> str:
    return label if len(label) <= chars else label[: chars - 1] + "\u2026"


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, color: str = PALETTE[0]) -> str:
    """A horizontal bar per (label, value), longest bar the largest value; labels cut short keep their whole
    text in a tooltip."""
    top = max((value for _, value in bars), default=0) or 1
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = ROW * len(bars) + 8
    parts = [
        f'<svg class="chart bars" role="img" aria-label="{escape(title)}" width="{WIDTH}" height="{height}"'
        f' viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for row, (label, value) in enumerate(bars):
        y = 4 + row * ROW
        length = max(1.0, room * value / top) if value else 0.0
        shown = f"{value:,.2f}" if isinstance(value, float) and not value.is_integer() else f"{int(value):,}"
        parts.append(
            f"<g><title>{escape(label)}: {shown}</title>"
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(_short(label))}</text>'
            f'<rect class="mark" x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{ROW - 6}"'
            f' fill="{color}" data-value="{escape(str(value))}"/>'
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 15}">{shown}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> str:
    """A line per (name, values), one point per label (left to right, in order), with a legend; a single label
    still shows its points."""
    height, left, right, top_pad, bottom = 260, 70, 70, 30, 60
    plot_width, plot_height = WIDTH - left - right, height - top_pad - bottom
    top = max((value for _, values in series for value in values), default=0) or 1
    step = plot_width / max(len(labels) - 1, 1)

    def x_of(index: int) -> float:
        return left + (index * step if len(labels) > 1 else plot_width / 2)

    def y_of(value: int) -> float:
        return top_pad + plot_height * (1 - value / top)

    parts = [
        f'<svg class="chart lines" role="img" aria-label="{escape(title)}" width="{WIDTH}" height="{height}"'
        f' viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{top_pad + plot_height}" x2="{WIDTH - right}" y2="{top_pad + plot_height}"'
        ' stroke="#999"/>',
        f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_height}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{top:,}</text>',
        f'<text x="{left - 6}" y="{top_pad + plot_height + 4}" text-anchor="end">0</text>',
    ]
    for index, label in enumerate(labels):
        parts.append(
            f'<text x="{x_of(index):.1f}" y="{top_pad + plot_height + 18}" text-anchor="middle">'
            f"<title>{escape(label)}</title>{escape(_short(label, 18))}</text>"
        )
    for number, (name, values) in enumerate(series):
        color = PALETTE[number % len(PALETTE)]
        points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        for index, value in enumerate(values):
            parts.append(
                f'<circle class="mark" cx="{x_of(index):.1f}" cy="{y_of(value):.1f}" r="4" fill="{color}">'
                f"<title>{escape(name)}, {escape(labels[index])}: {value:,}</title></circle>"
            )
        legend_x = left + number * 170
        parts.append(
            f'<rect x="{legend_x}" y="{height - 22}" width="12" height="12" fill="{color}"/>'
            f'<text x="{legend_x + 16}" y="{height - 12}">{escape(_short(name, 22))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
