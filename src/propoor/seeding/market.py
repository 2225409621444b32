"""The market in the demo county: sellers tied to poor households, a Yunnan catalogue,
and five months of trade through the real services.

What is built (deterministic for a seed):

- about 30 sellers: the service stations of the demo township's villages that have
  one (the demo station operator's village among them), cooperatives around the
  county's specialty products (``demo_cooperative`` operates the one in the demo
  village), household shops of poor households, and one e-commerce company; each
  declares the poor households of its village it benefits (own produce, purchase
  agreements, wages, dividends). The demo household is a supplier of the demo
  cooperative and works at the demo station, so its income page has figures;
- about 150 products from each village's specialties (names in Chinese and English),
  handicrafts in folk-culture villages, rural-tourism experiences where the village
  has landscape, orchards, ponds or folk culture;
- lots harvested as the stock runs out, packed, shipped with the orders (traceable);
- five months of checkouts through :func:`checkout_create`, paid through
  :func:`payment_apply` (Alipay, WeChat Pay) or :func:`cash_record` (cash at a
  station), shipped, delivered, completed when the return window passed, settled to the
  sellers and attributed to households by the daily jobs; some cancelled, some never
  paid (expired), some refunded back through their channel; reviews;
- certifications of the demo township's products through the review steps (township,
  county, public notice), some still waiting at each step and one rejected;
- two public bodies (a hospital's and a school's canteen) with a yearly quota of
  certified products, buying in bulk every week or two from what is certified at the
  time, and accepting each delivered order with an invoice and an inspection report
  (PDF) before it settles.

A simulated clock drives it: ``django.utils.timezone.now`` answers the story's time
while the build runs, so every row (and audit entry) is dated when it happened in the
story, and the services' own rules (freshness, holds, return windows, notice periods)
apply as they would have. The story ends at the start of today (so a seed tells the
same story all day); what would happen later is not played: the newest orders are
still paid, shipped, delivered or awaiting payment.

Sellers' operators and the market's other buyers are accounts that cannot log in (no
password: hashing one costs seconds); the demo logins are the ones to use.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF

from propoor.accounts.models import Role, User
from propoor.areas.models import Division, Level, VillageProfile
from propoor.core.audit import audit_append, audit_seal
from propoor.core.errors import ApplicationError, Conflict
from propoor.core.money import to_money
from propoor.households.models import Household
from propoor.market import services
from propoor.market.models import (
    Allocation,
    Category,
    Certification,
    Checkout,
    Order,
    OrderStatus,
    Payment,
    Posting,
    Product,
    ProductKind,
    PublicBuyer,
    Refund,
    Review,
    Seller,
    SellerKind,
    StockLot,
)
from propoor.market.services.buyers import (
    acceptance_record,
    public_buyer_create,
    review_create,
)
from propoor.market.services.payments import cash_record, payment_apply, refund_create
from propoor.market.services.settlement import orders_settle
from propoor.market.services.traceability import lot_event_record
from propoor.seeding.services import DEMO_USER_PREFIX
from propoor.training.pdf import FONT, FONT_FILE

try:
    from propoor.market.services import certification
except ImportError:  # pragma: no cover  (certification ships with the market)
    certification = None  # type: ignore[assignment]

DAYS = 150  # how far back the story starts
# Public bodies buying certified products for their canteens against a yearly quota
# (yuan): name, purchasing account, its holder.
PUBLIC_BUYERS = (
    ("五华区人民医院职工食堂", "market_public_hospital", "医院食堂采购员", "20000.00"),
    ("五华区第一中学食堂", "market_public_school", "学校食堂采购员", "12000.00"),
)
CHECKOUTS = 240
BUYERS = 24
POOR = ("identified", "in_plan", "returned")
OPEN_HOUR = 8

# specialty → (title_zh, title_en, category, unit, price, shelf life in days, specs,
# restock quantity)
Template = tuple[str, str, str, str, str, int, dict[str, str], int]
SPECIALTY_PRODUCTS: dict[str, tuple[Template, ...]] = {
    "核桃": (
        (
            "薄壳核桃",
            "thin-shell walnuts",
            "fresh-produce",
            "kg",
            "28.00",
            365,
            {"规格": "一级果", "产地海拔": "2000米"},
            200,
        ),
        (
            "核桃仁",
            "walnut kernels",
            "processed-food",
            "box",
            "68.00",
            270,
            {"净含量": "500克"},
            80,
        ),
    ),
    "花椒": (
        (
            "大红袍花椒",
            "Dahongpao Sichuan pepper",
            "processed-food",
            "jin",
            "45.00",
            540,
            {"等级": "特级"},
            120,
        ),
        (
            "青花椒",
            "green Sichuan pepper",
            "processed-food",
            "jin",
            "38.00",
            365,
            {},
            120,
        ),
    ),
    "茶叶": (
        (
            "古树普洱生茶饼",
            "old-tree Pu'er raw tea cake",
            "processed-food",
            "piece",
            "168.00",
            1825,
            {"净含量": "357克", "年份": "2024"},
            60,
        ),
        (
            "高山绿茶",
            "mountain green tea",
            "processed-food",
            "box",
            "88.00",
            540,
            {"净含量": "250克"},
            80,
        ),
        (
            "滇红工夫茶",
            "Dianhong black tea",
            "processed-food",
            "box",
            "98.00",
            730,
            {},
            80,
        ),
    ),
    "野生菌": (
        (
            "野生鸡枞菌",
            "wild termite mushrooms",
            "fresh-produce",
            "jin",
            "120.00",
            6,
            {"采摘": "当天"},
            40,
        ),
        (
            "油鸡枞",
            "termite mushrooms in chilli oil",
            "processed-food",
            "piece",
            "58.00",
            365,
            {"净含量": "250克"},
            100,
        ),
        ("干巴菌", "ganba fungus", "fresh-produce", "jin", "260.00", 5, {}, 20),
    ),
    "蜂蜜": (
        (
            "土蜂蜜",
            "wild mountain honey",
            "processed-food",
            "piece",
            "78.00",
            730,
            {"净含量": "500克"},
            100,
        ),
        ("蜂巢蜜", "honeycomb", "processed-food", "box", "98.00", 365, {}, 50),
    ),
    "土豆": (
        (
            "高原黄心土豆",
            "highland yellow potatoes",
            "fresh-produce",
            "kg",
            "4.50",
            60,
            {},
            500,
        ),
    ),
    "中药材": (
        ("天麻", "gastrodia tuber", "processed-food", "jin", "150.00", 730, {}, 40),
        ("滇重楼", "paris root", "processed-food", "jin", "180.00", 730, {}, 30),
    ),
    "荞麦": (
        (
            "苦荞茶",
            "tartary buckwheat tea",
            "processed-food",
            "box",
            "35.00",
            540,
            {},
            120,
        ),
        (
            "荞麦面",
            "buckwheat noodles",
            "processed-food",
            "piece",
            "18.00",
            365,
            {},
            150,
        ),
    ),
    "竹笋": (
        ("鲜竹笋", "fresh bamboo shoots", "fresh-produce", "kg", "12.00", 7, {}, 80),
        (
            "酸笋",
            "sour bamboo shoots",
            "processed-food",
            "piece",
            "22.00",
            180,
            {},
            100,
        ),
    ),
    "火腿": (
        (
            "老火腿",
            "aged Yunnan ham",
            "processed-food",
            "kg",
            "118.00",
            365,
            {"腌制": "两年"},
            60,
        ),
        ("火腿月饼", "ham mooncakes", "processed-food", "box", "68.00", 60, {}, 80),
    ),
    "魔芋": (
        ("魔芋豆腐", "konjac tofu", "processed-food", "piece", "15.00", 30, {}, 120),
    ),
    "板栗": (
        ("山地板栗", "mountain chestnuts", "fresh-produce", "kg", "16.00", 90, {}, 200),
    ),
    "苹果": (
        (
            "高山苹果",
            "mountain apples",
            "fresh-produce",
            "kg",
            "9.80",
            90,
            {"品种": "红富士", "果径": "80毫米以上"},
            400,
        ),
        (
            "苹果干",
            "dried apple slices",
            "processed-food",
            "box",
            "29.00",
            270,
            {},
            100,
        ),
    ),
    "三七": (
        (
            "三七粉",
            "notoginseng powder",
            "processed-food",
            "box",
            "128.00",
            730,
            {},
            50,
        ),
    ),
    "石榴": (
        (
            "软籽石榴",
            "soft-seed pomegranates",
            "fresh-produce",
            "kg",
            "15.80",
            45,
            {},
            300,
        ),
    ),
    "柑橘": (
        ("冰糖橙", "rock-sugar oranges", "fresh-produce", "kg", "8.80", 40, {}, 400),
        ("沃柑", "Orah mandarins", "fresh-produce", "kg", "10.50", 40, {}, 300),
    ),
    "蓝莓": (
        (
            "鲜蓝莓",
            "fresh blueberries",
            "fresh-produce",
            "box",
            "45.00",
            14,
            {"规格": "125克×4盒"},
            60,
        ),
    ),
    "玫瑰花": (
        (
            "玫瑰鲜花饼",
            "rose flower cakes",
            "processed-food",
            "box",
            "39.90",
            60,
            {"规格": "10枚"},
            120,
        ),
        ("玫瑰花茶", "rose tea", "processed-food", "box", "32.00", 540, {}, 100),
    ),
    "咖啡": (
        (
            "小粒咖啡豆",
            "arabica coffee beans",
            "processed-food",
            "piece",
            "78.00",
            365,
            {"净含量": "500克", "烘焙": "中度"},
            80,
        ),
    ),
    "芒果": (
        (
            "树上熟芒果",
            "tree-ripened mangoes",
            "fresh-produce",
            "kg",
            "14.80",
            14,
            {},
            200,
        ),
    ),
    "蔬菜": (
        (
            "高原蔬菜箱",
            "highland vegetable box",
            "fresh-produce",
            "box",
            "49.00",
            7,
            {"规格": "5公斤 8种"},
            40,
        ),
    ),
    "葡萄": (
        (
            "阳光玫瑰葡萄",
            "Shine Muscat grapes",
            "fresh-produce",
            "kg",
            "26.00",
            21,
            {},
            200,
        ),
    ),
    "鲜花": (
        (
            "鲜切玫瑰",
            "fresh-cut roses",
            "fresh-produce",
            "box",
            "59.00",
            7,
            {"规格": "20枝"},
            50,
        ),
    ),
    "大米": (
        ("梯田红米", "terrace red rice", "processed-food", "kg", "12.00", 365, {}, 500),
    ),
    "稻花鱼": (
        (
            "稻花鱼干",
            "dried rice-field fish",
            "processed-food",
            "jin",
            "68.00",
            180,
            {},
            60,
        ),
    ),
}
HANDICRAFTS: tuple[Template, ...] = (
    (
        "彝族刺绣挎包",
        "Yi embroidered bag",
        "handicrafts",
        "piece",
        "168.00",
        3650,
        {},
        20,
    ),
    ("竹编果篮", "woven bamboo basket", "handicrafts", "piece", "45.00", 3650, {}, 40),
    ("扎染围巾", "tie-dyed scarf", "handicrafts", "piece", "88.00", 3650, {}, 30),
)
# (title_zh, title_en, category, price, places per day, resource the village needs)
EXPERIENCES = (
    (
        "梯田农家乐住宿",
        "farm stay by the terraces",
        "farm-stay",
        "128.00",
        12,
        "landscape",
    ),
    ("果园采摘体验", "orchard picking", "picking", "40.00", 30, "orchards"),
    ("稻田垂钓", "rice-paddy fishing", "fishing", "60.00", 16, "fish_ponds"),
    (
        "民族歌舞长街宴",
        "folk dances and the long-table feast",
        "folk-culture",
        "98.00",
        40,
        "folk_culture",
    ),
)
BUYER_NAMES = (
    "王丽",
    "张伟",
    "刘洋",
    "陈静",
    "赵敏",
    "黄磊",
    "周婷",
    "吴昊",
    "徐倩",
    "孙涛",
    "马琳",
    "朱晨",
    "胡斌",
    "郭燕",
    "何俊",
    "高峰",
    "林雪",
    "罗娟",
    "郑凯",
    "梁爽",
    "宋佳",
    "谢鹏",
    "韩冰",
    "唐悦",
)
CITIES = (
    "昆明市五华区",
    "上海市浦东新区",
    "北京市海淀区",
    "广州市天河区",
    "深圳市南山区",
    "成都市武侯区",
    "杭州市西湖区",
    "曲靖市麒麟区",
)
REVIEWS = (
    (5, "山里的味道，家里老人很喜欢，还会回购。"),
    (5, "包装很用心，物流也快，支持扶贫产品！"),
    (4, "品质不错，个头比想象的小一点。"),
    (5, "Great quality, arrived fresh. Will buy again."),
    (4, "味道正宗，价格实惠。"),
    (3, "东西还行，就是快递慢了两天。"),
    (5, "扫码能看到产地和采收日期，很放心。"),
)
REFUND_REASONS = ("运输途中压坏", "收到时已变质", "与描述不符")


@dataclass(frozen=True)
class MarketDemo:
    sellers: int
    benefits: int
    products: int
    lots: int
    checkouts: int
    orders: int
    paid: int
    completed: int
    settled: int
    refunded: int
    expired: int
    cancelled: int
    reviews: int
    certified: int
    households_with_income: int
    income_total: Decimal
    public_orders: int  # bought by the public bodies against their quotas


def already_built(county: Division) -> bool:
    return Seller.objects.filter(village__code__startswith=county.prefix).exists()


# --------------------------------------------------------------------------- the clock


class _Clock:
    """The story's time: ``timezone.now`` while the build runs (each reading a
    microsecond later than the one before, so rows made at one moment keep their
    order). Events are played in time order, so the clock only moves forward."""

    def __init__(self, start: datetime) -> None:
        self.at = start.astimezone(UTC)
        self.tick = itertools.count()

    def set(self, moment: datetime) -> None:
        # UTC, as timezone.now() answers (the audit chain hashes the ISO string)
        self.at = moment.astimezone(UTC)
        self.tick = itertools.count()

    def __call__(self) -> datetime:
        return self.at + timedelta(microseconds=next(self.tick))


@contextmanager
def _story_time(start: datetime) -> Iterator[_Clock]:
    clock = _Clock(start)
    with mock.patch.object(timezone, "now", clock):
        yield clock


# --------------------------------------------------------------------------- accounts


_NO_PASSWORD = make_password(None)  # unusable: these accounts cannot log in


def _account(
    username: str,
    role: str,
    scope: list[Division],
    *,
    name: str = "",
    household: Household | None = None,
) -> User:
    """An account that cannot log in: a seller's operator or one of the market's
    buyers (audited as ``user.create`` like any account)."""
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user
    user = User.objects.create(
        username=username,
        role=role,
        household=household,
        first_name=name,
        password=_NO_PASSWORD,
    )
    user.scopes.set(scope)
    audit_append(
        action="user.create",
        actor=None,
        object_type="user",
        object_id=user.pk,
        data={
            "username": username,
            "role": role,
            "login": False,
            "scope_codes": sorted(d.code for d in scope),
            "household": household.number if household else None,
        },
    )
    return user


def _login(role: str) -> User | None:
    return User.objects.filter(username=f"{DEMO_USER_PREFIX}{role}").first()


# --------------------------------------------------------------------------- the build


@dataclass
class _Shop:
    seller: Seller
    operator: User
    products: list[tuple[Product, Template | None]]


@dataclass
class _World:
    rng: random.Random
    clock: _Clock
    admin: User
    end: datetime
    shops: dict[int, _Shop]
    templates: dict[int, Template]
    queue: list[tuple[datetime, int, str, Any]]
    serial: Iterator[int]
    counts: dict[str, int]

    def at(self, moment: datetime, action: str, payload: Any) -> None:
        if moment <= self.end:
            heapq.heappush(self.queue, (moment, next(self.serial), action, payload))


def _moment(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _villages(county: Division) -> list[tuple[Division, VillageProfile | None]]:
    villages = list(
        Division.objects.filter(level=Level.VILLAGE, code__startswith=county.prefix)
        .select_related("parent", "profile")
        .order_by("code")
    )
    return [(v, getattr(v, "profile", None)) for v in villages]


def _poor(village: Division, limit: int) -> list[Household]:
    found = list(
        Household.objects.filter(village=village, status__in=POOR).order_by("number")[
            :limit
        ]
    )
    if len(found) < limit:
        found += list(
            Household.objects.filter(village=village)
            .exclude(main_cause="")
            .exclude(pk__in=[h.pk for h in found])
            .order_by("number")[: limit - len(found)]
        )
    return found


def _specialties(profile: VillageProfile | None) -> list[str]:
    if profile is None or not profile.specialty_products:
        return ["核桃", "蜂蜜"]
    return [s for s in profile.specialty_products.split(",") if s in SPECIALTY_PRODUCTS]


def _place(village: Division) -> tuple[str, str]:
    zh = village.name.removesuffix("村")
    en = (village.name_en or "").removesuffix(" Village") or zh
    return zh, en


def _declare(
    world: _World, seller: Seller, plan: list[tuple[Household, str, str]]
) -> int:
    made = 0
    for household, mechanism, share in plan:
        try:
            services.benefit_declare(
                world.admin,
                seller,
                household=household,
                mechanism=mechanism,
                share=share,
                note={
                    "own_produce": "自产自销",
                    "purchase": "保底收购协议",
                    "wages": "务工工资",
                    "dividend": "入股分红",
                }[mechanism],
            )
            made += 1
        except Conflict:
            continue  # the shares would pass 1: the plan is generous on purpose
    return made


def _sellers(
    world: _World, county: Division, township: Division, work_village: Division
) -> int:
    """Stations, cooperatives, household shops and a company; their benefits."""
    rng = world.rng
    villages = _villages(county)
    station_login, coop_login = _login("station_operator"), _login("cooperative")
    household_login = _login("household")
    demo_household = household_login.household if household_login else None
    station_village = (
        station_login.scopes.filter(level=Level.VILLAGE).first()
        if station_login
        else None
    )
    in_township = [(v, p) for v, p in villages if v.parent_id == township.code]
    elsewhere = [(v, p) for v, p in villages if v.parent_id != township.code]
    benefits = 0

    def shop(seller: Seller, operator: User) -> None:
        world.shops[seller.pk] = _Shop(seller, operator, [])

    # service stations: the demo station's village, the demo township's villages that
    # have one, then the county's (6 in all)
    stations = [station_village] if station_village is not None else []
    stations += [
        v
        for v, p in in_township + elsewhere
        if p is not None and p.has_service_station and v not in stations
    ]
    stations = stations[:6]
    for village in stations:
        operator = (
            station_login
            if station_login is not None and village == station_village
            else _account(
                f"market_station_{village.code}",
                Role.STATION_OPERATOR,
                [village],
                name=f"{village.name}站长",
            )
        )
        seller = services.seller_create(
            world.admin,
            name=f"{village.name}电商服务站",
            kind=SellerKind.STATION,
            village=village,
            operators=[operator],
            phone=f"0871-6{rng.randint(0, 9999999):07d}",
            description="村级电子商务服务站：代购代销、收寄快递、帮村民网上卖货。",
        )
        shop(seller, operator)
        poor = _poor(village, 5)
        plan = [(h, "purchase", "0.0300") for h in poor[1:4]]
        if demo_household is not None and village == station_village:
            plan.insert(0, (demo_household, "wages", "0.0500"))
        elif poor:
            plan.insert(0, (poor[0], "wages", "0.0500"))
        benefits += _declare(world, seller, plan)

    # cooperatives around the specialties: the demo village's first, then the county
    picks = [work_village] + [
        v
        for v, p in rng.sample(in_township, min(3, len(in_township)))
        if v != work_village
    ]
    picks += [v for v, _p in rng.sample(elsewhere, min(6, len(elsewhere)))]
    profiles = dict(villages)
    for village in picks[:10]:
        specialty = (_specialties(profiles.get(village)) or ["核桃"])[0]
        operator = (
            coop_login
            if coop_login is not None and village == work_village
            else _account(
                f"market_coop_{village.code}",
                Role.COOPERATIVE,
                [village.parent or village],
                name=f"{village.name}合作社理事长",
            )
        )
        seller = services.seller_create(
            world.admin,
            name=f"{village.name}{specialty}种植专业合作社",
            kind=SellerKind.COOPERATIVE,
            village=village,
            operators=[operator],
            description=f"农户以土地和劳力入股，统一种植、收购、分拣和销售{specialty}。",
        )
        shop(seller, operator)
        poor = _poor(village, 8)
        plan = [(h, "purchase", f"0.0{rng.randint(4, 8)}00") for h in poor[:5]]
        plan += [(h, "dividend", "0.0250") for h in poor[5:8]]
        if demo_household is not None and village == work_village:
            plan.insert(0, (demo_household, "purchase", "0.0600"))
        benefits += _declare(world, seller, plan)

    # household shops of poor households, in villages with 4G or a station nearby
    shops_made = 0
    for village, _profile in in_township + rng.sample(
        elsewhere, min(12, len(elsewhere))
    ):
        if shops_made >= 12:
            break
        candidates = [
            h
            for h in _poor(village, 3)
            if demo_household is None or h.pk != demo_household.pk
        ]
        if not candidates:
            continue
        household = candidates[rng.randrange(len(candidates))]
        operator = _account(
            f"market_shop_{household.number}",
            Role.HOUSEHOLD,
            [village],
            name=household.head_name,
            household=household,
        )
        seller = services.seller_create(
            world.admin,
            name=f"{household.head_name}家的山货小店",
            kind=SellerKind.HOUSEHOLD_SHOP,
            village=village,
            operators=[operator],
            household=household,
            description="自家种、自家养，村服务站帮忙打包发货。",
        )
        shop(seller, operator)
        benefits += _declare(world, seller, [(household, "own_produce", "0.8500")])
        shops_made += 1

    # one company: buys from and employs poor households across the demo township
    company_village = in_township[-1][0] if in_township else work_village
    operator = _account(
        "market_company_yunling", Role.COOPERATIVE, [township], name="云岭山珍运营"
    )
    seller = services.seller_create(
        world.admin,
        name="云岭山珍电子商务有限公司",
        kind=SellerKind.COMPANY,
        village=company_village,
        operators=[operator],
        phone="0871-65550123",
        description="县内农产品电商企业：与脱贫户签订保底收购协议，优先雇用脱贫劳动力。",
    )
    shop(seller, operator)
    plan = []
    for village, _p in in_township[:6]:
        poor = _poor(village, 2)
        plan += [(h, "purchase", "0.0200") for h in poor[:1]]
        plan += [(h, "wages", "0.0150") for h in poor[1:2]]
    benefits += _declare(world, seller, plan)
    return benefits


def _catalogue(world: _World) -> int:
    """About five products per seller from its village's specialties."""
    rng = world.rng
    categories = {c.code: c for c in Category.objects.all()}
    made = 0
    for shop in world.shops.values():
        seller = shop.seller
        profile = VillageProfile.objects.filter(village=seller.village).first()
        zh, en = _place(seller.village)
        specialties = _specialties(profile)
        templates: list[Template] = [
            t for s in specialties for t in SPECIALTY_PRODUCTS.get(s, ())
        ]
        if seller.kind != SellerKind.HOUSEHOLD_SHOP:
            # stations, cooperatives and the company also buy from the villages around
            extra = rng.sample(
                sorted(SPECIALTY_PRODUCTS),
                2 if seller.kind == SellerKind.COOPERATIVE else 5,
            )
            templates += [t for s in extra for t in SPECIALTY_PRODUCTS[s][:1]]
        if profile is not None and profile.folk_culture:
            templates += list(HANDICRAFTS[: 1 + rng.randrange(2)])
        chosen = list({t[0]: t for t in reversed(templates)}.values())[::-1]
        limit = {"household_shop": 3, "cooperative": 5}.get(seller.kind, 7)
        for template in chosen[:limit]:
            title_zh, title_en, category, unit, price, _shelf, specs, _q = template
            product = services.product_create(
                shop.operator,
                seller,
                category=categories[category],
                title_zh=f"{zh}{title_zh}",
                title_en=f"{en} {title_en}".strip(),
                unit=unit,
                price=price,
                specs=dict(specs),
                description_zh=f"产自{seller.village.name}，{seller.name}供货。"
                "每一笔订单的收入按申报的带贫机制惠及本村脱贫户。",
                description_en=f"From {en}, supplied by a seller that shares its "
                "revenue with poor households of the village.",
            )
            shop.products.append((product, template))
            world.templates[product.pk] = template
            made += 1
        if profile is not None and seller.kind != SellerKind.HOUSEHOLD_SHOP:
            for title_zh, title_en, category, price, places, resource in EXPERIENCES:
                if not getattr(profile, resource) or rng.random() < 0.4:
                    continue
                product = services.product_create(
                    shop.operator,
                    seller,
                    category=categories[category],
                    title_zh=f"{zh}{title_zh}",
                    title_en=f"{en} {title_en}",
                    unit="person_day",
                    price=price,
                    capacity_per_day=places,
                    description_zh="含向导与午餐，收入用于村集体和参与接待的脱贫户。",
                    description_en="Guide and lunch included.",
                )
                shop.products.append((product, None))
                made += 1
    return made


# --------------------------------------------------------------------------- the story


def _stock(world: _World, product: Product, needed: Decimal, day: date) -> None:
    """Harvest a new lot when the fresh stock would not cover ``needed``."""
    template = world.templates[product.pk]
    lots = StockLot.objects.filter(product=product, available__gt=0)
    fresh = sum(
        (
            lot.available
            for lot in lots
            if lot.harvested_on + timedelta(days=lot.shelf_life_days) >= day
        ),
        Decimal(0),
    )
    if fresh >= needed:
        return
    shop = world.shops[product.seller_id]
    harvested = day - timedelta(days=world.rng.randint(1, min(2, template[5] - 1)))
    code = f"{harvested:%y%m%d}-{StockLot.objects.filter(product=product).count() + 1}"
    lot = services.lot_create(
        shop.operator,
        product,
        code=code,
        harvested_on=harvested,
        quantity=max(Decimal(template[7]), needed),
        shelf_life_days=template[5],
    )
    world.counts["lots"] += 1
    lot_event_record(
        shop.operator,
        lot,
        "pack",
        timezone.now(),
        place=product.seller.village,
        note="分拣包装",
    )


def _quantity(product: Product, rng: random.Random) -> Decimal:
    if product.unit == "kg":
        return Decimal(rng.choice(("1", "2", "2.5", "3", "5")))
    if product.unit == "jin":
        return Decimal(rng.choice(("1", "2", "3")))
    if product.unit == "person_day":
        return Decimal(rng.randint(1, 4))
    return Decimal(rng.choice((1, 1, 2, 3)))


def _do_checkout(
    world: _World, moment: datetime, payload: tuple[User, list[Product], bool]
) -> None:
    buyer, products, pays = payload
    rng = world.rng
    day = timezone.localdate(moment)
    lines = []
    for product in products:
        quantity = _quantity(product, rng)
        if product.kind == ProductKind.EXPERIENCE:
            lines.append(
                services.LineIn(
                    product.pk, quantity, day + timedelta(days=rng.randint(2, 12))
                )
            )
        else:
            _stock(world, product, quantity, day)
            lines.append(services.LineIn(product.pk, quantity))
    name = buyer.first_name or buyer.username
    try:
        checkout, _created = services.checkout_create(
            buyer,
            lines=lines,
            idempotency_key=f"demo-{next(world.serial):06d}",
            contact_name=name,
            contact_phone=f"13{rng.randint(0, 999_999_999):09d}",
            address=f"{rng.choice(CITIES)}{rng.randint(1, 300)}号",
        )
    except Conflict:
        return  # an experience's day was full: the buyer went elsewhere
    world.counts["checkouts"] += 1
    fate = 1.0 if pays else rng.random()
    if fate < 0.05:
        world.at(moment + timedelta(minutes=rng.randint(2, 12)), "cancel", checkout.pk)
    elif fate < 0.10:
        pass  # never paid: the daily job expires it and the stock goes back
    else:
        world.at(moment + timedelta(minutes=rng.randint(1, 8)), "pay", checkout.pk)


def _do_pay(world: _World, moment: datetime, checkout_id: int) -> None:
    rng = world.rng
    checkout = Checkout.objects.get(pk=checkout_id)
    orders = list(checkout.orders.select_related("seller").order_by("id"))
    stations = {o.seller.kind for o in orders} == {SellerKind.STATION}
    if stations and len(orders) == 1 and rng.random() < 0.7:
        # paid in cash (or by bank transfer) at the station, recorded by its operator
        cash_record(
            world.shops[orders[0].seller_id].operator,
            checkout,
            "cash" if rng.random() < 0.75 else "bank",
            now=moment,
        )
    else:
        channel = "alipay" if rng.random() < 0.58 else "wechat"
        amount = sum(
            (o.total for o in orders if o.status == OrderStatus.PENDING_PAYMENT),
            Decimal(0),
        )
        if amount == 0:
            return
        # what payment_create and the gateway's verified notification amount to
        payment = Payment.objects.create(
            checkout=checkout,
            channel=channel,
            amount=amount,
            out_trade_no=f"P{timezone.localtime(moment):%Y%m%d%H%M%S}{checkout.pk:08d}",
        )
        payment_apply(
            payment,
            gateway_trade_no=f"{moment:%Y%m%d}{rng.randint(0, 10**12):012d}",
            paid_at=moment,
            now=moment,
        )
    for order in orders:
        order.refresh_from_db()
        if order.status != OrderStatus.PAID:
            continue
        slots = [
            line.slot.date for line in order.lines.select_related("slot") if line.slot
        ]
        if slots:
            world.at(_moment(max(slots), 18), "deliver", (order.pk, False))
        else:
            world.at(moment + timedelta(hours=rng.randint(6, 40)), "ship", order.pk)


def _transition(
    world: _World,
    order: Order,
    event: str,
    actor: User | None,
    moment: datetime,
    note: str = "",
) -> bool:
    try:
        services.order_transition(order, event, actor=actor, note=note, at=moment)
    except ApplicationError:
        return False
    return True


def _do_ship(world: _World, moment: datetime, order_id: int) -> None:
    order = Order.objects.select_related("seller").get(pk=order_id)
    operator = world.shops[order.seller_id].operator
    if not _transition(
        world,
        order,
        "ship",
        operator,
        moment,
        f"快递单号 YT{world.rng.randint(10**11, 10**12 - 1)}",
    ):
        return
    if world.rng.random() < 0.4:  # a share of the shipments also scanned per lot
        for allocation in Allocation.objects.filter(line__order=order).select_related(
            "lot__product__seller"
        ):
            lot_event_record(
                operator,
                allocation.lot,
                "ship",
                timezone.now(),
                place=order.seller.village,
                quantity=allocation.quantity,
                order=order,
            )
    world.at(
        moment + timedelta(hours=world.rng.randint(30, 90)), "deliver", (order.pk, True)
    )


def _do_deliver(world: _World, moment: datetime, payload: tuple[int, bool]) -> None:
    order_id, by_buyer = payload
    order = Order.objects.select_related("buyer").get(pk=order_id)
    actor = order.buyer if by_buyer and world.rng.random() < 0.6 else None
    if not _transition(world, order, "deliver", actor, moment):
        return
    if order.public_buyer_id is not None:
        # the body checks the goods, files the invoice and the inspection report
        world.at(
            moment + timedelta(hours=world.rng.randint(20, 70)), "accept", order.pk
        )
        world.at(moment + timedelta(days=7, hours=3), "complete", order.pk)
        return
    # Refunds go back through the channel paid by. Online, that is the sandbox
    # gateway, which knows only the trades that went through its cashier; the demo's
    # online payments did not (they are applied as the verified notification would
    # be), so the refunds the story tells are of station payments (cash, bank).
    offline = Payment.objects.filter(
        checkout_id=order.checkout_id, channel__in=("cash", "bank")
    ).exists()
    if offline and by_buyer and world.rng.random() < 0.25:
        world.at(
            moment + timedelta(hours=world.rng.randint(10, 60)), "refund_ask", order.pk
        )
    else:
        world.at(moment + timedelta(days=7, hours=3), "complete", order.pk)


def _do_refund_ask(world: _World, moment: datetime, order_id: int) -> None:
    order = Order.objects.select_related("buyer").get(pk=order_id)
    reason = world.rng.choice(REFUND_REASONS)
    if _transition(world, order, "request_refund", order.buyer, moment, reason):
        world.at(
            moment + timedelta(hours=world.rng.randint(4, 30)),
            "refund",
            (order.pk, reason),
        )


def _do_refund(world: _World, moment: datetime, payload: tuple[int, str]) -> None:
    order_id, reason = payload
    order = Order.objects.get(pk=order_id)
    try:
        refund_create(
            world.shops[order.seller_id].operator,
            order,
            reason=f"同意退款：{reason}",
            now=moment,
        )
    except ApplicationError:
        return
    world.counts["refunds"] += 1


def _do_complete(world: _World, moment: datetime, order_id: int) -> None:
    order = Order.objects.get(pk=order_id)
    if _transition(world, order, "complete", None, moment, "return window passed") and (
        world.rng.random() < 0.45
    ):
        world.at(moment + timedelta(hours=world.rng.randint(1, 72)), "review", order.pk)


def _do_review(world: _World, moment: datetime, order_id: int) -> None:
    order = Order.objects.select_related("buyer").get(pk=order_id)
    line = order.lines.select_related("product").first()
    if line is None:
        return
    rating, text = world.rng.choice(REVIEWS)
    try:
        review_create(
            order.buyer, order=order, product=line.product, rating=rating, text=text
        )
    except ApplicationError:
        return


def _do_cancel(world: _World, moment: datetime, checkout_id: int) -> None:
    for order in Order.objects.filter(checkout_id=checkout_id).select_related("buyer"):
        _transition(world, order, "cancel", order.buyer, moment, "不想要了")


def _do_daily(world: _World, moment: datetime, _payload: object) -> None:
    services.orders_expire(now=moment)
    orders_settle(now=moment)
    if certification is not None:
        certification.certifications_finalise(today=timezone.localdate(moment))


def _do_certify(world: _World, moment: datetime, payload: tuple[int, str, str]) -> None:
    """One step of a product's certification; the next step is queued until the
    product has gone as far as the story wants (``until``)."""
    assert certification is not None  # noqa: S101  (queued only when it exists)
    product_id, until, step = payload
    product = Product.objects.select_related("seller").get(pk=product_id)
    officer = _login("township_officer")
    if step == "apply":
        benefits = product.seller.benefits.filter(active=True).count()
        certification.certification_apply(
            world.shops[product.seller_id].operator,
            product,
            evidence=f"{product.seller.name}与本村{benefits}户脱贫户签订带贫协议"
            "（保底收购、务工、分红），收购台账和分红记录附后；产品产自本村。",
        )
        if until != "submitted":
            world.at(
                moment + timedelta(days=2), "certify", (product_id, until, "township")
            )
        return
    application = Certification.objects.filter(product=product).latest("id")
    if step == "township":
        approve = until != "rejected"
        certification.township_review(
            officer,
            application,
            approve,
            "材料齐全，同意上报"
            if approve
            else "收购台账与申报户数不符，请补充材料后再申请。",
        )
        if until not in ("township_approved", "rejected"):
            world.at(
                moment + timedelta(days=3), "certify", (product_id, until, "county")
            )
        return
    certification.county_review(
        world.admin,
        application,
        True,
        "同意认定，进入公示",
        today=timezone.localdate(moment),
    )


def _public_buyers(world: _World, start: date) -> None:
    """The public bodies, each with a quota for every year of the story, and their
    purchases on the queue: every week or two, from what is certified at the time."""
    officer = _login("county_admin") or world.admin
    rng = world.rng
    for name, username, holder, quota in PUBLIC_BUYERS:
        user = _account(username, Role.BUYER, [], name=holder)
        bodies = {
            year: public_buyer_create(
                officer, name=name, year=year, quota=quota, users=[user]
            )
            for year in range(start.year, world.end.year + 1)
        }
        day = start + timedelta(days=rng.randint(30, 40))
        while _moment(day, 10) < world.end:
            world.at(_moment(day, 10, rng.randrange(60)), "public", bodies[day.year].pk)
            day += timedelta(days=rng.randint(7, 14))


def _do_public(world: _World, moment: datetime, body_id: int) -> None:
    """A public body buys certified goods for its canteen, in bulk."""
    body = PublicBuyer.objects.get(pk=body_id)
    user = body.users.first()
    day = timezone.localdate(moment)
    certified = list(
        Product.objects.filter(
            pk__in=[p.pk for shop in world.shops.values() for p, _t in shop.products],
            kind=ProductKind.GOODS,
            active=True,
        )
        .filter(
            Q(certifications__status="certified")
            & Q(certifications__valid_until__gte=day)
        )
        .distinct()
        .order_by("pk")
    )
    if user is None or not certified:
        return
    lines = []
    for product in world.rng.sample(certified, min(len(certified), 2)):
        quantity = _quantity(product, world.rng) * 4  # a canteen's order
        _stock(world, product, quantity, day)
        lines.append(services.LineIn(product.pk, quantity))
    checkout, _created = services.checkout_create(
        user,
        lines=lines,
        idempotency_key=f"demo-{next(world.serial):06d}",
        contact_name=user.first_name,
        contact_phone=f"0871{world.rng.randint(0, 9_999_999):07d}",
        address=body.name,
        public_buyer=body,
    )
    world.counts["checkouts"] += 1
    world.at(moment + timedelta(hours=world.rng.randint(2, 30)), "pay", checkout.pk)


def _do_accept(world: _World, moment: datetime, order_id: int) -> None:
    """The public body accepts a delivered order: invoice and inspection report."""
    order = Order.objects.select_related("public_buyer", "seller").get(pk=order_id)
    user = order.public_buyer.users.first() if order.public_buyer else None
    if user is None:
        return
    acceptance_record(
        user,
        order,
        invoice=_document("发票", order, moment),
        invoice_name=f"发票-{order.number}.pdf",
        inspection=_document("验收报告", order, moment),
        inspection_name=f"验收报告-{order.number}.pdf",
    )


def _document(title: str, order: Order, moment: datetime) -> bytes:
    """A one-page PDF standing in for the invoice or the inspection report."""
    pdf = FPDF(format="A4")
    pdf.add_font(FONT, fname=str(FONT_FILE))
    pdf.set_font(FONT, size=11)
    pdf.add_page()
    pdf.set_font_size(16)
    pdf.cell(text=title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(11)
    for line in (
        f"订单 {order.number}",
        f"卖家 {order.seller.name}",
        f"采购单位 {order.public_buyer.name if order.public_buyer else ''}",
        f"金额 ¥{order.total:,.2f}",
        f"日期 {timezone.localdate(moment):%Y年%m月%d日}",
    ):
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


HANDLERS: dict[str, Callable[[_World, datetime, Any], None]] = {
    "checkout": _do_checkout,
    "pay": _do_pay,
    "ship": _do_ship,
    "deliver": _do_deliver,
    "refund_ask": _do_refund_ask,
    "refund": _do_refund,
    "complete": _do_complete,
    "review": _do_review,
    "cancel": _do_cancel,
    "daily": _do_daily,
    "certify": _do_certify,
    "public": _do_public,
    "accept": _do_accept,
}


def _plan(
    world: _World, start: date, buyers: list[User], demo_buyer: User | None
) -> None:
    """The story's checkouts (more each month, as a market grows), daily jobs and
    certifications, on the queue."""
    rng = world.rng
    products = [p for shop in world.shops.values() for p, _t in shop.products]
    weights = [rng.paretovariate(1.6) for _product in products]  # a few best sellers
    span = (world.end - _moment(start, OPEN_HOUR)).total_seconds()
    for n in range(CHECKOUTS):
        # density rising linearly: the n-th checkout at sqrt(u) of the span
        u = (n + rng.random()) / CHECKOUTS
        moment = _moment(start, OPEN_HOUR) + timedelta(seconds=span * u**0.5 * 0.995)
        moment = moment.replace(
            hour=rng.choice((9, 10, 11, 13, 15, 19, 20, 21, 22)),
            minute=rng.randrange(60),
        )
        buyer = (
            demo_buyer
            if demo_buyer is not None and rng.random() < 0.08
            else rng.choice(buyers)
        )
        size = 1 + (rng.random() < 0.25) + (rng.random() < 0.06)
        picked = list(dict.fromkeys(rng.choices(products, weights=weights, k=size)))
        world.at(moment, "checkout", (buyer, picked, False))
    # the demo buyer's latest orders: one delivered, one on its way, one just paid
    goods = [p for p in products if p.kind == ProductKind.GOODS]
    if demo_buyer is not None and goods:
        for hours in (80, 40, 9):
            picked = [goods[rng.randrange(len(goods))]]
            world.at(
                world.end - timedelta(hours=hours),
                "checkout",
                (demo_buyer, picked, True),
            )
    day = start
    while _moment(day, 2) <= world.end:
        world.at(_moment(day, 2, 30), "daily", None)
        day += timedelta(days=1)
    # the demo township's products through certification
    officer = _login("township_officer")
    if officer is None or certification is None:
        return
    scope = officer.scopes.first()
    local = [
        p
        for p in products
        if scope is not None
        and p.origin.code.startswith(scope.prefix)
        and p.kind == ProductKind.GOODS
    ]
    steps = ["certified"] * 14 + [
        "notice",
        "township_approved",
        "township_approved",
        "submitted",
        "submitted",
        "submitted",
        "rejected",
    ]
    back = {"notice": 8, "township_approved": 3, "submitted": 2, "rejected": 4}
    for n, product in enumerate(local[: len(steps)]):
        until = steps[n]
        if until == "certified":
            when = _moment(start, 10) + timedelta(days=10 + 4 * n)
        else:
            when = world.end - timedelta(days=back[until], hours=n)
        world.at(when, "certify", (product.pk, until, "apply"))


def market_demo_build(*, county: Division, admin: User, seed: int) -> MarketDemo:
    """Build the demo county's market (see the module docstring); run it once."""
    rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
    # The story ends at the start of today: the same seed tells the same story all day.
    today = timezone.localdate()
    end = _moment(today, 0)
    start = today - timedelta(days=DAYS)
    cadre = _login("village_cadre")
    work_village = (
        cadre.scopes.filter(level=Level.VILLAGE).first() if cadre is not None else None
    ) or Division.objects.filter(
        level=Level.VILLAGE, code__startswith=county.prefix
    ).order_by("code").first()
    if work_village is None:
        raise Conflict(
            _("County %(county)s has no village for a market.")
            % {"county": county.code}
        )
    township = work_village.parent or work_village
    with _story_time(_moment(start, OPEN_HOUR)) as clock, transaction.atomic():
        world = _World(
            rng,
            clock,
            admin,
            end,
            {},
            {},
            [],
            itertools.count(1),
            {"lots": 0, "checkouts": 0, "refunds": 0},
        )
        services.categories_install()
        benefits = _sellers(world, county, township, work_village)
        products = _catalogue(world)
        buyers = [
            _account(f"market_buyer_{n:02d}", Role.BUYER, [], name=BUYER_NAMES[n])
            for n in range(BUYERS)
        ]
        _plan(world, start, buyers, _login("buyer"))
        _public_buyers(world, start)
        while world.queue:
            moment, _n, action, payload = heapq.heappop(world.queue)
            clock.set(moment)
            with transaction.atomic():
                HANDLERS[action](world, moment, payload)
        clock.set(end)
        for shop in world.shops.values():  # stock on the shelves today
            for product, template in shop.products:
                if template is not None:
                    _stock(
                        world,
                        product,
                        Decimal(template[7]) / 2,
                        timezone.localdate(end),
                    )
    audit_seal(wait=True)  # the checkouts' entries, chained before the build ends
    return _report(county, world, benefits, products)


def _report(
    county: Division, world: _World, benefits: int, products: int
) -> MarketDemo:
    inside = county.prefix
    orders = Order.objects.filter(seller__village__code__startswith=inside)
    income = Posting.objects.filter(
        transaction__order__in=orders, household__isnull=False
    )
    statuses = dict(
        orders.values("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return MarketDemo(
        sellers=len(world.shops),
        benefits=benefits,
        products=products,
        lots=StockLot.objects.filter(
            product__seller__village__code__startswith=inside
        ).count(),
        checkouts=world.counts["checkouts"],
        orders=orders.count(),
        paid=orders.filter(paid_at__isnull=False).count(),
        completed=statuses.get(OrderStatus.COMPLETED, 0),
        settled=orders.filter(settled_at__isnull=False).count(),
        refunded=Refund.objects.filter(order__in=orders, done_at__isnull=False).count(),
        expired=statuses.get(OrderStatus.EXPIRED, 0),
        cancelled=statuses.get(OrderStatus.CANCELLED, 0),
        reviews=Review.objects.filter(order__in=orders).count(),
        certified=Certification.objects.filter(
            product__seller__village__code__startswith=inside, status="certified"
        ).count(),
        households_with_income=income.values("household").distinct().count(),
        income_total=to_money(-(income.aggregate(s=Sum("amount"))["s"] or Decimal(0))),
        public_orders=orders.filter(public_buyer__isnull=False).count(),
    )
