"""Settlement: completed orders' revenue goes to sellers and, through their declared
benefits, to poor households as income; and that income feeds identification.

When an order settles (:func:`orders_settle`, a job):
- it is ``completed``, its return window has passed (delivered more than
  ``RETURN_WINDOW`` ago — a buyer who confirms receipt early does not shorten it), it
  has a ``payment`` posting that was not reversed, and, for a public buyer's order, its
  :class:`~propoor.market.models.Acceptance` (invoice and inspection report) exists;
- one ``settlement`` transaction moves the total from ``orders:unsettled`` to
  ``seller:{id}:payable``, and one ``attribution`` transaction moves each household's
  share from the seller's payable to ``household:{hid}:income:{kind}``: the seller's
  active benefits at settlement time, split by :func:`~.ledger.allocate` (largest
  remainders: together exactly round-half-up(total × Σ shares), each within a fen of
  its exact share); benefits of one household that map to the same kind of income
  (own produce and purchase agreement) are one posting;
- ``Order.settled_at`` is set, and an audit entry written.

Each order settles once: the job locks the orders it takes with ``SELECT … FOR UPDATE
SKIP LOCKED`` and takes only rows whose ``settled_at`` is still empty, so a second run,
sequential or concurrent, finds nothing to do (on PostgreSQL a row settled by a
concurrent run is re-checked after its lock is released and no longer matches).

:func:`snapshot_ecommerce_sync` writes each household's market income of a year into
its identification snapshot of that year (see there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.models import REGISTRY_WRITERS
from propoor.accounts.roles import require_role
from propoor.accounts.scope import scope_of
from propoor.core.audit import audit_append
from propoor.core.errors import ApplicationError, ValidationFailed
from propoor.core.money import ZERO
from propoor.households.models import Household, Snapshot
from propoor.households.services import snapshot_record
from propoor.market.models import (
    INCOME_KIND,
    Acceptance,
    Benefit,
    LedgerTransaction,
    Order,
    OrderStatus,
)
from propoor.market.services.ledger import (
    UNSETTLED,
    Leg,
    allocate,
    household_account,
    ledger_post,
    market_income_by_household,
    seller_account,
)
from propoor.market.services.orders import RETURN_WINDOW

if TYPE_CHECKING:
    from propoor.accounts.models import User

BATCH = 200


def _payment_posted() -> Exists:
    return Exists(
        LedgerTransaction.objects.filter(
            order=OuterRef("pk"), kind="payment", reversed_by__isnull=True
        )
    )


def _accepted() -> Exists:
    return Exists(Acceptance.objects.filter(order=OuterRef("pk")))


def settlement_due(now: datetime) -> QuerySet[Order]:
    """Orders that may settle at ``now`` (see the module docstring)."""
    return (
        Order.objects.filter(
            status=OrderStatus.COMPLETED,
            settled_at__isnull=True,
            delivered_at__lt=now - RETURN_WINDOW,
        )
        .alias(paid=_payment_posted(), accepted=_accepted())
        .filter(paid=True)
        .exclude(public_buyer__isnull=False, accepted=False)
    )


def settlement_waiting(now: datetime | None = None) -> dict[str, int]:
    """Completed, unsettled orders held back, by reason (for the job's report)."""
    now = now or timezone.now()
    waiting = Order.objects.filter(
        status=OrderStatus.COMPLETED, settled_at__isnull=True
    ).alias(paid=_payment_posted(), accepted=_accepted())
    return {
        "return_window": waiting.filter(delivered_at__gte=now - RETURN_WINDOW).count(),
        "acceptance": waiting.filter(
            delivered_at__lt=now - RETURN_WINDOW,
            public_buyer__isnull=False,
            accepted=False,
        ).count(),
        "payment_posting": waiting.filter(paid=False).count(),
    }


def attribution_legs(order: Order) -> list[Leg]:
    """The attribution postings for the order's total (empty without benefits)."""
    benefits = list(
        Benefit.objects.filter(seller_id=order.seller_id, active=True).order_by("id")
    )
    amounts = allocate(order.total, [b.share for b in benefits])
    by_account: dict[tuple[int, str], Decimal] = {}
    for benefit, amount in zip(benefits, amounts, strict=True):
        # INCOME_KIND is keyed by the Mechanism members, which equal their values.
        key = (benefit.household_id, INCOME_KIND[benefit.mechanism])  # type: ignore[index]
        by_account[key] = by_account.get(key, ZERO) + amount
    legs: list[Leg] = []
    payable = seller_account(order.seller_id)
    for (household_id, kind), amount in by_account.items():
        if amount == 0:
            continue
        legs.append(Leg(payable, amount))
        legs.append(
            Leg(household_account(household_id, kind), -amount, household_id, kind)
        )
    return legs


def order_settle(order: Order, *, now: datetime, locked: bool = False) -> bool:
    """Settle one order now, whatever the job's conditions; False if already settled.

    The job (:func:`orders_settle`) checks the conditions and passes ``locked=True``
    with the row locked; called alone this locks the row first. Either way an order
    settles once.
    """
    with transaction.atomic():
        if not locked:
            order = Order.objects.select_for_update().get(pk=order.pk)
        if order.settled_at is not None:
            return False
        _settle(order, now)
    return True


def _settle(order: Order, now: datetime) -> None:
    memo = f"order {order.number}"
    ledger_post(
        "settlement",
        [
            Leg(UNSETTLED, order.total),
            Leg(seller_account(order.seller_id), -order.total),
        ],
        order=order,
        memo=memo,
        at=now,
    )
    legs = attribution_legs(order)
    if legs:
        ledger_post("attribution", legs, order=order, memo=memo, at=now)
    Order.objects.filter(pk=order.pk).update(settled_at=now)
    order.settled_at = now
    audit_append(
        action="market.order.settle",
        actor=None,
        object_type="market.order",
        object_id=order.number,
        data={
            "total": str(order.total),
            "households": {
                leg.account: str(-leg.amount) for leg in legs if leg.household
            },
        },
    )


def orders_settle(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Settle the orders due at ``now``, ``limit`` per transaction; return the count."""
    now = now or timezone.now()
    settled = 0
    while True:
        with transaction.atomic():
            batch = list(
                settlement_due(now)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("id")[:limit]
            )
            for order in batch:
                order_settle(order, now=now, locked=True)
        settled += len(batch)
        if len(batch) < limit:
            return settled


# ----------------------------------------------------------------------- identification


@dataclass
class SyncReport:
    year: int
    households: int = 0  # with market postings in the year
    updated: int = 0
    unchanged: int = 0
    without_snapshot: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # household number → why


def snapshot_ecommerce_sync(
    actor: User | None, *, year: int, area_prefix: str = ""
) -> SyncReport:
    """Write each household's market income of ``year`` into its ``year`` snapshot.

    For every household (in ``area_prefix`` and the actor's scope) with market postings
    in ``year`` and a snapshot of that year, the snapshot's ``income_ecommerce`` (the
    part of business income earned online) becomes its attributed market income of
    the year — all kinds, net of refunds, never below zero — and ``income_business`` is
    moved by the same difference: the offline part of business income stays as
    surveyed, the online part is the ledger's. This second step is what makes the
    income count in the exit check: identification computes net income from wages,
    business, property and transfers, and ``income_ecommerce`` alone is only the "of
    which online" detail. Running it again changes nothing.

    The write goes through ``households.services.snapshot_record`` (validated, row
    locked, audited as ``snapshot.update``). Households without a snapshot of the
    year are counted, not created: a snapshot is a survey. A snapshot the registry
    refuses (e.g. another field no longer valid) is reported in ``failed``.
    """
    if actor is not None:
        require_role(actor, REGISTRY_WRITERS)
    if isinstance(year, bool) or not isinstance(year, int):
        raise ValidationFailed(_("Give a whole year."))
    incomes = market_income_by_household(year, area_prefix=area_prefix)
    report = SyncReport(year=year)
    households = Household.objects.filter(pk__in=list(incomes))
    if actor is not None:
        households = households.filter(scope_of(actor).q("village__code"))
    for household in households.order_by("pk"):
        report.households += 1
        try:
            outcome = _sync_one(actor, household, year, incomes[household.pk])
        except ApplicationError as exc:
            report.failed[household.number] = exc.message
            continue
        if outcome == "updated":
            report.updated += 1
        elif outcome == "unchanged":
            report.unchanged += 1
        else:
            report.without_snapshot += 1
    return report


def _sync_one(
    actor: User | None, household: Household, year: int, income: Decimal
) -> str:
    with transaction.atomic():
        # The registry's lock order: the household, then its snapshot.
        Household.objects.select_for_update().filter(pk=household.pk).values(
            "pk"
        ).first()
        snap = (
            Snapshot.objects.select_for_update()
            .filter(household=household, year=year)
            .first()
        )
        if snap is None:
            return "without_snapshot"
        online = max(income, ZERO)
        business = snap.income_business - snap.income_ecommerce + online
        if (snap.income_ecommerce, snap.income_business) == (online, business):
            return "unchanged"
        snapshot_record(
            actor=actor,
            household=household,
            year=year,
            income_ecommerce=online,
            income_business=business,
        )
    return "updated"
