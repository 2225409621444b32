"""Product search: Chinese and English terms, filters, on SQLite and PostgreSQL.

The same products are found on both backends; the order differs where the ranking
does (PostgreSQL: ``similarity(title_zh, query)``; SQLite: the shorter title first),
so the expected lists name both orders.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from propoor.core.errors import ValidationFailed
from propoor.households.tests.factories import (
    TOWNSHIP_A,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_user,
)
from propoor.market import services
from propoor.market.models import Category, Certification, Product, Seller
from propoor.market.search import products_matching, search_products
from propoor.market.tests.factories import make_seller

pytestmark = pytest.mark.django_db
POSTGRES = connection.vendor == "postgresql"


def _product(
    seller: Seller, title_zh: str, title_en: str, category: str = "fresh-produce"
) -> Product:
    if not Category.objects.exists():
        services.categories_install()
    kind = Category.objects.get(code=category).kind
    return services.product_create(
        seller.operators.first(),
        seller,
        category=Category.objects.get(code=category),
        title_zh=title_zh,
        title_en=title_en,
        unit="person_day" if kind == "experience" else "kg",
        price="20.00",
        capacity_per_day=10 if kind == "experience" else 0,
    )


def _certify(product: Product, *, valid_days: int) -> Certification:
    # The certification workflow is another module's; here only its outcome counts.
    today = timezone.localdate()
    return Certification.objects.create(
        product=product,
        status="certified",
        evidence="带动3户脱贫户",
        applied_by=make_user("county_admin"),
        certified_on=today - timedelta(days=30),
        valid_until=today + timedelta(days=valid_days),
    )


@pytest.fixture
def catalogue(area_tree):  # type: ignore[no-untyped-def]
    a1 = make_seller(name="高山果蔬合作社")
    a2 = make_seller(village=VILLAGE_A2, name="二村农户小店", kind="cooperative")
    b1 = make_seller(village=VILLAGE_B1, name="三村服务站", kind="station")
    closed = make_seller(name="停业合作社")
    made = {
        "apples": _product(a1, "高山苹果", "Mountain apples"),
        "dried": _product(a2, "苹果干", "Dried apple slices", "processed-food"),
        "walnuts": _product(a1, "核桃", "Walnuts"),
        "gift": _product(
            b1, "昭通苹果礼盒", "Zhaotong apple gift box", "processed-food"
        ),
        "picking": _product(a1, "苹果园采摘", "Apple orchard picking", "picking"),
        "honey": _product(b1, "纯天然100%蜂蜜", "Wild honey_100", "processed-food"),
        "jam": _product(a1, "苹果酱", "Apple jam", "processed-food"),
        "vinegar": _product(closed, "苹果醋", "Apple vinegar", "processed-food"),
    }
    Product.objects.filter(pk=made["jam"].pk).update(active=False)
    Seller.objects.filter(pk=closed.pk).update(active=False)
    return made


def titles(products: list[Product]) -> list[str]:
    return [p.title_zh for p in products]


def test_a_chinese_word_finds_every_product_that_has_it_and_nothing_else(
    catalogue,
) -> None:
    found = titles(search_products("苹果"))
    # PostgreSQL: similarity 0.4, 0.29, 0.14, 0; SQLite: the shorter title first.
    assert found == (
        ["苹果干", "苹果园采摘", "高山苹果", "昭通苹果礼盒"]
        if POSTGRES
        else ["苹果干", "高山苹果", "苹果园采摘", "昭通苹果礼盒"]
    )
    assert "核桃" not in found
    assert "苹果酱" not in found  # off sale
    assert "苹果醋" not in found  # its seller closed


def test_single_products_are_found_by_their_own_words(catalogue) -> None:
    assert titles(search_products("核桃")) == ["核桃"]
    assert titles(search_products("高山苹果")) == ["高山苹果"]
    assert titles(search_products("walnuts")) == ["核桃"]
    assert titles(search_products("WALNUT")) == ["核桃"]
    assert titles(search_products("礼盒")) == ["昭通苹果礼盒"]
    assert titles(search_products("梨")) == []


def test_every_word_of_a_query_must_match(catalogue) -> None:
    assert titles(search_products("苹果 礼盒")) == ["昭通苹果礼盒"]
    assert titles(search_products("apple 采摘")) == ["苹果园采摘"]
    assert titles(search_products("苹果 核桃")) == []


def test_seller_village_and_category_names_are_searched_too(catalogue) -> None:
    assert titles(search_products("二村农户小店")) == ["苹果干"]
    # no title holds the word: by id on both backends
    assert titles(search_products("一村")) == ["高山苹果", "核桃", "苹果园采摘"]
    assert titles(search_products("采摘体验")) == ["苹果园采摘"]


def test_percent_and_underscore_are_plain_characters(catalogue) -> None:
    assert titles(search_products("%")) == ["纯天然100%蜂蜜"]
    assert titles(search_products("_")) == ["纯天然100%蜂蜜"]
    assert titles(search_products("100%蜂")) == ["纯天然100%蜂蜜"]


def test_filters_by_category_village_and_township(catalogue) -> None:
    assert titles(search_products("苹果", category="processed-food")) == [
        "苹果干",
        "昭通苹果礼盒",
    ]
    assert titles(search_products("苹果", village=VILLAGE_A1)) == (
        ["苹果园采摘", "高山苹果"] if POSTGRES else ["高山苹果", "苹果园采摘"]
    )
    assert titles(search_products(village=TOWNSHIP_A)) == [
        "高山苹果",
        "苹果干",
        "核桃",
        "苹果园采摘",
    ]
    assert titles(search_products(village="999999999999")) == []
    assert titles(search_products(category="fishing")) == []


def test_only_current_certifications_count(catalogue) -> None:
    _certify(catalogue["gift"], valid_days=365)
    _certify(catalogue["walnuts"], valid_days=-1)  # ran out yesterday
    Certification.objects.create(
        product=catalogue["apples"],
        status="notice",
        evidence="公示中",
        applied_by=make_user("county_admin"),
    )
    assert titles(search_products(certified=True)) == ["昭通苹果礼盒"]
    assert titles(search_products("苹果", certified=True)) == ["昭通苹果礼盒"]
    assert titles(search_products("苹果", certified=False)) == (
        ["苹果干", "苹果园采摘", "高山苹果"]
        if POSTGRES
        else ["苹果干", "高山苹果", "苹果园采摘"]
    )


def test_no_query_lists_everything_on_sale_by_id_and_pages(catalogue) -> None:
    everything = [
        "高山苹果",
        "苹果干",
        "核桃",
        "昭通苹果礼盒",
        "苹果园采摘",
        "纯天然100%蜂蜜",
    ]
    assert titles(search_products()) == everything
    assert titles(search_products("  ")) == everything
    assert titles(search_products(limit=2, offset=2)) == ["核桃", "昭通苹果礼盒"]
    assert titles(search_products(limit=2, offset=6)) == []
    assert products_matching("苹果").count() == 4


@pytest.mark.parametrize(
    ("query", "limit", "offset", "message"),
    [
        ("苹" * 101, 20, 0, "A search is at most 100 characters."),
        ("a b c d e f", 20, 0, "A search has at most 5 words."),
        ("苹果", 0, 0, "limit is 1–100 and offset at least 0."),
        ("苹果", 101, 0, "limit is 1–100 and offset at least 0."),
        ("苹果", 20, -1, "limit is 1–100 and offset at least 0."),
    ],
)
def test_bad_searches_are_refused(catalogue, query, limit, offset, message) -> None:
    with pytest.raises(ValidationFailed) as caught:
        search_products(query, limit=limit, offset=offset)
    assert caught.value.message == message


@pytest.mark.skipif(not POSTGRES, reason="pg_trgm is PostgreSQL's")
def test_postgres_trigrams_work_on_chinese_characters(catalogue) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT round(similarity('苹果干', '苹果')::numeric, 4),"
            " round(similarity('高山苹果', '苹果')::numeric, 4),"
            " similarity('核桃', '苹果'), show_trgm('高山苹果')"
        )
        dried, mountain, walnut, trigrams = cursor.fetchone()
    assert (str(dried), str(mountain), walnut) == ("0.4000", "0.1429", 0.0)
    assert (
        len(trigrams) == 5
    )  # "  高", " 高山", 高山苹, 山苹果, "果 " hashed: CJK are word characters


@pytest.mark.skipif(not POSTGRES, reason="pg_trgm is PostgreSQL's")
def test_postgres_search_can_use_the_trigram_index(catalogue) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM market_product WHERE search_text ILIKE %s",
            ["%高山苹果%"],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on market_product_search_trgm" in plan
    assert "~~*" in plan  # ILIKE
