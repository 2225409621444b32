"""What households wish for: intervention codes of the catalogue, and their own words.

The codes are those of ``households/data/interventions.json`` (a test holds them to
it). Each wish has a probability from the household's situation (an unsafe house →
renovation, a seriously ill member → medical assistance, a specialty and young people
→ an online shop …); households above the line voice about a third as many wishes.
"""

from __future__ import annotations

import numpy as np

from propoor.seeding.geography import VillageRow

# The household's own words for its first wish ({p}: the village's first specialty).
WISH_NOTES = {
    "ecommerce-own-shop": "想自己开网店，把{p}卖到外面去",
    "ecommerce-cooperative": "希望合作社帮忙把{p}在网上卖出去",
    "ecommerce-station": "不会用手机卖货，希望服务站帮忙代销{p}",
    "training-ecommerce": "想学电商和直播，多卖点{p}",
    "production-specialty": "想扩大{p}的生产，需要种苗和技术",
    "tourism-farmstay": "村里风景好，想办农家乐",
    "credit-microloan": "缺本钱，想申请小额贷款发展{p}",
    "insurance-production": "怕天灾和价格下跌，想买保险",
    "employment-transfer": "家里有劳动力，希望介绍稳定的工作",
    "education-support": "孩子上学负担重，希望有助学金",
    "relocation": "住得太偏，愿意搬到条件好的地方",
    "ecological-ranger": "想当生态护林员",
    "safety-net": "家里没有劳动力，希望纳入低保",
    "medical-assistance": "看病花钱多，希望医疗救助",
    "housing-renovation": "房子是危房，希望改造",
}


def household_wishes(
    *,
    wish_u: np.ndarray,
    poor: np.ndarray,
    villages: list[VillageRow],
    village_of: np.ndarray,
    seller: np.ndarray,
    smartphones: np.ndarray,
    young_full: np.ndarray,
    full: np.ndarray,
    school_age: np.ndarray,
    cultivated: np.ndarray,
    forest: np.ndarray,
    tourism: np.ndarray,
    serious: np.ndarray,
    unsafe_house: np.ndarray,
    remote: np.ndarray,
    category: np.ndarray,
    station: np.ndarray,
) -> tuple[list[tuple[str, ...]], list[str]]:
    """Up to three wishes per household, in order of how pressing they are."""
    codes = list(WISH_NOTES)
    p = np.zeros_like(wish_u)
    col = codes.index
    p[:, col("housing-renovation")] = 0.8 * unsafe_house
    p[:, col("medical-assistance")] = 0.6 * serious
    p[:, col("safety-net")] = 0.5 * ((full == 0) | (category > 0))
    p[:, col("education-support")] = 0.4 * (school_age > 0)
    p[:, col("employment-transfer")] = 0.3 * (full > 0)
    p[:, col("relocation")] = 0.25 * remote
    p[:, col("ecological-ranger")] = 0.1 * (forest > 2)
    p[:, col("ecommerce-own-shop")] = np.where(seller, 0.5, 0.1 * (young_full > 0))
    p[:, col("ecommerce-cooperative")] = 0.15 * (cultivated > 2)
    p[:, col("ecommerce-station")] = 0.25 * station * (smartphones == 0)
    p[:, col("training-ecommerce")] = 0.25 * (young_full > 0) * ~seller
    p[:, col("production-specialty")] = 0.3 * (cultivated > 3)
    p[:, col("tourism-farmstay")] = 0.15 * tourism
    p[:, col("credit-microloan")] = np.full(len(poor), 0.15)
    p[:, col("insurance-production")] = np.full(len(poor), 0.05)
    # Households above the line voice fewer wishes.
    p *= np.where(poor, 1.0, 0.35)[:, None]
    chosen = wish_u < p
    wishes: list[tuple[str, ...]] = []
    notes: list[str] = []
    for h in range(len(poor)):
        picked = tuple(codes[c] for c in np.flatnonzero(chosen[h])[:3])
        wishes.append(picked)
        if picked:
            product = villages[village_of[h]].specialty_products[0]
            notes.append(WISH_NOTES[picked[0]].format(p=product))
        else:
            notes.append("")
    return wishes, notes
