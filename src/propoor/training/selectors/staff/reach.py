"""Coverage of plan-targeted households by village, who still needs which course, and
outcomes (income before and after training)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from propoor.accounts.models import User
from propoor.areas.models import Division, Level
from propoor.households.models import (
    Household,
    ItemStatus,
    PlanItem,
    PlanStatus,
    Snapshot,
    SupportPlan,
)
from propoor.training.models import (
    Course,
    Enrolment,
    EnrolmentStatus,
)
from propoor.training.selectors.staff.common import (
    CENT,
    TRAINING_KIND,
    _area,
    _households,
    _share,
    _staff_scope,
)
from propoor.training.services import mask_name

if TYPE_CHECKING:
    from collections.abc import Iterable


# --- coverage -----------------------------------------------------------------------


def _targeted(households: QuerySet[Household]) -> QuerySet[Household]:
    """Households whose current approved plan has a training item not dropped."""
    current_plan = (
        SupportPlan.objects.filter(household=OuterRef("pk"), status=PlanStatus.APPROVED)
        .order_by("-year", "-id")
        .values("pk")[:1]
    )
    training_item = PlanItem.objects.filter(
        plan_id=OuterRef("current_plan"), intervention__kind=TRAINING_KIND
    ).exclude(status=ItemStatus.DROPPED)
    return households.annotate(current_plan=Subquery(current_plan)).filter(
        Exists(training_item)
    )


def _completed_q() -> Q:
    """An enrolment that counts as completed (a revoked certificate does not)."""
    return Q(status=EnrolmentStatus.COMPLETED, certificate__revoked_at__isnull=True)


@dataclass(frozen=True)
class CoverageRow:
    code: str
    name: str
    name_en: str
    targeted: int
    enrolled: int
    completed: int

    @property
    def share_enrolled(self) -> Fraction | None:
        return _share(self.enrolled, self.targeted)

    @property
    def share_trained(self) -> Fraction | None:
        return _share(self.completed, self.targeted)


@dataclass(frozen=True)
class TrainingCoverage:
    rows: tuple[CoverageRow, ...]
    total: CoverageRow
    area: Division | None


def coverage(user: User, area_code: str | None = None) -> TrainingCoverage:
    """By village in scope (or in ``area_code``): plan-targeted households, how many
    are enrolled in a course, how many completed at least one, and the share trained.
    """
    scope = _staff_scope(user)
    area = _area(scope, area_code)
    villages = Division.objects.filter(scope.q("code"), level=Level.VILLAGE)
    if area is not None:
        villages = villages.filter(code__startswith=area.prefix)
    enrolled = Enrolment.objects.filter(household=OuterRef("pk"))
    completed = enrolled.filter(_completed_q())
    counts: dict[str, tuple[int, int, int]] = {
        village: (targeted, with_enrolment, trained)
        for village, targeted, with_enrolment, trained in _targeted(
            _households(scope, area)
        )
        .annotate(is_enrolled=Exists(enrolled), is_trained=Exists(completed))
        .values("village_id")
        .annotate(
            targeted=Count("pk"),
            enrolled=Count("pk", filter=Q(is_enrolled=True)),
            completed=Count("pk", filter=Q(is_trained=True)),
        )
        .values_list("village_id", "targeted", "enrolled", "completed")
    }
    rows = []
    for village in villages.order_by("code"):
        targeted, with_enrolment, trained = counts.get(village.code, (0, 0, 0))
        rows.append(
            CoverageRow(
                code=village.code,
                name=village.name,
                name_en=village.name_en,
                targeted=targeted,
                enrolled=with_enrolment,
                completed=trained,
            )
        )
    total = CoverageRow(
        code=area.code if area else "",
        name=area.name if area else "",
        name_en=area.name_en if area else "",
        targeted=sum(r.targeted for r in rows),
        enrolled=sum(r.enrolled for r in rows),
        completed=sum(r.completed for r in rows),
    )
    return TrainingCoverage(rows=tuple(rows), total=total, area=area)


@dataclass(frozen=True)
class NeedRow:
    """A plan-targeted household and a course it still needs (None: not enrolled)."""

    household_id: int
    number: str
    name: str
    village: Division
    course: Course | None
    status: str  # the enrolment's status, "" when not enrolled
    status_label: str
    cohort: str

    @property
    def course_title(self) -> str:
        return self.course.t("title") if self.course is not None else ""


def still_needed(user: User, area_code: str | None = None) -> list[NeedRow]:
    """Who still needs which course: plan-targeted households × the courses they are
    enrolled in but have not completed, and plan-targeted households not enrolled at
    all. Ordered by village, household number, course.
    """
    scope = _staff_scope(user)
    area = _area(scope, area_code)
    targeted = list(
        _targeted(_households(scope, area))
        .select_related("village")
        .order_by("village_id", "number")
    )
    open_enrolments: dict[int, list[Enrolment]] = defaultdict(list)
    enrolled: set[int] = set()
    for e in (
        Enrolment.objects.filter(household__in=[h.pk for h in targeted])
        .select_related("course", "cohort")
        .order_by("course__order", "course__code")
    ):
        enrolled.add(e.household_id)
        if e.status != EnrolmentStatus.COMPLETED:
            open_enrolments[e.household_id].append(e)
    rows: list[NeedRow] = []
    for household in targeted:
        needs: list[tuple[Course | None, str, str, str]] = [
            (
                e.course,
                e.status,
                str(EnrolmentStatus(e.status).label),
                e.cohort.name if e.cohort else "",
            )
            for e in open_enrolments[household.pk]
        ]
        if household.pk not in enrolled:
            needs.insert(0, (None, "", "", ""))
        rows.extend(
            NeedRow(
                household_id=household.pk,
                number=household.number,
                name=mask_name(household.head_name),
                village=household.village,
                course=course,
                status=status,
                status_label=label,
                cohort=cohort,
            )
            for course, status, label, cohort in needs
        )
    return rows


# --- outcomes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Income:
    """One yearly survey's income figures."""

    year: int
    size: int
    net: Decimal
    ecommerce: Decimal

    @property
    def per_capita(self) -> Decimal:
        return (self.net / self.size).quantize(CENT)

    @classmethod
    def of(cls, snapshot: Snapshot) -> Income:
        return cls(
            year=snapshot.year,
            size=snapshot.size,
            net=snapshot.net_income,
            ecommerce=snapshot.income_ecommerce,
        )


@dataclass(frozen=True)
class Completion:
    course: Course
    completed_on: date

    @property
    def course_title(self) -> str:
        return self.course.t("title")


@dataclass(frozen=True)
class OutcomeRow:
    household_id: int
    number: str
    name: str
    village: Division
    completions: tuple[Completion, ...]
    before: Income | None
    after: Income | None
    market_before: Decimal = Decimal("0.00")
    market_after: Decimal = Decimal("0.00")

    @property
    def market_change(self) -> Decimal:
        return self.market_after - self.market_before

    @property
    def first_completed(self) -> date:
        return min(c.completed_on for c in self.completions)

    @property
    def change_per_capita(self) -> Decimal | None:
        if self.before is None or self.after is None:
            return None
        return self.after.per_capita - self.before.per_capita


def outcomes(user: User, area_code: str | None = None) -> list[OutcomeRow]:
    """Households that completed at least one course, with income before and after.

    Before: the survey of the year before the first completion. After: the latest
    survey (of that year or later) made on or after the day of the first completion.
    Either is None when there is no such survey. Market income: what the market's
    ledger attributed to the household (less refunds) in the MARKET_WINDOW days before
    the first completion and in as many days from it.
    """
    scope = _staff_scope(user)
    area = _area(scope, area_code)
    completions: dict[int, list[Completion]] = defaultdict(list)
    households: dict[int, Household] = {}
    for e in (
        Enrolment.objects.filter(_completed_q(), household__in=_households(scope, area))
        .select_related("course", "household__village")
        .order_by("completed_at", "course__order")
    ):
        if e.completed_at is None:  # pragma: no cover - completed ones have a time
            continue
        households[e.household_id] = e.household
        completions[e.household_id].append(
            Completion(e.course, timezone.localdate(e.completed_at))
        )
    snapshots: dict[int, list[Snapshot]] = defaultdict(list)
    for s in Snapshot.objects.filter(household_id__in=list(households)).order_by(
        "household_id", "year"
    ):
        snapshots[s.household_id].append(s)
    firsts = {
        hid: min(c.completed_on for c in done) for hid, done in completions.items()
    }
    market = _market_windows(firsts)
    rows = []
    for household in sorted(
        households.values(), key=lambda h: (h.village_id, h.number)
    ):
        done = tuple(completions[household.pk])
        first = firsts[household.pk]
        rows.append(
            OutcomeRow(
                household_id=household.pk,
                number=household.number,
                name=mask_name(household.head_name),
                village=household.village,
                completions=done,
                before=_before(snapshots[household.pk], first),
                after=_after(snapshots[household.pk], first),
                market_before=market[household.pk][0],
                market_after=market[household.pk][1],
            )
        )
    return rows


MARKET_WINDOW = timedelta(days=180)
CHINA = ZoneInfo("Asia/Shanghai")


def _market_windows(firsts: dict[int, date]) -> dict[int, tuple[Decimal, Decimal]]:
    """Household → (market income in the window before, in the window from) its first
    completion, from the ledger's household income accounts."""
    from propoor.market.models import Posting

    out = {hid: (Decimal("0.00"), Decimal("0.00")) for hid in firsts}
    if not firsts:
        return out
    start = min(firsts.values()) - MARKET_WINDOW
    postings = Posting.objects.filter(
        household_id__in=list(firsts),
        account__startswith="household:",
        transaction__at__gte=datetime.combine(start, time.min, tzinfo=CHINA),
    ).values_list("household_id", "transaction__at", "amount")
    totals: dict[int, list[Decimal]] = {hid: [Decimal(0), Decimal(0)] for hid in firsts}
    for hid, at, amount in postings:
        day = timezone.localdate(at)
        first = firsts[hid]
        if first - MARKET_WINDOW <= day < first:
            totals[hid][0] -= amount  # credits are negative: income is their negation
        elif first <= day < first + MARKET_WINDOW:
            totals[hid][1] -= amount
    return {hid: (b.quantize(CENT), a.quantize(CENT)) for hid, (b, a) in totals.items()}


def _before(snapshots: Iterable[Snapshot], first: date) -> Income | None:
    found = next((s for s in snapshots if s.year == first.year - 1), None)
    return Income.of(found) if found is not None else None


def _after(snapshots: Iterable[Snapshot], first: date) -> Income | None:
    later = [s for s in snapshots if s.surveyed_on >= first and s.year >= first.year]
    return Income.of(max(later, key=lambda s: s.year)) if later else None
