"""Pure hotline decisions: case states, deadlines, routing and the category/urgency rules.

Nothing here reads the database, the clock or a file: `now` and the segmented words of a
description are passed in, so every rule is tested in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Category(StrEnum):
    """What a caller needs help with (生活、医疗、物资、出行、心理关爱, and the rest)."""

    DAILY = "daily"
    MEDICAL = "medical"
    SUPPLIES = "supplies"
    TRAVEL = "travel"
    PSYCH = "psych"
    OTHER = "other"


class Urgency(StrEnum):
    """How soon a case must be resolved; each has a deadline in settings."""

    CRITICAL = "critical"
    URGENT = "urgent"
    NORMAL = "normal"


class CaseState(StrEnum):
    """Where a case is: new → assigned → in progress → resolved → closed (reopen goes back)."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATES = frozenset({CaseState.NEW, CaseState.ASSIGNED, CaseState.IN_PROGRESS})
# Order the supervisor board shows states in: what still needs someone first.
STATE_ORDER = (
    CaseState.NEW,
    CaseState.ASSIGNED,
    CaseState.IN_PROGRESS,
    CaseState.RESOLVED,
    CaseState.CLOSED,
)
URGENCY_RANK = {Urgency.CRITICAL: 0, Urgency.URGENT: 1, Urgency.NORMAL: 2}


class Action(StrEnum):
    """A step a person takes on a case; each is one timeline entry."""

    ASSIGN = "assign"
    START = "start"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"


class LinkedWorkKind(StrEnum):
    """Work a case spawns for other desks; each keeps its own status on the case."""

    DELIVERY = "delivery"  # supplies or medicine brought to the door
    MEDICAL_TRANSPORT = "medical_transport"
    HOME_VISIT = "home_visit"


class LinkedWorkStatus(StrEnum):
    """Where a piece of linked work is."""

    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DONE = "done"
    CANCELLED = "cancelled"


LINKED_WORK_STEPS: Mapping[LinkedWorkStatus, frozenset[LinkedWorkStatus]] = {
    LinkedWorkStatus.REQUESTED: frozenset({LinkedWorkStatus.ACCEPTED, LinkedWorkStatus.CANCELLED}),
    LinkedWorkStatus.ACCEPTED: frozenset({LinkedWorkStatus.DONE, LinkedWorkStatus.CANCELLED}),
    LinkedWorkStatus.DONE: frozenset(),
    LinkedWorkStatus.CANCELLED: frozenset(),
}


class HotlineRuleError(ValueError):
    """A step the rules refuse, with a stable code for APIs and tests."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_MOVES: Mapping[Action, tuple[frozenset[CaseState], CaseState]] = {
    Action.ASSIGN: (frozenset({CaseState.NEW, CaseState.ASSIGNED}), CaseState.ASSIGNED),
    Action.START: (frozenset({CaseState.ASSIGNED}), CaseState.IN_PROGRESS),
    Action.RESOLVE: (frozenset({CaseState.ASSIGNED, CaseState.IN_PROGRESS}), CaseState.RESOLVED),
    Action.CLOSE: (frozenset({CaseState.RESOLVED}), CaseState.CLOSED),
    # A reopened case goes back to the desk it was routed to, which must start it again.
    Action.REOPEN: (frozenset({CaseState.RESOLVED, CaseState.CLOSED}), CaseState.ASSIGNED),
}


def next_state(state: CaseState, action: Action, *, callback_confirmed: bool = False) -> CaseState:
    """Return the state after `action`, or raise HotlineRuleError when it is not allowed.

    A case closes only after a call back confirmed the caller's problem is solved: a case
    closed on the desk's word alone is how problems got lost between desks.
    """
    allowed_from, target = _MOVES[action]
    if state not in allowed_from:
        raise HotlineRuleError("bad_state", f"cannot {action.value} a case that is {state.value}")
    if action is Action.CLOSE and not callback_confirmed:
        raise HotlineRuleError(
            "callback_required", "a case closes only after a call back confirmed it"
        )
    return target


def next_work_status(current: LinkedWorkStatus, wanted: LinkedWorkStatus) -> LinkedWorkStatus:
    """Return `wanted` when linked work may move there from `current`, else raise."""
    if wanted not in LINKED_WORK_STEPS[current]:
        raise HotlineRuleError(
            "bad_work_status", f"linked work cannot go from {current.value} to {wanted.value}"
        )
    return wanted


# --- deadlines ---------------------------------------------------------------------------


def due_at(opened_at: datetime, urgency: Urgency, hours: Mapping[Urgency, float]) -> datetime:
    """Return when a case opened at `opened_at` with this urgency must be resolved."""
    return opened_at + timedelta(hours=hours[urgency])


def is_overdue(state: CaseState, due: datetime, now: datetime) -> bool:
    """Tell whether a case is past its deadline and still not resolved."""
    return state in OPEN_STATES and now > due


def needs_escalation(
    state: CaseState, due: datetime, escalated_at: datetime | None, now: datetime
) -> bool:
    """Tell whether an overdue case must be escalated now (once per time it falls overdue)."""
    return is_overdue(state, due, now) and (escalated_at is None or escalated_at < due)


# --- routing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteRule:
    """A desk that answers one category (or any, when None) for cases under an area."""

    area_id: int
    category: Category | None
    desk: str
    responsible_area_id: int


@dataclass(frozen=True)
class Routing:
    """Where a case goes: the responsible area (its community by default) and the desk name."""

    responsible_area_id: int
    desk: str | None


def route(
    category: Category,
    ancestors: Sequence[int],
    rules: Iterable[RouteRule],
    *,
    fallback_area_id: int,
) -> Routing:
    """Pick the desk for a case from the resident's address and the category.

    `ancestors` runs from the resident's own node up to the district. The rule on the
    nearest ancestor wins; on the same node a rule for the category beats a rule for any
    category. With no rule the case goes to `fallback_area_id` (the resident's community,
    or the hotline's jurisdiction for a caller not in the registry).
    """
    depth = {area_id: i for i, area_id in enumerate(ancestors)}
    best: tuple[int, int, RouteRule] | None = None
    for rule in rules:
        if rule.area_id not in depth or rule.category not in (None, category):
            continue
        key = (depth[rule.area_id], 0 if rule.category is not None else 1)
        if best is None or key < best[:2]:
            best = (*key, rule)
    if best is None:
        return Routing(fallback_area_id, None)
    return Routing(best[2].responsible_area_id, best[2].desk)


# --- category and urgency suggestion ------------------------------------------------------
def _words(text: str) -> tuple[str, ...]:
    """Split a whitespace-separated word list (keeps the long lists readable)."""
    return tuple(text.split())


# Keyword rules over jieba words (hotline.classify segments; the words below are added to
# its dictionary so they come out whole). Written from the 2022 hotline categories and the
# training part of the labelled set; the held-out part is only ever evaluated.

CATEGORY_WORDS: Mapping[Category, Mapping[str, float]] = {
    Category.MEDICAL: {
        **dict.fromkeys(
            _words("""
                药 降压药 降糖药 胰岛素 医院 医生 发烧 发热 高烧 透析 化疗 产检 孕妇 怀孕
                病人 看病 复查 输液 换药 咳嗽 咳血 头晕 血压 血糖 糖尿病 心脏病 哮喘 癫痫
                癌症 晕倒 昏迷 胸痛 胸口 呼吸困难 抽搐 中风 出血 流血 救护车 摔伤 烫伤 疼
                痛 拉肚子 呕吐 疫苗 体检 护士 伤口 退烧药 感冒药 止痛药 止疼药 抗凝药 羊水
                生了 见红 心跳 呼吸 噎住 农药 中毒 氧气瓶 输血 白血病 痛风 牙疼 黄疸 褥疮
                嘴唇发紫 误吃 支架 胸口闷 维生素 创可贴 体温计 牙科 移植 尿管 理疗 医保 挂号
                针头 慢病 感染 甲亢 吐奶 憋紫 割伤 叫不醒 迷糊 浮肿 感冒
            """),
            1.0,
        ),
        "医院": 1.5,
        "药": 1.5,
    },
    Category.SUPPLIES: dict.fromkeys(
        _words("""
                菜 蔬菜 蔬菜包 米 大米 面 面粉 油 米面油 奶粉 尿不湿 纸尿裤 断粮 吃的 物资
                团购 超市 买不到 水果 肉 鸡蛋 牛奶 口罩 消毒液 酒精 卫生纸 洗衣粉 洗发水
                方便面 酱油 盐 粮食 馒头 包子 面包 桶装水 饮用水 营养粉 猫粮 保供 捐 电池
                灯泡 青菜 土豆 挂面 面条 冻肉 鱼 老人餐 没有吃的 没有米 做饭 快递 物资包
                煤气 抢不到 菜价 吃完
            """),
        1.0,
    ),
    Category.DAILY: dict.fromkeys(
        _words("""
                独居 联系不上 打不通 没人应 异味 停电 停水 水管 垃圾 灯 路灯 马桶 电费 水费
                燃气费 宽带 网课 开锁 钥匙 漏水 吵 噪音 杂物 理发 洗衣机 电梯 打扫 衣服
                话费 电脑 快递柜 老鼠 下水道 物业费 停车 智能手机 搬东西 热水器 门禁卡 宠物
                狗 花 装修 垃圾分类 锁 空调 天然气 水龙头 着火 冒烟 电线 反锁 暖气 照顾
                没人照顾 保姆 制氧机 修 坏 陪着 遛 消毒 没消息 没出门 一个人在家
            """),
        1.0,
    ),
    Category.TRAVEL: dict.fromkeys(
        _words("""
                出行 通行证 出小区 出城 出入证 回老家 回家 滞留 被困 高速 火车站 火车票 机场
                公交车 出租车 地铁 私家车 开车 车 返岗 返校 外省 外地 回来 回乡 出差 上路
                进城 跨区 接送 接人 大门 进小区 出入 落地 没有车 开学 宿舍 单位 路上 陪护
                出去 能出 报备
            """),
        1.0,
    )
    | {"没有车": 2.5, "接送": 2.5, "车送": 2.5, "出小区": 1.5},
    Category.PSYCH: dict.fromkeys(
        _words("""
                情绪 低落 睡不着 失眠 崩溃 焦虑 害怕 哭 想哭 难受 抑郁 抑郁症 压力 心理
                孤单 孤独 烦躁 烦 心情 聊天 聊聊 倾诉 说话 担心 紧张 放松 郁闷 脾气 噩梦
                无聊 不想活 自杀 轻生 跳楼 割腕 结束生命 撑不下去 撑不住 心慌 闷 吵架 激动
                自言自语 发脾气 暴躁 砸东西 累
            """),
        1.0,
    ),
    Category.OTHER: dict.fromkeys(
        _words("""
                核酸 健康码 行程码 场所码 核酸码 报告 结果 志愿者 捐款 举报 投诉 表扬 政策
                隔离 解封 风险区 密接 阳性 阴性 复工 证明 疫苗 身份 登记 报名 党员 补贴
                房租 工资 扫码 弹窗 采样点 排队 聚集 冒充 申诉 变黄 转绿 反映 开学 信息
            """),
        1.0,
    ),
}

# Words that put a life at risk now. A case with one of these is critical.
CRITICAL_WORDS = frozenset(
    _words(
        """
        晕倒 昏迷 叫不醒 叫也不应 不省人事 呼吸困难 喘不上气 喘不过气 胸口剧痛 胸痛
        抽搐 羊水破了 羊水 大出血 流血不止 中风 心脏病发作 嘴唇发紫 憋紫 脸都憋紫 误吃
        昏昏沉沉 迷糊 摔倒起不来 说不出话 嘴也歪 煤气中毒 中毒 见红 剧痛 农药 噎住
        心跳很快 快不行了 呼吸很弱 不想活 自杀 轻生 跳楼 割腕 结束生命 撑不下去 着火
        冒烟 烧焦 异味 打不通 没人应
        """
    )
)

# Medical words that always mean at least urgent: a missing medicine, a fever, a
# treatment that cannot wait. tests/unit/hotline checks that none is ever called normal.
URGENT_MEDICAL_WORDS = frozenset(
    _words(
        """
        药吃完 药吃完了 药用完了 断药 药断了 药停了 药快没了 药没了 只剩 快用完 发烧
        发热 高烧 透析 化疗 胰岛素 产检 预产期 孕妇 咳血 输血 输液 肚子疼 血压很高
        血糖很高 摔伤 烫伤 发炎 感染 褥疮 溃烂 氧气瓶 抗排异 疼得 疼得厉害 喘得厉害
        止痛药 止疼药 黄疸 拉肚子 头晕 胸口闷 吐奶 复诊 走不了路
        """
    )
)

URGENT_WORDS = URGENT_MEDICAL_WORDS | frozenset(
    _words(
        """
        联系不上 没消息 两天没出门 好几天没消息 好几天没看到 断粮 没有吃的 吃完了 没有米
        没有饮用水 只剩 用完了 买不到 奶粉 停电 停水 没人照顾 没人帮忙 一个人在家 反锁
        水管爆了 冻得 被困 滞留 病危 去世 没有车 明天就开学 崩溃 睡不着 失眠 害怕
        想哭 抑郁症 焦虑得 情绪很激动 情绪很不稳定 砸东西 心慌 难受 撑不住 天天哭
        压力太大 制氧机 通行证去医院 去医院 看病 流食 做不了饭 没法做饭
        """
    )
)

# Words that turn a request into a question or a plan for later: "想问", "备用", "还够".
CALM_WORDS = frozenset({"想问", "咨询", "问一下", "备用", "备着", "还够", "还能吃", "提前订"})


@dataclass(frozen=True)
class Suggestion:
    """A suggested category and urgency with the words that decided them."""

    category: Category
    urgency: Urgency
    words: tuple[str, ...]


def vocabulary() -> frozenset[str]:
    """Return every word the rules look for, so the segmenter keeps each one whole."""
    words: set[str] = set(CRITICAL_WORDS | URGENT_WORDS | CALM_WORDS)
    for table in CATEGORY_WORDS.values():
        words |= set(table)
    return frozenset(words)


def _found(words: Sequence[str], text: str, wanted: Iterable[str]) -> list[str]:
    # Multi-character phrases are matched in the text as well as among the words, so a
    # phrase the segmenter happens to split ("药吃完了") still counts.
    tokens = set(words)
    return [w for w in wanted if w in tokens or w in text]


def suggest(words: Sequence[str]) -> Suggestion:
    """Suggest a category and an urgency from the segmented words of a description."""
    text = "".join(words)
    scores: dict[Category, float] = {}
    hits: list[str] = []
    for category, table in CATEGORY_WORDS.items():
        found = _found(words, text, table)
        scores[category] = sum(table[w] for w in found)
        hits += found
    best = max(scores.items(), key=lambda kv: (kv[1], -list(Category).index(kv[0])))
    category = best[0] if best[1] > 0 else Category.OTHER
    critical = _found(words, text, CRITICAL_WORDS)
    urgent = _found(words, text, URGENT_WORDS)
    medical = _found(words, text, URGENT_MEDICAL_WORDS)
    calm = _found(words, text, CALM_WORDS)
    if critical:
        urgency = Urgency.CRITICAL
    elif medical or (urgent and not calm):
        # An urgent medical word is never overruled by a calm one: "想问…发烧" is urgent.
        urgency = Urgency.URGENT
    else:
        urgency = Urgency.NORMAL
    return Suggestion(category, urgency, tuple(dict.fromkeys(hits + critical + urgent)))


# --- statistics ---------------------------------------------------------------------------


def median_hours(durations: Sequence[timedelta]) -> float | None:
    """Return the median of durations in hours (None when there are none)."""
    if not durations:
        return None
    ordered = sorted(durations)
    mid = len(ordered) // 2
    value = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return round(value.total_seconds() / 3600, 2)


def normalise_phone(raw: str) -> str:
    """Keep the digits of a phone number, dropping a +86/0086 prefix (repeat callers)."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits
