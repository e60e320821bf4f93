"""Small server-rendered SVG charts: no JavaScript, readable without colour (every bar has its
number), and each chart comes with its data as a table in the page."""

from __future__ import annotations

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

PALETTE = {
    "answered": "#2e7d4f",
    "refused": "#b7791f",
    "failed": "#a32020",
}


def _no_data(title: str) -> SafeString:
    return format_html('<p class="muted">No data for {}.</p>', title.lower())


def _svg(title: str, width: int, height: int, parts: list[str]) -> SafeString:
    opening = (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet">'
    )
    # Every label interpolated into ``parts`` is escaped where it is made.
    return mark_safe(opening + "".join(parts) + "</svg>")  # noqa: S308


def bar_chart(rows: list[tuple[str, int]], *, title: str, colour: str = "#1f5eb8") -> SafeString:
    """Horizontal bars, one per row."""
    if not rows:
        return _no_data(title)
    bar_h, gap, label_w, width = 22, 8, 190, 560
    top = max(v for _, v in rows) or 1
    height = len(rows) * (bar_h + gap)
    parts = []
    for i, (label, value) in enumerate(rows):
        y = i * (bar_h + gap)
        w = max(2, round((width - label_w - 60) * value / top))
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="13">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="{colour}" rx="3"/>'
            f'<text x="{label_w + w + 6}" y="{y + 16}" font-size="13">{value}</text>'
        )
    return _svg(title, width, height, parts)


def stacked_daily_chart(days: list[tuple[str, dict[str, int]]], *, title: str) -> SafeString:
    """One column per day, stacked by outcome, with a legend."""
    if not days:
        return _no_data(title)
    width, height, left, bottom = 640, 240, 36, 36
    plot_h = height - bottom - 24
    top = max(sum(counts.values()) for _, counts in days) or 1
    step = (width - left) / len(days)
    col_w = max(4, min(36, step * 0.7))
    parts = [
        f'<text x="{left - 6}" y="30" text-anchor="end" font-size="12">{top}</text>',
        f'<line x1="{left}" y1="{24 + plot_h}" x2="{width}" y2="{24 + plot_h}" stroke="#d8dee8"/>',
    ]
    label_every = max(1, len(days) // 10)
    for i, (day, counts) in enumerate(days):
        x = left + i * step + (step - col_w) / 2
        y = 24 + plot_h
        for outcome, colour in PALETTE.items():
            value = counts.get(outcome, 0)
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{col_w:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(day)}: {value} {outcome}</title></rect>'
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + col_w / 2:.1f}" y="{height - 14}" text-anchor="middle" '
                f'font-size="11">{escape(day[5:])}</text>'
            )
    for i, (outcome, colour) in enumerate(PALETTE.items()):
        parts.append(
            f'<rect x="{left + i * 110}" y="2" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + i * 110 + 16}" y="13" font-size="12">{outcome}</text>'
        )
    return _svg(title, width, height, parts)
