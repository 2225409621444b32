"""Traceability: Digital Links, derived GTINs, lot events, the public page, EPCIS."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import segno
from biip.gtin import Gtin
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from propoor.areas.models import Division
from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.core.models import AuditEntry
from propoor.households.tests.factories import (
    COUNTY,
    VILLAGE_A1,
    make_household,
    make_user,
)
from propoor.market import services
from propoor.market.models import Category, LotEvent, Product
from propoor.market.services import traceability
from propoor.market.services.traceability import (
    LinkParts,
    derived_gtin,
    epcis_document,
    lot_digital_link,
    lot_event_record,
    lot_public,
)
from propoor.market.tests.factories import (
    county_admin,
    make_lot,
    make_seller,
)

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
SITE = "https://propoor.example.cn"


def _product(
    seller, *, gtin: str = "", unit: str = "kg", title: str = "高山苹果"
) -> Product:  # type: ignore[no-untyped-def]
    if not Category.objects.exists():
        services.categories_install()
    return services.product_create(
        seller.operators.first(),
        seller,
        category=Category.objects.get(code="fresh-produce"),
        title_zh=title,
        title_en="Mountain apples",
        unit=unit,
        price="12.50",
        gtin=gtin,
    )


def _lot(product: Product, code: str, *, harvested_on: date, quantity: str = "100"):  # type: ignore[no-untyped-def]
    return services.lot_create(
        product.seller.operators.first(),
        product,
        code=code,
        harvested_on=harvested_on,
        quantity=quantity,
        shelf_life_days=30,
    )


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# ----------------------------------------------------------------------------- links


@override_settings(PROPOOR_SITE_URL=SITE)
def test_the_digital_link_of_a_lot_is_exact(area_tree) -> None:
    # given a product with its own GTIN-13 and a lot of it
    product = _product(make_seller(), gtin="6901234567892")
    lot = make_lot(product, code="A-2025-01")

    # then its Digital Link is on our resolver, with the GTIN in 14 digits
    link = lot_digital_link(lot)
    assert (
        link == "https://propoor.example.cn/market/trace/01/06901234567892/10/A-2025-01"
    )
    # and the path is the public page's
    assert link.removeprefix(SITE) == reverse(
        "market:trace_lot", kwargs={"gtin": "06901234567892", "lot": "A-2025-01"}
    )
    # and biip reads it back
    assert traceability.link_parse(link) == LinkParts(
        gtin="06901234567892", lot="A-2025-01"
    )
    assert traceability.lot_canonical_link(lot) == (
        "https://id.gs1.org/01/06901234567892/10/A-2025-01"
    )


@override_settings(PROPOOR_SITE_URL="http://localhost:8000/propoor")
def test_the_link_keeps_the_sites_scheme_and_path(area_tree) -> None:
    product = _product(make_seller(), gtin="6901234567892")
    lot = make_lot(product, code="L7")
    assert lot_digital_link(lot) == (
        "http://localhost:8000/propoor/market/trace/01/06901234567892/10/L7"
    )


def test_a_derived_gtin_has_a_valid_check_digit() -> None:
    # given product 42 and the default internal prefix 0400000
    gtin = derived_gtin(42)
    # then the GTIN-14 is prefix + item reference + GS1 check digit
    assert gtin == "00400000000428"
    parsed = Gtin.parse(gtin)  # raises on a wrong check digit
    assert parsed.check_digit == 8
    assert parsed.prefix is not None
    assert parsed.prefix.usage == (
        "Used to issue GS1 Restricted Circulation Numbers within a company"
    )
    assert derived_gtin(1) == "00400000000015"
    assert Gtin.parse(derived_gtin(99_999)).as_gtin_14() == derived_gtin(99_999)


def test_a_derived_gtin_follows_the_prefix_setting() -> None:
    with override_settings(PROPOOR_GS1_PREFIX="0200000"):
        assert derived_gtin(42) == "00200000000424"
    with override_settings(PROPOOR_GS1_PREFIX="69x"), pytest.raises(ValidationFailed):
        derived_gtin(42)
    with pytest.raises(ValidationFailed) as caught:
        derived_gtin(100_000)  # five digits of item reference under 0400000
    assert caught.value.message == (
        "Product 100000 does not fit the 5-digit item references of GS1 prefix "
        "0400000; give the product a GTIN of its own."
    )


@override_settings(PROPOOR_SITE_URL=SITE)
def test_a_product_without_a_valid_gtin_is_traced_by_the_derived_one(area_tree) -> None:
    no_gtin = _product(make_seller())
    wrong_digit = _product(make_seller(), gtin="6901234567891")
    for product in (no_gtin, wrong_digit):
        lot = make_lot(product, code="B1")
        expected = derived_gtin(product.pk)
        assert lot_digital_link(lot) == f"{SITE}/market/trace/01/{expected}/10/B1"
        # and the link finds the lot again
        assert lot_public((expected, "B1")).lot_id == lot.pk


def test_a_link_with_a_wrong_check_digit_or_lot_is_not_found(area_tree) -> None:
    product = _product(make_seller(), gtin="6901234567892")
    make_lot(product, code="C1")
    assert lot_public(("6901234567892", "C1")).lot_code == "C1"  # GTIN-13 is fine
    with pytest.raises(NotFound):
        lot_public(("6901234567891", "C1"))
    with pytest.raises(NotFound):
        lot_public(("6901234567892", "C2"))
    with pytest.raises(NotFound):
        traceability.link_parse("https://example.cn/market/trace/01/06901234567892")


def test_the_qr_code_holds_the_digital_link(area_tree) -> None:
    lot = make_lot(_product(make_seller()), code="Q1")
    expected = segno.make(lot_digital_link(lot), error="m").svg_inline(
        scale=1,
        border=4,
        omitsize=True,
        light="#fff",
        svgclass="qr",
        lineclass="qr-line",
        title="QR",
    )
    assert traceability.lot_qr_svg(lot, title="QR") == expected
    assert expected.startswith("<svg")


# ----------------------------------------------------------------------------- events


def test_events_are_recorded_in_time_order_by_the_sellers_operator(area_tree) -> None:
    # given a lot harvested five days ago (harvest event at 08:00 that day)
    seller = make_seller()
    operator = seller.operators.first()
    lot = make_lot(_product(seller), days_ago=5, code="E1")
    harvest_day = timezone.localdate() - timedelta(days=5)
    packed_at = datetime.combine(
        harvest_day, datetime.min.time(), SHANGHAI
    ) + timedelta(hours=15)
    village = Division.objects.get(code=VILLAGE_A1)

    # when the operator packs and ships, and the system records the receipt
    lot_event_record(operator, lot, "pack", packed_at, place=village, quantity="100")
    lot_event_record(
        operator,
        lot,
        "ship",
        packed_at + timedelta(hours=2),
        place=village,
        quantity="40",
    )
    lot_event_record(None, lot, "receive", packed_at + timedelta(days=1), quantity="40")

    # then the lot has four events in time order
    assert list(
        LotEvent.objects.filter(lot=lot).values_list("kind", "quantity", "recorded_by")
    ) == [
        ("harvest", Decimal("100.000"), operator.pk),
        ("pack", Decimal("100.000"), operator.pk),
        ("ship", Decimal("40.000"), operator.pk),
        ("receive", Decimal("40.000"), None),
    ]
    assert list(
        AuditEntry.objects.filter(action__startswith="market.lot_event.").values_list(
            "action", flat=True
        )
    ) == ["market.lot_event.pack", "market.lot_event.ship", "market.lot_event.receive"]


def test_bad_events_are_refused_and_nothing_is_written(area_tree) -> None:
    seller = make_seller()
    operator = seller.operators.first()
    lot = make_lot(_product(seller), days_ago=5, code="E2")
    harvest_at = LotEvent.objects.get(lot=lot).at
    stranger = make_user("cooperative", [VILLAGE_A1])
    before = (LotEvent.objects.count(), AuditEntry.objects.count())

    with pytest.raises(PermissionDenied):
        lot_event_record(stranger, lot, "pack", harvest_at + timedelta(hours=1))
    with pytest.raises(ValidationFailed):
        lot_event_record(operator, lot, "harvest", harvest_at + timedelta(hours=1))
    with pytest.raises(Conflict) as caught:
        lot_event_record(operator, lot, "pack", harvest_at - timedelta(hours=1))
    assert caught.value.message.startswith("Events are recorded in time order")
    with pytest.raises(ValidationFailed):
        lot_event_record(operator, lot, "pack", timezone.now() + timedelta(hours=1))
    with pytest.raises(ValidationFailed):
        lot_event_record(
            operator, lot, "pack", harvest_at + timedelta(hours=1), quantity="101"
        )
    with pytest.raises(ValidationFailed):
        lot_event_record(
            operator, lot, "pack", harvest_at + timedelta(hours=1), quantity="-1"
        )
    with pytest.raises(Conflict) as caught:
        lot_event_record(operator, lot, "receive", harvest_at + timedelta(hours=1))
    assert (
        caught.value.message
        == "Nothing of this lot was shipped that is not yet received."
    )

    assert (LotEvent.objects.count(), AuditEntry.objects.count()) == before


def test_a_shipment_after_the_shelf_life_is_recorded_but_flagged(area_tree) -> None:
    # given a lot harvested 40 days ago with a shelf life of 30 days
    seller = make_seller()
    lot = make_lot(_product(seller), days_ago=40, code="OLD")
    late = timezone.now() - timedelta(hours=1)

    # when it is shipped today
    event = lot_event_record(seller.operators.first(), lot, "ship", late)

    # then the event is there, flagged in the audit log and on the public page
    assert event.pk is not None
    entry = AuditEntry.objects.get(action="market.lot_event.ship")
    assert entry.data["past_best_before"] is True
    public = lot_public(lot)
    assert [(e.kind, e.past_best_before) for e in public.events] == [
        ("harvest", False),
        ("ship", True),
    ]
    assert public.expired is True


# --------------------------------------------------------------------- the public page


def _household_shop():  # type: ignore[no-untyped-def]
    household = make_household(head_name="张三明", village_code=VILLAGE_A1)
    operator = make_user("household", [VILLAGE_A1], household=household)
    seller = services.seller_create(
        county_admin(),
        name="张三明的果园",
        kind="household_shop",
        village=Division.objects.get(code=VILLAGE_A1),
        operators=[operator],
        household=household,
    )
    return seller


def test_the_public_facts_of_a_lot(area_tree) -> None:
    # given a household shop's lot and a cooperative's lot
    shop_lot = make_lot(_product(_household_shop()), days_ago=3, code="H1")
    coop = make_seller(name="一村苹果合作社")
    coop_lot = make_lot(_product(coop), days_ago=3, code="K1")

    # then the shop's producer is its head's masked name; the cooperative's its name
    shop = lot_public(shop_lot)
    assert (shop.producer, shop.producer_kind) == ("张*明", "household_shop")
    assert (shop.village.code, shop.township.code) == (VILLAGE_A1, "530102001000")
    assert shop.harvested_on == timezone.localdate() - timedelta(days=3)
    assert shop.best_before == timezone.localdate() + timedelta(days=27)
    assert shop.quantity == Decimal("100.000")
    assert shop.certification is None
    assert [e.kind for e in shop.events] == ["harvest"]
    assert lot_public(coop_lot).producer == "一村苹果合作社"


def test_the_public_page_masks_the_producer_and_needs_no_login(area_tree) -> None:
    # given a household shop's lot, packed
    seller = _household_shop()
    lot = make_lot(_product(seller, title="张家苹果"), days_ago=3, code="H2")
    harvest_at = LotEvent.objects.get(lot=lot).at
    lot_event_record(
        seller.operators.first(),
        lot,
        "pack",
        harvest_at + timedelta(hours=3),
        place=Division.objects.get(code=VILLAGE_A1),
        note="交给张三明的邻居",
    )
    path = reverse(
        "market:trace_lot", kwargs={"gtin": derived_gtin(lot.product_id), "lot": "H2"}
    )

    # when anyone opens the lot's page (in Chinese)
    response = Client().get(path, HTTP_ACCEPT_LANGUAGE="zh-hans")

    # then it shows the masked producer, never the full name nor the notes
    assert response.status_code == 200
    html = response.content.decode()
    assert "张*明" in html
    assert "张三明" not in html
    assert "一村" in html
    assert "护国街道" in html
    assert 'data-event="harvest"' in html
    assert 'data-event="pack"' in html
    assert 'class="qr"><title>' in html
    assert f'href="{path}/epcis.json"' in html
    assert 'data-certification="none"' in html


def test_the_lot_page_redirects_short_gtins_and_the_epcis_link_type(area_tree) -> None:
    product = _product(make_seller(), gtin="6901234567892")
    make_lot(product, code="R1")
    client = Client()
    short = client.get("/market/trace/01/6901234567892/10/R1")
    assert (short.status_code, short["Location"]) == (
        301,
        "/market/trace/01/06901234567892/10/R1",
    )
    typed = client.get("/market/trace/01/06901234567892/10/R1?linkType=gs1:epcis")
    assert (typed.status_code, typed["Location"]) == (
        302,
        "/market/trace/01/06901234567892/10/R1/epcis.json",
    )
    assert client.get("/market/trace/01/06901234567891/10/R1").status_code == 404
    assert client.get("/market/trace/01/06901234567892/10/R2").status_code == 404
    assert client.get("/market/trace/01/06901234567892/10/批次").status_code == 404
    assert client.post("/market/trace/01/06901234567892/10/R1").status_code == 405
    qr = client.get("/market/trace/01/06901234567892/10/R1/qr.svg")
    assert (qr.status_code, qr["Content-Type"]) == (200, "image/svg+xml")
    place = client.get(reverse("market:trace_place", kwargs={"code": VILLAGE_A1}))
    assert place.status_code == 200
    assert (
        client.get(reverse("market:trace_place", kwargs={"code": "999"})).status_code
        == 404
    )


# ----------------------------------------------------------------------------- EPCIS


@override_settings(PROPOOR_SITE_URL=SITE)
def test_the_epcis_document_of_a_harvested_packed_shipped_received_lot(
    area_tree,
) -> None:
    # given a lot harvested on 1 June 2025, packed and shipped the next day, received on
    # the 4th (in the county town)
    seller = make_seller()
    operator = seller.operators.first()
    product = _product(seller, gtin="6901234567892")
    lot = _lot(product, "A-2025-01", harvested_on=date(2025, 6, 1))
    village = Division.objects.get(code=VILLAGE_A1)
    county = Division.objects.get(code=COUNTY)
    lot_event_record(
        operator, lot, "pack", _at(2025, 6, 2, 9, 30), place=village, quantity="100"
    )
    lot_event_record(
        operator, lot, "ship", _at(2025, 6, 2, 15, 0), place=village, quantity="40"
    )
    lot_event_record(
        None, lot, "receive", _at(2025, 6, 4, 10, 0), place=county, quantity="40"
    )
    ids = [
        "urn:uuid:"
        + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{SITE}/market/trace/events/{pk}"))
        for pk in LotEvent.objects.filter(lot=lot)
        .order_by("at")
        .values_list("pk", flat=True)
    ]
    epc_class = "https://id.gs1.org/01/06901234567892/10/A-2025-01"
    here = f"{SITE}/market/trace/places/{VILLAGE_A1}"
    town = f"{SITE}/market/trace/places/{COUNTY}"

    # when it is exported
    document = epcis_document([lot], created=datetime(2025, 6, 5, 4, 0, tzinfo=UTC))

    # then it is an EPCIS 2.0 document with one ObjectEvent per lot event
    assert document == {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-06-05T04:00:00.000Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventID": ids[0],
                    "eventTime": "2025-06-01T08:00:00.000+08:00",
                    "eventTimeZoneOffset": "+08:00",
                    "quantityList": [
                        {"epcClass": epc_class, "quantity": 100, "uom": "KGM"}
                    ],
                    "action": "ADD",
                    "bizStep": "commissioning",
                    "disposition": "active",
                    "readPoint": {"id": here},
                    "bizLocation": {"id": here},
                    "ilmd": {
                        "cbvmda:harvestStartDate": "2025-06-01",
                        "cbvmda:bestBeforeDate": "2025-07-01",
                        "cbvmda:countryOfOrigin": "CN",
                    },
                },
                {
                    "type": "ObjectEvent",
                    "eventID": ids[1],
                    "eventTime": "2025-06-02T09:30:00.000+08:00",
                    "eventTimeZoneOffset": "+08:00",
                    "quantityList": [
                        {"epcClass": epc_class, "quantity": 100, "uom": "KGM"}
                    ],
                    "action": "OBSERVE",
                    "bizStep": "packing",
                    "disposition": "in_progress",
                    "readPoint": {"id": here},
                    "bizLocation": {"id": here},
                },
                {
                    "type": "ObjectEvent",
                    "eventID": ids[2],
                    "eventTime": "2025-06-02T15:00:00.000+08:00",
                    "eventTimeZoneOffset": "+08:00",
                    "quantityList": [
                        {"epcClass": epc_class, "quantity": 40, "uom": "KGM"}
                    ],
                    "action": "OBSERVE",
                    "bizStep": "shipping",
                    "disposition": "in_transit",
                    "readPoint": {"id": here},
                },
                {
                    "type": "ObjectEvent",
                    "eventID": ids[3],
                    "eventTime": "2025-06-04T10:00:00.000+08:00",
                    "eventTimeZoneOffset": "+08:00",
                    "quantityList": [
                        {"epcClass": epc_class, "quantity": 40, "uom": "KGM"}
                    ],
                    "action": "OBSERVE",
                    "bizStep": "receiving",
                    "disposition": "in_progress",
                    "readPoint": {"id": town},
                    "bizLocation": {"id": town},
                },
            ]
        },
    }
    assert len(set(ids)) == 4
    # and the same events export with the same IDs
    assert (
        epcis_document([lot], created=datetime(2025, 6, 5, 4, 0, tzinfo=UTC))
        == document
    )


def test_epcis_quantities_use_un_ece_units(area_tree) -> None:
    seller = make_seller()
    jin = _lot(
        _product(seller, unit="jin"), "J1", harvested_on=date(2025, 6, 1), quantity="25"
    )
    pieces = _lot(
        _product(seller, unit="piece"),
        "P1",
        harvested_on=date(2025, 6, 1),
        quantity="12",
    )
    events = epcis_document([jin, pieces])["epcisBody"]["eventList"]  # type: ignore[index]
    assert [e["quantityList"][0]["quantity"] for e in events] == [12.5, 12]
    assert [e["quantityList"][0]["uom"] for e in events] == ["KGM", "H87"]


def test_the_epcis_downloads(area_tree) -> None:
    seller = make_seller()
    product = _product(seller, gtin="6901234567892")
    _lot(product, "D1", harvested_on=date(2025, 6, 1))
    _lot(product, "D2", harvested_on=date(2025, 6, 3))
    client = Client()

    one = client.get("/market/trace/01/06901234567892/10/D1/epcis.json")
    assert one.status_code == 200
    assert one["Content-Type"] == "application/ld+json; charset=utf-8"
    assert (
        one["Content-Disposition"]
        == 'attachment; filename="epcis-06901234567892-D1.json"'
    )
    body = json.loads(one.content)
    assert (body["type"], body["schemaVersion"]) == ("EPCISDocument", "2.0")
    assert len(body["epcisBody"]["eventList"]) == 1

    both = json.loads(client.get("/market/trace/01/06901234567892/epcis.json").content)
    assert [e["eventTime"] for e in both["epcisBody"]["eventList"]] == [
        "2025-06-01T08:00:00.000+08:00",
        "2025-06-03T08:00:00.000+08:00",
    ]
    assert traceability.epcis_for_product(product)["epcisBody"] == both["epcisBody"]
    assert client.get("/market/trace/01/06901234567891/epcis.json").status_code == 404
    assert client.get("/market/trace/01/00400000099996/epcis.json").status_code == 404


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三明", "张*明"),
        ("欧阳小明", "欧**明"),
        ("张三", "张*"),
        ("Wang Fang", "W*** F***"),
        ("  ", ""),
    ],
)
def test_names_are_masked(name: str, masked: str) -> None:
    assert traceability.mask_name(name) == masked


def test_more_bad_events_are_refused(area_tree) -> None:  # type: ignore[no-untyped-def]
    seller = make_seller()
    operator = seller.operators.first()
    lot = make_lot(_product(seller), days_ago=5, code="E3")
    at = LotEvent.objects.get(lot=lot).at + timedelta(hours=1)
    other_seller = make_seller()
    other_lot = make_lot(_product(other_seller), code="E4")
    from propoor.market.tests.factories import buy

    checkout = buy(make_user("buyer"), other_lot.product, "1")
    before = LotEvent.objects.count()
    for kwargs, field in (
        ({"quantity": "many"}, "quantity"),
        ({"note": "长" * 201}, "note"),
        ({"order": checkout.orders.get()}, "order"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            lot_event_record(operator, lot, "ship", at, **kwargs)  # type: ignore[arg-type]
        assert caught.value.extra["field"] == field
    with pytest.raises(ValidationFailed) as caught:
        lot_event_record(operator, lot, "ship", datetime(2025, 6, 1, 8))  # noqa: DTZ001
    assert caught.value.extra["field"] == "at"
    assert LotEvent.objects.count() == before
