"""Small bar charts as inline SVG, drawn on the server: no script, no external asset, readable by
screen readers through their title and the table next to them."""

from __future__ import annotations

from html import escape

from compiler.records import record

WIDTH = 420
BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 170
LABEL_CHARS = 26
COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1")


@record
class Bar:
    label: str
    value: float
    text: str  # the value as shown


def bar_chart(title: str, bars: list[Bar]) -> str:
    """Horizontal bars scaled to the largest value; ``title`` names the chart for assistive
    technology."""
    largest = max((bar.value for bar in bars), default=0.0) or 1.0
    height = len(bars) * (BAR_HEIGHT + GAP) + GAP
    room = WIDTH - LABEL_WIDTH - 70
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for index, bar in enumerate(bars):
        y = GAP + index * (BAR_HEIGHT + GAP)
        length = max(0.0, bar.value) / largest * room
        colour = COLOURS[index % len(COLOURS)]
        parts.append(
            f'<text x="0" y="{y + 13}" font-size="12">{escape(_short(bar.label))}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{colour}"></rect>'
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 13}" font-size="12">'
            f"{escape(bar.text)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
