"""What a schedule gives people: WeChat notices, the queue chart per site, JSON.

Pure: builds text and SVG from a plan and its groups; no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from tongxin.planning.scheduler import CHINA, Assignment, Plan, Slot

GREEN_WHO = "60岁以上老人、孕妇和没有智能手机的居民"


def _day(value: datetime) -> str:
    local = value.astimezone(CHINA)
    return f"{local.month}月{local.day}日"


def _span(slot: Slot) -> str:
    return (
        f"{_day(slot.starts)} {slot.starts.astimezone(CHINA):%H:%M}–"
        f"{slot.ends.astimezone(CHINA):%H:%M}"
    )


def notice_text(
    *,
    label: str,
    site_name: str,
    slot: Slot | None,
    green_slot: Slot | None,
    elderly_age: int,
) -> str:
    """Return the WeChat-group notice of one group, in Chinese, ready to paste."""
    parts = []
    if slot is not None:
        parts.append(f"{label} 请于 {_span(slot)} 到 {site_name} 采样,请戴好口罩、保持1米间距,")
        parts.append("提前打开采样码或带好身份证。")
    if green_slot is not None:
        who = GREEN_WHO.replace("60", str(elderly_age))
        parts.append(f"{label} 的{who}请于 {_span(green_slot)} 走 {site_name} 绿色通道,无需排队。")
    parts.append("卧床、残疾居民由上门采样组入户采样,请在家等候。")
    return "".join(parts)


def queue_chart_svg(
    *,
    title: str,
    slots: Sequence[Slot],
    queues: Sequence[float],
    green: Sequence[int],
    cap: float,
    width: int = 720,
    height: int = 220,
) -> str:
    """Return an SVG bar chart of the expected queue per slot, with the cap as a red line.

    Green-channel slots are drawn green; the axis shows the hour at each whole hour.
    """
    pad_l, pad_r, pad_t, pad_b = 40, 10, 24, 28
    n = max(1, len(slots))
    # Scaled to the queues, not the cap: a plan far under the cap would draw flat bars.
    top = max([*queues, 0.1]) * 1.25
    cap_shown = cap <= top
    plot_w = width - pad_l - pad_r
    plot_h = height - pad_t - pad_b
    bar = plot_w / n

    def y(v: float) -> float:
        return pad_t + plot_h * (1 - v / top)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{pad_l}" y="16" font-size="13">{escape(title)}</text>',
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - pad_r}" '
        f'y2="{pad_t + plot_h}" stroke="#333"/>',
    ]
    green_set = set(green)
    for i, (slot, q) in enumerate(zip(slots, queues, strict=True)):
        x = pad_l + i * bar
        colour = "#3a9d5d" if i in green_set else "#4a78b5"
        out.append(
            f'<rect x="{x + 1:.1f}" y="{y(q):.1f}" width="{max(bar - 2, 1):.1f}" '
            f'height="{pad_t + plot_h - y(q):.1f}" fill="{colour}">'
            f"<title>{slot.starts.astimezone(CHINA):%H:%M} 预计排队 {q:.1f} 人</title></rect>"
        )
        local = slot.starts.astimezone(CHINA)
        if local.minute == 0:
            out.append(f'<text x="{x:.1f}" y="{height - 8}" font-size="10">{local:%H}</text>')
    if cap_shown:
        out.append(
            f'<line x1="{pad_l}" y1="{y(cap):.1f}" x2="{width - pad_r}" y2="{y(cap):.1f}" '
            f'stroke="#c0392b" stroke-dasharray="4 3"/>'
        )
    label_y = y(cap) - 4 if cap_shown else 16
    out.append(
        f'<text x="{width - pad_r - 150}" y="{label_y:.1f}" font-size="10" fill="#c0392b">'
        f"上限 {cap:g} 人{'' if cap_shown else '(高于图中最大值)'}</text>"
    )
    out.append(f'<text x="4" y="{pad_t + 10}" font-size="10">{top:.1f}人</text>')
    out.append("</svg>")
    return "".join(out)


def assignment_index(plan: Plan) -> dict[str, Assignment]:
    """Return each group's assignment by its key."""
    return {a.group: a for a in plan.assignments}
