"""Snapshot rows for kernel tests and benchmarks."""

from __future__ import annotations

import numpy as np
import polars as pl

from propoor.kernel.identify import SNAPSHOT_COLUMNS


def snapshot_row(**overrides: object) -> dict[str, object]:
    """A household that is poor by no standard; override what a test needs."""
    row: dict[str, object] = {
        "household_id": 1,
        "village": "520322101001",
        "size": 4,
        "income_wages": 2_000_000,
        "income_business": 500_000,
        "income_property": 0,
        "income_transfers": 100_000,
        "income_ecommerce": 0,
        "costs": 200_000,
        "spending_medical": 0,
        "spending_disaster": 0,
        "food_secure": True,
        "clothing_secure": True,
        "school_age_children": 1,
        "children_out_of_school": 0,
        "medical_insured": True,
        "medical_care_access": True,
        "housing_structure": "brick_wood",
        "housing_grade": "B",
        "safe_water": True,
        "water_quality": 4,
        "wall_quality": 4,
        "electricity": True,
        "cooking_fuel": "gas",
        "sanitation": "flush",
        "undernourished_member": False,
        "child_death_5y": False,
        "max_schooling_years": 9,
        "has_radio": False,
        "has_tv": True,
        "has_telephone": True,
        "has_computer": False,
        "has_bicycle": False,
        "has_motorbike": True,
        "has_refrigerator": True,
        "has_car": False,
        "land_cultivated": 3.5,
        "land_forest": 0.0,
        "land_orchard": 1.0,
        "land_pond": 0.0,
        "labourers_full": 2,
        "labourers_partial": 1,
        "members_ill_or_disabled": 0,
        "head_female": False,
        "head_elderly": False,
        "head_child": False,
        "smartphones": 2,
        "internet": "mobile",
        "km_to_road": 1.5,
        "km_to_market": 8.0,
        "ecommerce_experience": "bought",
    }
    unknown = set(overrides) - set(row)
    if unknown:
        raise KeyError(f"not snapshot fields: {sorted(unknown)}")
    row.update(overrides)
    return row


def frame_of(*rows: dict[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=dict(SNAPSHOT_COLUMNS))


def synthetic_snapshots(n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` random but plausible households (numpy, vectorised)."""
    rng = np.random.default_rng(seed)

    def pick(options: list[str], p: list[float]) -> pl.Series:
        return pl.Series(rng.choice(options, size=n, p=p))

    def flag(p: float) -> np.ndarray:
        return rng.random(n) < p

    def fen(mean: float) -> np.ndarray:
        return (rng.exponential(mean, n) * 100).astype(np.int64)

    villages = np.array(
        [f"52032210{t}{v:03d}" for t in range(1, 10) for v in range(1, 41)]
    )
    data = {
        "household_id": np.arange(1, n + 1, dtype=np.int64),
        "village": pl.Series(rng.choice(villages, size=n)),
        "size": rng.integers(1, 9, n),
        "income_wages": fen(20000),
        "income_business": fen(3000),
        "income_property": fen(200),
        "income_transfers": fen(1000),
        "income_ecommerce": fen(300),
        "costs": fen(1500),
        "spending_medical": fen(800),
        "spending_disaster": fen(100),
        "food_secure": flag(0.95),
        "clothing_secure": flag(0.97),
        "school_age_children": rng.integers(0, 4, n),
        "children_out_of_school": (rng.random(n) < 0.03).astype(np.int64),
        "medical_insured": flag(0.97),
        "medical_care_access": flag(0.95),
        "housing_structure": pick(
            ["concrete", "brick_wood", "earth_wood", "other"], [0.4, 0.35, 0.2, 0.05]
        ),
        "housing_grade": pick(["A", "B", "C", "D"], [0.5, 0.4, 0.07, 0.03]),
        "safe_water": flag(0.9),
        "water_quality": rng.integers(1, 6, n),
        "wall_quality": rng.integers(1, 6, n),
        "electricity": flag(0.99),
        "cooking_fuel": pick(
            ["electricity", "gas", "coal", "wood", "dung"], [0.3, 0.3, 0.15, 0.2, 0.05]
        ),
        "sanitation": pick(
            ["flush", "improved_pit", "unimproved", "none"], [0.4, 0.3, 0.2, 0.1]
        ),
        "undernourished_member": flag(0.05),
        "child_death_5y": flag(0.01),
        "max_schooling_years": rng.integers(0, 13, n),
        **{
            name: flag(p)
            for name, p in [
                ("has_radio", 0.2),
                ("has_tv", 0.8),
                ("has_telephone", 0.7),
                ("has_computer", 0.2),
                ("has_bicycle", 0.4),
                ("has_motorbike", 0.5),
                ("has_refrigerator", 0.6),
                ("has_car", 0.1),
            ]
        },
        "land_cultivated": rng.exponential(3.0, n).round(2),
        "land_forest": rng.exponential(1.0, n).round(2),
        "land_orchard": rng.exponential(0.5, n).round(2),
        "land_pond": rng.exponential(0.1, n).round(2),
        "labourers_full": rng.integers(0, 4, n),
        "labourers_partial": rng.integers(0, 3, n),
        "members_ill_or_disabled": rng.integers(0, 2, n),
        "head_female": flag(0.2),
        "head_elderly": flag(0.25),
        "head_child": flag(0.01),
        "smartphones": rng.integers(0, 4, n),
        "internet": pick(["none", "mobile", "broadband"], [0.2, 0.6, 0.2]),
        "km_to_road": rng.exponential(2.0, n).round(1),
        "km_to_market": rng.exponential(10.0, n).round(1),
        "ecommerce_experience": pick(["none", "bought", "sold"], [0.5, 0.4, 0.1]),
    }
    return pl.DataFrame(data).cast(dict(SNAPSHOT_COLUMNS))
