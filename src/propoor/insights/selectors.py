"""Read-only aggregates for dashboards, and the one-selector reports behind pages.

Every selector takes the acting user first and applies that user's area scope itself
(directly, or through the domain selectors it composes). Aggregates are computed by
the database (GROUP BY) over the current identification results (the latest of each
household in a run that no later full run has superseded) of one survey year; only
the handful of grouped rows are combined in Python, with exact fractions (an MPI
score is stored as ``"num/den"``).

Several standards may have identified the same households. Poverty incidence follows
the official standard (``settings.PROPOOR_OFFICIAL_STANDARD``, ``cn-national``) when
it has results, else the standard with the most results; M0 and indicator
contributions follow the official standard when it has an MPI, else the MPI standard
with the most results (``global-mpi``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils.translation import gettext as _

from propoor.accounts.roles import REGISTRY_READERS, require_role
from propoor.accounts.scope import Scope, scope_of
from propoor.areas.models import Division
from propoor.areas.selectors import VillageDetail, village_detail, village_list
from propoor.core.errors import NotFound
from propoor.households.models import (
    Household,
    IdentificationResult,
    IdentificationStandard,
    ItemStatus,
    PlanItem,
    Snapshot,
    Status,
)
from propoor.households.selectors import (
    HouseholdDetail,
    household_detail,
    household_list,
)
from propoor.insights.explanation import (
    ResultExplanation,
    deprived_names,
    explain_result,
    mpi_indicators,
)

if TYPE_CHECKING:
    from propoor.accounts.models import User

MPI_STANDARD = "global-mpi"


def official_standard() -> str:
    """The standard whose verdict is the official one (``cn-national``)."""
    return str(getattr(settings, "PROPOOR_OFFICIAL_STANDARD", "cn-national"))


@dataclass(frozen=True)
class AreaRef:
    code: str
    name: str
    name_en: str
    level: str


@dataclass(frozen=True)
class AreaRow:
    """Poverty measures of one township or village in one year."""

    code: str
    name: str
    name_en: str
    assessed: int  # households with a latest result of the official standard
    poor: int
    mpi_assessed: int  # households with a latest result of the MPI standard
    mpi_poor: int
    m0: Fraction | None  # adjusted headcount ratio M0 = H·A; None without MPI data

    @property
    def incidence(self) -> Fraction | None:
        """Share of assessed households identified as poor."""
        if self.assessed == 0:
            return None
        return Fraction(self.poor, self.assessed)


@dataclass(frozen=True)
class Headline:
    households: int  # registered households in the area
    assessed: int
    poor: int
    exited: int
    monitored: int
    returned: int
    m0: Fraction | None

    @property
    def incidence(self) -> Fraction | None:
        if self.assessed == 0:
            return None
        return Fraction(self.poor, self.assessed)


@dataclass(frozen=True)
class CauseCount:
    cause: str  # a households.models.Cause value
    households: int


@dataclass(frozen=True)
class Contribution:
    """Alkire–Foster: censored headcount h_j and contribution w_j·h_j / M0."""

    indicator: str
    label_en: str
    label_zh: str
    weight: Fraction
    censored_headcount: Fraction
    contribution: Fraction


@dataclass(frozen=True)
class StatusCount:
    status: str
    households: int


@dataclass(frozen=True)
class PlanProgress:
    planned: int = 0
    in_progress: int = 0
    done: int = 0
    dropped: int = 0

    @property
    def total(self) -> int:
        return self.planned + self.in_progress + self.done + self.dropped


@dataclass(frozen=True)
class CountyDashboard:
    area: AreaRef | None  # None: everything the user may see
    year: int | None  # None: no identification result yet
    years: tuple[int, ...]
    standard: str | None  # the standard behind poverty incidence
    mpi_standard: str | None  # the standard behind M0 and contributions
    headline: Headline
    townships: tuple[AreaRow, ...]
    villages: tuple[AreaRow, ...]
    causes: tuple[CauseCount, ...]
    contributions: tuple[Contribution, ...]
    statuses: tuple[StatusCount, ...] = ()  # in the order of Status, zeros left out
    plan: PlanProgress = field(default_factory=PlanProgress)


# --- helpers -------------------------------------------------------------------------


def _area_of(user: User, scope: Scope, area_code: str | None) -> Division | None:
    """The division asked for (checked against the scope), or the scope's own one."""
    if area_code is not None:
        division = Division.objects.filter(code=area_code).first()
        if division is None or not scope.covers(division.code):
            raise NotFound(_("No such area."))
        return division
    if scope.everything or len(scope.prefixes) != 1:
        return None
    return user.scopes.order_by("code").first()


def _in_area(qs: QuerySet, field_name: str, scope: Scope, area: Division | None):  # type: ignore[type-arg,no-untyped-def]
    qs = qs.filter(scope.q(field_name))
    if area is not None:
        qs = qs.filter(**{f"{field_name}__startswith": area.prefix})
    return qs


def _fraction(text: str) -> Fraction:
    """An MPI score stored as ``"num/den"``."""
    return Fraction(text.strip()) if text.strip() else Fraction(0)


def _m0(score_sum: Fraction, mpi_assessed: int) -> Fraction | None:
    return None if mpi_assessed == 0 else score_sum / mpi_assessed


def _current() -> QuerySet[IdentificationResult]:
    """Every standard's current results: the latest of each household in its run,
    in runs no later full run has superseded (see ``ResultQuerySet.current``)."""
    return IdentificationResult.objects.filter(
        is_latest=True, run__superseded_by__isnull=True
    )


def _pick(counts: dict[str, int], preferred: str) -> str | None:
    """The preferred standard when it has results, else the one with the most."""
    if not counts:
        return None
    if counts.get(preferred):
        return preferred
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _standards(
    results: QuerySet[IdentificationResult],
) -> tuple[str | None, str | None]:
    """(official standard, MPI standard) among a year's latest results."""
    counts: dict[str, int] = {}
    with_mpi: dict[str, int] = {}
    for row in (
        results.values("run__standard__name")
        .annotate(n=Count("id"), m=Count("id", filter=Q(mpi_poor__isnull=False)))
        .order_by()
    ):
        counts[row["run__standard__name"]] = row["n"]
        if row["m"]:
            with_mpi[row["run__standard__name"]] = row["m"]
    official = _pick(counts, official_standard())
    if official is not None and official in with_mpi:
        return official, official
    return official, _pick(with_mpi, MPI_STANDARD)


def _of(results: QuerySet[IdentificationResult], standard: str | None):  # type: ignore[no-untyped-def]
    if standard is None:
        return results.none()
    return results.filter(run__standard__name=standard)


def _area_rows(
    official: QuerySet[IdentificationResult], mpi: QuerySet[IdentificationResult]
) -> tuple[tuple[AreaRow, ...], tuple[AreaRow, ...]]:
    """Townships and villages, each measure from one GROUP BY on the village."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in (
        official.values("household__village_id")
        .annotate(n=Count("id"), poor=Count("id", filter=Q(poor=True)))
        .order_by()
    ):
        acc = counts[row["household__village_id"]]
        acc[0], acc[1] = row["n"], row["poor"]
    for row in (
        mpi.values("household__village_id")
        .annotate(n=Count("id"), poor=Count("id", filter=Q(mpi_poor=True)))
        .order_by()
    ):
        acc = counts[row["household__village_id"]]
        acc[2], acc[3] = row["n"], row["poor"]
    # Sum of the scores of the MPI-poor, grouped by (village, score): few rows, as a
    # standard's weights allow only a handful of distinct scores.
    score_sum: dict[str, Fraction] = defaultdict(Fraction)
    for row in (
        mpi.filter(mpi_poor=True)
        .values("household__village_id", "mpi_score")
        .annotate(n=Count("id"))
        .order_by()
    ):
        village = row["household__village_id"]
        score_sum[village] += _fraction(row["mpi_score"]) * row["n"]

    villages = {d.code: d for d in Division.objects.filter(code__in=list(counts))}
    townships = {
        d.code: d
        for d in Division.objects.filter(
            code__in={d.parent_id for d in villages.values() if d.parent_id}
        )
    }
    village_rows: list[AreaRow] = []
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    township_sum: dict[str, Fraction] = defaultdict(Fraction)
    for code in sorted(counts):
        acc = counts[code]
        division = villages[code]
        village_rows.append(
            AreaRow(
                code=code,
                name=division.name,
                name_en=division.name_en,
                assessed=acc[0],
                poor=acc[1],
                mpi_assessed=acc[2],
                mpi_poor=acc[3],
                m0=_m0(score_sum[code], acc[2]),
            )
        )
        if division.parent_id in townships:
            total = totals[division.parent_id]
            for i in range(4):
                total[i] += acc[i]
            township_sum[division.parent_id] += score_sum[code]
    township_rows = [
        AreaRow(
            code=code,
            name=townships[code].name,
            name_en=townships[code].name_en,
            assessed=acc[0],
            poor=acc[1],
            mpi_assessed=acc[2],
            mpi_poor=acc[3],
            m0=_m0(township_sum[code], acc[2]),
        )
        for code, acc in sorted(totals.items())
    ]
    return tuple(township_rows), tuple(village_rows)


def _contributions(
    mpi: QuerySet[IdentificationResult],
    standard: str | None,
    mpi_assessed: int,
    m0: Fraction | None,
) -> tuple[Contribution, ...]:
    """Contribution of each indicator to M0 (Alkire–Foster), largest first.

    The stored explanation of an MPI-poor household names its deprived indicators;
    the database groups identical explanations, so only the distinct deprivation
    profiles come back. Weights and labels come from the standard's definition.
    """
    if standard is None or m0 is None or m0 == 0 or mpi_assessed == 0:
        return ()
    deprived_count: dict[tuple[int, str], int] = defaultdict(int)
    for row in (
        mpi.filter(mpi_poor=True)
        .values("run__standard_id", "explanation")
        .annotate(n=Count("id"))
        .order_by()
    ):
        for name in deprived_names(row["explanation"]):
            deprived_count[(row["run__standard_id"], name)] += row["n"]
    infos = {
        s.pk: mpi_indicators(s.definition)
        for s in IdentificationStandard.objects.filter(
            pk__in={key[0] for key in deprived_count}
        )
    }
    merged: dict[str, int] = defaultdict(int)
    for (standard_id, name), count in deprived_count.items():
        if name in infos.get(standard_id, {}):
            merged[name] += count
    labels = {n: info for by_name in infos.values() for n, info in by_name.items()}
    rows = [
        Contribution(
            indicator=name,
            label_en=labels[name].label_en,
            label_zh=labels[name].label_zh,
            weight=labels[name].weight,
            censored_headcount=Fraction(count, mpi_assessed),
            contribution=labels[name].weight * Fraction(count, mpi_assessed) / m0,
        )
        for name, count in merged.items()
    ]
    rows.sort(key=lambda c: (-c.contribution, c.indicator))
    return tuple(rows)


def _status_counts(counts: dict[str, int]) -> tuple[StatusCount, ...]:
    return tuple(
        StatusCount(status=s.value, households=counts[s.value])
        for s in Status
        if counts.get(s.value)
    )


# --- the county dashboard ------------------------------------------------------------


def county_dashboard(
    user: User, *, area_code: str | None = None, year: int | None = None
) -> CountyDashboard:
    """Poverty at a glance for the user's area (or a division inside it) and year.

    ``year`` defaults to the latest year with identification results. Raises
    ``NotFound`` for an area outside the user's scope and ``PermissionDenied`` for a
    role that may not read the registry.
    """
    require_role(user, REGISTRY_READERS)
    scope = scope_of(user)
    area = _area_of(user, scope, area_code)

    latest = _in_area(
        _current(),
        "household__village__code",
        scope,
        area,
    )
    years = tuple(sorted(set(latest.values_list("year", flat=True)), reverse=True))
    if year is None and years:
        year = years[0]
    of_year = latest.filter(year=year) if year is not None else latest.none()
    standard, mpi_standard = _standards(of_year)
    official = _of(of_year, standard)
    mpi = _of(of_year, mpi_standard)

    townships, villages = _area_rows(official, mpi)
    assessed = sum(v.assessed for v in villages)
    poor = sum(v.poor for v in villages)
    mpi_assessed = sum(v.mpi_assessed for v in villages)
    score = sum(
        (v.m0 * v.mpi_assessed for v in villages if v.m0 is not None), Fraction(0)
    )
    m0 = _m0(score, mpi_assessed)

    households = _in_area(Household.objects.all(), "village__code", scope, area)
    by_status = dict(
        households.values("status")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("status", "n")
    )

    causes = tuple(
        CauseCount(cause=row["household__main_cause"], households=row["n"])
        for row in official.filter(poor=True)
        .exclude(household__main_cause="")
        .values("household__main_cause")
        .annotate(n=Count("id"))
        .order_by("-n", "household__main_cause")
    )

    items = _in_area(
        PlanItem.objects.all(), "plan__household__village__code", scope, area
    )
    if year is not None:
        items = items.filter(plan__year=year)
    by_item = dict(
        items.values("status")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("status", "n")
    )

    return CountyDashboard(
        area=None if area is None else _ref(area),
        year=year,
        years=years,
        standard=standard,
        mpi_standard=mpi_standard,
        headline=Headline(
            households=sum(by_status.values()),
            assessed=assessed,
            poor=poor,
            exited=by_status.get(Status.EXITED, 0),
            monitored=by_status.get(Status.MONITORED, 0),
            returned=by_status.get(Status.RETURNED, 0),
            m0=m0,
        ),
        townships=townships,
        villages=villages,
        causes=causes,
        contributions=_contributions(mpi, mpi_standard, mpi_assessed, m0),
        statuses=_status_counts(by_status),
        plan=PlanProgress(
            planned=by_item.get(ItemStatus.PLANNED, 0),
            in_progress=by_item.get(ItemStatus.IN_PROGRESS, 0),
            done=by_item.get(ItemStatus.DONE, 0),
            dropped=by_item.get(ItemStatus.DROPPED, 0),
        ),
    )


# --- page reports: one selector per page, composed from the domain selectors ---------


@dataclass(frozen=True)
class VillageGroup:
    """Villages of one township, for a grouped choice list."""

    township: AreaRef | None
    villages: tuple[AreaRef, ...]


@dataclass(frozen=True)
class HouseholdSearch:
    page: Page  # of Household, each with ``latest_poor`` (None: never identified)
    total: int
    village_groups: tuple[VillageGroup, ...]
    filters: dict[str, object]


def _ref(division: Division) -> AreaRef:
    return AreaRef(
        code=division.code,
        name=division.name,
        name_en=division.name_en,
        level=division.level,
    )


def _village_groups(villages: Iterable[Division]) -> tuple[VillageGroup, ...]:
    groups: dict[str | None, list[Division]] = {}
    parents: dict[str | None, Division | None] = {}
    for village in villages:
        groups.setdefault(village.parent_id, []).append(village)
        parents[village.parent_id] = village.parent
    out = []
    for key, members in groups.items():
        parent = parents[key]
        out.append(
            VillageGroup(
                township=None if parent is None else _ref(parent),
                villages=tuple(_ref(v) for v in members),
            )
        )
    return tuple(out)


def _latest_poor() -> Subquery:
    """The household's latest verdict, the official standard's first."""
    return Subquery(
        _current()
        .filter(household=OuterRef("pk"))
        .annotate(
            official=Case(
                When(run__standard__name=official_standard(), then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("-year", "official", "-run_id")
        .values("poor")[:1]
    )


def household_search(
    user: User,
    *,
    page: int = 1,
    per_page: int = 20,
    village: str | None = None,
    status: str | None = None,
    category: str | None = None,
    cause: str | None = None,
    poor: bool | None = None,
    q: str | None = None,
) -> HouseholdSearch:
    """One page of the households the user may see, and the villages to filter by."""
    filters: dict[str, object] = {
        "village": village,
        "status": status,
        "category": category,
        "cause": cause,
        "poor": poor,
        "q": q,
    }
    households = household_list(
        user, village=village, status=status, category=category, cause=cause, q=q
    ).annotate(latest_poor=_latest_poor())
    if poor is not None:
        # The official standard's verdict, as the list shows it.
        households = households.filter(latest_poor=poor)
    paginator = Paginator(households, per_page)
    found = paginator.get_page(page)
    return HouseholdSearch(
        page=found,
        total=paginator.count,
        village_groups=_village_groups(village_list(user)),
        filters={k: v for k, v in filters.items() if v is not None},
    )


@dataclass(frozen=True)
class HouseholdReport:
    detail: HouseholdDetail
    # The latest results of the latest identified year, one per standard, the
    # official standard first, each explained indicator by indicator.
    explanations: tuple[ResultExplanation, ...]


def household_report(user: User, household_id: int) -> HouseholdReport:
    """A household's page: its registry record and its latest results, explained."""
    detail = household_detail(user, household_id)
    household = detail.household
    results = list(
        _current()
        .filter(household=household)
        .select_related("run__standard")
        .order_by("-year", "-run_id")
    )
    if results:
        newest = results[0].year
        results = [r for r in results if r.year == newest]
    seen: set[str] = set()
    chosen = []
    for result in sorted(
        results, key=lambda r: (r.run.standard.name != official_standard(), -r.run_id)
    ):
        if result.run.standard.name in seen:
            continue
        seen.add(result.run.standard.name)
        chosen.append(result)
    snapshots = {s.year: s for s in detail.snapshots}
    missing = {r.year for r in chosen} - set(snapshots)
    if missing:  # pragma: no cover - detail.snapshots holds every year
        snapshots.update(
            {
                s.year: s
                for s in Snapshot.objects.filter(household=household, year__in=missing)
            }
        )
    return HouseholdReport(
        detail=detail,
        explanations=tuple(
            explain_result(r, snapshots.get(r.year), household.village_id)
            for r in chosen
        ),
    )


@dataclass(frozen=True)
class VillageLine:
    village: Division  # with ``profile`` and ``parent`` loaded
    households: int
    assessed: int
    poor: int

    @property
    def incidence(self) -> Fraction | None:
        if self.assessed == 0:
            return None
        return Fraction(self.poor, self.assessed)


def _latest_year_results(
    results: QuerySet[IdentificationResult],
) -> tuple[int | None, QuerySet[IdentificationResult]]:
    year = results.order_by("-year").values_list("year", flat=True).first()
    return year, results.filter(year=year) if year is not None else results.none()


def village_overview(user: User) -> tuple[VillageLine, ...]:
    """Every village the user may see, with its household counts (latest results)."""
    require_role(user, REGISTRY_READERS)
    villages = list(village_list(user))
    codes = [v.code for v in villages]
    registered = dict(
        Household.objects.filter(village_id__in=codes)
        .values("village_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("village_id", "n")
    )
    _year, latest = _latest_year_results(
        _current().filter(household__village_id__in=codes)
    )
    standard, _mpi_standard = _standards(latest)
    counts = {
        row["household__village_id"]: row
        for row in _of(latest, standard)
        .values("household__village_id")
        .annotate(assessed=Count("id"), poor=Count("id", filter=Q(poor=True)))
        .order_by()
    }
    return tuple(
        VillageLine(
            village=v,
            households=registered.get(v.code, 0),
            assessed=counts.get(v.code, {}).get("assessed", 0),
            poor=counts.get(v.code, {}).get("poor", 0),
        )
        for v in villages
    )


@dataclass(frozen=True)
class VillageReport:
    detail: VillageDetail
    households: int
    by_status: tuple[StatusCount, ...]  # in the order of Status, zeros left out
    year: int | None
    standard: str | None
    poverty: AreaRow | None  # None: no identification yet
    exit_threshold: Fraction  # incidence below which the village may exit


def village_report(user: User, code: str) -> VillageReport:
    """A village's profile, resources and infrastructure, and its households."""
    require_role(user, REGISTRY_READERS)
    detail = village_detail(user, code)
    village = detail.village
    counts = dict(
        Household.objects.filter(village_id=village.code)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("status", "n")
    )
    year, latest = _latest_year_results(
        _current().filter(household__village_id=village.code)
    )
    standard, mpi_standard = _standards(latest)
    _townships, rows = _area_rows(_of(latest, standard), _of(latest, mpi_standard))
    return VillageReport(
        detail=detail,
        households=sum(counts.values()),
        by_status=_status_counts(counts),
        year=year,
        standard=standard,
        poverty=rows[0] if rows else None,
        exit_threshold=Fraction(3, 100) if village.western else Fraction(2, 100),
    )
