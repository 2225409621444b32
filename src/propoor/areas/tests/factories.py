"""Shared test data for the division tree (reused by other apps' tests).

The tree (Yunnan › Kunming › Wuhua district, codes under county 530102000000)::

    530000000000 province    云南省 Yunnan
    530100000000 prefecture  昆明市 Kunming
    530102000000 county      五华区 Wuhua        <- "county"
    530102001000 township    护国街道 Huguo       <- "township_a"
    530102001001 village     一村 Village A1      <- "village_a1"
    530102001002 village     二村 Village A2      <- "village_a2"
    530102002000 township    大观街道 Daguan      <- "township_b"
    530102002001 village     三村 Village B1      <- "village_b1"
"""

from __future__ import annotations

from propoor.areas.models import Division
from propoor.areas.services import division_create

PROVINCE = "530000000000"
PREFECTURE = "530100000000"
COUNTY = "530102000000"
TOWNSHIP_A = "530102001000"
VILLAGE_A1 = "530102001001"
VILLAGE_A2 = "530102001002"
TOWNSHIP_B = "530102002000"
VILLAGE_B1 = "530102002001"

# (key, code, level, parent key, name, English name)
_TREE: tuple[tuple[str, str, str, str | None, str, str], ...] = (
    ("province", PROVINCE, "province", None, "云南省", "Yunnan"),
    ("prefecture", PREFECTURE, "prefecture", "province", "昆明市", "Kunming"),
    ("county", COUNTY, "county", "prefecture", "五华区", "Wuhua"),
    ("township_a", TOWNSHIP_A, "township", "county", "护国街道", "Huguo"),
    ("village_a1", VILLAGE_A1, "village", "township_a", "一村", "Village A1"),
    ("village_a2", VILLAGE_A2, "village", "township_a", "二村", "Village A2"),
    ("township_b", TOWNSHIP_B, "township", "county", "大观街道", "Daguan"),
    ("village_b1", VILLAGE_B1, "village", "township_b", "三村", "Village B1"),
)


def make_area_tree() -> dict[str, Division]:
    """Build (or fetch, when already built) the test tree through the service.

    Keys: province, prefecture, county, township_a, village_a1, village_a2,
    township_b, village_b1.
    """
    made: dict[str, Division] = {}
    for key, code, level, parent_key, name, name_en in _TREE:
        existing = Division.objects.filter(code=code).first()
        if existing is not None:
            made[key] = existing
            continue
        made[key] = division_create(
            code=code,
            name=name,
            name_en=name_en,
            level=level,
            parent=made[parent_key] if parent_key is not None else None,
            western=True if level == "province" else None,
        )
    return made
