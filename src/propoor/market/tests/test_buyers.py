"""Public buyers (quota, progress, acceptance) and reviews."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.core.models import AuditEntry
from propoor.households.tests.factories import make_user
from propoor.market.models import Acceptance, Certification, Order, PublicBuyer, Review
from propoor.market.services.buyers import (
    MAX_FILE,
    QuotaProgress,
    acceptance_record,
    public_buyer_create,
    public_buyer_of,
    public_buyer_progress,
    review_create,
)
from propoor.market.tests.factories import (
    buy,
    county_admin,
    make_lot,
    make_product,
    make_seller,
)
from propoor.market.tests.test_ledger import complete, ledger_receivers, pay

__all__ = ["ledger_receivers"]

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
D = Decimal
THIS_YEAR = timezone.localdate().year
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"


def office(buyer, *, year: int | None = None, quota: str = "1000.00") -> PublicBuyer:
    year = year or THIS_YEAR
    return public_buyer_create(
        county_admin(), name=f"县第一中学{year}", year=year, quota=quota, users=[buyer]
    )


def certify(
    product, *, on: date, until: date, status: str = "certified"
) -> Certification:
    # Certifying through the review steps is test_certification's business; only the
    # certified row they end in matters here.
    return Certification.objects.create(
        product=product,
        status=status,
        evidence="带动贫困户12户",
        applied_by=product.seller.operators.first(),
        certified_on=on,
        valid_until=until,
    )


def public_order(buyer, buyer_org, product, quantity: str = "1") -> Order:
    checkout = buy(buyer, product, quantity)
    Order.objects.filter(checkout=checkout).update(
        public_buyer=buyer_org
    )  # no checkout hook yet
    return checkout.orders.get()


# -------------------------------------------------------------------------------- quota


def test_a_county_admin_registers_a_public_buyer(buyer) -> None:
    colleague = make_user("buyer")

    org = public_buyer_create(
        county_admin(),
        name=" 县人民医院 ",
        year=2026,
        quota="50000.00",
        users=[buyer, colleague],
    )

    assert (org.name, org.year, org.quota) == ("县人民医院", 2026, D("50000.00"))
    assert set(org.users.all()) == {buyer, colleague}
    assert public_buyer_of(buyer, 2026) == org
    assert public_buyer_of(buyer, 2025) is None
    assert AuditEntry.objects.filter(action="market.public_buyer_create").count() == 1


def test_only_a_county_admin_registers_a_public_buyer(buyer) -> None:
    with pytest.raises(PermissionDenied):
        public_buyer_create(
            make_user("cooperative"),
            name="县医院",
            year=2026,
            quota="1.00",
            users=[buyer],
        )
    assert PublicBuyer.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": " "}, "A public buyer needs a name of at most 120 characters."),
        ({"year": 1999}, "Give the year as a whole number (2010–2100)."),
        ({"year": True}, "Give the year as a whole number (2010–2100)."),
        ({"quota": 10.5}, "Give the quota as a string or Decimal, not a float."),
        ({"quota": "lots"}, "The quota 'lots' is not an amount."),
        ({"quota": "0"}, "The quota is more than 0, to the fen."),
        ({"quota": "1.005"}, "The quota is more than 0, to the fen."),
        ({"users": []}, "Name one or more active users who buy for it."),
        ({"users": [987654]}, "Name one or more active users who buy for it."),
    ],
)
def test_a_bad_public_buyer_is_refused(buyer, fields, message) -> None:
    given = {
        "name": "县医院",
        "year": 2026,
        "quota": "100.00",
        "users": [buyer],
        **fields,
    }

    with pytest.raises(ValidationFailed) as caught:
        public_buyer_create(county_admin(), **given)

    assert caught.value.message == message
    assert PublicBuyer.objects.count() == 0


def test_a_second_quota_for_the_same_year_is_a_conflict(buyer) -> None:
    office(buyer)
    with pytest.raises(Conflict) as caught:
        office(buyer)
    assert caught.value.message == (
        f"县第一中学{THIS_YEAR} already has a quota for {THIS_YEAR}."
    )
    assert PublicBuyer.objects.count() == 1


def test_progress_counts_paid_orders_of_products_certified_when_ordered(buyer) -> None:
    org = office(buyer, quota="400.00")
    certified = make_product(make_seller(), price="25.00")
    lapsed = make_product(make_seller(), price="10.00")
    plain = make_product(make_seller(), price="99.00")
    for product in (certified, lapsed, plain):
        make_lot(product, "100")
    today = timezone.localdate()
    certify(certified, on=today - timedelta(days=30), until=today + timedelta(days=300))
    certify(lapsed, on=today - timedelta(days=400), until=today - timedelta(days=35))
    certify(plain, on=today, until=today + timedelta(days=9), status="notice")
    orders = [
        public_order(buyer, org, certified, "4"),  # 100.00, counted
        public_order(buyer, org, lapsed, "1"),  # certification had run out
        public_order(buyer, org, plain, "1"),  # never certified
        public_order(buyer, org, certified, "2"),  # delivered: counted, 50.00
    ]
    unpaid = public_order(buyer, org, certified, "1")
    for order in orders:
        pay(order.checkout)
    complete(orders[3], delivered=datetime.now(tz=CHINA))
    private = buy(buyer, certified, "1")  # not a public-buyer order
    pay(private)

    progress = public_buyer_progress(org)

    assert progress == QuotaProgress(D("150.00"), D("400.00"), D("0.3750"))
    assert unpaid.status == "pending_payment"
    assert public_buyer_progress(org, 2020).purchased == D("0.00")


# --------------------------------------------------------------------------- acceptance


@pytest.fixture
def delivered(buyer):
    org = office(buyer)
    product = make_product(make_seller(), price="20.00")
    make_lot(product)
    order = public_order(buyer, org, product, "3")
    pay(order.checkout)
    from propoor.market import services

    return services.order_transition(order, "deliver", actor=buyer)


def test_the_public_buyer_accepts_a_delivered_order(buyer, delivered) -> None:
    acceptance = acceptance_record(
        buyer,
        delivered,
        invoice=PDF,
        invoice_name="C:\\票据\\发票.PDF",
        inspection=JPEG,
        inspection_name="验收报告.jpeg",
    )

    acceptance.refresh_from_db()
    assert (acceptance.invoice_name, bytes(acceptance.invoice)) == ("发票.PDF", PDF)
    assert (acceptance.inspection_name, bytes(acceptance.inspection)) == (
        "验收报告.jpeg",
        JPEG,
    )
    assert acceptance.accepted_by == buyer
    assert (
        AuditEntry.objects.filter(
            action="market.order.accept", object_id=delivered.number
        ).count()
        == 1
    )
    with pytest.raises(Conflict) as twice:
        acceptance_record(
            buyer,
            delivered,
            invoice=PDF,
            invoice_name="a.pdf",
            inspection=PNG,
            inspection_name="b.png",
        )
    assert twice.value.message == f"Order {delivered.number} is already accepted."
    assert Acceptance.objects.count() == 1


@pytest.mark.parametrize(
    ("invoice", "invoice_name", "message"),
    [
        (b"", "a.pdf", "Attach the invoice."),
        (b"MZ\x90\x00", "a.pdf", "The invoice must be a PDF, JPEG or PNG file."),
        (b"GIF89a", "a.gif", "The invoice must be a PDF, JPEG or PNG file."),
        (PNG, "a.pdf", "The invoice is a image/png file but is named 'a.pdf'."),
        (PDF + b"0" * MAX_FILE, "a.pdf", "The invoice is larger than 10 MB."),
        (PDF, "", "The invoice's file name must have 1 to 120 characters."),
        (
            PDF,
            "x" * 117 + ".pdf",
            "The invoice's file name must have 1 to 120 characters.",
        ),
    ],
)
def test_a_bad_invoice_is_refused_and_nothing_is_written(
    buyer, delivered, invoice, invoice_name, message
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        acceptance_record(
            buyer,
            delivered,
            invoice=invoice,
            invoice_name=invoice_name,
            inspection=PNG,
            inspection_name="b.png",
        )
    assert caught.value.message == message
    assert Acceptance.objects.count() == 0


def test_a_file_of_exactly_10_mb_is_accepted(buyer, delivered) -> None:
    invoice = PDF + b"0" * (MAX_FILE - len(PDF))
    acceptance_record(
        buyer,
        delivered,
        invoice=invoice,
        invoice_name="a.pdf",
        inspection=PNG,
        inspection_name="b.png",
    )
    assert Acceptance.objects.count() == 1


def test_only_the_public_buyers_users_accept(buyer, delivered) -> None:
    with pytest.raises(PermissionDenied):
        acceptance_record(
            make_user("buyer"),
            delivered,
            invoice=PDF,
            invoice_name="a.pdf",
            inspection=PNG,
            inspection_name="b.png",
        )
    assert Acceptance.objects.count() == 0


def test_an_undelivered_order_cannot_be_accepted(buyer) -> None:
    org = office(buyer)
    product = make_product(make_seller())
    make_lot(product)
    order = public_order(buyer, org, product)
    pay(order.checkout)

    with pytest.raises(Conflict) as caught:
        acceptance_record(
            buyer,
            order,
            invoice=PDF,
            invoice_name="a.pdf",
            inspection=PNG,
            inspection_name="b.png",
        )
    assert (
        caught.value.message
        == "An order that is paid cannot be accepted; wait for delivery."
    )
    assert Acceptance.objects.count() == 0


def test_a_private_order_has_no_acceptance(buyer) -> None:
    product = make_product(make_seller())
    make_lot(product)
    order = buy(buyer, product).orders.get()
    with pytest.raises(NotFound):
        acceptance_record(
            buyer,
            order,
            invoice=PDF,
            invoice_name="a.pdf",
            inspection=PNG,
            inspection_name="b.png",
        )


# ------------------------------------------------------------------------------ reviews


@pytest.fixture
def completed(buyer):
    product = make_product(make_seller(), price="15.00")
    make_lot(product)
    checkout = buy(buyer, product, "2")
    pay(checkout)
    return complete(checkout.orders.get(), delivered=datetime.now(tz=CHINA)), product


def test_the_buyer_reviews_a_completed_order_once(buyer, completed) -> None:
    order, product = completed

    review = review_create(
        buyer, order=order, product=product, rating=5, text=" 很甜！ "
    )

    assert (review.rating, review.text, review.buyer, review.order) == (
        5,
        "很甜！",
        buyer,
        order,
    )
    with pytest.raises(Conflict) as twice:
        review_create(buyer, order=order, product=product, rating=1)
    assert (
        twice.value.message == "You have already reviewed this product for this order."
    )
    assert Review.objects.count() == 1


@pytest.mark.parametrize("rating", [0, 6, True, "5", 4.5])
def test_a_rating_is_a_whole_number_from_1_to_5(buyer, completed, rating) -> None:
    order, product = completed
    with pytest.raises(ValidationFailed) as caught:
        review_create(buyer, order=order, product=product, rating=rating)
    assert caught.value.message == "Give a rating from 1 to 5."
    assert Review.objects.count() == 0


def test_only_the_buyer_reviews(buyer, completed) -> None:
    order, product = completed
    with pytest.raises(PermissionDenied):
        review_create(make_user("buyer"), order=order, product=product, rating=4)
    assert Review.objects.count() == 0


def test_only_a_product_of_the_order_is_reviewed(buyer, completed) -> None:
    order, _ = completed
    other = make_product(make_seller())
    with pytest.raises(ValidationFailed) as caught:
        review_create(buyer, order=order, product=other, rating=4)
    assert caught.value.message == "This order does not contain that product."
    assert Review.objects.count() == 0


def test_an_order_not_completed_cannot_be_reviewed(buyer) -> None:
    product = make_product(make_seller())
    make_lot(product)
    checkout = buy(buyer, product)
    pay(checkout)
    with pytest.raises(Conflict) as caught:
        review_create(buyer, order=checkout.orders.get(), product=product, rating=4)
    assert caught.value.message == "Review an order once it is completed."
    assert Review.objects.count() == 0


def test_a_long_review_is_refused(buyer, completed) -> None:
    order, product = completed
    with pytest.raises(ValidationFailed):
        review_create(buyer, order=order, product=product, rating=3, text="好" * 2001)
    assert Review.objects.count() == 0
