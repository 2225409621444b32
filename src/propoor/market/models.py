"""The consumption-based poverty-alleviation marketplace (paper §4.3–4.4).

Sellers declare the poor households they benefit; products are certified through
township and county review; each stock lot is traceable; one checkout makes one order
per seller; payments arrive as signed gateway notifications; settled revenue is
attributed to households in a double-entry ledger.

Stock can never go negative: ``StockLot.available`` and ``ExperienceSlot`` carry CHECK
constraints, and the checkout decrements them with row locks taken in one global
order (see ``services/checkout.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from propoor.core.money import MoneyField


class Bilingual:
    def t(self, field: str) -> str:
        suffix = "en" if (get_language() or "").startswith("en") else "zh"
        value: str = getattr(self, f"{field}_{suffix}") or getattr(self, f"{field}_zh")
        return value


# --- sellers


class SellerKind(models.TextChoices):
    HOUSEHOLD_SHOP = "household_shop", _("Household shop")
    COOPERATIVE = "cooperative", _("Cooperative")
    COMPANY = "company", _("Company")
    STATION = "station", _("Village service station")


class Seller(models.Model):
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=SellerKind.choices)
    village = models.ForeignKey(
        "areas.Division", on_delete=models.PROTECT, related_name="sellers"
    )
    household = models.ForeignKey(
        "households.Household",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="shops",
        help_text="For a household shop: the household that owns it.",
    )
    operators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="sellers"
    )
    description = models.TextField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class Mechanism(models.TextChoices):
    """How a seller's revenue reaches a poor household, and as what kind of income."""

    OWN_PRODUCE = "own_produce", _("Own produce (operating income)")
    PURCHASE = "purchase", _("Purchase agreement (operating income)")
    WAGES = "wages", _("Wages (wage income)")
    DIVIDEND = "dividend", _("Dividends or asset income (property income)")


INCOME_KIND = {
    Mechanism.OWN_PRODUCE: "operating",
    Mechanism.PURCHASE: "operating",
    Mechanism.WAGES: "wage",
    Mechanism.DIVIDEND: "asset",
}


class Benefit(models.Model):
    """A seller's declared benefit to one poor household: a share of settled revenue."""

    seller = models.ForeignKey(
        Seller, on_delete=models.CASCADE, related_name="benefits"
    )
    household = models.ForeignKey(
        "households.Household", on_delete=models.PROTECT, related_name="benefits"
    )
    mechanism = models.CharField(max_length=12, choices=Mechanism.choices)
    share = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        help_text="Fraction of the seller's settled revenue (0–1).",
    )
    note = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ("seller_id", "household_id")
        constraints = (
            models.UniqueConstraint(
                fields=("seller", "household", "mechanism"), name="benefit_unique"
            ),
            models.CheckConstraint(
                condition=Q(share__gt=0) & Q(share__lte=1), name="benefit_share_0_1"
            ),
        )

    def __str__(self) -> str:
        return f"{self.seller_id}→{self.household_id} {self.mechanism} {self.share}"


# --- catalogue


class ProductKind(models.TextChoices):
    GOODS = "goods", _("Goods")
    EXPERIENCE = "experience", _("Rural-tourism experience")


class Category(Bilingual, models.Model):
    code = models.SlugField(max_length=40, unique=True)
    kind = models.CharField(max_length=12, choices=ProductKind.choices)
    name_zh = models.CharField(max_length=60)
    name_en = models.CharField(max_length=60)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("order", "code")

    def __str__(self) -> str:
        return self.code


class Unit(models.TextChoices):
    KG = "kg", _("kg")
    JIN = "jin", _("jin (500 g)")
    PIECE = "piece", _("piece")
    BOX = "box", _("box")
    PERSON_DAY = "person_day", _("person-day")


class Product(Bilingual, models.Model):
    seller = models.ForeignKey(
        Seller, on_delete=models.PROTECT, related_name="products"
    )
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products"
    )
    kind = models.CharField(max_length=12, choices=ProductKind.choices)
    title_zh = models.CharField(max_length=120)
    title_en = models.CharField(max_length=120, blank=True)
    description_zh = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    unit = models.CharField(max_length=12, choices=Unit.choices)
    price = MoneyField()
    origin = models.ForeignKey(
        "areas.Division", on_delete=models.PROTECT, related_name="products"
    )
    specs = models.JSONField(default=dict, blank=True)
    gtin = models.CharField(max_length=14, blank=True, help_text="GTIN-13 or GTIN-14")
    capacity_per_day = models.PositiveIntegerField(
        default=0, help_text="Experiences: places per day."
    )
    active = models.BooleanField(default=True)
    search_text = models.TextField(blank=True, help_text="Titles, seller, village.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        indexes = (models.Index(fields=("category", "active")),)
        constraints = (
            models.CheckConstraint(
                condition=Q(price__gt=0), name="product_price_positive"
            ),
        )

    def __str__(self) -> str:
        return self.title_zh


class ProductPhoto(models.Model):
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="photos"
    )
    order = models.PositiveSmallIntegerField(default=0)
    content_type = models.CharField(max_length=40)
    data = models.BinaryField()
    alt = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ("product_id", "order", "id")

    def __str__(self) -> str:
        return f"{self.product_id}#{self.order}"


class StockLot(models.Model):
    """A harvest or production lot; ``available`` is what can still be reserved."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    code = models.CharField(max_length=20, help_text="Lot number (GS1 AI 10)")
    harvested_on = models.DateField()
    shelf_life_days = models.PositiveIntegerField()
    origin = models.ForeignKey(
        "areas.Division", on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    available = models.DecimalField(max_digits=12, decimal_places=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("product_id", "harvested_on", "id")
        constraints = (
            models.UniqueConstraint(fields=("product", "code"), name="lot_code_unique"),
            models.CheckConstraint(
                condition=Q(available__gte=0), name="lot_never_negative"
            ),
            models.CheckConstraint(
                condition=Q(available__lte=F("quantity")),
                name="lot_available_le_quantity",
            ),
        )

    def __str__(self) -> str:
        return f"{self.product_id}/{self.code}"


class LotEventKind(models.TextChoices):
    HARVEST = "harvest", _("Harvested")
    PACK = "pack", _("Packed")
    SHIP = "ship", _("Shipped")
    RECEIVE = "receive", _("Received")


class LotEvent(models.Model):
    """What happened to a lot; exported as EPCIS 2.0 ObjectEvents."""

    lot = models.ForeignKey(StockLot, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=LotEventKind.choices)
    at = models.DateTimeField()
    place = models.ForeignKey(
        "areas.Division",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    quantity = models.DecimalField(
        max_digits=12, decimal_places=3, null=True, blank=True
    )
    order = models.ForeignKey(
        "market.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ("lot_id", "at", "id")

    def __str__(self) -> str:
        return f"{self.lot_id} {self.kind}"


class ExperienceSlot(models.Model):
    """Places of an experience on one date; reserved never exceeds capacity."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="slots")
    date = models.DateField()
    capacity = models.PositiveIntegerField()
    reserved = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("product_id", "date")
        constraints = (
            models.UniqueConstraint(fields=("product", "date"), name="slot_unique"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("capacity")), name="slot_never_overbooked"
            ),
        )

    def __str__(self) -> str:
        return f"{self.product_id}@{self.date}"


# --- certification


class CertificationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted, awaiting the township")
    TOWNSHIP_APPROVED = "township_approved", _("Township approved, awaiting the county")
    NOTICE = "notice", _("In public notice")
    CERTIFIED = "certified", _("Certified")
    REJECTED = "rejected", _("Rejected")
    REVOKED = "revoked", _("Revoked")


class Certification(models.Model):
    """A poverty-alleviation product certification (扶贫产品认定): one application."""

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="certifications"
    )
    status = models.CharField(
        max_length=20,
        choices=CertificationStatus.choices,
        default=CertificationStatus.SUBMITTED,
    )
    evidence = models.TextField(help_text="How the product benefits poor households.")
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    applied_at = models.DateTimeField(auto_now_add=True)
    notice_ends_on = models.DateField(null=True, blank=True)
    certified_on = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    reason = models.CharField(
        max_length=300, blank=True, help_text="Rejection/revocation"
    )

    class Meta:
        ordering = ("-applied_at", "-id")

    def __str__(self) -> str:
        return f"{self.product_id} {self.status}"


class CertificationStep(models.Model):
    certification = models.ForeignKey(
        Certification, on_delete=models.CASCADE, related_name="steps"
    )
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("certification_id", "at", "id")

    def __str__(self) -> str:
        return f"{self.from_status}→{self.to_status}"


# --- orders


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired (not paid in time)")
    REFUND_REQUESTED = "refund_requested", _("Refund requested")
    REFUNDED = "refunded", _("Refunded")


class Checkout(models.Model):
    """One buyer's checkout: one payment covering one order per seller.

    Every checkout writes a row here and one per seller in :class:`Order`, so both
    keep only the indexes something reads through: a number is unique (no
    pattern-matching copy of it), the buyer's checkouts are found through
    ``checkout_once_per_key`` (buyer first), and a column that is mostly empty is
    indexed where it is set."""

    number = models.CharField(max_length=32)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="checkouts",
        db_index=False,
    )
    idempotency_key = models.CharField(max_length=64)
    total = MoneyField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    contact_name = models.CharField(max_length=60)
    contact_phone = models.CharField(max_length=20)
    address = models.CharField(max_length=300, blank=True)
    on_behalf_of = models.ForeignKey(
        "households.Household",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A station selling for a household without a phone.",
        db_index=False,
    )

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (
            models.Index(
                fields=("on_behalf_of",),
                condition=Q(on_behalf_of__isnull=False),
                name="checkout_on_behalf_of",
            ),
        )
        constraints = (
            models.UniqueConstraint(fields=("number",), name="checkout_number_unique"),
            models.UniqueConstraint(
                fields=("buyer", "idempotency_key"), name="checkout_once_per_key"
            ),
        )

    def __str__(self) -> str:
        return self.number


class Order(models.Model):
    number = models.CharField(max_length=32)
    checkout = models.ForeignKey(
        Checkout, on_delete=models.PROTECT, related_name="orders"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    seller = models.ForeignKey(  # indexed by (seller, status)
        Seller, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT
    )
    total = MoneyField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    stock_released = models.BooleanField(default=False)
    public_buyer = models.ForeignKey(
        "market.PublicBuyer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,
    )

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (
            models.Index(fields=("status", "expires_at")),
            models.Index(fields=("seller", "status")),
            models.Index(
                fields=("public_buyer",),
                condition=Q(public_buyer__isnull=False),
                name="order_public_buyer",
            ),
        )
        constraints = (
            models.UniqueConstraint(fields=("number",), name="order_number_unique"),
            models.CheckConstraint(
                condition=Q(total__gt=0), name="order_total_positive"
            ),
        )

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = MoneyField()
    amount = MoneyField()
    slot = models.ForeignKey(
        ExperienceSlot,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ("order_id", "id")
        indexes = (
            models.Index(
                fields=("slot",),
                condition=Q(slot__isnull=False),
                name="orderline_slot",
            ),
        )

    def __str__(self) -> str:
        return f"{self.order_id}: {self.quantity} × {self.product_id}"


class Allocation(models.Model):
    """Stock of one lot held for an order line (released if the order is not paid)."""

    line = models.ForeignKey(
        OrderLine, on_delete=models.CASCADE, related_name="allocations"
    )
    lot = models.ForeignKey(
        StockLot, on_delete=models.PROTECT, related_name="allocations"
    )
    quantity = models.DecimalField(max_digits=12, decimal_places=3)

    class Meta:
        ordering = ("line_id", "lot_id")

    def __str__(self) -> str:
        return f"{self.lot_id}: {self.quantity}"


class OrderTransition(models.Model):
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="transitions"
    )
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    event = models.CharField(max_length=30)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("order_id", "at", "id")

    def __str__(self) -> str:
        return f"{self.order_id} {self.from_status}→{self.to_status}"


# --- payments


class Channel(models.TextChoices):
    ALIPAY = "alipay", _("Alipay")
    WECHAT = "wechat", _("WeChat Pay")
    CASH = "cash", _("Cash at the service station")
    BANK = "bank", _("Bank transfer")


class PaymentStatus(models.TextChoices):
    CREATED = "created", _("Created")
    PAID = "paid", _("Paid")
    CLOSED = "closed", _("Closed")
    REFUNDED = "refunded", _("Refunded")


class Payment(models.Model):
    """One payment for a checkout through one channel; applied exactly once."""

    checkout = models.ForeignKey(
        Checkout, on_delete=models.PROTECT, related_name="payments"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    out_trade_no = models.CharField(max_length=64, unique=True)
    amount = MoneyField()
    status = models.CharField(
        max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.CREATED
    )
    gateway_trade_no = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Cash or transfer: the station operator.",
    )

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.out_trade_no


class Notification(models.Model):
    """Every gateway notification as received, verified or not, and what came of it."""

    channel = models.CharField(max_length=8, choices=Channel.choices)
    received_at = models.DateTimeField(auto_now_add=True)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    verified = models.BooleanField(default=False)
    out_trade_no = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=40)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("-received_at", "-id")

    def __str__(self) -> str:
        return f"{self.channel} {self.out_trade_no} {self.outcome}"


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds"
    )
    out_refund_no = models.CharField(max_length=64, unique=True)
    amount = MoneyField()
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.out_refund_no


# --- ledger


class LedgerTransaction(models.Model):
    """A balanced set of postings (their amounts sum to zero, to the fen)."""

    kind = models.CharField(max_length=30)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger"
    )
    at = models.DateTimeField(auto_now_add=True)
    memo = models.CharField(max_length=200, blank=True)
    reverses = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )

    class Meta:
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Posting(models.Model):
    """One leg: debit positive, credit negative. Accounts are named, e.g.
    ``gateway:alipay``, ``seller:12:payable``, ``household:345:income:operating``."""

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="postings"
    )
    account = models.CharField(max_length=80, db_index=True)
    amount = MoneyField()
    household = models.ForeignKey(
        "households.Household",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="market_postings",
    )
    income_kind = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ("transaction_id", "id")

    def __str__(self) -> str:
        return f"{self.account} {self.amount}"


# --- buyers, reviews


class PublicBuyer(models.Model):
    """A public body with a yearly quota of purchases from certified products."""

    name = models.CharField(max_length=120)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="public_buyers"
    )
    year = models.PositiveSmallIntegerField()
    quota = MoneyField()

    class Meta:
        ordering = ("name", "-year")
        constraints = (
            models.UniqueConstraint(fields=("name", "year"), name="public_buyer_year"),
        )

    def __str__(self) -> str:
        return f"{self.name} {self.year}"


class Acceptance(models.Model):
    """A public buyer's acceptance of an order: invoice and inspection report."""

    order = models.OneToOneField(
        Order, on_delete=models.PROTECT, related_name="acceptance"
    )
    invoice = models.BinaryField()
    invoice_name = models.CharField(max_length=120)
    inspection = models.BinaryField()
    inspection_name = models.CharField(max_length=120)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"acceptance {self.order_id}"


class Review(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="reviews")
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="reviews"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    rating = models.PositiveSmallIntegerField()
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (
            models.UniqueConstraint(fields=("order", "product"), name="review_once"),
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="rating_1_5"
            ),
        )

    def __str__(self) -> str:
        return f"{self.product_id} ★{self.rating}"
