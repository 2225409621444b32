"""Shared test data for the registry (reused by other apps' tests).

``make_household()`` goes through the services, so what it builds is what the
registry would hold: encrypted, hashed and masked ID numbers, an audited history.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import timezone

from propoor.accounts.tests.factories import TEST_PASSWORD, api_client, make_user
from propoor.areas.models import Division
from propoor.areas.tests.factories import (
    COUNTY,
    TOWNSHIP_A,
    TOWNSHIP_B,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_area_tree,
)
from propoor.households.models import (
    Category,
    Cause,
    Health,
    Household,
    Labour,
    Relation,
    Schooling,
)
from propoor.households.services import MemberInput, household_register, snapshot_record
from propoor.kernel.idcard import check_character

if TYPE_CHECKING:
    from propoor.accounts.models import User

__all__ = [
    "COUNTY",
    "SNAPSHOT_DEFAULTS",
    "TEST_PASSWORD",
    "TOWNSHIP_A",
    "TOWNSHIP_B",
    "VILLAGE_A1",
    "VILLAGE_A2",
    "VILLAGE_B1",
    "api_client",
    "make_area_tree",
    "make_household",
    "make_id_number",
    "make_user",
    "member_inputs",
    "snapshot_json",
]

# A valid snapshot of a two-person household below the 2,300-yuan line:
# net income 2000 + 1500 + 0 + 1200 - 800 = 3900, 1950 per person.
SNAPSHOT_DEFAULTS: dict[str, object] = {
    "surveyed_on": date(2024, 11, 15),
    "size": 2,
    "income_wages": Decimal("2000.00"),
    "income_business": Decimal("1500.00"),
    "income_property": Decimal("0.00"),
    "income_transfers": Decimal("1200.00"),
    "income_ecommerce": Decimal("0.00"),
    "costs": Decimal("800.00"),
    "spending_medical": Decimal("600.00"),
    "spending_disaster": Decimal("0.00"),
    "food_secure": True,
    "clothing_secure": True,
    "school_age_children": 0,
    "children_out_of_school": 0,
    "medical_insured": True,
    "medical_care_access": True,
    "housing_structure": "brick_wood",
    "housing_grade": "B",
    "safe_water": True,
    "water_quality": 3,
    "wall_quality": 3,
    "electricity": True,
    "cooking_fuel": "wood",
    "sanitation": "unimproved",
    "undernourished_member": False,
    "child_death_5y": False,
    "max_schooling_years": 6,
    "has_radio": False,
    "has_tv": True,
    "has_telephone": True,
    "has_computer": False,
    "has_bicycle": False,
    "has_motorbike": True,
    "has_refrigerator": False,
    "has_car": False,
    "land_cultivated": Decimal("3.50"),
    "land_forest": Decimal("0.00"),
    "land_orchard": Decimal("0.00"),
    "land_pond": Decimal("0.00"),
    "labourers_full": 1,
    "labourers_partial": 0,
    "members_ill_or_disabled": 0,
    "head_female": False,
    "head_elderly": False,
    "head_child": False,
    "skills": ["farming"],
    "smartphones": 1,
    "internet": "mobile",
    "km_to_road": Decimal("0.5"),
    "km_to_market": Decimal("12.0"),
    "ecommerce_experience": "none",
    "wishes": [],
    "wishes_note": "",
}

_serial = itertools.count(1)


def make_id_number(
    *, born: date = date(1970, 1, 1), male: bool = True, area: str = "530102"
) -> str:
    """A valid, never-before-made ID number (unique within the test process).

    The birth date is exactly ``born`` however many numbers a test run makes: past
    400 numbers the district digits of the region code move on instead.
    """
    n = next(_serial)
    district = (int(area[4:6]) + n // 400) % 100
    seq = (n % 400) * 2 + (1 if male else 0)  # odd for men, even for women
    body = f"{area[:4]}{district:02d}{born:%Y%m%d}{seq:03d}"
    return body + check_character(body)


# (relation, born, male, labour, schooling) of the n-th member
_PEOPLE = (
    (Relation.HEAD, date(1970, 3, 1), True, Labour.FULL, Schooling.PRIMARY),
    (Relation.SPOUSE, date(1972, 6, 1), False, Labour.PARTIAL, Schooling.PRIMARY),
    (Relation.CHILD, date(2000, 9, 1), True, Labour.FULL, Schooling.JUNIOR),
    (Relation.CHILD, date(2004, 2, 1), False, Labour.FULL, Schooling.SENIOR),
    (Relation.PARENT, date(1945, 5, 1), True, Labour.NONE, Schooling.NONE),
)


def member_inputs(count: int, *, head_name: str = "张三") -> list[MemberInput]:
    """``count`` members: head, spouse, children, then parents, with fresh IDs."""
    inputs = []
    for index in range(count):
        relation, born, male, labour, schooling = _PEOPLE[min(index, len(_PEOPLE) - 1)]
        if index >= len(_PEOPLE):
            relation = Relation.OTHER
        inputs.append(
            MemberInput(
                name=head_name if index == 0 else f"{head_name[0]}{index}",
                id_number=make_id_number(born=born, male=male),
                relation=relation,
                labour=labour,
                health=Health.HEALTHY,
                schooling=schooling,
            )
        )
    return inputs


def make_household(
    actor: User | None = None,
    village_code: str = VILLAGE_A1,
    members: int = 2,
    year: int | None = 2024,
    *,
    head_name: str = "张三",
    category: str = Category.ORDINARY,
    main_cause: str = Cause.ILLNESS,
    secondary_causes: tuple[str, ...] = (Cause.LACK_SKILLS,),
    **snapshot_overrides: object,
) -> Household:
    """A registered household with ``members`` members and a ``year`` snapshot.

    Builds the area tree first when the village does not exist. ``year=None``
    skips the snapshot; ``snapshot_overrides`` replace SNAPSHOT_DEFAULTS' values
    (``size`` defaults to the member count).
    """
    if not Division.objects.filter(code=village_code).exists():
        make_area_tree()
    household = household_register(
        actor=actor,
        village_code=village_code,
        head_name=head_name,
        members=member_inputs(members, head_name=head_name),
        category=category,
        main_cause=main_cause,
        secondary_causes=secondary_causes,
    )
    if year is not None:
        fields = dict(SNAPSHOT_DEFAULTS)
        fields["size"] = max(members, 1)
        fields["surveyed_on"] = min(date(year, 11, 15), timezone.localdate())
        fields.update(snapshot_overrides)
        snapshot_record(actor=actor, household=household, year=year, **fields)
    return household


def snapshot_json(**overrides: object) -> dict[str, object]:
    """SNAPSHOT_DEFAULTS as the API takes them (amounts and dates as strings)."""
    fields = {**SNAPSHOT_DEFAULTS, **overrides}
    return {
        k: (str(v) if isinstance(v, Decimal | date) else v) for k, v in fields.items()
    }
