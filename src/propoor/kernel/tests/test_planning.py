from __future__ import annotations

from decimal import Decimal

import pytest

from propoor.kernel.planning import (
    Capacities,
    Causes,
    HouseholdCase,
    Intervention,
    PlanProposal,
    Village,
    propose,
    propose_many,
)


def _item(
    code: str, kind: str, cost: str, gain: str, channel: str | None = None
) -> Intervention:
    return Intervention(
        code=code,
        kind=kind,
        typical_cost=Decimal(cost),
        yearly_income_gain=Decimal(gain),
        duration_months=12,
        channel=channel,
    )


CATALOGUE = (
    _item("ec-shop", "ecommerce", "500", "3000", "own_shop"),
    _item("ec-station", "ecommerce", "0", "1500", "station"),
    _item("ec-coop", "ecommerce", "200", "1000", "cooperative"),
    _item("train-ec", "training", "300", "600"),
    _item("tour-homestay", "tourism", "20000", "8000"),
    _item("safety-dibao", "safety_net", "0", "3000"),
    _item("edu-grant", "education", "2000", "0"),
    _item("reloc", "relocation", "60000", "2000"),
    _item("emp-job", "employment", "0", "12000"),
    _item("credit-micro", "credit", "50000", "5000"),
    _item("ins-health", "insurance", "300", "0"),
    _item("prod-orchard", "production", "5000", "4000"),
    _item("eco-ranger", "ecological", "0", "10000"),
)


def _case(
    *,
    main: str,
    secondary: tuple[str, ...] = (),
    wishes: tuple[str, ...] = (),
    village: Village | None = None,
    **capacities: object,
) -> HouseholdCase:
    return HouseholdCase(
        household_id=1,
        causes=Causes(main=main, secondary=secondary),
        capacities=Capacities(**capacities),  # type: ignore[arg-type]
        village=village or Village(mobile_4g="full", has_service_station=True),
        wishes=wishes,
    )


def _ranked(proposals: list[PlanProposal]) -> list[tuple[str, str]]:
    return [(p.code, str(p.score)) for p in proposals]


def test_lack_of_skills_without_experience_ranks_training_first() -> None:
    # given a household poor for lack of skills, with a smartphone, two full
    # labourers, 2 mu of land and no e-commerce experience, in a 4G village
    case = _case(
        main="lack_skills",
        labourers_full=2,
        smartphones=1,
        land_cultivated=Decimal("2"),
    )

    # when a plan is proposed
    plan = propose(case, CATALOGUE)

    # then training comes first, then a job, then an own shop, then production
    assert _ranked(plan) == [
        ("train-ec", "60.00"),
        ("emp-job", "50.00"),
        ("ec-shop", "25.00"),
        ("prod-orchard", "18.00"),
    ]
    assert plan[0].reasons_en == (
        "main cause lack of skills → e-commerce training; "
        "lack of skills and no e-commerce experience → e-commerce training; "
        "yearly gain 600.00 yuan for 300.00 yuan"
    )
    assert plan[0].reasons_zh == (
        "主要致贫原因缺技术 → 电商培训；缺技术且无电商经验 → 电商培训；"
        "预计年增收600.00元，投入300.00元"
    )
    assert plan[2].reasons_en == (
        "1 smartphone(s) and village 4G → own online shop; "
        "yearly gain 3000.00 yuan for 500.00 yuan"
    )


def test_without_a_smartphone_the_station_sells_instead_of_an_own_shop() -> None:
    case = _case(main="lack_skills", labourers_full=2, smartphones=0)

    plan = propose(case, CATALOGUE)

    codes = [p.code for p in plan]
    assert "ec-shop" not in codes
    station = plan[codes.index("ec-station")]
    assert (station.score, station.reasons_en) == (
        Decimal("25.00"),
        "no smartphone but the village has a service station → sell through it; "
        "yearly gain 1500.00 yuan for 0.00 yuan",
    )


def test_no_station_and_no_smartphone_means_no_ecommerce_channel() -> None:
    case = _case(
        main="lack_skills",
        labourers_full=1,
        village=Village(mobile_4g="full"),
    )

    assert [p.code for p in propose(case, CATALOGUE) if p.code.startswith("ec-")] == []


def test_tourism_needs_village_attractions_and_labour() -> None:
    # given a village with landscape, folk culture and orchards
    village = Village(landscape=True, folk_culture=True, orchards=True)
    with_labour = _case(main="lack_capital", labourers_partial=1, village=village)
    without_labour = _case(main="lack_capital", village=village)

    # when plans are proposed
    plan = propose(with_labour, CATALOGUE)
    no_labour_plan = propose(without_labour, CATALOGUE)

    # then tourism is offered only to the household with labour
    assert _ranked(plan) == [
        ("prod-orchard", "43.00"),
        ("credit-micro", "31.00"),
        ("ec-coop", "25.00"),
        ("tour-homestay", "24.00"),
        ("train-ec", "20.00"),
    ]
    assert plan[3].reasons_en == (
        "village has landscape and folk culture; the household has 1 labourer(s) "
        "→ rural tourism; village orchards for farm experiences; "
        "yearly gain 8000.00 yuan for 20000.00 yuan"
    )
    assert plan[3].reasons_zh == (
        "村有自然风光、民俗文化，家有1个劳动力 → 乡村旅游；村有果园可做农旅体验；"
        "预计年增收8000.00元，投入20000.00元"
    )
    # and the household without labour gets the safety net only
    assert _ranked(no_labour_plan) == [("safety-dibao", "50.00")]
    assert no_labour_plan[0].reasons_en == (
        "no labourer in the household → safety net; "
        "yearly gain 3000.00 yuan for 0.00 yuan"
    )


def test_schooling_cause_brings_education_support() -> None:
    # given a household poor from schooling costs, with an ill member
    case = _case(
        main="schooling",
        secondary=("illness",),
        labourers_full=1,
        members_ill_or_disabled=1,
    )

    plan = propose(case, CATALOGUE)

    assert _ranked(plan) == [
        ("edu-grant", "30.00"),
        ("ec-station", "25.00"),
        ("ins-health", "25.00"),
        ("emp-job", "20.00"),
        ("train-ec", "20.00"),
    ]
    assert plan[0].reasons_zh == "主要致贫原因因学 → 教育资助"
    assert plan[2].reasons_en == (
        "secondary cause illness → insurance; 1 member(s) ill or disabled"
    )


def test_relocation_for_a_remote_mountain_household_lacking_water() -> None:
    # given a household 8.5 km from a road in a mountain village, lacking water
    # and land, with 3 mu of forest
    case = _case(
        main="lack_water",
        secondary=("lack_land",),
        labourers_full=1,
        km_to_road=Decimal("8.5"),
        land_forest=Decimal("3"),
        village=Village(terrain="mountain"),
    )

    plan = propose(case, CATALOGUE)

    assert _ranked(plan) == [
        ("reloc", "70.33"),
        ("eco-ranger", "50.00"),
        ("emp-job", "35.00"),
        ("train-ec", "20.00"),
        ("prod-orchard", "18.00"),
    ]
    assert plan[0].reasons_en == (
        "main cause lack of water → relocation; "
        "secondary cause lack of land → relocation; "
        "mountain village 8.5 km from a road → relocation; "
        "yearly gain 2000.00 yuan for 60000.00 yuan"
    )


def test_relocation_needs_distance_from_the_road() -> None:
    case = _case(
        main="lack_water",
        labourers_full=1,
        km_to_road=Decimal("4.9"),
        village=Village(terrain="mountain"),
    )

    assert _ranked(propose(case, CATALOGUE)) == [
        ("eco-ranger", "40.00"),
        ("emp-job", "20.00"),
        ("train-ec", "20.00"),
    ]


def test_wishes_add_weight() -> None:
    # given the lack-of-skills household wishing for e-commerce and the orchard
    case = _case(
        main="lack_skills",
        labourers_full=2,
        smartphones=1,
        land_cultivated=Decimal("2"),
        wishes=("ecommerce", "prod-orchard"),
    )

    plan = propose(case, CATALOGUE)

    # then the own shop and the orchard gain 20 points each
    assert _ranked(plan) == [
        ("train-ec", "60.00"),
        ("emp-job", "50.00"),
        ("ec-shop", "45.00"),
        ("prod-orchard", "38.00"),
    ]
    assert plan[2].reasons_en.endswith(
        "the household wishes for ecommerce; yearly gain 3000.00 yuan for 500.00 yuan"
    )


def test_seller_with_village_logistics() -> None:
    # given an ill household that has sold online, in a village with broadband,
    # a logistics point, cold storage, vegetable gardens and kiwi
    village = Village(
        broadband="partial",
        has_logistics_point=True,
        has_cold_storage=True,
        vegetable_gardens=True,
        specialty_products=("kiwi",),
    )
    case = _case(
        main="illness",
        labourers_partial=1,
        ecommerce_experience="sold",
        skills=("weaving",),
        village=village,
    )

    plan = propose(case, CATALOGUE, limit=3)

    assert _ranked(plan) == [
        ("safety-dibao", "65.00"),
        ("ec-coop", "30.00"),
        ("ins-health", "30.00"),
    ]
    assert plan[1].reasons_en == (
        "village has kiwi → sell through the cooperative; village logistics point; "
        "village cold storage for fresh produce; "
        "yearly gain 1000.00 yuan for 200.00 yuan"
    )


def test_propose_many_matches_propose() -> None:
    # given three households, two of them in the same situation
    cases = [
        _case(main="lack_skills", labourers_full=2, smartphones=1),
        _case(main="schooling", labourers_full=1),
    ]
    same = HouseholdCase(
        household_id=7,
        causes=cases[0].causes,
        capacities=cases[0].capacities,
        village=cases[0].village,
    )
    cases[1] = HouseholdCase(
        household_id=2,
        causes=cases[1].causes,
        capacities=cases[1].capacities,
        village=cases[1].village,
    )

    plans = propose_many([*cases, same], CATALOGUE, limit=2)

    assert list(plans) == [1, 2, 7]
    assert plans[1] == propose(cases[0], CATALOGUE, limit=2)
    assert plans[2] == propose(cases[1], CATALOGUE, limit=2)
    assert plans[7] == plans[1]


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="the main cause must be one of"):
        Causes(main="laziness")
    with pytest.raises(ValueError, match="at most two secondary causes"):
        Causes(main="illness", secondary=("disaster", "lack_land", "lack_water"))
    with pytest.raises(ValueError, match="a cause is given twice"):
        Causes(main="illness", secondary=("illness",))
    with pytest.raises(ValueError, match="the channel of 'x' must be one of"):
        _item("x", "ecommerce", "1", "1")
    with pytest.raises(
        ValueError, match="only e-commerce interventions have a channel"
    ):
        _item("x", "training", "1", "1", "station")
    with pytest.raises(ValueError, match="terrain must be one of"):
        Village(terrain="swamp")
    with pytest.raises(ValueError, match="labourers_full must be a whole number"):
        Capacities(labourers_full=-1)
