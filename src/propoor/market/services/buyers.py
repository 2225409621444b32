"""Public buyers (quotas of certified purchases, acceptance) and reviews.

A public buyer (a government office, school, hospital …) has a yearly quota of
purchases of certified poverty-alleviation products. Its progress counts the line
amounts of its paid, shipped, delivered or completed orders of that year (paid time in
China) whose product held a certification on the day the order was placed
(``certification.product_certified``: status ``certified``, ``certified_on`` on or
before that day, ``valid_until`` on or after it). A certification revoked since no
longer counts: the model keeps one status per certification.

A public buyer's order settles only after one of its users records the acceptance:
the invoice and the inspection report, each a PDF, JPEG or PNG file of at most 10 MB,
recognised by its first bytes (not by its name), once per order, once it is delivered.

Reviews: only the order's buyer, only for a completed order containing the product,
once per order and product, rating 1 to 5.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.roles import Role, require_role
from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.core.money import FEN, ZERO
from propoor.market.models import (
    Acceptance,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    PublicBuyer,
    Review,
)
from propoor.market.services.certification import product_certified
from propoor.market.services.ledger import year_bounds

if TYPE_CHECKING:
    from propoor.accounts.models import User

MAX_FILE = 10 * 1024 * 1024
MAX_REVIEW = 2000
COUNTED = (
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
)
# First bytes → (content type, the name endings that fit it)
MAGIC = (
    (b"%PDF-", "application/pdf", (".pdf",)),
    (b"\xff\xd8\xff", "image/jpeg", (".jpg", ".jpeg")),
    (b"\x89PNG\r\n\x1a\n", "image/png", (".png",)),
)


class QuotaProgress(NamedTuple):
    purchased: Decimal  # certified purchases, yuan
    quota: Decimal
    share: Decimal  # purchased / quota, four decimals (1.0000 = quota met)


def public_buyer_create(
    actor: User, *, name: str, year: int, quota: object, users: Sequence[User | int]
) -> PublicBuyer:
    """A county administrator registers a public buyer's quota for a year."""
    require_role(actor, [Role.COUNTY_ADMIN])
    name = name.strip()
    if not name or len(name) > 120:
        raise ValidationFailed(
            _("A public buyer needs a name of at most 120 characters.")
        )
    if isinstance(year, bool) or not isinstance(year, int) or not 2010 <= year <= 2100:
        raise ValidationFailed(_("Give the year as a whole number (2010–2100)."))
    if isinstance(quota, float):
        raise ValidationFailed(_("Give the quota as a string or Decimal, not a float."))
    try:
        amount = Decimal(str(quota))
    except InvalidOperation as exc:
        raise ValidationFailed(
            _("The quota %(quota)s is not an amount.") % {"quota": repr(quota)}
        ) from exc
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(FEN):
        raise ValidationFailed(_("The quota is more than 0, to the fen."))
    user_ids = {u if isinstance(u, int) else u.pk for u in users}
    found = list(get_user_model().objects.filter(pk__in=user_ids, is_active=True))
    if not found or len(found) != len(user_ids):
        raise ValidationFailed(_("Name one or more active users who buy for it."))
    try:
        with transaction.atomic():
            buyer = PublicBuyer.objects.create(name=name, year=year, quota=amount)
            buyer.users.set(found)
            audit_append(
                action="market.public_buyer_create",
                actor=actor,
                object_type="market.public_buyer",
                object_id=buyer.pk,
                data={
                    "name": name,
                    "year": year,
                    "quota": str(amount),
                    "users": sorted(u.pk for u in found),
                },
            )
    except IntegrityError as exc:
        raise Conflict(
            _("%(name)s already has a quota for %(year)s.")
            % {"name": name, "year": year}
        ) from exc
    return buyer


def public_buyer_of(user: User, year: int) -> PublicBuyer | None:
    """The public buyer ``user`` buys for in ``year``, if any (for the checkout)."""
    if user.pk is None:
        return None
    return PublicBuyer.objects.filter(users=user, year=year).order_by("id").first()


def public_buyer_progress(buyer: PublicBuyer, year: int | None = None) -> QuotaProgress:
    """Certified purchases of ``year`` (default: the quota's year) against the quota."""
    start, end = year_bounds(year or buyer.year)
    lines = list(
        OrderLine.objects.filter(
            order__public_buyer=buyer,
            order__status__in=COUNTED,
            order__paid_at__gte=start,
            order__paid_at__lt=end,
        ).values_list("product_id", "amount", "order__created_at")
    )
    products = Product.objects.in_bulk(
        {product_id for product_id, _amount, _at in lines}
    )
    certified: dict[tuple[int, date], bool] = {}
    purchased = ZERO
    for product_id, amount, ordered_at in lines:
        key = (product_id, timezone.localtime(ordered_at).date())
        if key not in certified:
            certified[key] = product_certified(products[product_id], key[1]) is not None
        if certified[key]:
            purchased += amount
    share = (purchased / buyer.quota).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP
    )
    return QuotaProgress(purchased=purchased, quota=buyer.quota, share=share)


def _file_message(label: str, problem: str) -> str:
    """What is wrong with the invoice or the inspection report: whole sentences, so
    that each can be translated as it reads."""
    if label == "invoice":
        messages = {
            "missing": _("Attach the invoice."),
            "too_large": _("The invoice is larger than 10 MB."),
            "misnamed": _(
                "The invoice is a %(content_type)s file but is named %(name)s."
            ),
            "wrong_kind": _("The invoice must be a PDF, JPEG or PNG file."),
            "bad_name": _("The invoice's file name must have 1 to 120 characters."),
        }
    else:
        messages = {
            "missing": _("Attach the inspection report."),
            "too_large": _("The inspection report is larger than 10 MB."),
            "misnamed": _(
                "The inspection report is a %(content_type)s file but is named "
                "%(name)s."
            ),
            "wrong_kind": _("The inspection report must be a PDF, JPEG or PNG file."),
            "bad_name": _(
                "The inspection report's file name must have 1 to 120 characters."
            ),
        }
    return messages[problem]


def _file_kind(data: bytes, name: str, label: str) -> str:
    if not isinstance(data, bytes | bytearray) or not data:
        raise ValidationFailed(_file_message(label, "missing"), extra={"field": label})
    if len(data) > MAX_FILE:
        raise ValidationFailed(
            _file_message(label, "too_large"),
            extra={"field": label, "size": len(data)},
        )
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    for magic, content_type, suffixes in MAGIC:
        if bytes(data[: len(magic)]) == magic:
            if suffix not in suffixes:
                raise ValidationFailed(
                    _file_message(label, "misnamed")
                    % {"content_type": content_type, "name": repr(name)},
                    extra={"field": label},
                )
            return content_type
    raise ValidationFailed(_file_message(label, "wrong_kind"), extra={"field": label})


def _clean_name(name: str, label: str) -> str:
    base = PurePosixPath(str(name).replace("\\", "/")).name.strip()
    if not base or len(base) > 120:
        raise ValidationFailed(
            _file_message(label, "bad_name"),
            extra={"field": label},
        )
    return base


def acceptance_record(
    actor: User,
    order: Order,
    *,
    invoice: bytes,
    invoice_name: str,
    inspection: bytes,
    inspection_name: str,
) -> Acceptance:
    """A user of the order's public buyer accepts the delivered order (once)."""
    invoice_name = _clean_name(invoice_name, "invoice")
    inspection_name = _clean_name(inspection_name, "inspection report")
    _file_kind(invoice, invoice_name, "invoice")
    _file_kind(inspection, inspection_name, "inspection report")
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.public_buyer_id is None:
            raise NotFound(_("No such public-buyer order."))
        if not PublicBuyer.objects.filter(
            pk=order.public_buyer_id, users=actor.pk
        ).exists():
            raise PermissionDenied(
                _("Only the public buyer's own users accept its orders.")
            )
        if order.status not in (OrderStatus.DELIVERED, OrderStatus.COMPLETED):
            raise Conflict(
                _("An order that is %(status)s cannot be accepted; wait for delivery.")
                % {"status": order.status},
                extra={"order": order.number, "status": order.status},
            )
        if Acceptance.objects.filter(order=order).exists():
            raise Conflict(
                _("Order %(number)s is already accepted.") % {"number": order.number}
            )
        acceptance = Acceptance.objects.create(
            order=order,
            invoice=bytes(invoice),
            invoice_name=invoice_name,
            inspection=bytes(inspection),
            inspection_name=inspection_name,
            accepted_by=actor,
        )
        audit_append(
            action="market.order.accept",
            actor=actor,
            object_type="market.order",
            object_id=order.number,
            data={
                "invoice": invoice_name,
                "inspection": inspection_name,
                "sizes": [len(invoice), len(inspection)],
            },
        )
    return acceptance


def review_create(
    buyer: User, *, order: Order, product: Product, rating: int, text: str = ""
) -> Review:
    """The order's buyer reviews one of its products, once, after completion."""
    if buyer.pk is None or order.buyer_id != buyer.pk:
        raise PermissionDenied(_("Only the buyer of the order may review it."))
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationFailed(
            _("Give a rating from 1 to 5."), extra={"field": "rating"}
        )
    text = text.strip()
    if len(text) > MAX_REVIEW:
        raise ValidationFailed(
            _("A review has at most %(characters)s characters.")
            % {"characters": MAX_REVIEW},
            extra={"field": "text"},
        )
    order.refresh_from_db(fields=["status"])
    if order.status != OrderStatus.COMPLETED:
        raise Conflict(
            _("Review an order once it is completed."),
            extra={"order": order.number, "status": order.status},
        )
    if not order.lines.filter(product=product).exists():
        raise ValidationFailed(
            _("This order does not contain that product."), extra={"field": "product"}
        )
    try:
        with transaction.atomic():
            review = Review.objects.create(
                order=order, product=product, buyer=buyer, rating=rating, text=text
            )
    except IntegrityError as exc:
        raise Conflict(
            _("You have already reviewed this product for this order.")
        ) from exc
    return review
