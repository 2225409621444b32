"""Checkout throughput over HTTP: a flash sale against the framework floor, and search.

    python bench/checkout.py                      # 32 clients, 20 s a phase
    python bench/checkout.py --clients 8 --duration 10 --products 2000

Builds a scratch PostgreSQL database ``propoor_bench_checkout`` on 127.0.0.1 (dropped
and re-created; ``BENCH_POSTGRES`` overrides the server): a county of 4 townships x 5
villages, 40 sellers, ``--products`` products with realistic Yunnan names (so the
search has something to search) and a lot each, a flash-sale product, and one buyer
per client with a bearer token. Then:

- starts the real server as ``bench/surveys.py`` does: ``--workers`` waitress
  processes (``--threads`` each) on one listening socket, one database connection per
  worker thread; their URLconf is ``bench/checkout_urls.py`` (the site plus the floor).
  One thread per process by default: on this 2-core machine 2 processes x 1 thread
  ran the flash sale faster and with a lower p99 than x 2, x 3 or x 4 threads (Python
  threads of one process take turns holding the GIL) or than 4 processes x 1, and the
  floor about as fast;
- **floor**: ``--clients`` client threads POST ``/bench/floor`` for ``--duration``
  seconds: the same stack (bearer token, django-ninja, a JSON body) doing one INSERT
  in a transaction — what any endpoint costs on this machine;
- **flash sale**: the same clients POST ``/api/v1/market/checkout`` (their own bearer
  token, a fresh ``Idempotency-Key`` each time) buying 1 unit of one hot product for
  ``--duration`` seconds: every checkout locks the same lot rows;
- **spread**: the same, each checkout buying 1 unit of a random product of the
  catalogue (no hot row);
- the floor, the flash sale and the spread run in turn, ``--rounds`` times over
  (``--duration`` / ``--rounds`` seconds a turn; each phase's figures are its turns
  put together): a change in the machine's speed during the run falls on all three
  alike, so the ratios to the floor compare like with like;
- **sell-out**: a product with ``--sellout-stock`` units; the clients send
  ``--sellout-stock`` + 50 % checkouts: exactly the stock may sell;
- **search**: 200 ``GET /api/v1/market/products?q=<Chinese term>``, one at a time;
- **audit probe** (unless ``--no-audit-probe``): the flash sale and the spread again
  with servers whose checkout records no audit entry (``audit_defer``, or its SQL
  form in the checkout's statement on PostgreSQL) — how much recording and chaining
  the entry costs (the real code is not changed: only those server processes).

Counts afterwards: ``oversold`` = units allocated beyond a lot's quantity, or lots
below zero, or a lot whose quantity - available differs from its allocations;
``lost_orders`` = checkouts the client was told were created (201) that do not exist,
plus checkouts that exist that no client was told about.

Prints JSON and writes ``bench/results/checkout-postgresql.json``. Targets:
``throughput_over_floor`` >= 0.5, ``p99_ms`` <= 150 at 32 clients, ``oversold`` = 0,
``lost_orders`` = 0, ``search_p95_ms`` <= 50.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import platform
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from _procs import CpuMeter, stop_servers  # bench/

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "propoor_bench_checkout"
COUNTY = "530102000000"
TOWNSHIPS = 4
VILLAGES_PER_TOWNSHIP = 5
SELLERS = 40
CHECKOUT_PATH = "/api/v1/market/checkout"
FLOOR_PATH = "/bench/floor"
SEARCH_PATH = "/api/v1/market/products"
PASSWORD = "bench-password-not-secret"  # noqa: S105  (a scratch database)

# (中文, English) — produce and experiences of the Yunnan mountains.
PRODUCE = (
    ("苹果", "apples"),
    ("核桃", "walnuts"),
    ("花椒", "Sichuan pepper"),
    ("茶叶", "tea"),
    ("普洱茶", "Pu'er tea"),
    ("野生菌", "wild mushrooms"),
    ("松茸", "matsutake"),
    ("鸡枞", "termite mushrooms"),
    ("蜂蜜", "honey"),
    ("土豆", "potatoes"),
    ("荞麦", "buckwheat"),
    ("竹笋", "bamboo shoots"),
    ("火腿", "ham"),
    ("魔芋", "konjac"),
    ("板栗", "chestnuts"),
    ("三七", "notoginseng"),
    ("石榴", "pomegranates"),
    ("柑橘", "citrus"),
    ("蓝莓", "blueberries"),
    ("玫瑰花饼", "rose cakes"),
    ("咖啡豆", "coffee beans"),
    ("芒果", "mangoes"),
    ("葡萄", "grapes"),
    ("大米", "rice"),
    ("红糖", "brown sugar"),
    ("腊肉", "cured pork"),
    ("米线", "rice noodles"),
    ("酸菜", "pickled greens"),
    ("干辣椒", "dried chillies"),
    ("小粒咖啡", "arabica coffee"),
    ("滇红茶", "Dianhong black tea"),
    ("红薯", "sweet potatoes"),
    ("香菇", "shiitake"),
    ("木耳", "wood ear"),
    ("藜麦", "quinoa"),
    ("百香果", "passion fruit"),
    ("橄榄油", "olive oil"),
    ("菜籽油", "rapeseed oil"),
    ("豆腐乳", "fermented tofu"),
    ("刺绣挎包", "embroidered bag"),
)
ADJECTIVES = (
    ("高山", "mountain"),
    ("有机", "organic"),
    ("农家", "farmhouse"),
    ("野生", "wild"),
    ("古树", "old-tree"),
    ("生态", "eco"),
    ("手工", "handmade"),
    ("新鲜", "fresh"),
    ("精选", "selected"),
    ("云南", "Yunnan"),
    ("特级", "premium"),
    ("传统", "traditional"),
)
PACKS = (
    ("", ""),
    ("礼盒", "gift box"),
    ("5斤装", "2.5 kg"),
    ("家庭装", "family pack"),
    ("散装", "loose"),
    ("500g", "500 g"),
    ("尝鲜装", "trial pack"),
)
KINDS = ("合作社", "农户小店", "服务站")
SEARCH_TERMS = (
    "苹果",
    "核桃",
    "花椒",
    "普洱茶",
    "野生菌",
    "松茸",
    "蜂蜜",
    "火腿",
    "高山苹果",
    "古树普洱",
    "玫瑰花饼",
    "小粒咖啡",
    "礼盒",
    "有机大米",
    "鸡枞",
    "滇红茶",
    "三七",
    "百香果",
    "手工红糖",
    "蓝莓",
)


def _environment() -> None:
    os.environ.setdefault("PROPOOR_DEV_SECRETS", "1")
    os.environ.setdefault("PROPOOR_SECURE_COOKIES", "0")
    os.environ["DJANGO_SETTINGS_MODULE"] = "propoor.settings"
    os.environ.setdefault("PROPOOR_LOG", "WARNING")
    sys.path.insert(0, str(ROOT / "src"))


def _configure() -> None:
    import psycopg

    base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ["DATABASE_URL"] = f"{base}/{DB_NAME}"


# --- the server ---------------------------------------------------------------


def serve(fd: int, threads: int) -> None:
    """A waitress worker on the inherited listening socket ``fd``."""
    _environment()
    sys.path.insert(0, str(ROOT / "bench"))
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from waitress import serve as waitress_serve

    application = get_wsgi_application()
    settings.ROOT_URLCONF = "checkout_urls"  # the site plus the floor endpoint
    settings.DATABASES["default"]["CONN_MAX_AGE"] = None  # one per thread, kept
    # the expected 409s of a sold-out product are no news
    logging.getLogger("django.request").setLevel(logging.ERROR)
    if os.environ.get("BENCH_NO_AUDIT") == "1":
        # the audit probe: only these processes, only the checkout's own entry
        import propoor.market.services.checkout as checkout_module

        checkout_module.audit_defer = lambda **kwargs: None  # type: ignore[assignment]
        # PostgreSQL: the checkout's statement selects nothing in place of the entry
        checkout_module.audit_defer_sql = lambda **kwargs: ("SELECT 1", [])  # type: ignore[assignment]
        checkout_module.audit_seal_soon = lambda: None  # type: ignore[assignment]

    listener = socket.socket(fileno=fd)
    waitress_serve(
        application,
        sockets=[listener],
        threads=threads,
        connection_limit=1000,
        channel_timeout=120,
        ident="propoor",
        _quiet=True,
    )


def _start_servers(
    workers: int, threads: int, *, no_audit: bool = False
) -> tuple[list[subprocess.Popen], int]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    listener.set_inheritable(True)
    port = listener.getsockname()[1]
    env = {
        **os.environ,
        "PROPOOR_LOG": "ERROR",
        "BENCH_NO_AUDIT": "1" if no_audit else "0",
    }
    processes = [
        subprocess.Popen(  # noqa: S603  (this very script, as a worker)
            [
                sys.executable,
                __file__,
                "--serve-fd",
                str(listener.fileno()),
                "--threads",
                str(threads),
            ],
            pass_fds=[listener.fileno()],
            env=env,
        )
        for _ in range(workers)
    ]
    listener.close()
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/market/categories")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the WSGI server did not come up")
        time.sleep(0.2)
    return processes, port


# --- the data -----------------------------------------------------------------


@dataclass(frozen=True)
class World:
    tokens: list[str]  # one per client, each a different buyer
    flash_id: int
    sellout_id: int
    sellout_stock: int
    catalogue_ids: list[int]


#: Completed orders the market has before the bench starts (numbered ``H…``).
HISTORY = 20_000


def _history(cursor: Any, n: int) -> None:
    """``n`` completed one-line checkouts of the last half year, spread over the
    buyers and the catalogue, written in bulk.

    A market that has been running has order tables that are not empty. It matters
    for more than realism: a server process plans the foreign-key checks of its
    inserts once per connection, and a plan made while a table was empty scans that
    table at every later check (on this machine autovacuum is off, so no ANALYZE
    comes to make the plan again as the tables grow).
    """
    cursor.execute(
        "CREATE TEMP TABLE bench_history AS"
        " WITH b AS (SELECT array_agg(id ORDER BY id) AS ids FROM accounts_user"
        " WHERE role = 'buyer'),"
        " p AS (SELECT array_agg(id ORDER BY id) AS ids FROM market_product)"
        " SELECT g, 'H' || lpad(g::text, 12, '0') AS number,"
        " b.ids[1 + g %% array_length(b.ids, 1)] AS buyer_id,"
        " p.ids[1 + g %% array_length(p.ids, 1)] AS product_id"
        " FROM generate_series(1, %s) AS g, b, p",
        [n],
    )
    cursor.execute(
        "INSERT INTO market_checkout (number, buyer_id, idempotency_key, total,"
        " created_at, expires_at, contact_name, contact_phone, address)"
        " SELECT h.number, h.buyer_id, md5(h.number), p.price,"
        " now() - make_interval(days => g % 180), now() - make_interval(days =>"
        " g % 180) + interval '15 minutes', '历史买家', '13800000000', '云南省昆明市'"
        " FROM bench_history h JOIN market_product p ON p.id = h.product_id"
    )
    cursor.execute(
        "INSERT INTO market_order (number, checkout_id, buyer_id, seller_id, status,"
        " total, created_at, expires_at, paid_at, completed_at, stock_released)"
        " SELECT c.number || '-1', c.id, c.buyer_id, p.seller_id, 'completed', c.total,"
        " c.created_at, c.expires_at, c.created_at, c.created_at + interval '8 days',"
        " false FROM bench_history h JOIN market_checkout c ON c.number = h.number"
        " JOIN market_product p ON p.id = h.product_id"
    )
    cursor.execute(
        "INSERT INTO market_orderline (order_id, product_id, quantity, unit_price,"
        " amount) SELECT o.id, h.product_id, 1, o.total, o.total"
        " FROM bench_history h JOIN market_order o ON o.number = h.number || '-1'"
    )
    cursor.execute(
        "INSERT INTO market_ordertransition (order_id, from_status, to_status, event,"
        " by_id, at, note) SELECT o.id, '', 'pending_payment', 'checkout', o.buyer_id,"
        " o.created_at, '' FROM bench_history h"
        " JOIN market_order o ON o.number = h.number || '-1'"
    )
    cursor.execute("DROP TABLE bench_history")


def _build(products: int, clients: int, flash_stock: int, sellout_stock: int) -> World:
    from django.db import connection
    from django.utils import timezone

    from propoor.accounts.models import Role
    from propoor.accounts.services import api_token_issue, user_create
    from propoor.areas.services import division_create
    from propoor.market import services
    from propoor.market.models import Product, StockLot

    rng = random.Random(20260601)
    province = division_create(code="530000000000", name="云南省", level="province")
    prefecture = division_create(
        code="530100000000", name="昆明市", level="prefecture", parent=province
    )
    county = division_create(
        code=COUNTY, name="示范县", level="county", parent=prefecture
    )
    places = (
        "龙潭",
        "石门",
        "白岩",
        "松坡",
        "梨园",
        "青山",
        "水井",
        "大箐",
        "竹林",
        "茶坪",
    )
    villages = []
    for t in range(1, TOWNSHIPS + 1):
        township = division_create(
            code=f"530102{t:03d}000",
            name=f"{places[t]}镇",
            level="township",
            parent=county,
        )
        for v in range(1, VILLAGES_PER_TOWNSHIP + 1):
            villages.append(
                division_create(
                    code=f"530102{t:03d}{v:03d}",
                    name=f"{places[(t * 3 + v) % len(places)]}{v}村",
                    level="village",
                    parent=township,
                )
            )
    admin = user_create(
        username="bench-admin",
        password=PASSWORD,
        role=Role.COUNTY_ADMIN,
        scope_codes=[COUNTY],
    )
    operator = user_create(
        username="bench-operator",
        password=PASSWORD,
        role=Role.COOPERATIVE,
        scope_codes=[COUNTY],
    )
    categories = {c.code: c for c in services.categories_install()}
    sellers = [
        services.seller_create(
            admin,
            name=f"{villages[i % len(villages)].name}{rng.choice(KINDS)}{i}",
            kind="cooperative",
            village=villages[i % len(villages)],
            operators=[operator],
        )
        for i in range(SELLERS)
    ]
    goods = [
        categories["fresh-produce"],
        categories["processed-food"],
        categories["handicrafts"],
    ]
    rows = []
    for i in range(products):
        seller = sellers[i % len(sellers)]
        adjective, produce, pack = (
            rng.choice(ADJECTIVES),
            rng.choice(PRODUCE),
            rng.choice(PACKS),
        )
        title_zh = f"{adjective[0]}{produce[0]}{pack[0]}"
        title_en = " ".join(
            x for x in (adjective[1], produce[1], pack[1]) if x
        ).capitalize()
        category = goods[0] if i % 3 else goods[1 + (i // 3) % 2]
        village = seller.village
        rows.append(
            Product(
                seller=seller,
                category=category,
                kind=category.kind,
                title_zh=title_zh,
                title_en=title_en,
                unit="piece",
                price=Decimal(rng.randint(990, 19900)) / 100,
                origin=village,
                search_text=" ".join(
                    [title_zh, title_en, seller.name, village.name, category.name_zh]
                ),
            )
        )
    made = Product.objects.bulk_create(rows, batch_size=2000)
    today = timezone.localdate()
    StockLot.objects.bulk_create(
        [
            StockLot(
                product=p,
                code="L0001",
                harvested_on=today - timedelta(days=2),
                shelf_life_days=365,
                origin=p.origin,
                quantity=Decimal(1_000_000),
                available=Decimal(1_000_000),
            )
            for p in made
        ],
        batch_size=2000,
    )
    flash = services.product_create(
        operator,
        sellers[0],
        category=categories["fresh-produce"],
        title_zh="秒杀高山苹果",
        title_en="Flash-sale mountain apples",
        unit="piece",
        price="9.90",
    )
    half = flash_stock // 2
    services.lot_create(
        operator,
        flash,
        code="F1",
        harvested_on=today - timedelta(days=3),
        quantity=half,
        shelf_life_days=60,
    )
    services.lot_create(
        operator,
        flash,
        code="F2",
        harvested_on=today - timedelta(days=1),
        quantity=flash_stock - half,
        shelf_life_days=60,
    )
    sellout = services.product_create(
        operator,
        sellers[1],
        category=categories["fresh-produce"],
        title_zh="限量松茸",
        title_en="Limited matsutake",
        unit="piece",
        price="99.00",
    )
    services.lot_create(
        operator,
        sellout,
        code="S1",
        harvested_on=today - timedelta(days=1),
        quantity=sellout_stock // 2,
        shelf_life_days=10,
    )
    services.lot_create(
        operator,
        sellout,
        code="S2",
        harvested_on=today,
        quantity=sellout_stock - sellout_stock // 2,
        shelf_life_days=10,
    )
    tokens = []
    for c in range(clients):
        buyer = user_create(username=f"buyer{c}", password=PASSWORD, role=Role.BUYER)
        token, _ = api_token_issue(user=buyer, name="bench")
        tokens.append(token)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_floor (id bigserial PRIMARY KEY, user_id integer,"
            " body jsonb, at timestamptz NOT NULL DEFAULT now())"
        )
        _history(cursor, HISTORY)
        # as autovacuum leaves a loaded table (hint bits set, visibility map, stats),
        # so that the first phase does not pay for the build's first reads
        cursor.execute("VACUUM ANALYZE")
    return World(tokens, flash.pk, sellout.pk, sellout_stock, [p.pk for p in made])


# --- the clients --------------------------------------------------------------


@dataclass
class PhaseResult:
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    told: set[str] = field(default_factory=set)  # checkout numbers answered 201
    conflicts: Counter = field(default_factory=Counter)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[k]


def _run_phase(
    port: int,
    tokens: list[str],
    request_for,  # type: ignore[no-untyped-def]  # (client, n, rng) -> (method, path, body)
    *,
    duration: float | None = None,
    total: int | None = None,
) -> PhaseResult:
    """Each client thread keeps one keep-alive connection and sends requests until the
    duration runs out (or ``total`` requests have gone, shared by all clients)."""
    result = PhaseResult()
    lock = threading.Lock()
    remaining = [total if total is not None else -1]
    start_gate = threading.Barrier(len(tokens) + 1)

    def take() -> bool:
        with lock:
            if remaining[0] == 0:
                return False
            if remaining[0] > 0:
                remaining[0] -= 1
            return True

    def client(index: int) -> None:
        rng = random.Random(index)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {
            "Authorization": f"Bearer {tokens[index]}",
            "Content-Type": "application/json",
        }
        mine: list[float] = []
        seen: Counter = Counter()
        told: list[str] = []
        conflicts: Counter = Counter()
        start_gate.wait()
        deadline = time.monotonic() + duration if duration else float("inf")
        n = 0
        while time.monotonic() < deadline and take():
            method, path, body = request_for(index, n, rng)
            n += 1
            extra = (
                {"Idempotency-Key": uuid.uuid4().hex} if path == CHECKOUT_PATH else {}
            )
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers={**headers, **extra})
                response = conn.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status, data = 0, b""
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            mine.append((time.perf_counter() - started) * 1000)
            seen[status] += 1
            if path == CHECKOUT_PATH and status == 201:
                told.append(json.loads(data)["number"])
            elif status == 409:
                conflicts[json.loads(data)["message"]] += 1
        conn.close()
        with lock:
            result.latencies_ms.extend(mine)
            result.statuses.update(seen)
            result.told.update(told)
            result.conflicts.update(conflicts)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    start_gate.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - started
    return result


def _in_turn(
    port: int,
    tokens: list[str],
    requests: list,  # type: ignore[type-arg]  # request_for of each phase
    *,
    duration: float,
    rounds: int,
    meter: CpuMeter,
) -> list[tuple[PhaseResult, dict[str, float]]]:
    """The phases in turn, ``rounds`` times over, each ``duration / rounds`` seconds a
    turn: a change in the machine's speed during the run (other load, a neighbour's
    CPU) then falls on every phase alike, instead of on whichever ran at the time.
    Returns each phase's results put together, and its CPU per request."""
    merged = [PhaseResult() for _ in requests]
    cpu_ms = [dict.fromkeys(("server", "postgres", "client"), 0.0) for _ in requests]
    meter.per_request_ms(1)  # from here
    for _round in range(rounds):
        for n, request_for in enumerate(requests):
            part = _run_phase(port, tokens, request_for, duration=duration / rounds)
            spent = meter.per_request_ms(1)  # milliseconds of this turn, by party
            for party in cpu_ms[n]:
                cpu_ms[n][party] += spent[party]
            merged[n].seconds += part.seconds
            merged[n].latencies_ms.extend(part.latencies_ms)
            merged[n].statuses.update(part.statuses)
            merged[n].told |= part.told
            merged[n].conflicts.update(part.conflicts)
    out = []
    for result, spent in zip(merged, cpu_ms, strict=True):
        per = {k: v / max(len(result.latencies_ms), 1) for k, v in spent.items()}
        per["total"] = sum(per.values())
        out.append((result, {k: round(v, 2) for k, v in per.items()}))
    return out


def _checkout_body(product_id: int) -> bytes:
    return json.dumps(
        {
            "lines": [{"product": product_id, "quantity": "1"}],
            "contact_name": "压测买家",
            "contact_phone": "13800000000",
            "address": "云南省昆明市",
        },
        ensure_ascii=False,
    ).encode()


def _summary(result: PhaseResult, ok_status: int) -> dict[str, object]:
    ok = result.statuses.get(ok_status, 0)
    return {
        "seconds": round(result.seconds, 2),
        "requests": len(result.latencies_ms),
        "ok": ok,
        "ok_per_s": round(ok / result.seconds, 1) if result.seconds else 0.0,
        "requests_per_s": round(len(result.latencies_ms) / result.seconds, 1)
        if result.seconds
        else 0.0,
        "p50_ms": round(_percentile(result.latencies_ms, 50), 1),
        "p90_ms": round(_percentile(result.latencies_ms, 90), 1),
        "p99_ms": round(_percentile(result.latencies_ms, 99), 1),
        "max_ms": round(max(result.latencies_ms, default=0.0), 1),
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
    }


def _search(port: int, queries: int) -> dict[str, object]:
    from urllib.parse import quote

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies: list[float] = []
    hits: list[int] = []
    for n in range(queries):
        term = SEARCH_TERMS[n % len(SEARCH_TERMS)]
        started = time.perf_counter()
        conn.request(
            "GET",
            f"{SEARCH_PATH}?q={quote(term)}&limit=20",
            headers={"Accept-Language": "zh-hans"},
        )
        response = conn.getresponse()
        body = json.loads(response.read())
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise RuntimeError(f"search {term!r}: {response.status} {body}")
        hits.append(body["count"])
    conn.close()
    return {
        "queries": queries,
        "terms": len(SEARCH_TERMS),
        "mean_matches": round(sum(hits) / len(hits), 1),
        "p50_ms": round(_percentile(latencies, 50), 1),
        "p95_ms": round(_percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1),
    }


def _search_plan() -> dict[str, str]:
    """How PostgreSQL runs a 2-character and a 4-character search (EXPLAIN ANALYZE)."""
    from django.db import connection

    from propoor.market.search import products_matching

    plans = {}
    for term in ("苹果", "高山苹果"):
        sql, params = products_matching(term)[:20].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}", params)
            lines = [row[0] for row in cursor.fetchall()]
        plans[term] = " | ".join(
            line.strip() for line in lines if "Scan" in line or "Execution" in line
        )
    return plans


# --- the counts ---------------------------------------------------------------


def _consistency(told: set[str], products: list[int]) -> dict[str, int]:
    from django.db.models import Sum

    from propoor.market.models import Allocation, Checkout, StockLot

    made = set(
        Checkout.objects.exclude(number__startswith="H").values_list(
            "number", flat=True
        )
    )  # all but the history the build wrote
    oversold = 0
    for lot in StockLot.objects.filter(product_id__in=products):
        allocated = (
            Allocation.objects.filter(lot=lot).aggregate(n=Sum("quantity"))["n"] or 0
        )
        if lot.available < 0:
            oversold += int(-lot.available)
        if allocated > lot.quantity:
            oversold += int(allocated - lot.quantity)
        if lot.quantity - lot.available != allocated:
            oversold += 1  # the books of the lot disagree with its allocations
    return {
        "checkouts": len(made),
        "told": len(told),
        "lost_orders": len(told - made) + len(made - told),
        "oversold": oversold,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds a phase")
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="the floor, flash-sale and spread phases run in turn, this many times",
    )
    parser.add_argument("--flash-stock", type=int, default=1_000_000)
    parser.add_argument("--sellout-stock", type=int, default=300)
    parser.add_argument("--search-queries", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-audit-probe", action="store_true")
    parser.add_argument("--serve-fd", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fd is not None:
        serve(args.serve_fd, args.threads)
        return 0

    _environment()
    _configure()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    build_start = time.perf_counter()
    world = _build(args.products, args.clients, args.flash_stock, args.sellout_stock)
    build_s = time.perf_counter() - build_start
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    plans = _search_plan()
    connection.close()

    def floor_request(client, n, rng):  # type: ignore[no-untyped-def]
        return "POST", FLOOR_PATH, json.dumps({"n": n, "note": "压测"}).encode()

    flash_body = _checkout_body(world.flash_id)
    sellout_body = _checkout_body(world.sellout_id)
    catalogue = world.catalogue_ids

    def flash_request(client, n, rng):  # type: ignore[no-untyped-def]
        return "POST", CHECKOUT_PATH, flash_body

    def spread_request(client, n, rng):  # type: ignore[no-untyped-def]
        return "POST", CHECKOUT_PATH, _checkout_body(rng.choice(catalogue))

    def sellout_request(client, n, rng):  # type: ignore[no-untyped-def]
        return "POST", CHECKOUT_PATH, sellout_body

    told: set[str] = set()
    probe: dict[str, object] = {}
    processes, port = _start_servers(args.workers, args.threads)
    try:
        load_at_start = os.getloadavg()
        _run_phase(
            port, world.tokens, floor_request, total=args.clients * 10
        )  # warm up
        warm = _run_phase(port, world.tokens, spread_request, total=args.clients * 5)
        meter = CpuMeter([p.pid for p in processes], DB_NAME)
        (floor, floor_cpu), (flash, flash_cpu), (spread, spread_cpu) = _in_turn(
            port,
            world.tokens,
            [floor_request, flash_request, spread_request],
            duration=args.duration,
            rounds=args.rounds,
            meter=meter,
        )
        sellout = _run_phase(
            port, world.tokens, sellout_request, total=world.sellout_stock * 3 // 2
        )
        search = _search(port, args.search_queries)
    finally:
        stop_servers(processes)
    # every 201 of every phase, the warm-up's too
    told |= warm.told | flash.told | spread.told | sellout.told
    if not args.no_audit_probe:
        processes, port = _start_servers(args.workers, args.threads, no_audit=True)
        try:
            warm = _run_phase(
                port, world.tokens, spread_request, total=args.clients * 5
            )
            meter = CpuMeter([p.pid for p in processes], DB_NAME)
            (flash_na, flash_na_cpu), (spread_na, spread_na_cpu) = _in_turn(
                port,
                world.tokens,
                [flash_request, spread_request],
                duration=args.duration,
                rounds=args.rounds,
                meter=meter,
            )
        finally:
            stop_servers(processes)
        told |= warm.told | flash_na.told | spread_na.told
        probe = {
            "flash_orders_per_s_without_audit": _summary(flash_na, 201)["ok_per_s"],
            "flash_p99_ms_without_audit": _summary(flash_na, 201)["p99_ms"],
            "spread_orders_per_s_without_audit": _summary(spread_na, 201)["ok_per_s"],
            "spread_p99_ms_without_audit": _summary(spread_na, 201)["p99_ms"],
            "flash_cpu_ms_per_request_without_audit": flash_na_cpu,
            "spread_cpu_ms_per_request_without_audit": spread_na_cpu,
            "cpu_bound_orders_per_s_without_audit": _cpu_bound(flash_na_cpu),
        }

    checks = _consistency(told, [world.flash_id, world.sellout_id, *catalogue])
    sold_out = _consistency_sellout(world)
    checks.update(_audit_chain())

    flash_s = _summary(flash, 201)
    floor_s = _summary(floor, 201)
    report = {
        "bench": "checkout",
        "database": "postgresql",
        "postgresql": pg_version,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "parameters": {
            "products": args.products,
            "clients": args.clients,
            "duration_s": args.duration,
            "server": "waitress",
            "server_workers": args.workers,
            "server_threads": args.threads,
            "auth": "bearer",
            "sellout_stock": world.sellout_stock,
            "rounds": args.rounds,
        },
        "build_s": round(build_s, 1),
        "clients": args.clients,
        "duration_s": args.duration,
        "orders_per_s": flash_s["ok_per_s"],
        "floor_per_s": floor_s["ok_per_s"],
        "throughput_over_floor": round(flash_s["ok_per_s"] / floor_s["ok_per_s"], 2)  # type: ignore[operator]
        if floor_s["ok_per_s"]
        else 0.0,
        "p50_ms": flash_s["p50_ms"],
        "p99_ms": flash_s["p99_ms"],
        "floor_p50_ms": floor_s["p50_ms"],
        "floor_p99_ms": floor_s["p99_ms"],
        "spread_orders_per_s": _summary(spread, 201)["ok_per_s"],
        "spread_over_floor": round(
            _summary(spread, 201)["ok_per_s"] / floor_s["ok_per_s"],
            2,  # type: ignore[operator]
        )
        if floor_s["ok_per_s"]
        else 0.0,
        "spread_p99_ms": _summary(spread, 201)["p99_ms"],
        "oversold": checks["oversold"] + sold_out["oversold"],
        "lost_orders": checks["lost_orders"],
        "search_p95_ms": search["p95_ms"],
        # What the CPU time alone allows on this machine's cores, were nothing else
        # running (the wall-clock rates above move with the machine's load).
        "cpu_bound_orders_per_s": _cpu_bound(flash_cpu),
        "cpu_bound_floor_per_s": _cpu_bound(floor_cpu),
        "cpu_bound_throughput_over_floor": round(
            _cpu_bound(floor_cpu) and _cpu_bound(flash_cpu) / _cpu_bound(floor_cpu), 2
        ),
        "phases": {
            "floor": {**floor_s, "cpu_ms_per_request": floor_cpu},
            "flash_sale": {**flash_s, "cpu_ms_per_request": flash_cpu},
            "spread": {**_summary(spread, 201), "cpu_ms_per_request": spread_cpu},
            "sellout": {
                **_summary(sellout, 201),
                "conflicts": dict(sellout.conflicts),
                **sold_out,
            },
            "search": search,
        },
        "search_plans": plans,
        "audit_probe": probe,
        "checks": checks,
        "machine_load_average": [round(x, 2) for x in os.getloadavg()],
        "machine_load_average_at_start": [round(x, 2) for x in load_at_start],
        "targets": {
            "throughput_over_floor": ">= 0.5",
            "p99_ms": "<= 150 at 32 clients",
            "oversold": "0",
            "lost_orders": "0",
            "search_p95_ms": "<= 50",
        },
    }
    out = ROOT / "bench" / "results" / "checkout-postgresql.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def _cpu_bound(cpu_ms: dict[str, float]) -> float:
    total = cpu_ms["total"]
    return round((os.cpu_count() or 1) * 1000 / total, 1) if total else 0.0


def _audit_chain() -> dict[str, int | bool]:
    """Entries the checkouts left pending (chained after their commits), then the
    chain verified once everything pending is chained."""
    from propoor.core.audit import audit_seal, audit_verify
    from propoor.core.models import AuditPending

    pending = AuditPending.objects.count()
    audit_seal(wait=True)
    report = audit_verify()
    return {
        "audit_pending_after_run": pending,
        "audit_entries": report.entries,
        "audit_chain_ok": report.ok and report.pending == 0,
    }


def _consistency_sellout(world: World) -> dict[str, int]:
    from django.db.models import Sum

    from propoor.market.models import Allocation, StockLot

    sold = Allocation.objects.filter(lot__product_id=world.sellout_id).aggregate(
        n=Sum("quantity")
    )["n"] or Decimal(0)
    left = StockLot.objects.filter(product_id=world.sellout_id).aggregate(
        n=Sum("available")
    )["n"]
    return {
        "sold": int(sold),
        "left": int(left),
        "oversold": max(0, int(sold) - world.sellout_stock),
    }


if __name__ == "__main__":
    raise SystemExit(main())
