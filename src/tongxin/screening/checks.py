"""Pure decisions of the custody ledger: rejection codes, their messages, and the rules.

No database, no clock, no I/O: the ledger loads the state a batch touches, asks these
functions, and writes what they decided. The codes are stable; docs/api.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from tongxin.screening.rules import HOUSEHOLD_CAPACITY

# code -> (Chinese template, English template); templates take keyword fields.
MESSAGES: dict[str, tuple[str, str]] = {
    "malformed": ("事件格式错误:{detail}", "malformed event: {detail}"),
    "round_unknown": ("未知的检测轮次 {round}", "unknown round {round}"),
    "scope_denied": (
        "设备令牌无权提交此事件({detail})",
        "the device token may not send this event ({detail})",
    ),
    "station_unknown": (
        "未知的采样台 {station},或不属于本设备的采样点",
        "unknown station {station}, or not at this device's site",
    ),
    "lab_unknown": ("未知的检测机构 {lab}", "unknown lab {lab}"),
    "tube_unknown": ("试管条码 {tube} 未发放", "tube barcode {tube} was never issued"),
    "tube_other_round": (
        "试管 {tube} 属于其他轮次,不能在本轮使用",
        "tube {tube} was issued for another round",
    ),
    "tube_closed": ("试管 {tube} 已封管", "tube {tube} is already closed"),
    "tube_full": (
        "试管 {tube} 已满({capacity} 人),不能再加入",
        "tube {tube} is full ({capacity} swabs)",
    ),
    "tube_capacity_mismatch": (
        "此人应采入 {expected} 混 1 试管,试管 {tube} 为 {capacity} 混 1",
        "this person belongs in a {expected}:1 tube; tube {tube} is {capacity}:1",
    ),
    "tube_other_household": (
        "试管 {tube} 是单户混采管,已有其他家庭的样本",
        "tube {tube} holds one household and has another household's swabs",
    ),
    "tube_empty": ("试管 {tube} 没有样本,不能封管", "tube {tube} has no swab to close"),
    "tube_short_no_reason": (
        "试管 {tube} 未满({count}/{capacity}),封管须说明原因",
        "tube {tube} is not full ({count}/{capacity}); closing it short needs a reason",
    ),
    "person_unknown": (
        "居民码 {code} 不存在,且没有证件信息",
        "resident code {code} is unknown and no ID details were given",
    ),
    "box_sealed": ("转运箱 {box} 已封箱", "box {box} is already sealed"),
    "box_count_mismatch": (
        "转运箱 {box} 标注 {count} 管,实际列出 {listed} 管",
        "box {box} says {count} tubes but lists {listed}",
    ),
    "box_tube_not_closed": (
        "试管 {tube} 未封管或已装箱,不能装入转运箱 {box}",
        "tube {tube} is not closed or is already boxed; it cannot go into box {box}",
    ),
    "box_unknown": ("转运箱 {box} 未封箱登记", "box {box} was never sealed"),
    "handover_unconfirmed": (
        "交接须双方确认,目前只有 {confirmed}",
        "a handover needs both parties to confirm; confirmed: {confirmed}",
    ),
    "handover_party_unknown": (
        "交接方 {party} 不是本轮的{kind_zh}",
        "handover party {party} is not a {kind} of this round",
    ),
    "handover_pin_unset": (
        "采样点 {site} 尚未设置交接密码,不能由转运员设备交接",
        "site {site} has no handover PIN yet; a courier's device cannot record its hand-over",
    ),
    "handover_pin_wrong": (
        "采样点 {site} 的交接密码错误或未填写,采样点未确认交接",
        "wrong or missing handover PIN of site {site}: the site did not confirm",
    ),
    "handover_not_holder": (
        "转运箱 {box} 不在 {party} 手中(现由 {holder} 保管)",
        "box {box} is not held by {party} (held by {holder})",
    ),
    "box_not_handed_over": (
        "转运箱 {box} 没有交接记录,不能签收",
        "box {box} was never handed over; it cannot be received",
    ),
    "box_already_received": ("转运箱 {box} 已签收", "box {box} was already received"),
    "box_tube_unknown": (
        "试管 {tube} 不在转运箱 {box} 中",
        "tube {tube} is not in box {box}",
    ),
    "result_tube_unknown": (
        "结果中的试管 {tube} 未发放",
        "the result names tube {tube}, which was never issued",
    ),
    "result_tube_not_received": (
        "试管 {tube} 尚未被实验室签收,不能报告结果",
        "tube {tube} was not received by a lab; it cannot have a result",
    ),
    "result_exists": ("试管 {tube} 已有结果", "tube {tube} already has a result"),
    "result_wrong_lab": (
        "试管 {tube} 由其他实验室签收,{lab} 不能报告其结果",
        "tube {tube} was received by another lab; {lab} cannot report its result",
    ),
    "recall_unknown": (
        "试管 {tube} 第 {position} 位没有待追踪的人员",
        "no recall for position {position} of tube {tube}",
    ),
    "recall_out_of_order": (
        "追踪状态为「{state}」,不能直接记录「{step}」",
        "the recall is '{state}'; '{step}' cannot come next",
    ),
}

REJECTION_CODES: tuple[str, ...] = tuple(MESSAGES)

# Rejections decided on what the sending device's token allows, or on a PIN the ledger does
# not keep: a rebuild (a trusted replay) may accept them, and they stay rejected.
DEVICE_BOUND_CODES = frozenset(
    {
        "scope_denied",
        "handover_party_unknown",
        "handover_pin_unset",
        "handover_pin_wrong",
        "handover_not_holder",
    }
)

FLAG_DUPLICATE_PERSON = "duplicate_person"


@dataclass(frozen=True)
class Rejection:
    """Why an event is rejected: a stable code and its message in Chinese and English."""

    code: str
    message_zh: str
    message_en: str


def reject(code: str, /, **fields: object) -> Rejection:
    """Build the rejection of `code` with its messages filled in."""
    zh, en = MESSAGES[code]
    return Rejection(code, zh.format(**fields), en.format(**fields))


def swab_into_tube(
    *,
    barcode: str,
    state: str,
    close_reason: str | None,
    member_count: int,
    capacity: int,
) -> Rejection | None:
    """Tell whether one more swab may go into a tube in this state."""
    if state not in ("issued", "open"):
        if state == "closed" and close_reason is None and member_count >= capacity > 0:
            return reject("tube_full", tube=barcode, capacity=capacity)
        return reject("tube_closed", tube=barcode)
    if capacity != HOUSEHOLD_CAPACITY and member_count >= capacity:
        return reject("tube_full", tube=barcode, capacity=capacity)
    return None


def tube_is_full(*, member_count: int, capacity: int) -> bool:
    """Tell whether a tube closes itself: it holds its capacity (household tubes never do)."""
    return capacity != HOUSEHOLD_CAPACITY and member_count >= capacity


def pooling_fits(*, expected: int, tube_capacity: int, barcode: str) -> Rejection | None:
    """Check that the person's pooling rule gives the capacity of the tube they went into."""
    if expected != tube_capacity:
        return reject(
            "tube_capacity_mismatch",
            expected=_ratio(expected),
            tube=barcode,
            capacity=_ratio(tube_capacity),
        )
    return None


def _ratio(capacity: int) -> str:
    return "户" if capacity == HOUSEHOLD_CAPACITY else str(capacity)


@dataclass(frozen=True)
class CloseDecision:
    """What a `tube_closed` event does: nothing (already full), close it, or reject."""

    close: bool
    rejection: Rejection | None = None


def close_tube(
    *,
    barcode: str,
    state: str,
    close_reason: str | None,
    member_count: int,
    capacity: int,
    reason: str | None,
) -> CloseDecision:
    """Decide a `tube_closed` event; a device confirming a tube that filled itself is a no-op."""
    if (
        state == "closed"
        and close_reason is None
        and tube_is_full(member_count=member_count, capacity=capacity)
    ):
        return CloseDecision(close=False)
    if state not in ("issued", "open"):
        return CloseDecision(False, reject("tube_closed", tube=barcode))
    if member_count == 0:
        return CloseDecision(False, reject("tube_empty", tube=barcode))
    if reason is None and capacity != HOUSEHOLD_CAPACITY and member_count < capacity:
        return CloseDecision(
            False,
            reject("tube_short_no_reason", tube=barcode, count=member_count, capacity=capacity),
        )
    return CloseDecision(close=True)


def box_counts(*, box: str, count: int, tubes: list[str]) -> Rejection | None:
    """Check a sealed box's written count against the distinct tubes it lists."""
    if count != len(tubes) or len(set(tubes)) != len(tubes):
        return reject("box_count_mismatch", box=box, count=count, listed=len(set(tubes)))
    return None


def handover_confirmed(confirmations: list[str]) -> Rejection | None:
    """Check that both parties confirmed a handover."""
    if {"from", "to"} <= set(confirmations):
        return None
    return reject("handover_unconfirmed", confirmed=", ".join(sorted(set(confirmations))) or "-")


# Recall steps: the event type, the state it leads to, and the states it may follow.
RECALL_STEPS: dict[str, tuple[str, frozenset[str]]] = {
    "recall_notified": ("notified", frozenset({"open"})),
    "recall_isolated": ("isolated", frozenset({"notified"})),
    "recall_resampled": ("resampled", frozenset({"isolated"})),
    "recall_resulted": ("resulted", frozenset({"resampled"})),
    "recall_closed": ("closed", frozenset({"resulted"})),
}
# Members of an invalid tube are not suspected cases: they go straight to a resample.
_INVALID_SHORTCUTS = {"recall_resampled": frozenset({"notified"})}


def recall_step(*, event_type: str, state: str, reason: str) -> tuple[str, Rejection | None]:
    """Return the state a recall event leads to, or why it cannot follow the current state."""
    target, follows = RECALL_STEPS[event_type]
    if reason == "invalid":
        follows = follows | _INVALID_SHORTCUTS.get(event_type, frozenset())
    if state not in follows:
        return target, reject("recall_out_of_order", state=state, step=target)
    return target, None
