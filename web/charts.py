"""Charts drawn on the server as SVG (no front-end build): the monthly trend of the report."""
from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 560, 240, 44, 30, 36


def trend_chart(months: list[dict]) -> Markup:
    """Bars: cases received per month (left scale); line: 按时办结率 (right scale, 0–100 %)."""
    if not months:
        return Markup("")
    most = max([m["received"] for m in months] + [1])
    inner_w, inner_h = WIDTH - 2 * LEFT, HEIGHT - BOTTOM - TOP
    step = inner_w / len(months)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-label="近 {len(months)} 个月收件量和按时办结率趋势">',
             f'<line x1="{LEFT}" y1="{TOP + inner_h}" x2="{LEFT + inner_w}" y2="{TOP + inner_h}" stroke="#52606d"/>']
    points = []
    for i, m in enumerate(months):
        x = LEFT + i * step
        h = inner_h * m["received"] / most
        parts.append(f'<rect x="{x + step * 0.2:.1f}" y="{TOP + inner_h - h:.1f}" width="{step * 0.6:.1f}" '
                     f'height="{h:.1f}" fill="#9fb3c8"><title>{escape(m["label"])} 收件 {m["received"]} 件</title></rect>')
        parts.append(f'<text x="{x + step / 2:.1f}" y="{TOP + inner_h - h - 3:.1f}" font-size="11" text-anchor="middle" '
                     f'fill="#1f2933">{m["received"]}</text>')
        parts.append(f'<text x="{x + step / 2:.1f}" y="{HEIGHT - 10}" font-size="12" text-anchor="middle" '
                     f'fill="#1f2933">{escape(m["label"])}</text>')
        if m["on_time_rate"] is not None:
            points.append((x + step / 2, TOP + inner_h * (1 - m["on_time_rate"]), m["on_time_rate"]))
    if points:
        parts.append('<polyline fill="none" stroke="#2f855a" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points) + '"/>')
        for x, y, v in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#2f855a"><title>按时办结率 {v * 100:.1f}%</title></circle>')
            parts.append(f'<text x="{x + 8:.1f}" y="{y + 4:.1f}" font-size="11" fill="#22543d">{v * 100:.0f}%</text>')
    parts.append(f'<text x="4" y="14" font-size="11" fill="#52606d">收件（件）</text>')
    parts.append(f'<text x="{WIDTH - 70}" y="14" font-size="11" fill="#22543d">— 按时办结率</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
