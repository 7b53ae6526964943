"""The household-cards page: a building's cards for community workers to print."""

import re

from tongxin.registry.cards import qr_svg


def test_a_building_page_prints_a_card_per_resident_with_the_code_as_qr(worker, world):
    page = worker.get(f"/areas/{world.building}/cards")

    assert page.status_code == 200
    codes = re.findall(r'data-code="([^"]+)"', page.text)
    assert codes == [world.codes[f"居民{n}"] for n in range(30)]
    assert all(qr_svg(code) in page.text for code in codes)
    assert "居**" in page.text and "居民10<" not in page.text
    assert "1单元 101室" in page.text and 'href="/static/cards.css' in page.text
    # 30 people in one room fill 8-card pages: 8 + 8 + 8 + 6.
    assert page.text.count('class="card-page"') == 4


def test_a_building_links_to_its_cards(worker, world):
    page = worker.get(f"/areas/{world.building}").text

    assert f'href="/areas/{world.building}/cards"' in page


def test_cards_exist_only_for_buildings_the_user_may_see(worker, world):
    assert worker.get(f"/areas/{world.other_building}/cards").status_code == 404
    assert worker.get(f"/areas/{world.unit}/cards").status_code == 404
    assert worker.get(f"/areas/{world.community}/cards").status_code == 404
    assert worker.get("/areas/NOPE/cards").status_code == 404
