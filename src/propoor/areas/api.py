"""JSON endpoints of the division tree, under /api/v1/areas/."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from propoor.areas import selectors, services
from propoor.areas.models import Division, VillageProfile

router = Router(tags=["areas"])


class DivisionRef(Schema):
    code: str
    name: str
    name_en: str
    level: str


class DivisionOut(Schema):
    code: str
    name: str
    name_en: str
    level: str
    parent: str | None
    western: bool

    @staticmethod
    def of(division: Division) -> DivisionOut:
        return DivisionOut(
            code=division.code,
            name=division.name,
            name_en=division.name_en,
            level=division.level,
            parent=division.parent_id,
            western=division.western,
        )


class DivisionDetailOut(DivisionOut):
    breadcrumb: list[DivisionRef]


class TreeNodeOut(Schema):
    code: str
    name: str
    name_en: str
    level: str
    children: list[TreeNodeOut]


class ProfileOut(Schema):
    terrain: str
    km_to_county_seat: Decimal
    km_to_paved_road: Decimal
    broadband: str
    mobile_4g: str
    has_service_station: bool
    has_logistics_point: bool
    has_cold_storage: bool
    population: int
    landscape: bool
    folk_culture: bool
    orchards: bool
    vegetable_gardens: bool
    fish_ponds: bool
    specialty_products: str
    latitude: Decimal | None
    longitude: Decimal | None


class ProfileIn(Schema):
    """Fields left out keep their value (a new profile needs the required ones)."""

    terrain: str | None = None
    km_to_county_seat: Decimal | None = None
    km_to_paved_road: Decimal | None = None
    broadband: str | None = None
    mobile_4g: str | None = None
    has_service_station: bool | None = None
    has_logistics_point: bool | None = None
    has_cold_storage: bool | None = None
    population: int | None = None
    landscape: bool | None = None
    folk_culture: bool | None = None
    orchards: bool | None = None
    vegetable_gardens: bool | None = None
    fish_ponds: bool | None = None
    specialty_products: str | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None


class VillageBase(Schema):
    code: str
    name: str
    name_en: str
    township: str | None
    profile: ProfileOut | None


class VillageOut(VillageBase):
    @staticmethod
    def resolve_township(obj: Division) -> str | None:
        return obj.parent_id

    @staticmethod
    def resolve_profile(obj: Division) -> ProfileOut | None:
        return _profile(obj)


class VillageDetailOut(VillageBase):
    breadcrumb: list[DivisionRef]


def _profile(division: Division) -> ProfileOut | None:
    try:
        profile = division.profile
    except VillageProfile.DoesNotExist:
        return None
    return ProfileOut.model_validate(profile, from_attributes=True)


def _node(node: selectors.TreeNode) -> TreeNodeOut:
    return TreeNodeOut(
        code=node.code,
        name=node.name,
        name_en=node.name_en,
        level=node.level,
        children=[_node(c) for c in node.children],
    )


@router.get("/tree", response=list[TreeNodeOut])
def tree(request: HttpRequest) -> list[TreeNodeOut]:
    """The divisions you may see, nested (ancestors of your area included)."""
    return [_node(n) for n in selectors.division_tree(request.user)]  # type: ignore[arg-type]


@router.get("/divisions/{code}", response=DivisionDetailOut)
def division(request: HttpRequest, code: str) -> DivisionDetailOut:
    found = selectors.division_get(request.user, code)  # type: ignore[arg-type]
    crumbs = selectors.division_breadcrumb(request.user, code)[:-1]  # type: ignore[arg-type]
    return DivisionDetailOut(
        **DivisionOut.of(found).model_dump(),
        breadcrumb=[
            DivisionRef.model_validate(d, from_attributes=True) for d in crumbs
        ],
    )


@router.get("/divisions/{code}/children", response=list[DivisionOut])
def children(request: HttpRequest, code: str) -> list[DivisionOut]:
    return [
        DivisionOut.of(d)
        for d in selectors.division_children(request.user, code)  # type: ignore[arg-type]
    ]


@router.get("/villages", response=list[VillageOut])
@paginate(PageNumberPagination, page_size=100)
def villages(request: HttpRequest, township: str | None = None):  # type: ignore[no-untyped-def]
    """Villages inside your area, with their profiles."""
    return selectors.village_list(request.user, township=township)  # type: ignore[arg-type]


@router.get("/villages/{code}", response=VillageDetailOut)
def village(request: HttpRequest, code: str) -> VillageDetailOut:
    detail = selectors.village_detail(request.user, code)  # type: ignore[arg-type]
    village = detail.village
    return VillageDetailOut(
        code=village.code,
        name=village.name,
        name_en=village.name_en,
        township=village.parent_id,
        profile=(
            ProfileOut.model_validate(detail.profile, from_attributes=True)
            if detail.profile is not None
            else None
        ),
        breadcrumb=[
            DivisionRef.model_validate(d, from_attributes=True)
            for d in detail.breadcrumb
        ],
    )


@router.put("/villages/{code}/profile", response=ProfileOut)
def village_profile_put(request: HttpRequest, code: str, body: ProfileIn) -> ProfileOut:
    profile = services.village_profile_set(
        actor=request.user,  # type: ignore[arg-type]
        village_code=code,
        **body.model_dump(exclude_unset=True),
    )
    return ProfileOut.model_validate(profile, from_attributes=True)
