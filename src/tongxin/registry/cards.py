"""Printable household cards: each resident's code as a QR, with masked name, building, room.

Residents keep the card at home. When their phone or the health-code system is down, the
sampler scans the card: the QR holds the resident code and nothing else, exactly what the
sampling screen's scan sends as `{"resident_code": …}`. Cards are laid out for A4 pages
(`rules.paginate_cards`), one household's cards on one sheet where they fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import segno
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.privacy.rules import mask_name
from tongxin.registry import rules
from tongxin.registry.models import Area, Household, Resident
from tongxin.registry.rules import AreaLevel, ResidentStatus


@dataclass(frozen=True)
class Card:
    """One resident's card."""

    resident_code: str
    masked_name: str
    room: str
    unit: str | None


@dataclass(frozen=True)
class CardSheet:
    """A building's cards, page by page."""

    building: Area
    compound: str
    households: int
    pages: list[list[Card]] = field(default_factory=list)

    @property
    def cards(self) -> int:
        """Count the cards on all pages."""
        return sum(len(p) for p in self.pages)


class CardsError(ValueError):
    """A card request that cannot be carried out; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def qr_of(resident_code: str) -> segno.QRCode:
    """Return the QR of a resident code, made the way `tongxin registry qr` makes it."""
    # A full QR, not Micro QR: phone scanners often skip Micro QR.
    return segno.make_qr(resident_code, error="m")


def qr_svg(resident_code: str) -> str:
    """Return the inline SVG of a resident code's QR, scalable (viewBox, no fixed size)."""
    return str(qr_of(resident_code).svg_inline(scale=1, border=2, omitsize=True))


def building_cards(session: Session, *, building: Area) -> CardSheet:
    """Collect the cards of every living resident of a building, household by household."""
    if building.level != AreaLevel.BUILDING:
        raise CardsError("not_building", f"{building.code} is a {building.level}, not a building")
    homes = list(
        session.scalars(
            select(Household)
            .where(Household.building_id == building.id)
            .order_by(Household.area_id, Household.room, Household.id)
        )
    )
    units = {
        a.id: a.name
        for a in session.scalars(select(Area).where(Area.parent_id == building.id))
        if a.level == AreaLevel.UNIT
    }
    people: dict[int, list[Resident]] = {h.id: [] for h in homes}
    if homes:
        for r in session.scalars(
            select(Resident)
            .where(
                Resident.building_id == building.id,
                Resident.status != ResidentStatus.DECEASED.value,
            )
            .order_by(Resident.household_id, Resident.id)
        ):
            if r.household_id in people:
                people[r.household_id].append(r)
    per_home = [
        [
            Card(r.resident_code, mask_name(r.name), h.room, units.get(h.area_id))
            for r in people[h.id]
        ]
        for h in homes
    ]
    households = sum(1 for c in per_home if c)
    pages = [
        [card for index, count in page for card in _take(per_home, index, count)]
        for page in rules.paginate_cards([len(c) for c in per_home])
    ]
    compound = session.get(Area, building.parent_id) if building.parent_id else None
    return CardSheet(
        building=building,
        compound=compound.name if compound else "",
        households=households,
        pages=pages,
    )


def _take(per_home: list[list[Card]], index: int, count: int) -> list[Card]:
    # A household larger than a page is spread over pages: hand its cards out in turn.
    cards = per_home[index]
    taken, per_home[index] = cards[:count], cards[count:]
    return taken


def sheet_markup(sheet: CardSheet) -> Markup:
    """Return the pages of cards as HTML (one `<section class="card-page">` per A4 page)."""
    building = escape(sheet.building.name)
    compound = escape(sheet.compound)
    total = len(sheet.pages)
    out: list[str] = []
    for number, page in enumerate(sheet.pages, start=1):
        cards = []
        for card in page:
            room = escape(card.room)
            place = f"{escape(card.unit)} {room}室" if card.unit else f"{room}室"
            cards.append(
                f'<article class="household-card" data-code="{escape(card.resident_code)}">'
                f'<div class="hc-qr">{qr_svg(card.resident_code)}</div>'
                '<div class="hc-text">'
                '<p class="hc-title">居民码 · 采样时出示</p>'
                f'<p class="hc-name">{escape(card.masked_name)}</p>'
                f'<p class="hc-place">{compound} {building}<br>{place}</p>'
                f'<p class="hc-code">{escape(card.resident_code)}</p>'
                "</div></article>"
            )
        out.append(
            f'<section class="card-page" data-page="{number}">'
            f'<p class="card-page-head">{compound} {building} · 住户卡 · 第 {number}/{total} 页</p>'
            f'<div class="card-grid">{"".join(cards)}</div></section>'
        )
    return Markup("".join(out))


def cards_stylesheet() -> str:
    """Return the card sheet's CSS (the web page links the same file)."""
    return resources.files("tongxin.web").joinpath("static/cards.css").read_text(encoding="utf-8")


def standalone_html(sheet: CardSheet) -> str:
    """Return a whole printable HTML file of a building's cards (styles inline, no scripts)."""
    title = escape(f"{sheet.compound} {sheet.building.name} 住户卡")
    return (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{cards_stylesheet()}</style></head>"
        f'<body class="card-sheet">{sheet_markup(sheet)}</body></html>\n'
    )
