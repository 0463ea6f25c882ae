"""Small charts drawn on the server as SVG: no script, no library, nothing fetched; readable without
colour (every bar carries its number) and by a screen reader (a title and a description)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR = "#1f4e79"
MUTED = "#8a9ab0"


def horizontal_bars(items: Sequence[tuple[str, int]], *, title: str, width: int = 420, row: int = 22) -> Markup:
    """One bar per (label, count), the count written after the bar."""
    if not items:
        return Markup("")
    label_width, number_width = 110, 60
    scale = max(count for _label, count in items) or 1
    room = width - label_width - number_width
    height = row * len(items) + 4
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for index, (label, count) in enumerate(items):
        y = index * row + 2
        length = max(1.0, room * count / scale) if count else 0
        parts.append(f'<text x="{label_width - 6}" y="{y + row * 0.68:.1f}" text-anchor="end" font-size="12">{escape(label)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" fill="{BAR}"></rect>')
        parts.append(f'<text x="{label_width + length + 5:.1f}" y="{y + row * 0.68:.1f}" font-size="12">{count}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(items: Sequence[tuple[str, int]], *, title: str, width: int = 620, height: int = 160,
            label_every: int = 7) -> Markup:
    """A column per (label, count), oldest left; every ``label_every``-th label written under its column."""
    if not items:
        return Markup("")
    top, bottom, left = 14, 22, 36
    scale = max(count for _label, count in items) or 1
    room, step = height - top - bottom, (width - left) / len(items)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="11">{scale}</text>',
             f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end" font-size="11">0</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="{MUTED}"></line>']
    for index, (label, count) in enumerate(items):
        x = left + index * step
        length = room * count / scale
        parts.append(f'<rect x="{x + 1:.1f}" y="{height - bottom - length:.1f}" width="{max(step - 2, 1):.1f}" '
                     f'height="{length:.1f}" fill="{BAR}"><title>{escape(label)}: {count}</title></rect>')
        if (len(items) - 1 - index) % label_every == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="11">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
