"""JSON endpoints of the household registry, under /api/v1/households/.

Each endpoint parses, calls one selector (which applies the area scope: 404 outside
it) and at most one service (which checks the role: 403), and shapes the answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import PageNumberPagination, paginate

from propoor.households import selectors, services
from propoor.households.schemas import (
    CausesIn,
    HouseholdDetailOut,
    HouseholdIn,
    HouseholdOut,
    HouseholdPatch,
    HouseholdRow,
    MemberIn,
    MemberOut,
    MemberPatch,
    PlanOut,
    ResultOut,
    SnapshotIn,
    SnapshotOut,
    StatusChangeOut,
    StatusIn,
)
from propoor.households.selectors import MemberView

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from propoor.accounts.models import User
    from propoor.households.models import Household

router = Router(tags=["households"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # set by the API's auth


def _detail(request: HttpRequest, household_id: int) -> HouseholdDetailOut:
    return HouseholdDetailOut.of_detail(
        selectors.household_detail(_user(request), household_id)
    )


def _member_in(body: MemberIn) -> services.MemberInput:
    return services.MemberInput(**body.model_dump())


@router.get("/", response=list[HouseholdRow])
@paginate(PageNumberPagination, page_size=50)
def household_list(
    request: HttpRequest,
    village: str | None = None,
    township: str | None = None,
    status: str | None = None,
    category: str | None = None,
    cause: str | None = None,
    poor: bool | None = None,
    q: str | None = None,
) -> QuerySet[Household]:
    """Households in your area; ``q`` searches the number and the head's name."""
    return selectors.household_list(
        _user(request),
        village=village,
        township=township,
        status=status,
        category=category,
        cause=cause,
        poor=poor,
        q=q,
    )


@router.post("/", response={201: HouseholdDetailOut})
def household_create(
    request: HttpRequest, body: HouseholdIn
) -> tuple[int, HouseholdDetailOut]:
    household = services.household_register(
        actor=_user(request),
        village_code=body.village_code,
        head_name=body.head_name,
        members=[_member_in(m) for m in body.members],
        category=body.category,
        main_cause=body.main_cause,
        secondary_causes=body.secondary_causes,
        address=body.address,
        phone=body.phone,
        latitude=body.latitude,
        longitude=body.longitude,
    )
    return 201, _detail(request, household.pk)


@router.get("/{household_id}", response=HouseholdDetailOut)
def household_detail(request: HttpRequest, household_id: int) -> HouseholdDetailOut:
    return _detail(request, household_id)


@router.patch("/{household_id}", response=HouseholdOut)
def household_update(
    request: HttpRequest, household_id: int, body: HouseholdPatch
) -> HouseholdOut:
    household = selectors.household_get(_user(request), household_id)
    services.household_update(
        actor=_user(request), household=household, **body.model_dump(exclude_unset=True)
    )
    return HouseholdOut.of(household)


@router.put("/{household_id}/causes", response=HouseholdOut)
def household_causes(
    request: HttpRequest, household_id: int, body: CausesIn
) -> HouseholdOut:
    household = selectors.household_get(_user(request), household_id)
    services.household_set_causes(
        actor=_user(request),
        household=household,
        main=body.main,
        secondary=body.secondary,
    )
    return HouseholdOut.of(household)


@router.post("/{household_id}/status", response=HouseholdOut)
def household_status(
    request: HttpRequest, household_id: int, body: StatusIn
) -> HouseholdOut:
    household = selectors.household_get(_user(request), household_id)
    services.household_set_status(
        actor=_user(request),
        household=household,
        new_status=body.status,
        reason=body.reason,
    )
    return HouseholdOut.of(household)


@router.get("/{household_id}/status-history", response=list[StatusChangeOut])
def household_status_history(
    request: HttpRequest, household_id: int
) -> list[StatusChangeOut]:
    return [
        StatusChangeOut.of(c)
        for c in selectors.status_history(_user(request), household_id)
    ]


@router.get("/{household_id}/members", response=list[MemberOut])
def member_list(
    request: HttpRequest, household_id: int, include_removed: bool = False
) -> list[MemberOut]:
    return [
        MemberOut.of(m)
        for m in selectors.member_list(
            _user(request), household_id, include_removed=include_removed
        )
    ]


@router.post("/{household_id}/members", response={201: MemberOut})
def member_add(
    request: HttpRequest, household_id: int, body: MemberIn
) -> tuple[int, MemberOut]:
    household = selectors.household_get(_user(request), household_id)
    member = services.member_add(
        actor=_user(request), household=household, member=_member_in(body)
    )
    return 201, MemberOut.of(MemberView.of(member))


@router.patch("/{household_id}/members/{member_id}", response=MemberOut)
def member_update(
    request: HttpRequest, household_id: int, member_id: int, body: MemberPatch
) -> MemberOut:
    member = selectors.member_get(_user(request), household_id, member_id)
    services.member_update(
        actor=_user(request), member=member, **body.model_dump(exclude_unset=True)
    )
    return MemberOut.of(MemberView.of(member))


@router.delete("/{household_id}/members/{member_id}", response=MemberOut)
def member_remove(
    request: HttpRequest, household_id: int, member_id: int, reason: str
) -> MemberOut:
    """Soft removal: the member is kept, inactive, with the reason."""
    member = selectors.member_get(_user(request), household_id, member_id)
    services.member_remove(actor=_user(request), member=member, reason=reason)
    return MemberOut.of(MemberView.of(member))


@router.get("/{household_id}/snapshots", response=list[SnapshotOut])
def snapshot_list(request: HttpRequest, household_id: int) -> list[SnapshotOut]:
    return [
        SnapshotOut.of(s) for s in selectors.snapshot_list(_user(request), household_id)
    ]


@router.get("/{household_id}/snapshots/{year}", response=SnapshotOut)
def snapshot_get(request: HttpRequest, household_id: int, year: int) -> SnapshotOut:
    return SnapshotOut.of(selectors.snapshot_get(_user(request), household_id, year))


@router.put("/{household_id}/snapshots/{year}", response=SnapshotOut)
def snapshot_put(
    request: HttpRequest, household_id: int, year: int, body: SnapshotIn
) -> SnapshotOut:
    """Create or update the year's snapshot; fields left out keep their value."""
    household = selectors.household_get(_user(request), household_id)
    snapshot = services.snapshot_record(
        actor=_user(request),
        household=household,
        year=year,
        **body.model_dump(exclude_unset=True),
    )
    return SnapshotOut.of(snapshot)


@router.get("/{household_id}/identification", response=list[ResultOut])
def identification_results(request: HttpRequest, household_id: int) -> list[ResultOut]:
    """The household's identification results, newest run first (read-only)."""
    return [
        ResultOut.of(r)
        for r in selectors.identification_results(_user(request), household_id)
    ]


@router.get("/{household_id}/plan", response=PlanOut)
def household_plan(
    request: HttpRequest, household_id: int, year: int | None = None
) -> PlanOut:
    """The household's current support plan (or the plan of ``year``), read-only."""
    return PlanOut.of(selectors.household_plan(_user(request), household_id, year=year))
