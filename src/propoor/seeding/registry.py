"""Registry details of each household: address, phone, position, survey days.

Pure: numpy only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from propoor.seeding.geography import MOUNTAIN, VillageRow
from propoor.seeding.people import People


@dataclass(frozen=True)
class Households:
    village: np.ndarray  # index into the villages
    head_name: list[str]
    address: list[str]
    phone: list[str]
    category: np.ndarray  # index into CATEGORIES
    causes: list[tuple[str, ...]]  # main cause first, then up to two
    latitude: np.ndarray  # 1e-5 degrees
    longitude: np.ndarray
    per_capita_latest: np.ndarray  # fen, the latest year (for reports and tests)


def household_rows(
    rng: np.random.Generator,
    *,
    people: People,
    villages: list[VillageRow],
    village_of: np.ndarray,
    category: np.ndarray,
    causes: list[tuple[str, ...]],
    per_capita_latest: np.ndarray,
) -> Households:
    n = len(people.size)
    head_name = [people.name[i] for i in people.starts]
    index_in_village = np.arange(n) - np.searchsorted(village_of, village_of)
    group = index_in_village // 25 + 1
    door = rng.integers(1, 80, n)
    address = [
        f"{villages[v].township_name}{villages[v].name}{g}组{d}号"
        for v, g, d in zip(
            village_of.tolist(), group.tolist(), door.tolist(), strict=True
        )
    ]
    has_phone = rng.random(n) < 0.9
    prefix = rng.choice(np.array([13, 15, 17, 18, 19]), n)
    rest = rng.integers(0, 10**9, n)
    phone = [
        f"{a}{b:09d}" if ok else ""
        for ok, a, b in zip(
            has_phone.tolist(), prefix.tolist(), rest.tolist(), strict=True
        )
    ]
    lat = np.array([v.latitude for v in villages])[village_of]
    lon = np.array([v.longitude for v in villages])[village_of]
    spread = np.where(
        np.array([v.terrain for v in villages])[village_of] == MOUNTAIN, 2000, 900
    )
    return Households(
        village=village_of,
        head_name=head_name,
        address=address,
        phone=phone,
        category=category,
        causes=causes,
        latitude=lat + np.round(rng.uniform(-1, 1, n) * spread).astype(np.int64),
        longitude=lon + np.round(rng.uniform(-1, 1, n) * spread).astype(np.int64),
        per_capita_latest=per_capita_latest,
    )


def survey_dates(
    rng: np.random.Generator, n: int, years: tuple[int, ...], cap: dt.date | None
) -> dict[int, np.ndarray]:
    """Each household is surveyed in the autumn, on about the same day every year."""
    offset = rng.integers(0, 91, n).astype("timedelta64[D]")
    dates = {}
    for y in years:
        d = np.datetime64(f"{y}-09-01") + offset
        if cap is not None:
            d = np.minimum(d, np.datetime64(cap.isoformat()))
        dates[y] = d
    return dates
