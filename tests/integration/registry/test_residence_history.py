from datetime import date

from sqlalchemy import select

from tests.factories.registry import add_residents, build_tree
from tongxin.registry.models import Resident
from tongxin.registry.service import count_residents_under, move_resident, residence_history


def test_moving_a_resident_keeps_the_old_stay_and_updates_counts(session):
    tree = build_tree(session)
    add_residents(session, tree.household, 3)
    person = session.scalars(select(Resident).order_by(Resident.id)).first()

    move_resident(session, resident=person, household=tree.other_household, on=date(2022, 9, 20))

    stays = residence_history(session, resident_id=person.id)
    assert [(s.household_id, s.moved_out) for s in stays] == [
        (tree.household.id, date(2022, 9, 20)),
        (tree.other_household.id, None),
    ]
    assert count_residents_under(session, area=tree.community) == 2
    assert count_residents_under(session, area=tree.other_community) == 1
    assert count_residents_under(session, area=tree.unit) == 2
    assert count_residents_under(session, area=tree.district) == 3
