"""The field app in a browser: a staged round for a sampling pad, and the sampler's flows.

Other browser tests (courier handover, lab receipt) build on `stage_field_round`,
`open_field_app` and `sample_and_seal` to carry the same round further.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from tests.factories.registry import add_residents
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry import rules as registry_rules
from tongxin.registry.models import Area, Household, Resident
from tongxin.registry.rules import Gender
from tongxin.screening.ledger import resolve_event
from tongxin.screening.models import DeviceToken, Event, Round, Site
from tongxin.screening.reconcile import custody_counts
from tongxin.screening.rules import Zone
from tongxin.screening.setup import add_lab, add_site, create_round, issue_device_token, issue_tubes

ROUND = "R1"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}
HANDHELD = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True}


@dataclass(frozen=True)
class FieldRound:
    """Round R1 over 新星社区 (controlled, 10:1) and 尖山社区 (precaution, 20:1)."""

    round_id: int
    token: str
    device: str
    stations: list[str]
    tubes10: list[str]
    tubes20: list[str]
    residents: list[str]  # resident codes of 新星社区 who go into 10:1 tubes
    walk_ins: list[str]  # ID numbers of people in no registry (pooled by the site's zone)
    outsider: str  # a resident of 尖山社区 (20:1), not on the site's list


def stage_field_round(db: Engine, community_code: str) -> FieldRound:
    """Create R1 with site S1 in the community, 10:1 and 20:1 tubes and a pad's token."""
    now = datetime.now(UTC)
    with session_scope(make_sessionmaker(db)) as s:
        community = s.scalar(select(Area).where(Area.code == community_code))
        district = s.get(Area, community.district_id)
        other = s.scalar(select(Area).where(Area.code == "520113001002"))
        rnd = create_round(
            s,
            code=ROUND,
            name="第一轮全员核酸",
            district=district,
            targets=[(community, Zone.CONTROLLED), (other, Zone.PRECAUTION)],
            starts_at=now - timedelta(hours=1),
        )
        add_lab(s, code="LAB1", name="金域检测", round=rnd)
        site, stations = add_site(
            s, round=rnd, code="S1", name="新星社区广场", area=community, stations=2
        )
        tubes10 = issue_tubes(s, round=rnd, count=6, capacity=10).barcodes
        tubes20 = issue_tubes(s, round=rnd, count=2, capacity=20).barcodes
        household = s.scalar(select(Household).where(Household.community_id == other.id))
        add_residents(s, household, 1, start=500)
        outsider = s.scalar(select(Resident.resident_code).where(Resident.community_id == other.id))
        residents = list(
            s.scalars(
                select(Resident.resident_code)
                .where(Resident.community_id == community.id, Resident.key_group.is_(False))
                .order_by(Resident.id)
            )
        )
        token, _row = issue_device_token(s, round=rnd, device="pad-1", now=now, site=site)
        walk_ins = [
            registry_rules.make_resident_id(
                "520102", date(1990, 1, 1 + i), 300 + 2 * i, Gender.MALE
            )
            for i in range(10)
        ]
        return FieldRound(
            round_id=rnd.id,
            token=token,
            device="pad-1",
            stations=[st.code for st in stations],
            tubes10=tubes10,
            tubes20=tubes20,
            residents=residents,
            walk_ins=walk_ins,
            outsider=str(outsider),
        )


def server_counts(db: Engine, fr: FieldRound) -> dict[str, int]:
    """Return the round's custody counts as the server's reconciliation sees them."""
    with session_scope(make_sessionmaker(db)) as s:
        assert s.get(Round, fr.round_id) is not None
        return custody_counts(s, round_id=fr.round_id)


def event_ids_in_seq_order(db: Engine, fr: FieldRound) -> list[str]:
    """Return the ids of the device's stored events, in the order the device numbered them."""
    with session_scope(make_sessionmaker(db)) as s:
        return list(
            s.scalars(
                select(Event.id)
                .where(Event.round_id == fr.round_id, Event.device == fr.device)
                .order_by(Event.seq)
            )
        )


def event_total(db: Engine, fr: FieldRound) -> int:
    """Return how many events the server stored for the round (each id once)."""
    with session_scope(make_sessionmaker(db)) as s:
        return int(
            s.scalar(select(func.count()).select_from(Event).where(Event.round_id == fr.round_id))
            or 0
        )


def resolve_rejected(db: Engine, fr: FieldRound) -> None:
    """Resolve every unresolved rejected event of the round, as the command centre does."""
    with session_scope(make_sessionmaker(db)) as s:
        ids = s.scalars(
            select(Event.id).where(
                Event.round_id == fr.round_id,
                Event.status == "rejected",
                Event.resolved_at.is_(None),
            )
        ).all()
        for event_id in ids:
            resolve_event(
                s,
                event_id=event_id,
                by="指挥部",
                resolution="已为此人换管重采",
                now=datetime.now(UTC),
            )


def issue_more_tubes(db: Engine, fr: FieldRound, count: int, capacity: int = 10) -> list[str]:
    """Issue another batch of tubes for the round (after devices loaded their context)."""
    with session_scope(make_sessionmaker(db)) as s:
        rnd = s.get(Round, fr.round_id)
        return issue_tubes(s, round=rnd, count=count, capacity=capacity).barcodes


def replace_token(db: Engine, fr: FieldRound) -> str:
    """Revoke the pad's tokens and issue it a new one; return the new token."""
    now = datetime.now(UTC)
    with session_scope(make_sessionmaker(db)) as s:
        s.execute(
            update(DeviceToken)
            .where(DeviceToken.round_id == fr.round_id, DeviceToken.device == fr.device)
            .values(revoked_at=now)
        )
        rnd = s.get(Round, fr.round_id)
        site = s.scalar(select(Site).where(Site.round_id == fr.round_id, Site.code == "S1"))
        token, _row = issue_device_token(s, round=rnd, device=fr.device, now=now, site=site)
        return token


def no_sideways_scroll(page: Any) -> bool:
    """Tell whether the page fits its width (nothing to scroll horizontally)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def open_field_app(browser: Any, server: str, fr: FieldRound, **context_args: Any) -> Any:
    """Open /field/ on a phone-sized context, sign in with the pad's token; return the page."""
    from playwright.sync_api import expect

    context = browser.new_context(**{**PHONE, "locale": "zh-CN", **context_args})
    page = context.new_page()
    page.goto(server + "/field/")
    expect(page.locator("section[data-view=signin]")).to_be_visible()
    page.fill("#token-input", fr.token)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("section[data-view=sampler]")).to_be_visible()
    expect(page.locator("[data-testid=where]")).to_contain_text("新星社区广场")
    # The shell is cached once the worker is active; only then may the test go offline.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    return page


def scan(page: Any, text: str) -> None:
    """Type a code into the scan field and press Enter, as a keyboard-wedge scanner does."""
    page.fill("#scan", text)
    page.press("#scan", "Enter")


def swab(page: Any, person: str, tube: str, fill: str) -> None:
    """Scan a person, then a tube; wait until the tube shows the expected fill."""
    from playwright.sync_api import expect

    scan(page, person)
    expect(page.locator("[data-testid=person]")).to_have_attribute("data-state", "scanned")
    scan(page, tube)
    expect(page.locator("[data-testid=tube]")).to_have_text(tube)
    expect(page.locator("[data-testid=fill]")).to_have_text(fill)


def close_short(page: Any, reason: str = "排队人员已采完") -> None:
    """Close the current tube before it is full, with a reason."""
    from playwright.sync_api import expect

    page.click("#close-short-open")
    page.select_option("#close-reason", reason)
    page.click("#close-short-form button[type=submit]")
    expect(page.locator("[data-testid=message]")).to_contain_text("已封管（未满）")


def people(fr: FieldRound) -> list[str]:
    """Twenty-five people for 10:1 tubes: the community's residents, then walk-ins by ID."""
    return (fr.residents + fr.walk_ins)[:25]


def sample_25(page: Any, fr: FieldRound) -> None:
    """Swab 25 people into three 10:1 tubes (10 + 10 + 5), closing the last one short."""
    for i, person in enumerate(people(fr)):
        tube = fr.tubes10[i // 10]
        swab(page, person, tube, f"{i % 10 + 1}/10")
    close_short(page)


def pack_and_seal(page: Any, tubes: list[str], box: str, seal: str) -> None:
    """Pack closed tubes into a box by scanning them, then seal it with count and seal."""
    from playwright.sync_api import expect

    page.click("#tabs [data-go=box]")
    page.fill("#box-code", box)
    page.press("#box-code", "Enter")
    for n, tube in enumerate(tubes, start=1):
        page.fill("#box-scan", tube)
        page.press("#box-scan", "Enter")
        expect(page.locator("[data-testid=box-listed]")).to_have_text(str(n))
    page.fill("#box-count", str(len(tubes)))
    page.fill("#box-seal", seal)


def seal_box(page: Any) -> None:
    """Press 封箱 and wait for the confirmation."""
    from playwright.sync_api import expect

    page.click("#seal-form button[type=submit]")
    expect(page.locator("[data-testid=message]")).to_contain_text("已封箱")


def wait_for_drained_queue(page: Any) -> None:
    """Wait until the status bar shows nothing pending."""
    from playwright.sync_api import expect

    expect(page.locator("[data-testid=pending]")).to_have_text("0", timeout=30_000)


def sample_and_seal(page: Any, fr: FieldRound, box: str = "B1", seal: str = "S-0001") -> list[str]:
    """The sampler's whole part online: 25 swabs, 3 tubes, one box sealed; return the tubes."""
    sample_25(page, fr)
    tubes = fr.tubes10[:3]
    pack_and_seal(page, tubes, box, seal)
    seal_box(page)
    wait_for_drained_queue(page)
    return tubes
