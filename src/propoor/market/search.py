"""Product search over Chinese and English text.

Chinese needs no word segmentation here: every query term must occur in the product's
``search_text`` (titles, seller, village, category) as a substring, case-insensitively.

- On PostgreSQL the test is ``search_text ILIKE '%term%'``, which a GIN trigram index
  (``pg_trgm``, migration 0002) accelerates for terms of three characters or more;
  pg_trgm treats CJK characters as word characters, so ``高山苹果`` has the trigrams
  高山苹 and 山苹果. Two-character Chinese terms (most words) yield no trigram, so
  PostgreSQL reads them off the table (10,000 products: a few milliseconds, see
  ``bench/checkout.py``). Results are ranked: the term in the title first, then by
  ``similarity(title_zh, query)`` — which favours the titles closest to the query
  (苹果干 before 高山苹果 for 苹果) — then by id.
- On SQLite the same filter is ``icontains`` and the ranking falls back to the title
  hit, then (among title hits) the shorter title, a rough stand-in for similarity,
  then id.

Only active products of active sellers are found. ``certified=True`` keeps the
products with a current poverty-alleviation certification (status certified, valid
until today or later); ``certified=False`` the others.
"""

from __future__ import annotations

from datetime import date

from django.db import connection
from django.db.models import (
    Case,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    Lookup,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.areas.models import Division
from propoor.core.errors import ValidationFailed
from propoor.market.models import Certification, CertificationStatus, Product

MAX_QUERY = 100
MAX_TERMS = 5
MAX_LIMIT = 100


class _ILike(Lookup):
    """``lhs ILIKE rhs`` used as a filter expression (the trigram index serves it;
    Django's ``icontains`` on PostgreSQL compiles to ``UPPER(x) LIKE UPPER(y)``,
    which it would not)."""

    lookup_name = "propoor_ilike"
    operator = "ILIKE"
    prepare_rhs = False

    def as_sql(self, compiler, connection):  # type: ignore[no-untyped-def]
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} {self.operator} {rhs}", [*lhs_params, *rhs_params]


class _Like(_ILike):
    """``LIKE``: for terms without letters that have a case (Chinese, digits) it
    finds the same rows as ILIKE without case-folding every row (several times
    faster when the table is read through)."""

    lookup_name = "propoor_like"
    operator = "LIKE"


class _Similarity(Func):
    function = "similarity"
    output_field = FloatField()


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def query_terms(query: str | None) -> list[str]:
    """The whitespace-separated terms of a query (empty for no query)."""
    text = (query or "").strip()
    if len(text) > MAX_QUERY:
        raise ValidationFailed(
            _("A search is at most %(max)s characters.") % {"max": MAX_QUERY},
            extra={"field": "q"},
        )
    terms = list(dict.fromkeys(text.split()))
    if len(terms) > MAX_TERMS:
        raise ValidationFailed(
            _("A search has at most %(max)s words.") % {"max": MAX_TERMS},
            extra={"field": "q"},
        )
    return terms


def certified_now(today: date | None = None) -> Q:
    """Certifications that count today: certified, started, not past their validity
    (the storefront's badge, ``selectors.certified_until``, reads them the same way)."""
    today = today or timezone.localdate()
    return (
        Q(status=CertificationStatus.CERTIFIED)
        & (Q(certified_on__isnull=True) | Q(certified_on__lte=today))
        & (Q(valid_until__isnull=True) | Q(valid_until__gte=today))
    )


def certified_ids(product_ids: list[int], *, today: date | None = None) -> set[int]:
    """Which of these products hold a current certification."""
    return set(
        Certification.objects.filter(certified_now(today), product_id__in=product_ids)
        .values_list("product_id", flat=True)
        .distinct()
    )


def products_matching(
    query: str | None = None,
    *,
    category: str | None = None,
    village: str | None = None,
    certified: bool | None = None,
    today: date | None = None,
) -> QuerySet[Product]:
    """Products on sale matching the query and filters, best match first.

    ``village`` is a division code: products whose origin lies in it (a village, or a
    township or county for everything inside it). An unknown code finds nothing.
    """
    terms = query_terms(query)
    products = Product.objects.filter(active=True, seller__active=True).select_related(
        "seller", "category", "origin"
    )
    if category:
        products = products.filter(category__code=category)
    if village:
        division = Division.objects.filter(code=village).first()
        if division is None:
            return products.none()
        products = products.filter(origin__code__startswith=division.prefix)
    if certified is not None:
        current = Exists(
            Certification.objects.filter(certified_now(today), product=OuterRef("pk"))
        )
        products = products.filter(current if certified else ~current)
    if not terms:
        return products.order_by("id")
    whole = " ".join(terms)
    postgres = connection.vendor == "postgresql"
    for term in terms:
        if postgres:
            caseless = term.lower() == term.upper()
            match = (_Like if caseless else _ILike)(
                F("search_text"), Value(_like_pattern(term))
            )
            products = products.filter(match)
        else:
            products = products.filter(search_text__icontains=term)
    title_hit = Q(title_zh__icontains=whole) | Q(title_en__icontains=whole)
    products = products.annotate(
        title_hit=Case(
            When(title_hit, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
    )
    if postgres:
        return products.annotate(
            rank=_Similarity(F("title_zh"), Value(whole))
        ).order_by("-title_hit", "-rank", "id")
    shorter = Case(When(title_hit=1, then=Length("title_zh")), default=Value(0))
    return products.order_by("-title_hit", shorter, "id")


def search_products(
    query: str | None = None,
    *,
    category: str | None = None,
    village: str | None = None,
    certified: bool | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Product]:
    """One page of :func:`products_matching`."""
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValidationFailed(
            _("limit is 1–%(max)s and offset at least 0.") % {"max": MAX_LIMIT},
            extra={"field": "limit"},
        )
    matching = products_matching(
        query, category=category, village=village, certified=certified
    )
    return list(matching[offset : offset + limit])
