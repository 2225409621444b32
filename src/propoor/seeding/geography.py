"""The division tree of the synthetic county and what its villages are like.

Pure: numpy only. Distances are kept in tenths of a kilometre and coordinates in
hundred-thousandths of a degree (integers), so the digest of a county does not depend
on float formatting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from propoor.seeding.names import (
    ETHNIC_GROUPS,
    PROVINCES,
    YUNNAN_PREFECTURES,
    PlaceName,
    place_names,
)

TERRAINS = ("plain", "hill", "mountain")
PLAIN, HILL, MOUNTAIN = 0, 1, 2
COVERAGES = ("none", "partial", "full")

# Specialty products by terrain, with weights (assumption: what the valleys, slopes and
# high mountains of central and southern Yunnan are known for).
SPECIALTIES: dict[int, tuple[tuple[str, int], ...]] = {
    MOUNTAIN: (
        ("核桃", 4),
        ("花椒", 3),
        ("茶叶", 3),
        ("野生菌", 3),
        ("蜂蜜", 2),
        ("土豆", 2),
        ("中药材", 2),
        ("荞麦", 1),
        ("竹笋", 1),
        ("火腿", 1),
        ("魔芋", 1),
        ("板栗", 1),
        ("苹果", 1),
        ("三七", 1),
    ),
    HILL: (
        ("石榴", 2),
        ("核桃", 2),
        ("茶叶", 2),
        ("柑橘", 2),
        ("花椒", 1),
        ("蜂蜜", 1),
        ("蓝莓", 1),
        ("玫瑰花", 1),
        ("咖啡", 1),
        ("芒果", 1),
        ("蔬菜", 1),
        ("火腿", 1),
    ),
    PLAIN: (
        ("蔬菜", 3),
        ("葡萄", 2),
        ("鲜花", 2),
        ("大米", 2),
        ("石榴", 1),
        ("柑橘", 1),
        ("蓝莓", 1),
        ("玫瑰花", 1),
    ),
}
FISH = "稻花鱼"


@dataclass(frozen=True)
class DivisionRow:
    code: str
    name: str
    name_en: str
    level: str
    parent: str | None
    prefix: str
    western: bool


@dataclass(frozen=True)
class VillageRow:
    """A village and its profile (population is filled in once people exist)."""

    code: str
    township: str
    name: str  # 双河村
    township_name: str  # 龙潭镇
    terrain: int
    km_to_county_seat: int  # tenths of a km
    km_to_paved_road: int  # tenths of a km
    km_to_township: int  # tenths of a km: the nearest market
    broadband: int  # index into COVERAGES
    mobile_4g: int
    has_service_station: bool
    has_logistics_point: bool
    has_cold_storage: bool
    landscape: bool
    folk_culture: bool
    orchards: bool
    vegetable_gardens: bool
    fish_ponds: bool
    specialty_products: tuple[str, ...]
    latitude: int  # 1e-5 degrees
    longitude: int
    households: int


@dataclass(frozen=True)
class Geography:
    divisions: list[DivisionRow]  # province, prefecture, county, townships, villages
    villages: list[VillageRow]
    county_code: str
    county_name: str


def village_sizes(rng: np.random.Generator, households: int) -> np.ndarray:
    """How many households each village has: about 80 on average, 30 to 300 each.

    The number of villages is ``households / 80`` rounded, moved just enough to keep
    every village within 30..300 households (a county of fewer than 30 households is
    one village).
    """
    count = max(1, round(households / 80))
    count = max(count, math.ceil(households / 300))
    count = min(count, max(1, households // 30))
    low, high = (30, 300) if households >= 30 else (households, households)
    weights = rng.lognormal(0.0, 0.45, size=count)
    extra = households - low * count
    sizes = np.full(count, low, dtype=np.int64)
    share = np.floor(weights / weights.sum() * extra).astype(np.int64)
    sizes += np.minimum(share, high - low)
    order = np.argsort(-weights, kind="stable")
    position = 0
    while sizes.sum() < households:
        v = order[position % count]
        if sizes[v] < high:
            sizes[v] += 1
        position += 1
    return sizes


def _coverage(rng: np.random.Generator, p_full: float, p_none: float) -> int:
    u = rng.random()
    if u < p_none:
        return 0
    return 2 if u < p_none + p_full else 1


def _specialties(rng: np.random.Generator, terrain: int, fish: bool) -> tuple[str, ...]:
    table = SPECIALTIES[terrain]
    weights = np.array([w for _n, w in table], dtype=np.float64)
    count = 1 + int(rng.random() < 0.55) + int(rng.random() < 0.2)
    picks = rng.choice(len(table), size=count, replace=False, p=weights / weights.sum())
    products = [table[i][0] for i in sorted(picks)]
    if fish and rng.random() < 0.5:
        products.append(FISH)
    return tuple(products)


def _offset(lat: int, lon: int, km: float, angle: float) -> tuple[int, int]:
    """Move ``km`` (straight line) from (lat, lon) in 1e-5 degrees along ``angle``."""
    dlat = km * math.cos(angle) / 111.0
    dlon = km * math.sin(angle) / (111.0 * math.cos(math.radians(lat / 1e5)))
    return lat + round(dlat * 1e5), lon + round(dlon * 1e5)


def build_geography(
    rng: np.random.Generator, *, county_code: str, households: int
) -> Geography:
    province_code = county_code[:2] + "0" * 10
    prefecture_code = county_code[:4] + "0" * 8
    province_name, province_en, western, centre_lat, centre_lon = PROVINCES[
        county_code[:2]
    ]
    taken: set[str] = set()
    county_place, prefecture_place = place_names(rng, 2, taken)
    prefecture_name, prefecture_en = YUNNAN_PREFECTURES.get(
        county_code[:4],
        (f"{prefecture_place.hanzi}市", f"{prefecture_place.pinyin} City"),
    )
    county_name = f"{county_place.hanzi}县"
    divisions = [
        DivisionRow(
            province_code,
            province_name,
            province_en,
            "province",
            None,
            county_code[:2],
            western,
        ),
        DivisionRow(
            prefecture_code,
            prefecture_name,
            prefecture_en,
            "prefecture",
            province_code,
            county_code[:4],
            western,
        ),
        DivisionRow(
            county_code,
            county_name,
            f"{county_place.pinyin} County",
            "county",
            prefecture_code,
            county_code[:6],
            western,
        ),
    ]
    seat_lat = round((centre_lat + rng.uniform(-0.6, 0.6)) * 1e5)
    seat_lon = round((centre_lon + rng.uniform(-0.6, 0.6)) * 1e5)

    sizes = village_sizes(rng, households)
    n_villages = len(sizes)
    n_townships = min(int(rng.integers(8, 13)), n_villages)
    # Every township gets one village, the rest fall at random.
    township_of = np.concatenate(
        [np.arange(n_townships), rng.integers(0, n_townships, n_villages - n_townships)]
    )
    township_of = np.sort(township_of, kind="stable")
    township_places = place_names(rng, n_townships, taken)
    village_places = place_names(rng, n_villages, taken)

    villages: list[VillageRow] = []
    next_town, next_xiang = 101, 201
    v = 0
    for t in range(n_townships):
        place: PlaceName = township_places[t]
        # The first township holds the county seat, in the valley.
        ruggedness = 0.15 if t == 0 else float(rng.uniform(0.3, 1.0))
        seat_km = float(rng.uniform(0.0, 4.0)) if t == 0 else float(rng.uniform(12, 75))
        is_town = t == 0 or rng.random() < 0.5
        ethnic = not is_town and rng.random() < 0.35
        if is_town:
            t_code, next_town = f"{county_code[:6]}{next_town:03d}", next_town + 1
            t_name, t_en = f"{place.hanzi}镇", f"{place.pinyin} Town"
        else:
            t_code, next_xiang = f"{county_code[:6]}{next_xiang:03d}", next_xiang + 1
            t_name, t_en = f"{place.hanzi}乡", f"{place.pinyin} Township"
            if ethnic:
                group, group_en = ETHNIC_GROUPS[int(rng.integers(len(ETHNIC_GROUPS)))]
                t_name = f"{place.hanzi}{group}乡"
                t_en = f"{place.pinyin} {group_en} Ethnic Township"
        t_code += "000"
        divisions.append(
            DivisionRow(
                t_code, t_name, t_en, "township", county_code, t_code[:9], western
            )
        )
        t_angle = 2 * math.pi * t / n_townships + float(rng.uniform(-0.3, 0.3))
        t_lat, t_lon = _offset(seat_lat, seat_lon, seat_km / 1.4, t_angle)
        p_mountain = 0.15 + 0.7 * ruggedness
        p_plain = 0.35 * (1 - ruggedness)
        next_village = 201
        for _ in range(int((township_of == t).sum())):
            u = rng.random()
            terrain = (
                PLAIN if u < p_plain else (HILL if u < 1 - p_mountain else MOUNTAIN)
            )
            to_town = float(rng.lognormal(math.log((2.5, 5.0, 9.0)[terrain]), 0.5))
            to_seat = seat_km + to_town * float(rng.uniform(0.6, 1.0))
            if terrain == PLAIN:
                road = 0.0 if rng.random() < 0.9 else float(rng.uniform(0.1, 1.0))
            else:
                road = float(rng.exponential((0.6, 1.5)[terrain - 1]))
            remote = min(1.0, to_seat / 90.0)
            broadband = _coverage(
                rng,
                p_full=max(0.25, 0.95 - 0.5 * remote - 0.2 * (terrain == MOUNTAIN)),
                p_none=0.01 + 0.02 * (terrain == MOUNTAIN),
            )
            mobile = _coverage(
                rng,
                p_full=max(0.5, 0.98 - 0.35 * remote - 0.1 * (terrain == MOUNTAIN)),
                p_none=0.005,
            )
            orchards = rng.random() < (0.3, 0.45, 0.3)[terrain]
            fish = rng.random() < (0.35, 0.2, 0.06)[terrain]
            station = rng.random() < min(0.9, max(0.35, 0.85 - 0.006 * to_seat))
            logistics = rng.random() < min(0.9, 0.45 + 0.25 * station - 0.003 * to_seat)
            cold = rng.random() < 0.03 + 0.08 * (orchards or fish) + 0.05 * (
                terrain == 0
            )
            landscape = rng.random() < 0.12 + 0.2 * (terrain == MOUNTAIN)
            folk = rng.random() < (0.4 if ethnic else 0.12)
            gardens = rng.random() < (0.75, 0.55, 0.45)[terrain]
            products = _specialties(rng, terrain, fish)
            v_lat, v_lon = _offset(
                t_lat, t_lon, to_town / 1.3, float(rng.uniform(0, 2 * math.pi))
            )
            code = f"{t_code[:9]}{next_village:03d}"
            next_village += 1
            village_place = village_places[v]
            divisions.append(
                DivisionRow(
                    code,
                    f"{village_place.hanzi}村",
                    f"{village_place.pinyin} Village",
                    "village",
                    t_code,
                    code,
                    western,
                )
            )
            villages.append(
                VillageRow(
                    code=code,
                    township=t_code,
                    name=f"{village_place.hanzi}村",
                    township_name=t_name,
                    terrain=terrain,
                    km_to_county_seat=round(to_seat * 10),
                    km_to_paved_road=round(road * 10),
                    km_to_township=round(to_town * 10),
                    broadband=broadband,
                    mobile_4g=mobile,
                    has_service_station=bool(station),
                    has_logistics_point=bool(logistics),
                    has_cold_storage=bool(cold),
                    landscape=bool(landscape),
                    folk_culture=bool(folk),
                    orchards=bool(orchards),
                    vegetable_gardens=bool(gardens),
                    fish_ponds=bool(fish),
                    specialty_products=products,
                    latitude=v_lat,
                    longitude=v_lon,
                    households=int(sizes[v]),
                )
            )
            v += 1
    return Geography(
        divisions=divisions,
        villages=villages,
        county_code=county_code,
        county_name=county_name,
    )
