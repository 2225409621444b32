"""Propose a ranked support plan for a household, with its reasons.

Each intervention of the catalogue is first *gated* (it is offered only when the
household and its village can use it), then *scored* with documented points; the
reasons name every fact that earned points, in Chinese and in English.

Gates (an intervention failing its gate is not proposed):

==================  ===============================================================
kind / channel      offered when
==================  ===============================================================
ecommerce own_shop  the household has a smartphone and the village has 4G or
                    broadband (partial or full)
ecommerce station   the village has a service station and the household has no
                    smartphone or no 4G/broadband to use it
ecommerce coop.     the village has specialty products, orchards, vegetable
                    gardens or fish ponds, and the household labour or land
training            the household has a labourer (full or partial)
production          a labourer, and land or village orchards/gardens/ponds
tourism             a labourer, and village landscape or folk culture
credit              a labourer
insurance           always
employment          a full labourer
education           schooling is a cause of poverty (its points come from the cause)
relocation          a mountain village, at least 5 km to a road, and lack of water
                    or land is a cause
ecological          a labourer, and forest land or a hill or mountain village
safety_net          no labourer; or no full labourer and the main cause is
                    illness, disability or lack of labour
==================  ===============================================================

Points (:data:`POINTS`), added up into the score:

- cause: the kind answers the main cause of poverty (:data:`CAUSE_KINDS`) 30, a
  secondary cause 15;
- training: lack of skills and no e-commerce experience 20, else no experience 10;
- own shop: smartphone and village 4G/broadband 15; has sold online 10, or has
  bought online 5;
- station: no smartphone (or no network) but a village station 15;
- cooperative: village specialty products or farm resources 10; no e-commerce
  experience 5;
- any e-commerce channel: village logistics point 5; cold storage with orchards,
  gardens or ponds 5;
- tourism: landscape/folk culture with household labour 15; farm resources 5;
- production: household land 10; village farm resources 5;
- employment: full labourers 10; skills 5;
- credit: has sold online (a sales record) 10;
- insurance: members ill or disabled 10;
- relocation: mountain village far from a road 25;
- ecological: forest land 10;
- safety net: no labourer 40, else no full labourer 25;
- wish: the household wishes for the kind or the code 20;
- economics: ``min(10, 10 · yearly gain / cost)`` (10 for a free intervention
  with a gain), rounded to the cent.

Only interventions with at least one household-specific reason (points other than
the economic ones) are proposed. Ties are broken by code, so the ranking is
deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from types import MappingProxyType
from typing import Literal, TypeAlias

__all__ = [
    "CAUSES",
    "CAUSE_KINDS",
    "CHANNELS",
    "KINDS",
    "POINTS",
    "Capacities",
    "Causes",
    "HouseholdCase",
    "Intervention",
    "PlanProposal",
    "Village",
    "propose",
    "propose_many",
]

CAUSES: tuple[str, ...] = (
    "illness",
    "disability",
    "schooling",
    "disaster",
    "lack_land",
    "lack_water",
    "lack_skills",
    "lack_labour",
    "lack_capital",
    "poor_transport",
    "lack_drive",
    "other",
)
KINDS: tuple[str, ...] = (
    "ecommerce",
    "training",
    "production",
    "tourism",
    "credit",
    "insurance",
    "employment",
    "education",
    "relocation",
    "ecological",
    "safety_net",
)
CHANNELS: tuple[str, ...] = ("own_shop", "cooperative", "station")
Coverage: TypeAlias = Literal["none", "partial", "full"]
_COVERAGE = ("none", "partial", "full")
_TERRAINS = ("plain", "hill", "mountain")
_INTERNET = ("none", "mobile", "broadband")
_EXPERIENCE = ("none", "bought", "sold")

#: The kinds of intervention that answer each cause of poverty.
CAUSE_KINDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "illness": ("insurance", "safety_net"),
        "disability": ("safety_net", "ecommerce"),
        "schooling": ("education",),
        "disaster": ("insurance", "production"),
        "lack_land": ("employment", "relocation"),
        "lack_water": ("relocation", "ecological"),
        "lack_skills": ("training", "employment"),
        "lack_labour": ("safety_net",),
        "lack_capital": ("credit", "production"),
        "poor_transport": ("ecommerce", "relocation"),
        "lack_drive": ("training", "employment"),
        "other": (),
    }
)

#: The points each rule adds (see the module docstring for the gates).
POINTS: Mapping[str, int] = MappingProxyType(
    {
        "main_cause": 30,
        "secondary_cause": 15,
        "wish": 20,
        "economics_max": 10,
        "training_lack_skills_no_experience": 20,
        "training_no_experience": 10,
        "own_shop_connected": 15,
        "own_shop_sold_before": 10,
        "own_shop_bought_before": 5,
        "station_no_smartphone": 15,
        "cooperative_products": 10,
        "cooperative_no_experience": 5,
        "logistics_point": 5,
        "cold_storage": 5,
        "tourism_resources": 15,
        "tourism_agri": 5,
        "production_land": 10,
        "production_village": 5,
        "employment_labourers": 10,
        "employment_skills": 5,
        "credit_sales_record": 10,
        "insurance_ill_members": 10,
        "relocation_remote": 25,
        "ecological_forest": 10,
        "safety_net_no_labour": 40,
        "safety_net_no_full_labour": 25,
    }
)

_RELOCATION_KM = Decimal(5)
_REASON_MAX = 400  # PlanItem.reason holds 400 characters

_CAUSE_TEXT: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "illness": ("因病", "illness"),
        "disability": ("因残", "disability"),
        "schooling": ("因学", "schooling costs"),
        "disaster": ("因灾", "disaster"),
        "lack_land": ("缺土地", "lack of land"),
        "lack_water": ("缺水", "lack of water"),
        "lack_skills": ("缺技术", "lack of skills"),
        "lack_labour": ("缺劳力", "lack of labour"),
        "lack_capital": ("缺资金", "lack of capital"),
        "poor_transport": ("交通条件落后", "poor transport"),
        "lack_drive": ("自身发展动力不足", "lack of own drive"),
        "other": ("其他", "other"),
    }
)
_KIND_TEXT: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "ecommerce": ("电商经营", "e-commerce"),
        "training": ("电商培训", "e-commerce training"),
        "production": ("产业发展", "a production project"),
        "tourism": ("乡村旅游", "rural tourism"),
        "credit": ("小额信贷", "micro-credit"),
        "insurance": ("保险", "insurance"),
        "employment": ("就业帮扶", "employment"),
        "education": ("教育资助", "education support"),
        "relocation": ("易地扶贫搬迁", "relocation"),
        "ecological": ("生态补偿岗位", "ecological jobs"),
        "safety_net": ("社会保障兜底", "the social-security safety net"),
    }
)
_CHANNEL_TEXT: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "own_shop": ("自营网店", "an own online shop"),
        "cooperative": ("合作社代销", "selling through the cooperative"),
        "station": ("服务站代销", "selling through the service station"),
    }
)


def _dec(value: object, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise ValueError(f"{what} must be a number, not {value!r}")
    result = value if isinstance(value, Decimal) else Decimal(str(value))
    if not result.is_finite() or result < 0:
        raise ValueError(f"{what} must be a finite number ≥ 0, not {value!r}")
    return result


def _count(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a whole number ≥ 0, not {value!r}")


def _choice(value: object, options: tuple[str, ...], what: str) -> None:
    if value not in options:
        raise ValueError(f"{what} must be one of {', '.join(options)}, not {value!r}")


# --- inputs ----------------------------------------------------------------------


@dataclass(frozen=True)
class Causes:
    """One main cause of poverty and up to two secondary ones (:data:`CAUSES`)."""

    main: str
    secondary: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _choice(self.main, CAUSES, "the main cause")
        secondary = tuple(self.secondary)
        object.__setattr__(self, "secondary", secondary)
        if len(secondary) > 2:
            raise ValueError("at most two secondary causes")
        for cause in secondary:
            _choice(cause, CAUSES, "a secondary cause")
        if len(set(secondary) | {self.main}) != len(secondary) + 1:
            raise ValueError("a cause is given twice")

    @property
    def all(self) -> tuple[str, ...]:
        return (self.main, *self.secondary)


@dataclass(frozen=True)
class Capacities:
    """What the household can do: labour, land (mu), skills, ability to sell."""

    labourers_full: int = 0
    labourers_partial: int = 0
    land_cultivated: Decimal = Decimal(0)
    land_forest: Decimal = Decimal(0)
    land_orchard: Decimal = Decimal(0)
    land_pond: Decimal = Decimal(0)
    skills: tuple[str, ...] = ()
    smartphones: int = 0
    internet: str = "none"
    km_to_road: Decimal = Decimal(0)
    ecommerce_experience: str = "none"
    members_ill_or_disabled: int = 0

    def __post_init__(self) -> None:
        for name in (
            "labourers_full",
            "labourers_partial",
            "smartphones",
            "members_ill_or_disabled",
        ):
            _count(getattr(self, name), name)
        for name in (
            "land_cultivated",
            "land_forest",
            "land_orchard",
            "land_pond",
            "km_to_road",
        ):
            object.__setattr__(self, name, _dec(getattr(self, name), name))
        object.__setattr__(self, "skills", tuple(sorted(set(self.skills))))
        _choice(self.internet, _INTERNET, "internet")
        _choice(self.ecommerce_experience, _EXPERIENCE, "ecommerce_experience")

    @property
    def labourers(self) -> int:
        return self.labourers_full + self.labourers_partial

    @property
    def land_total(self) -> Decimal:
        return (
            self.land_cultivated + self.land_forest + self.land_orchard + self.land_pond
        )


@dataclass(frozen=True)
class Village:
    """The village's geography, infrastructure and resources."""

    terrain: str = "plain"
    has_service_station: bool = False
    has_logistics_point: bool = False
    has_cold_storage: bool = False
    broadband: Coverage = "none"
    mobile_4g: Coverage = "none"
    landscape: bool = False
    folk_culture: bool = False
    orchards: bool = False
    vegetable_gardens: bool = False
    fish_ponds: bool = False
    specialty_products: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _choice(self.terrain, _TERRAINS, "terrain")
        _choice(self.broadband, _COVERAGE, "broadband")
        _choice(self.mobile_4g, _COVERAGE, "mobile_4g")
        object.__setattr__(self, "specialty_products", tuple(self.specialty_products))

    @property
    def connected(self) -> bool:
        return self.broadband != "none" or self.mobile_4g != "none"

    @cached_property
    def farm_resources(self) -> tuple[tuple[str, str], ...]:
        """(zh, en) names of the orchards, gardens and ponds the village has."""
        resources = (
            (self.orchards, "果园", "orchards"),
            (self.vegetable_gardens, "菜园", "vegetable gardens"),
            (self.fish_ponds, "鱼塘", "fish ponds"),
        )
        return tuple((zh, en) for has, zh, en in resources if has)


@dataclass(frozen=True)
class Intervention:
    """A catalogue entry; ``channel`` is required for (and only for) e-commerce."""

    code: str
    kind: str
    typical_cost: Decimal
    yearly_income_gain: Decimal
    duration_months: int
    channel: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code:
            raise ValueError("an intervention needs a code")
        _choice(self.kind, KINDS, f"the kind of {self.code!r}")
        object.__setattr__(
            self, "typical_cost", _dec(self.typical_cost, f"the cost of {self.code!r}")
        )
        object.__setattr__(
            self,
            "yearly_income_gain",
            _dec(self.yearly_income_gain, f"the income gain of {self.code!r}"),
        )
        _count(self.duration_months, f"the duration of {self.code!r}")
        if self.kind == "ecommerce":
            _choice(self.channel, CHANNELS, f"the channel of {self.code!r}")
        elif self.channel is not None:
            raise ValueError(
                f"only e-commerce interventions have a channel: {self.code!r}"
            )


@dataclass(frozen=True)
class HouseholdCase:
    """Everything the planner looks at for one household."""

    household_id: int
    causes: Causes
    capacities: Capacities
    village: Village
    wishes: tuple[str, ...] = ()  # intervention kinds or codes

    def __post_init__(self) -> None:
        object.__setattr__(self, "wishes", tuple(sorted(set(self.wishes))))


@dataclass(frozen=True)
class PlanProposal:
    code: str
    score: Decimal
    reasons_zh: str
    reasons_en: str


# --- scoring ---------------------------------------------------------------------


@dataclass
class _Score:
    points: int = 0
    zh: list[str] = field(default_factory=list)
    en: list[str] = field(default_factory=list)

    def add(self, rule: str, zh: str, en: str) -> None:
        self.points += POINTS[rule]
        self.zh.append(zh)
        self.en.append(en)


def _mu(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _yuan(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _economics(item: Intervention) -> Decimal:
    top = Decimal(POINTS["economics_max"])
    if item.typical_cost == 0:
        points = top if item.yearly_income_gain > 0 else Decimal(0)
    else:
        points = min(top, top * item.yearly_income_gain / item.typical_cost)
    return points.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _gate(item: Intervention, case: HouseholdCase) -> bool:
    c, v, causes = case.capacities, case.village, case.causes.all
    labour = c.labourers > 0
    match item.kind:
        case "ecommerce":
            if item.channel == "own_shop":
                return c.smartphones > 0 and v.connected
            if item.channel == "station":
                return v.has_service_station and not (c.smartphones > 0 and v.connected)
            produce = c.labourers > 0 or c.land_total > 0
            return produce and bool(v.specialty_products or v.farm_resources)
        case "training" | "credit":
            return labour
        case "production":
            return labour and (c.land_total > 0 or bool(v.farm_resources))
        case "tourism":
            return labour and (v.landscape or v.folk_culture)
        case "insurance":
            return True
        case "employment":
            return c.labourers_full > 0
        case "education":
            return "schooling" in causes
        case "relocation":
            return (
                v.terrain == "mountain"
                and c.km_to_road >= _RELOCATION_KM
                and ("lack_water" in causes or "lack_land" in causes)
            )
        case "ecological":
            return labour and (c.land_forest > 0 or v.terrain in ("hill", "mountain"))
        case "safety_net":
            return not labour or (
                c.labourers_full == 0
                and case.causes.main in ("illness", "disability", "lack_labour")
            )
        case _:  # pragma: no cover - Intervention checks the kind
            return False


def _rules(item: Intervention, case: HouseholdCase, s: _Score) -> None:
    c, v, causes = case.capacities, case.village, case.causes
    no_experience = c.ecommerce_experience == "none"
    match item.kind:
        case "training":
            if "lack_skills" in causes.all and no_experience:
                s.add(
                    "training_lack_skills_no_experience",
                    "缺技术且无电商经验 → 电商培训",
                    "lack of skills and no e-commerce experience → e-commerce training",
                )
            elif no_experience:
                s.add(
                    "training_no_experience",
                    "无电商经验 → 电商培训",
                    "no e-commerce experience → e-commerce training",
                )
        case "ecommerce":
            _ecommerce_rules(item, case, s)
        case "tourism":
            places_zh = "、".join(
                zh
                for has, zh in ((v.landscape, "自然风光"), (v.folk_culture, "民俗文化"))
                if has
            )
            places_en = " and ".join(
                en
                for has, en in (
                    (v.landscape, "landscape"),
                    (v.folk_culture, "folk culture"),
                )
                if has
            )
            s.add(
                "tourism_resources",
                f"村有{places_zh}，家有{c.labourers}个劳动力 → 乡村旅游",
                f"village has {places_en}; the household has {c.labourers} "
                "labourer(s) → rural tourism",
            )
            if v.farm_resources:
                s.add(
                    "tourism_agri",
                    "村有"
                    + "、".join(zh for zh, _ in v.farm_resources)
                    + "可做农旅体验",
                    "village "
                    + ", ".join(en for _, en in v.farm_resources)
                    + " for farm experiences",
                )
        case "production":
            if c.land_total > 0:
                s.add(
                    "production_land",
                    f"有土地{_mu(c.land_total)}亩",
                    f"has {_mu(c.land_total)} mu of land",
                )
            if v.farm_resources:
                s.add(
                    "production_village",
                    "村有" + "、".join(zh for zh, _ in v.farm_resources),
                    "village has " + ", ".join(en for _, en in v.farm_resources),
                )
        case "employment":
            s.add(
                "employment_labourers",
                f"有{c.labourers_full}个全劳力",
                f"{c.labourers_full} full labourer(s)",
            )
            if c.skills:
                s.add(
                    "employment_skills",
                    "技能：" + "、".join(c.skills),
                    "skills: " + ", ".join(c.skills),
                )
        case "credit":
            if c.ecommerce_experience == "sold":
                s.add(
                    "credit_sales_record",
                    "有网上销售记录可作授信依据",
                    "online sales record supports credit",
                )
        case "insurance":
            if c.members_ill_or_disabled > 0:
                s.add(
                    "insurance_ill_members",
                    f"{c.members_ill_or_disabled}名成员患病或残疾",
                    f"{c.members_ill_or_disabled} member(s) ill or disabled",
                )
        case "relocation":
            s.add(
                "relocation_remote",
                f"山区，距公路{_mu(c.km_to_road)}公里 → 易地搬迁",
                f"mountain village {_mu(c.km_to_road)} km from a road → relocation",
            )
        case "ecological":
            if c.land_forest > 0:
                s.add(
                    "ecological_forest",
                    f"有林地{_mu(c.land_forest)}亩",
                    f"has {_mu(c.land_forest)} mu of forest",
                )
        case "safety_net":
            if c.labourers == 0:
                s.add(
                    "safety_net_no_labour",
                    "家中无劳动力 → 社会保障兜底",
                    "no labourer in the household → safety net",
                )
            else:
                s.add(
                    "safety_net_no_full_labour",
                    f"无全劳力（{c.labourers_partial}个半劳力）",
                    f"no full labourer ({c.labourers_partial} partial)",
                )
        case _:  # education: its points come from the cause
            pass


def _ecommerce_rules(item: Intervention, case: HouseholdCase, s: _Score) -> None:
    c, v = case.capacities, case.village
    network_zh = "宽带" if v.broadband != "none" else "4G"
    network_en = "broadband" if v.broadband != "none" else "4G"
    if item.channel == "own_shop":
        s.add(
            "own_shop_connected",
            f"有{c.smartphones}部智能手机且村通{network_zh} → 自营网店",
            f"{c.smartphones} smartphone(s) and village {network_en} → own online shop",
        )
        if c.ecommerce_experience == "sold":
            s.add("own_shop_sold_before", "曾在网上销售", "has sold online before")
        elif c.ecommerce_experience == "bought":
            s.add("own_shop_bought_before", "有网购经验", "has bought online")
    elif item.channel == "station":
        why_zh = "无智能手机" if c.smartphones == 0 else "村未通网络"
        why_en = "no smartphone" if c.smartphones == 0 else "no village 4G/broadband"
        s.add(
            "station_no_smartphone",
            f"{why_zh}但村有电商服务站 → 服务站代销",
            f"{why_en} but the village has a service station → sell through it",
        )
    else:
        products = list(v.specialty_products) or [en for _, en in v.farm_resources]
        products_zh = list(v.specialty_products) or [zh for zh, _ in v.farm_resources]
        s.add(
            "cooperative_products",
            "村有" + "、".join(products_zh) + " → 合作社代销",
            "village has " + ", ".join(products) + " → sell through the cooperative",
        )
        if c.ecommerce_experience == "none":
            s.add(
                "cooperative_no_experience",
                "无电商经验，合作社统一销售",
                "no e-commerce experience: the cooperative sells",
            )
    if v.has_logistics_point:
        s.add("logistics_point", "村有物流点", "village logistics point")
    if v.has_cold_storage and (v.orchards or v.vegetable_gardens or v.fish_ponds):
        s.add("cold_storage", "村有冷库保鲜", "village cold storage for fresh produce")


@dataclass(frozen=True)
class _Prepared:
    """A catalogue entry with what does not depend on the household worked out."""

    item: Intervention
    economics: Decimal
    economics_zh: str
    economics_en: str
    cause_reasons: Mapping[tuple[str, bool], tuple[str, str]]


def _prepare(item: Intervention) -> _Prepared:
    kind_zh, kind_en = _KIND_TEXT[item.kind]
    reasons: dict[tuple[str, bool], tuple[str, str]] = {}
    for cause, kinds in CAUSE_KINDS.items():
        if item.kind in kinds:
            cause_zh, cause_en = _CAUSE_TEXT[cause]
            reasons[cause, True] = (
                f"主要致贫原因{cause_zh} → {kind_zh}",
                f"main cause {cause_en} → {kind_en}",
            )
            reasons[cause, False] = (
                f"次要致贫原因{cause_zh} → {kind_zh}",
                f"secondary cause {cause_en} → {kind_en}",
            )
    gain, cost = _yuan(item.yearly_income_gain), _yuan(item.typical_cost)
    return _Prepared(
        item=item,
        economics=_economics(item),
        economics_zh=f"预计年增收{gain}元，投入{cost}元",
        economics_en=f"yearly gain {gain} yuan for {cost} yuan",
        cause_reasons=reasons,
    )


def _evaluate(prepared: _Prepared, case: HouseholdCase) -> PlanProposal | None:
    item = prepared.item
    if not _gate(item, case):
        return None
    s = _Score()
    for rank, cause in enumerate(case.causes.all):
        reason = prepared.cause_reasons.get((cause, rank == 0))
        if reason is not None:
            s.add("main_cause" if rank == 0 else "secondary_cause", *reason)
    _rules(item, case, s)
    wished = [w for w in (item.kind, item.code) if w in case.wishes]
    if wished:
        s.add("wish", f"本户意愿：{wished[0]}", f"the household wishes for {wished[0]}")
    if s.points == 0:
        return None
    if prepared.economics > 0:
        s.zh.append(prepared.economics_zh)
        s.en.append(prepared.economics_en)
    return PlanProposal(
        code=item.code,
        score=Decimal(s.points) + prepared.economics,
        reasons_zh=_clip("；".join(s.zh)),
        reasons_en=_clip("; ".join(s.en)),
    )


def _clip(text: str) -> str:
    return text if len(text) <= _REASON_MAX else text[: _REASON_MAX - 1] + "…"


def propose(
    case: HouseholdCase,
    catalogue: Sequence[Intervention],
    *,
    limit: int | None = None,
) -> list[PlanProposal]:
    """The interventions that fit ``case``, best first (ties by code)."""
    return _propose(case, [_prepare(item) for item in catalogue], limit)


def _propose(
    case: HouseholdCase, prepared: Sequence[_Prepared], limit: int | None
) -> list[PlanProposal]:
    proposals = [p for item in prepared if (p := _evaluate(item, case)) is not None]
    proposals.sort(key=lambda p: (-p.score, p.code))
    return proposals if limit is None else proposals[:limit]


def propose_many(
    cases: Iterable[HouseholdCase],
    catalogue: Sequence[Intervention],
    *,
    limit: int | None = None,
) -> dict[int, list[PlanProposal]]:
    """:func:`propose` for many households: ``{household_id: proposals}``.

    The catalogue is prepared once, and households with the same causes,
    capacities, village and wishes share one evaluation.
    """
    prepared = [_prepare(item) for item in catalogue]
    memo: dict[tuple[Causes, Capacities, Village, tuple[str, ...]], list[PlanProposal]]
    memo = {}
    out: dict[int, list[PlanProposal]] = {}
    for case in cases:
        key = (case.causes, case.capacities, case.village, case.wishes)
        plan = memo.get(key)
        if plan is None:
            plan = _propose(case, prepared, limit)
            memo[key] = plan
        out[case.household_id] = plan
    return out
