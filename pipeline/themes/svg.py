"""Small inline-SVG charts for the report (pure: data in, escaped markup out)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def _finite(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None and not math.isnan(v)]


def line_chart(
    xs: Sequence[float],
    series: dict[str, Sequence[float | None]],
    *,
    title: str,
    width: int = 460,
    height: int = 220,
    mark_x: float | None = None,
) -> Markup:
    """One panel, one line per series, each series scaled to its own min…max (labels show it).

    Coherence measures live on different scales (u_mass is negative), so each line is
    normalised and its range written in the legend.
    """
    left, right, top, bottom = 40, 150, 24, 28
    pw, ph = width - left - right, height - top - bottom
    x0, x1 = min(xs), max(xs)
    span = (x1 - x0) or 1

    def px(x: float) -> float:
        return left + (x - x0) / span * pw

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>',
    ]
    for x in xs:
        parts.append(
            f'<text x="{_fmt(px(x))}" y="{height - 10}" font-size="10" '
            f'text-anchor="middle">{escape(str(x))}</text>'
        )
    if mark_x is not None:
        parts.append(
            f'<line x1="{_fmt(px(mark_x))}" x2="{_fmt(px(mark_x))}" y1="{top}" '
            f'y2="{top + ph}" stroke="#999" stroke-dasharray="4 3"/>'
        )
    for n, (name, values) in enumerate(series.items()):
        color = PALETTE[n % len(PALETTE)]
        finite = _finite(values)
        if not finite:
            continue
        lo, hi = min(finite), max(finite)
        rng = (hi - lo) or 1

        def py(v: float, lo: float = lo, rng: float = rng) -> float:
            return top + ph - (v - lo) / rng * (ph - 10) - 5

        points = [
            (px(x), py(v)) for x, v in zip(xs, values, strict=True)
            if v is not None and not math.isnan(v)
        ]
        path = " ".join(f"{_fmt(a)},{_fmt(b)}" for a, b in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts += [f'<circle cx="{_fmt(a)}" cy="{_fmt(b)}" r="3" fill="{color}"/>'
                  for a, b in points]
        ly = top + 12 + 16 * n
        parts.append(
            f'<text x="{left + pw + 8}" y="{ly}" font-size="11" fill="{color}">'
            f'{escape(name)} {lo:.3f}…{hi:.3f}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(words: Sequence[tuple[str, float]], *, width: int = 300, bar: int = 14) -> Markup:
    """Horizontal bars of a topic's top words and weights."""
    if not words:
        return Markup("")
    label_w, pad = 110, 4
    height = len(words) * (bar + pad) + pad
    peak = max(w for _, w in words) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">']
    for i, (word, weight) in enumerate(words):
        y = pad + i * (bar + pad)
        w = (width - label_w - 50) * weight / peak
        parts.append(
            f'<text x="{label_w - 4}" y="{y + bar - 3}" font-size="11" '
            f'text-anchor="end">{escape(word)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{_fmt(w)}" height="{bar}" fill="#4c78a8"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar - 3}" font-size="10">{weight:.3f}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(points: Sequence[tuple[str, float]], *, width: int = 300, height: int = 60) -> Markup:
    """A topic's share of posts per month (first and last month labelled)."""
    if not points:
        return Markup("")
    left, bottom, top = 4, 14, 6
    ph = height - bottom - top
    peak = max(v for _, v in points) or 1
    step = (width - 2 * left) / max(1, len(points) - 1)
    coords = [(left + i * step, top + ph - v / peak * ph) for i, (_, v) in enumerate(points)]
    path = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in coords)
    first, last = points[0][0], points[-1][0]
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<polyline points="{path}" fill="none" stroke="#e45756" stroke-width="1.5"/>'
        f'<text x="{left}" y="{height - 2}" font-size="9">{escape(first)}</text>'
        f'<text x="{width - left}" y="{height - 2}" font-size="9" text-anchor="end">'
        f'{escape(last)}</text>'
        f'<text x="{width - left}" y="{top + 8}" font-size="9" text-anchor="end">'
        f'max {peak:.0%}</text></svg>'
    )
