"""The market's double-entry ledger, and the household income it records.

Every movement of money is one ``LedgerTransaction`` whose ``Posting`` amounts sum to
exactly 0.00 (Decimal, to the fen). A posting's amount is a debit when positive and a
credit when negative. :func:`ledger_post` refuses an empty or unbalanced set of legs
(and a zero, fractional-fen or malformed leg) before it writes anything.

Accounts are named strings:

``gateway:{channel}``
    cash received through a channel (``alipay``, ``wechat``, ``cash`` held by a
    service station, ``bank``) and not yet refunded. Debit balance.
``orders:unsettled``
    money received for orders that have not settled: owed back to the buyer on a
    refund, to the seller once the order settles. Credit balance.
``seller:{id}:payable``
    settled revenue owed to the seller, after the households' shares. Credit balance.
``household:{id}:income:{operating|wage|asset}``
    income attributed to a poor household through a seller's declared benefit (own
    produce and purchase agreements are operating income, wages wage income,
    dividends asset income). Credit balance; its postings carry ``household`` and
    ``income_kind``.

Transactions, each tied to one order (``order`` set):

``payment``
    when a payment is applied (signal ``payment_applied``), one per order it paid:
    Dr ``gateway:{channel}`` total / Cr ``orders:unsettled`` total.
``settlement``
    when the order settles (see :mod:`.settlement`): Dr ``orders:unsettled`` total /
    Cr ``seller:{id}:payable`` total.
``attribution``
    at the same moment, only when the seller declared benefits: for each household
    income account, Dr ``seller:{id}:payable`` a / Cr ``household:…:income:…`` a,
    the amounts a coming from :func:`allocate`.
``{kind}_reversal``
    a refund (signal ``refund_done``) reverses every transaction of the order that is
    not reversed yet, newest first: attribution, settlement, payment. A reversal is the
    exact negation of the original and points at it with ``reverses`` (one-to-one, so a
    transaction is reversed at most once); the household attributions go back with it.
    The market refunds whole orders only, so the refund's amount must equal the order's
    total.

Rounding of the households' shares (:func:`allocate`): for an order total T and shares
s_1 … s_n (four decimals each), the households together get exactly
round-half-up(T × Σ s_i) to the fen, and each household gets the fen part of its exact
amount T × s_i rounded down, or one fen more: the fen left over after rounding every
share down go, one each, to the shares with the largest remainders (ties to the
earlier-declared benefit). This is the largest-remainder (Hamilton) method: no
household is ever more than one fen from its exact share, and the sum is never off.

Month and year of income are those of the transaction's time in China
(``Asia/Shanghai``); a reversal counts in the month it happened.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.db.models.functions import ExtractMonth, ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.core.errors import Conflict, ValidationFailed
from propoor.core.money import FEN, ZERO
from propoor.market.models import LedgerTransaction, Order, Payment, Posting, Refund

if TYPE_CHECKING:
    from propoor.households.models import Household
    from propoor.market.models import Seller

CHINA = ZoneInfo("Asia/Shanghai")
INCOME_KINDS = frozenset({"operating", "wage", "asset"})
UNSETTLED = "orders:unsettled"
# Lower-case words joined by colons: gateway:alipay, seller:12:payable …
ACCOUNT = re.compile(r"^[a-z_]+(?::[a-z0-9_]+)+$")
MAX_AMOUNT = Decimal("1e12")
SHARE_PLACES = Decimal("0.0001")
REVERSAL_ORDER = ("attribution", "settlement", "payment")


def gateway_account(channel: str) -> str:
    return f"gateway:{channel}"


def seller_account(seller_id: int) -> str:
    return f"seller:{seller_id}:payable"


def household_account(household_id: int, income_kind: str) -> str:
    return f"household:{household_id}:income:{income_kind}"


class Leg(NamedTuple):
    """One posting to be made: debit positive, credit negative."""

    account: str
    amount: Decimal
    household: Household | int | None = None
    income_kind: str = ""


# ----------------------------------------------------------------------------- the core


def allocate(total: Decimal, shares: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` by ``shares`` to the fen by largest remainders (see above).

    ``sum(result) == round_half_up(total × sum(shares))`` exactly, and each result is
    its exact amount rounded down to the fen or one fen more. Pure: no database.
    """
    if total != total.quantize(FEN) or total < 0:
        raise ValueError(f"not a non-negative amount of money: {total!r}")
    basis: list[int] = []
    for share in shares:
        if share != share.quantize(SHARE_PLACES) or share < 0:
            raise ValueError(
                f"a share has at most four decimals and is >= 0: {share!r}"
            )
        basis.append(int(share * 10000))
    fen = int(total * 100)
    exact = [fen * b for b in basis]  # in 1/10000 fen
    floors = [e // 10000 for e in exact]
    remainders = [e % 10000 for e in exact]
    target = (fen * sum(basis) + 5000) // 10000  # round half up, in fen
    left = target - sum(floors)
    by_remainder = sorted(range(len(basis)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:left]:
        floors[i] += 1
    return [Decimal(f) / 100 for f in floors]


def _id(value: Household | Seller | int | None) -> int | None:
    return value if value is None or isinstance(value, int) else value.pk


def _check_legs(legs: Iterable[Leg | tuple[object, ...]]) -> list[Leg]:
    checked: list[Leg] = []
    for index, raw in enumerate(legs, 1):
        # A plain tuple of Leg's fields is a Leg; its types are checked below.
        leg = raw if isinstance(raw, Leg) else Leg(*raw)  # type: ignore[arg-type]
        amount = leg.amount
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise ValidationFailed(
                _("Leg %(leg)s: the amount must be a finite Decimal.") % {"leg": index}
            )
        if amount != amount.quantize(FEN) or amount == 0 or abs(amount) >= MAX_AMOUNT:
            raise ValidationFailed(
                _("Leg %(leg)s: %(amount)s is not a non-zero amount to the fen.")
                % {"leg": index, "amount": amount},
                extra={"account": leg.account},
            )
        if (
            not isinstance(leg.account, str)
            or not ACCOUNT.match(leg.account)
            or len(leg.account) > 80
        ):
            raise ValidationFailed(
                _("Leg %(leg)s: %(account)s is not an account name.")
                % {"leg": index, "account": repr(leg.account)}
            )
        household_id = _id(leg.household)
        is_income = leg.account.startswith("household:")
        if (is_income or household_id is not None or leg.income_kind) and (
            household_id is None
            or leg.income_kind not in INCOME_KINDS
            or leg.account != household_account(household_id, leg.income_kind)
        ):
            raise ValidationFailed(
                _(
                    "Leg %(leg)s: a household income leg names its household and "
                    "kind in the account (household:<id>:income:<kind>)."
                )
                % {"leg": index},
                extra={"account": leg.account},
            )
        checked.append(
            Leg(leg.account, amount.quantize(FEN), household_id, leg.income_kind)
        )
    if not checked:
        raise ValidationFailed(_("A ledger transaction needs postings."))
    total = sum((leg.amount for leg in checked), ZERO)
    if total != 0:
        raise ValidationFailed(
            _("The postings do not balance: they sum to %(total)s, not 0.00.")
            % {"total": total},
            extra={"sum": str(total)},
        )
    return checked


def _signature(legs: Iterable[Leg]) -> list[tuple[str, Decimal, int | None, str]]:
    return sorted(
        (leg.account, leg.amount, _id(leg.household), leg.income_kind) for leg in legs
    )


def ledger_post(
    kind: str,
    legs: Sequence[Leg | tuple[object, ...]],
    *,
    order: Order | None = None,
    memo: str = "",
    reverses: LedgerTransaction | None = None,
    at: datetime | None = None,
) -> LedgerTransaction:
    """Write one balanced transaction, or raise and write nothing.

    ``reverses`` must be a transaction not reversed yet, and the legs its exact
    negation. ``at`` dates the transaction (default: now).
    """
    if not kind or len(kind) > 30:
        raise ValidationFailed(
            _("A ledger transaction needs a kind of at most 30 characters.")
        )
    checked = _check_legs(legs)
    if reverses is not None:
        original = [
            Leg(p.account, -p.amount, p.household_id, p.income_kind)
            for p in reverses.postings.all()
        ]
        if _signature(original) != _signature(checked):
            raise ValidationFailed(
                _("A reversal must negate transaction %(transaction)s exactly.")
                % {"transaction": reverses.pk}
            )
        if reverses.order_id != getattr(order, "pk", None):
            raise ValidationFailed(
                _("A reversal belongs to the order of what it reverses.")
            )
        if LedgerTransaction.objects.filter(reverses=reverses).exists():
            raise Conflict(
                _("Transaction %(transaction)s is already reversed.")
                % {"transaction": reverses.pk}
            )
    try:
        with transaction.atomic():
            entry = LedgerTransaction.objects.create(
                kind=kind, order=order, memo=memo[:200], reverses=reverses
            )
            if at is not None:
                LedgerTransaction.objects.filter(pk=entry.pk).update(at=at)
                entry.at = at
            Posting.objects.bulk_create(
                Posting(
                    transaction=entry,
                    account=leg.account,
                    amount=leg.amount,
                    household_id=_id(leg.household),
                    income_kind=leg.income_kind,
                )
                for leg in checked
            )
    except IntegrityError as exc:
        if reverses is not None:  # reversed concurrently: the one-to-one said no
            raise Conflict(
                _("Transaction %(transaction)s is already reversed.")
                % {"transaction": reverses.pk}
            ) from exc
        raise
    return entry


post = ledger_post  # the short name


def ledger_reverse(
    entry: LedgerTransaction, *, memo: str = "", at: datetime | None = None
) -> LedgerTransaction:
    """Post the exact negation of ``entry`` (kind ``<kind>_reversal``)."""
    legs = [
        Leg(p.account, -p.amount, p.household_id, p.income_kind)
        for p in entry.postings.all()
    ]
    return ledger_post(
        f"{entry.kind}_reversal"[:30],
        legs,
        order=entry.order,
        memo=memo,
        reverses=entry,
        at=at,
    )


# ---------------------------------------------------------------------------- recording


def ledger_record_payment(
    payment: Payment, orders: Sequence[Order]
) -> list[LedgerTransaction]:
    """One ``payment`` transaction per order the payment applied to (once per order)."""
    written = []
    at = payment.paid_at or timezone.now()
    for order in orders:
        if LedgerTransaction.objects.filter(order=order, kind="payment").exists():
            continue  # already recorded: a payment posts once per order
        written.append(
            ledger_post(
                "payment",
                [
                    Leg(gateway_account(payment.channel), order.total),
                    Leg(UNSETTLED, -order.total),
                ],
                order=order,
                memo=f"{payment.channel} {payment.out_trade_no}",
                at=at,
            )
        )
    return written


def ledger_record_refund(refund: Refund) -> list[LedgerTransaction]:
    """Reverse the order's unreversed transactions, newest first.

    Idempotent: a second call finds nothing left to reverse. Refuses (Conflict) a
    refund that is not of the whole order: the ledger has no partial refunds.
    """
    order = refund.order
    if refund.amount != order.total:
        raise Conflict(
            _(
                "The market refunds whole orders: %(amount)s is not the total "
                "%(total)s of order %(order)s."
            )
            % {
                "amount": refund.amount,
                "total": order.total,
                "order": order.number,
            },
            extra={"order": order.number, "refund": refund.out_refund_no},
        )
    open_entries = list(
        LedgerTransaction.objects.filter(
            order=order, kind__in=REVERSAL_ORDER, reversed_by__isnull=True
        ).prefetch_related("postings")
    )
    open_entries.sort(key=lambda e: (REVERSAL_ORDER.index(e.kind), -e.pk))
    at = refund.done_at or timezone.now()
    return [
        ledger_reverse(entry, memo=f"refund {refund.out_refund_no}", at=at)
        for entry in open_entries
    ]


# ------------------------------------------------------------------------------ queries


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The first instant of ``year`` and of the next, in China time."""
    return datetime(year, 1, 1, tzinfo=CHINA), datetime(year + 1, 1, 1, tzinfo=CHINA)


def ledger_balance(account: str) -> Decimal:
    """The sum of the account's postings (debit positive)."""
    total = Posting.objects.filter(account=account).aggregate(total=Sum("amount"))[
        "total"
    ]
    return ZERO if total is None else Decimal(total).quantize(FEN)


def ledger_trial_balance() -> dict[str, Decimal]:
    """Every account's balance, by name. The balances always sum to 0.00."""
    rows = (
        Posting.objects.values("account")
        .annotate(balance=Sum("amount"))
        .order_by("account")
    )
    return {row["account"]: Decimal(row["balance"]).quantize(FEN) for row in rows}


def household_income(
    household: Household | int, year: int | None = None
) -> dict[tuple[int, int, str], Decimal]:
    """Attributed income by (year, month, income kind), months in China time.

    Income is what was credited less what refunds took back; months that net to zero
    are left out.
    """
    postings = Posting.objects.filter(
        household_id=household if isinstance(household, int) else household.pk,
        account__startswith="household:",
    )
    if year is not None:
        start, end = year_bounds(year)
        postings = postings.filter(transaction__at__gte=start, transaction__at__lt=end)
    rows = (
        postings.annotate(
            y=ExtractYear("transaction__at", tzinfo=CHINA),
            m=ExtractMonth("transaction__at", tzinfo=CHINA),
        )
        .values("y", "m", "income_kind")
        .annotate(total=Sum("amount"))
        .order_by("y", "m", "income_kind")
    )
    out: dict[tuple[int, int, str], Decimal] = {}
    for row in rows:
        income = -Decimal(row["total"]).quantize(FEN)
        if income != 0:
            out[(row["y"], row["m"], row["income_kind"])] = income
    return out


def household_ecommerce_income(household: Household | int, year: int) -> Decimal:
    """All market income attributed to the household in ``year`` (China time)."""
    household_id = _id(household)
    incomes = market_income_by_household(year, households=[household])
    return incomes.get(household_id, ZERO) if household_id is not None else ZERO


def market_income_by_household(
    year: int,
    *,
    area_prefix: str = "",
    households: Sequence[Household | int] | None = None,
) -> dict[int, Decimal]:
    """Household id → market income of ``year``, for every household with postings.

    ``area_prefix`` keeps households whose village code starts with it.
    """
    start, end = year_bounds(year)
    postings = Posting.objects.filter(
        account__startswith="household:",
        household__isnull=False,
        transaction__at__gte=start,
        transaction__at__lt=end,
    )
    if area_prefix:
        postings = postings.filter(household__village__code__startswith=area_prefix)
    if households is not None:
        postings = postings.filter(household_id__in=[_id(h) for h in households])
    rows = (
        postings.values("household_id")
        .annotate(total=Sum("amount"))
        .order_by("household_id")
    )
    return {row["household_id"]: -Decimal(row["total"]).quantize(FEN) for row in rows}


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    kind: str
    order: str
    memo: str
    amount: Decimal  # change in what the seller is owed


@dataclass(frozen=True)
class SellerStatement:
    """What the market owes a seller over [since, until), and why.

    ``settled`` is revenue settled, ``to_households`` what of it went to households
    (positive), ``reversed`` the net change from refunds; ``closing`` = ``opening`` +
    ``settled`` − ``to_households`` + ``reversed``.
    """

    seller_id: int
    since: datetime
    until: datetime
    opening: Decimal
    settled: Decimal
    to_households: Decimal
    reversed: Decimal
    closing: Decimal
    lines: tuple[StatementLine, ...]


def seller_statement(
    seller: Seller | int, since: datetime, until: datetime
) -> SellerStatement:
    seller_id = seller if isinstance(seller, int) else seller.pk
    account = seller_account(seller_id)
    before = Posting.objects.filter(
        account=account, transaction__at__lt=since
    ).aggregate(total=Sum("amount"))["total"]
    opening = ZERO if before is None else -Decimal(before).quantize(FEN)
    postings = (
        Posting.objects.filter(
            Q(transaction__at__gte=since) & Q(transaction__at__lt=until),
            account=account,
        )
        .select_related("transaction", "transaction__order")
        .order_by("transaction__at", "transaction_id", "id")
    )
    lines = tuple(
        StatementLine(
            at=p.transaction.at,
            kind=p.transaction.kind,
            order=p.transaction.order.number if p.transaction.order else "",
            memo=p.transaction.memo,
            amount=-p.amount,
        )
        for p in postings
    )

    def total(kinds: Iterable[str]) -> Decimal:
        wanted = set(kinds)
        return sum((line.amount for line in lines if line.kind in wanted), ZERO)

    settled = total(["settlement"])
    to_households = -total(["attribution"])
    reversed_ = sum(
        (line.amount for line in lines if line.kind.endswith("_reversal")), ZERO
    )
    return SellerStatement(
        seller_id=seller_id,
        since=since,
        until=until,
        opening=opening,
        settled=settled,
        to_households=to_households,
        reversed=reversed_,
        closing=opening + sum((line.amount for line in lines), ZERO),
        lines=lines,
    )
