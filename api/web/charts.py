"""Small charts drawn server-side as inline SVG (no chart library, works offline and in print)."""

from __future__ import annotations

from html import escape

import numpy as np

GRADE_COLORS = {"A": "#1a9850", "B": "#91cf60", "C": "#fc8d59", "D": "#d7301f"}


def histogram_svg(
    values: np.ndarray,
    *,
    target: float | None = None,
    baseline: float | None = None,
    title: str = "",
    unit: str = "万元/亩",
    bins: int = 20,
    width: int = 560,
    height: int = 240,
) -> str:
    """A histogram of ``values`` with vertical lines for the target (and a 2020 baseline) as SVG text."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    left, right, top, bottom = 48, 12, 28, 36
    pw, ph = width - left - right, height - top - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="mj-chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    if len(v) == 0:
        parts.append(f'<text x="{left}" y="{top + ph / 2}" font-size="12">无数据</text></svg>')
        return "".join(parts)
    hi = float(np.nanpercentile(v, 98)) if len(v) > 10 else float(v.max())
    hi = max(hi, target or 0.0, baseline or 0.0) * 1.05 or 1.0
    counts, edges = np.histogram(np.clip(v, 0, hi), bins=bins, range=(0, hi))
    cmax = max(int(counts.max()), 1)
    xs = left + (edges / hi) * pw
    bw = pw / bins
    for i, c in enumerate(counts):
        h = ph * c / cmax
        colour = "#1a9850" if target is not None and edges[i] >= target else "#4575b4"
        parts.append(
            f'<rect x="{xs[i] + 0.5:.1f}" y="{top + ph - h:.1f}" width="{bw - 1:.1f}" height="{h:.1f}" '
            f'fill="{colour}"><title>{edges[i]:.0f}–{edges[i + 1]:.0f} {unit}: {int(c)} 家</title></rect>'
        )
    parts.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#333"/>')
    for t in np.linspace(0, hi, 6):
        x = left + pw * t / hi
        parts.append(
            f'<text x="{x:.1f}" y="{top + ph + 14}" font-size="10" text-anchor="middle">{t:.0f}</text>'
        )
    parts.append(
        f'<text x="{left + pw}" y="{height - 4}" font-size="10" text-anchor="end">{escape(unit)}</text>'
    )
    parts.append(f'<text x="{left - 6}" y="{top + 8}" font-size="10" text-anchor="end">{cmax}</text>')
    parts.append(f'<text x="4" y="{top + ph / 2}" font-size="10">企业数</text>')
    for row, (value, label, colour) in enumerate(((target, "2025 目标", "#d7301f"),
                                                  (baseline, "2020 基准", "#636363"))):
        if value is None:
            continue
        x = left + pw * min(value, hi) / hi
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + ph}" stroke="{colour}" '
            f'stroke-width="2" stroke-dasharray="5 3"/>'
        )
        parts.append(
            f'<text x="{x + 3:.1f}" y="{top + 6 + 12 * row}" font-size="10" fill="{colour}">{label} {value:g}</text>'
        )
    share = float((v >= target).mean() * 100) if target is not None else None
    if share is not None:
        parts.append(
            f'<text x="{left + pw}" y="16" font-size="11" text-anchor="end">达标 {share:.1f}%'
            f"（{int((v >= target).sum())}/{len(v)}）</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_svg(
    items: list[tuple[str, float]],
    *,
    title: str = "",
    colors: dict[str, str] | None = None,
    width: int = 360,
    height: int = 200,
) -> str:
    """Vertical bars for a few labelled counts (e.g. grades A–D) as SVG text."""
    left, top, bottom = 30, 26, 30
    pw, ph = width - left - 10, height - top - bottom
    vmax = max([v for _, v in items] + [1])
    bw = pw / max(len(items), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="mj-chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(items):
        h = ph * value / vmax
        x = left + i * bw
        colour = (colors or {}).get(label, "#4575b4")
        parts.append(
            f'<rect x="{x + 6:.1f}" y="{top + ph - h:.1f}" width="{bw - 12:.1f}" height="{h:.1f}" '
            f'fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{x + bw / 2:.1f}" y="{top + ph - h - 3:.1f}" font-size="11" '
            f'text-anchor="middle">{value:g}</text>'
        )
        parts.append(
            f'<text x="{x + bw / 2:.1f}" y="{top + ph + 14}" font-size="11" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_svg(
    years: list[int],
    values: list[float],
    *,
    target: float | None = None,
    title: str = "",
    unit: str = "万元/亩",
    width: int = 240,
    height: int = 150,
) -> str:
    """A small line chart of one figure over the years (one of a small-multiple grid), the target dashed."""
    left, right, top, bottom = 40, 10, 24, 22
    pw, ph = width - left - right, height - top - bottom
    finite = [v for v in values if v is not None and np.isfinite(v)]
    scale = finite + ([target] if target is not None else [])
    vmin, vmax = (min(scale), max(scale)) if scale else (0.0, 1.0)
    pad = (vmax - vmin) * 0.1 or max(abs(vmax), 1.0) * 0.1
    vmin, vmax = vmin - pad, vmax + pad
    n = max(len(years) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + pw * i / n, top + ph * (1 - (v - vmin) / (vmax - vmin))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="mj-chart mj-trend" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}">',
        f'<text x="4" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#999"/>',
    ]
    if target is not None:
        _, y = xy(0, target)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#a50f15" '
                     f'stroke-dasharray="4 3"><title>目标 {target:g} {escape(unit)}</title></line>')
    points = [xy(i, v) for i, v in enumerate(values) if v is not None and np.isfinite(v)]
    if len(points) > 1:
        parts.append('<polyline fill="none" stroke="#2b65a8" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
    for i, v in enumerate(values):
        x = left + pw * i / n
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" font-size="10" text-anchor="middle">{years[i]}</text>')
        if v is not None and np.isfinite(v):
            _, y = xy(i, v)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#2b65a8" class="mj-point">'
                         f'<title>{years[i]}：{v:,.1f} {escape(unit)}</title></circle>')
            parts.append(f'<text x="{x:.1f}" y="{y - 6:.1f}" font-size="9" text-anchor="middle">{v:,.0f}</text>')
    parts.append("</svg>")
    return "".join(parts)


PHASE_COLORS = {"past": "#7f7f7f", "today": "#a50f15", "upcoming": "#d88d00"}


def timeline_svg(events: list[dict], *, as_of: str, title: str = "时间线", width: int = 760) -> str:
    """A horizontal timeline of a parcel's events (``rules.timeline.event_records``) as SVG text: a date axis,
    one marker per event (grey past, amber upcoming; deadlines as diamonds), labels staggered on three rows
    above and below the axis, and the as-of date as a short red dashed line across it."""
    import datetime as dt

    left, right, axis_y = 40, 40, 118
    days = [dt.date.fromisoformat(e["date"]).toordinal() for e in events] + [dt.date.fromisoformat(as_of).toordinal()]
    lo, hi = min(days), max(days)
    span = max(hi - lo, 1)
    lo, hi = lo - span * 0.04, hi + span * 0.04
    pw = width - left - right

    def x(day: float) -> float:
        return left + pw * (day - lo) / (hi - lo)

    height = 236
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="mj-chart mj-timeline" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{axis_y}" x2="{left + pw}" y2="{axis_y}" stroke="#333" stroke-width="1.5"/>',
    ]
    first, last = dt.date.fromordinal(int(lo) + 1).year, dt.date.fromordinal(int(hi)).year
    step = max(1, (last - first + 1) // 8)
    for year in range(first, last + 1, step):
        xv = x(dt.date(year, 1, 1).toordinal())
        if left <= xv <= left + pw:
            parts.append(f'<line x1="{xv:.1f}" y1="{axis_y - 4}" x2="{xv:.1f}" y2="{axis_y + 4}" stroke="#333"/>'
                         f'<text x="{xv:.1f}" y="{height - 6}" font-size="10" text-anchor="middle">{year}年</text>')
    xa = x(dt.date.fromisoformat(as_of).toordinal())
    parts.append(f'<line x1="{xa:.1f}" y1="{axis_y - 16}" x2="{xa:.1f}" y2="{axis_y + 16}" '
                 f'stroke="{PHASE_COLORS["today"]}" stroke-width="2" stroke-dasharray="4 3"/>')
    for i, (e, day) in enumerate(zip(events, days, strict=False)):
        xv, colour = x(day), PHASE_COLORS.get(e["phase"], "#333")
        above = i % 2 == 0
        row = (i // 2) % 3
        ty = axis_y - 22 - 26 * row if above else axis_y + 30 + 26 * row
        parts.append(f'<line x1="{xv:.1f}" y1="{axis_y}" x2="{xv:.1f}" y2="{ty + 15 if above else ty - 11:.1f}" '
                     f'stroke="{colour}" stroke-width="0.8"/>')
        tip = f'{e["label"]} {e["date"]}（{e["phase_label"]}）{e.get("detail") or ""}'
        if e.get("deadline"):
            parts.append(f'<rect x="{xv - 5:.1f}" y="{axis_y - 5}" width="10" height="10" fill="{colour}" '
                         f'transform="rotate(45 {xv:.1f} {axis_y})"><title>{escape(tip)}</title></rect>')
        else:
            parts.append(f'<circle cx="{xv:.1f}" cy="{axis_y}" r="5" fill="{colour}"><title>{escape(tip)}</title>'
                         "</circle>")
        anchor = "start" if xv < left + 60 else "end" if xv > left + pw - 60 else "middle"
        parts.append(f'<text x="{xv:.1f}" y="{ty:.1f}" font-size="11" text-anchor="{anchor}" fill="{colour}">'
                     f'{escape(e["label"])}</text>'
                     f'<text x="{xv:.1f}" y="{ty + 12:.1f}" font-size="9" text-anchor="{anchor}" fill="#555">'
                     f'{e["date"]}</text>')
    parts.append("</svg>")
    return "".join(parts)
