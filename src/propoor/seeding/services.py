"""Write a generated county into the database, in bulk and in one transaction.

``county_seed`` refuses a database that already has households (seeding would mix a
synthetic county into real or earlier data) unless ``reset`` is given; then it first
deletes the household registry (every household with its members, snapshots, results
and plans, every identification run), the county's divisions and the demo logins.
Either everything is written or nothing is.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db import connection, transaction
from django.db.models import DateField, DateTimeField, Model, ProtectedError
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.models import User
from propoor.areas.models import Division, VillageProfile
from propoor.areas.services import code_problem
from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, ValidationFailed
from propoor.households import idnumbers
from propoor.households.identification_io import result_partitions_prune
from propoor.households.models import (
    Household,
    IdentificationRun,
    Member,
    Snapshot,
)
from propoor.seeding.economy import (
    ASSETS,
    CATEGORIES,
    COOKING_FUELS,
    EXPERIENCE,
    HOUSING_GRADES,
    HOUSING_STRUCTURES,
    INTERNET,
    SANITATION,
    YearSnapshots,
)
from propoor.seeding.generator import (
    DEFAULT_COUNTY_CODE,
    DEFAULT_SEED,
    County,
    IncomeLineUsed,
    SeedParameters,
    generate_county,
    latest_line_year,
)
from propoor.seeding.geography import COVERAGES, TERRAINS
from propoor.seeding.people import (
    HEALTH,
    LABOUR,
    RELATIONS,
    SCHOOLING,
    SKILLS,
    age_on,
    in_school_on,
    labour_on,
    schooling_on,
)

# Demo logins are named demo_<role>; a reset deletes them with the county.
DEMO_USER_PREFIX = "demo_"
BATCH = 2000

# (phase, rows done, rows in all)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SeedReport:
    county_code: str
    county_name: str
    townships: int
    villages: int
    households: int
    members: int
    snapshots: int
    years: tuple[int, ...]
    lines: list[IncomeLineUsed]
    share_below_line: dict[int, float]
    digest: str
    seconds: dict[str, float] = field(default_factory=dict)


def default_year() -> int:
    """The last full calendar year, or the latest year the income standard covers.

    Identification needs a line for the year; the built-in ``cn-national`` standard
    may stop before last year (its lines end in 2020 until newer ones are added).
    """
    return min(timezone.localdate().year - 1, latest_line_year())


def _scaled(values: np.ndarray, places: int) -> list[Decimal]:
    return [Decimal(v).scaleb(-places) for v in values.tolist()]


def registry_reset(county_code: str) -> dict[str, int]:
    """Delete the household registry, the county's divisions and the demo logins."""
    counts: dict[str, int] = {}
    prefix = county_code[:6]
    try:
        counts["runs"] = IdentificationRun.objects.all().delete()[0]
        result_partitions_prune()
        counts.update(_training_reset(prefix))
        counts.update(_market_reset(prefix))
        counts["households"] = Household.objects.all().delete()[0]
        counts["demo users"] = User.objects.filter(
            username__startswith=DEMO_USER_PREFIX
        ).delete()[0]
        for level in ("village", "township", "county"):
            counts[level] = Division.objects.filter(
                level=level, code__startswith=prefix
            ).delete()[0]
    except ProtectedError as exc:
        kinds = sorted({type(obj).__name__ for obj in exc.protected_objects})
        raise Conflict(
            _(
                "Cannot reset: other records still point at the registry or the "
                "county (%(kinds)s). Delete them first."
            )
            % {"kinds": ", ".join(kinds)},
            extra={"protected": kinds},
        ) from None
    return counts


def _training_reset(prefix: str) -> dict[str, int]:
    """The county's learning records go with its households (certificates protect)."""
    from propoor.training.models import Certificate, Cohort, Enrolment, Statement

    here = {"enrolment__household__village__code__startswith": prefix}
    return {
        "learning records": Statement.objects.filter(**here).delete()[0],
        "certificates": Certificate.objects.filter(**here).delete()[0],
        "enrolments": Enrolment.objects.filter(
            household__village__code__startswith=prefix
        ).delete()[0],
        "cohorts": Cohort.objects.filter(area__code__startswith=prefix).delete()[0],
    }


def _market_reset(prefix: str) -> dict[str, int]:
    """The county's market goes with it, in the order its protections require."""
    from propoor.market import models as m

    sellers = m.Seller.objects.filter(village__code__startswith=prefix)
    orders = m.Order.objects.filter(seller__in=sellers)
    checkouts = m.Checkout.objects.filter(orders__in=orders).distinct()
    transactions = m.LedgerTransaction.objects.filter(order__in=orders)
    counts = {
        "ledger postings": m.Posting.objects.filter(
            transaction__in=transactions
        ).delete()[0]
    }
    # Reversals point at what they reverse: delete them first.
    m.LedgerTransaction.objects.filter(
        order__in=orders, reverses__isnull=False
    ).delete()
    counts["ledger transactions"] = transactions.delete()[0]
    m.Refund.objects.filter(order__in=orders).delete()
    m.Acceptance.objects.filter(order__in=orders).delete()
    checkout_ids = list(checkouts.values_list("pk", flat=True))
    m.Payment.objects.filter(checkout_id__in=checkout_ids).delete()
    m.Allocation.objects.filter(line__order__in=orders).delete()
    counts["orders"] = orders.delete()[0]
    m.Checkout.objects.filter(pk__in=checkout_ids).delete()
    products = m.Product.objects.filter(seller__in=sellers)
    m.StockLot.objects.filter(product__in=products).delete()
    m.ExperienceSlot.objects.filter(product__in=products).delete()
    counts["products"] = products.delete()[0]
    counts["sellers"] = sellers.delete()[0]
    return counts


def _check_empty(county_code: str) -> None:
    existing = Household.objects.count()
    if existing:
        raise Conflict(
            _(
                "The database already has %(households)s households; seeding would "
                "mix a synthetic county into them. Use --reset to delete the "
                "household registry (households, members, snapshots, identification "
                "runs, plans) and seed anew."
            )
            % {"households": f"{existing:,}"},
            extra={"households": existing},
        )
    if Division.objects.filter(code__startswith=county_code[:6]).exists():
        raise Conflict(
            _(
                "Divisions of county %(county)s already exist. Use --reset to "
                "replace them."
            )
            % {"county": county_code},
            extra={"county_code": county_code},
        )


def _divisions(county: County) -> list[Division]:
    existing = set(
        Division.objects.filter(
            code__in=[d.code for d in county.geography.divisions]
        ).values_list("code", flat=True)
    )
    rows = [
        Division(
            code=d.code,
            name=d.name,
            name_en=d.name_en,
            level=d.level,
            parent_id=d.parent,
            prefix=d.prefix,
            western=d.western,
        )
        for d in county.geography.divisions
        if d.code not in existing
    ]
    return rows


def _profiles(county: County) -> list[VillageProfile]:
    profiles = []
    for village, population in zip(
        county.geography.villages, county.village_population.tolist(), strict=True
    ):
        profiles.append(
            VillageProfile(
                village_id=village.code,
                terrain=TERRAINS[village.terrain],
                km_to_county_seat=Decimal(village.km_to_county_seat).scaleb(-1),
                km_to_paved_road=Decimal(village.km_to_paved_road).scaleb(-1),
                broadband=COVERAGES[village.broadband],
                mobile_4g=COVERAGES[village.mobile_4g],
                has_service_station=village.has_service_station,
                has_logistics_point=village.has_logistics_point,
                has_cold_storage=village.has_cold_storage,
                population=population,
                landscape=village.landscape,
                folk_culture=village.folk_culture,
                orchards=village.orchards,
                vegetable_gardens=village.vegetable_gardens,
                fish_ponds=village.fish_ponds,
                specialty_products=",".join(village.specialty_products),
                latitude=Decimal(village.latitude).scaleb(-5),
                longitude=Decimal(village.longitude).scaleb(-5),
            )
        )
    return profiles


def household_numbers(county: County) -> list[str]:
    """``<village code>-<4-digit seq>``, as the registry numbers households."""
    codes = [v.code for v in county.geography.villages]
    village_of = county.households.village
    first = np.searchsorted(village_of, village_of)
    seq = np.arange(len(village_of)) - first + 1
    return [
        f"{codes[v]}-{s:04d}"
        for v, s in zip(village_of.tolist(), seq.tolist(), strict=True)
    ]


def _households(county: County) -> list[Household]:
    h = county.households
    codes = [v.code for v in county.geography.villages]
    numbers = household_numbers(county)
    lat = _scaled(h.latitude, 5)
    lon = _scaled(h.longitude, 5)
    rows = []
    for i, village in enumerate(h.village.tolist()):
        causes = (*h.causes[i], "", "", "")
        rows.append(
            Household(
                number=numbers[i],
                village_id=codes[village],
                head_name=h.head_name[i],
                address=h.address[i],
                phone=h.phone[i],
                category=CATEGORIES[h.category[i]],
                main_cause=causes[0],
                second_cause=causes[1],
                third_cause=causes[2],
                latitude=lat[i],
                longitude=lon[i],
            )
        )
    return rows


def _skill_names(mask: int) -> list[str]:
    return [name for bit, name in enumerate(SKILLS) if mask >> bit & 1]


def _fixed(values: np.ndarray, places: int) -> list[str]:
    """Integers in units of 10**-places as decimal text: 12345, 2 → "123.45"."""
    unit = 10**places
    text = []
    for v in values.tolist():
        sign = "-" if v < 0 else ""
        whole, frac = divmod(abs(v), unit)
        text.append(f"{sign}{whole}.{frac:0{places}d}")
    return text


def _dates(values: np.ndarray) -> list[str]:
    return np.datetime_as_string(values, unit="D").tolist()


def _insert(
    model: type[Model], columns: Mapping[str, Sequence[object]], count: int
) -> None:
    """Insert ``count`` rows straight into the model's table.

    The members and snapshots are too many for one ORM object each (see DESIGN:
    bulk paths move rows, not objects): COPY on PostgreSQL, ``executemany`` on
    SQLite. ``columns`` holds database-ready values by attribute name; a field it
    does not name takes its default (``auto_now`` fields: now), so a field added
    later with a default needs no change here, and one without a default fails
    loudly.
    """
    now = timezone.now()
    names: list[str] = []
    data: list[Iterable[object]] = []
    for f in model._meta.concrete_fields:
        if isinstance(f, AutoFieldMixin):
            continue
        names.append(str(f.column))
        if f.attname in columns:
            data.append(columns[f.attname])
            continue
        if isinstance(f, DateTimeField | DateField) and (f.auto_now or f.auto_now_add):
            value: object = now
        else:
            value = f.get_default()
        if value is None and not f.null:
            raise TypeError(
                f"{model.__name__}.{f.name} needs a value: it has no default"
            )
        data.append(itertools.repeat(f.get_db_prep_save(value, connection), count))
    rows = zip(*data, strict=False)
    table = connection.ops.quote_name(model._meta.db_table)
    column_list = ", ".join(connection.ops.quote_name(n) for n in names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                for row in itertools.islice(rows, count):
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(names))
            cursor.executemany(
                f"INSERT INTO {table} ({column_list}) VALUES ({marks})",  # noqa: S608
                list(itertools.islice(rows, count)),
            )


def _member_columns(
    county: County, household_ids: list[int], start: int, stop: int
) -> dict[str, Sequence[object]]:
    p = county.people
    latest = county.snapshots[-1]
    sl = slice(start, stop)
    survey = latest.surveyed_on[p.hh[sl]]
    age = age_on(p.birth[sl], survey)
    exit_age = p.exit_age[sl]
    numbers = p.id_number[start:stop]
    return {
        "household_id": [household_ids[h] for h in p.hh[sl].tolist()],
        "name": p.name[start:stop],
        "id_cipher": [idnumbers.encrypt(n) for n in numbers],
        "id_hash": [idnumbers.id_hash(n) for n in numbers],
        "id_masked": [idnumbers.mask(n) for n in numbers],
        "relation": [RELATIONS[r] for r in p.relation[sl].tolist()],
        "sex": ["female" if f else "male" for f in p.female[sl].tolist()],
        "birth_date": _dates(p.birth[sl]),
        "labour": [
            LABOUR[x]
            for x in labour_on(age, p.health[sl], exit_age, p.frail[sl]).tolist()
        ],
        "health": [HEALTH[x] for x in p.health[sl].tolist()],
        "schooling": [SCHOOLING[x] for x in schooling_on(age, exit_age).tolist()],
        "in_school": in_school_on(age, exit_age).tolist(),
        "skills": [",".join(_skill_names(m)) for m in p.skills[sl].tolist()],
    }


_MONEY = (
    "income_wages",
    "income_business",
    "income_property",
    "income_transfers",
    "income_ecommerce",
    "costs",
    "spending_medical",
    "spending_disaster",
)
_LAND = ("land_cultivated", "land_forest", "land_orchard", "land_pond")
_INTS = (
    "size",
    "school_age_children",
    "children_out_of_school",
    "water_quality",
    "wall_quality",
    "max_schooling_years",
    "labourers_full",
    "labourers_partial",
    "members_ill_or_disabled",
    "smartphones",
)
_FLAGS = (
    "food_secure",
    "clothing_secure",
    "medical_insured",
    "medical_care_access",
    "safe_water",
    "electricity",
    "undernourished_member",
    "child_death_5y",
    "head_female",
    "head_elderly",
    "head_child",
)
_CHOICES = (
    ("housing_structure", HOUSING_STRUCTURES),
    ("housing_grade", HOUSING_GRADES),
    ("cooking_fuel", COOKING_FUELS),
    ("sanitation", SANITATION),
    ("internet", INTERNET),
    ("ecommerce_experience", EXPERIENCE),
)


def _snapshot_columns(
    snap: YearSnapshots, household_ids: list[int], start: int, stop: int
) -> dict[str, Sequence[object]]:
    sl = slice(start, stop)
    count = stop - start
    columns: dict[str, Sequence[object]] = {
        "household_id": list(household_ids[start:stop]),
        "year": [snap.year] * count,
        "surveyed_on": _dates(snap.surveyed_on[sl]),
        "km_to_road": _fixed(snap.km_to_road[sl], 1),
        "km_to_market": _fixed(snap.km_to_market[sl], 1),
        "skills": [json.dumps(_skill_names(m)) for m in snap.skills[sl].tolist()],
        "wishes": [json.dumps(list(w)) for w in snap.wishes[sl]],
        "wishes_note": snap.wishes_note[sl],
    }
    columns.update({name: _fixed(getattr(snap, name)[sl], 2) for name in _MONEY})
    columns.update({name: _fixed(getattr(snap, name)[sl], 2) for name in _LAND})
    columns.update({name: getattr(snap, name)[sl].tolist() for name in _INTS})
    columns.update(
        {name: getattr(snap, name)[sl].astype(bool).tolist() for name in _FLAGS}
    )
    for name, values in _CHOICES:
        columns[name] = [values[x] for x in getattr(snap, name)[sl].tolist()]
    for k, name in enumerate(ASSETS):
        columns[name] = snap.assets[sl, k].tolist()
    return columns


def county_seed(
    *,
    households: int,
    seed: int = DEFAULT_SEED,
    year: int | None = None,
    county_code: str = DEFAULT_COUNTY_CODE,
    reset: bool = False,
    progress: Progress | None = None,
) -> SeedReport:
    """Generate a synthetic county and write it; see the module docstring."""
    problem = code_problem(county_code, "county")
    if problem is not None:
        raise ValidationFailed(problem, extra={"county_code": county_code})
    today = timezone.localdate()
    year = default_year() if year is None else year
    if year > today.year:
        raise ValidationFailed(
            _("Cannot seed surveys of %(year)s: it is still to come.") % {"year": year}
        )
    try:
        parameters = SeedParameters(
            households=households,
            seed=seed,
            year=year,
            county_code=county_code,
            survey_cap=today if year == today.year else None,
        )
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None

    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = seconds.get(name, 0.0) + now - clock
        clock = now

    done = 0
    total = 0

    def tell(phase: str, rows: int = 0) -> None:
        nonlocal done
        done += rows
        if progress is not None:
            progress(phase, done, total)

    with transaction.atomic():
        if reset:
            tell("deleting the old registry")
            registry_reset(county_code)
            lap("reset")
        _check_empty(county_code)
        county = generate_county(
            parameters, step=lambda phase: tell(f"generating {phase}")
        )
        lap("generate")
        n_members = county.member_count
        n_households = county.household_count
        divisions = _divisions(county)
        total = (
            len(divisions)
            + len(county.geography.villages)
            + n_households * (1 + len(county.snapshots))
            + n_members
        )
        tell("divisions")
        Division.objects.bulk_create(divisions, batch_size=BATCH)
        VillageProfile.objects.bulk_create(_profiles(county), batch_size=BATCH)
        tell("households", len(divisions) + len(county.geography.villages))
        household_rows = _households(county)
        household_ids: list[int] = []
        for start in range(0, n_households, BATCH):
            batch = household_rows[start : start + BATCH]
            Household.objects.bulk_create(batch)
            household_ids.extend(int(row.pk) for row in batch)
            tell("households", len(batch))
        lap("write households")
        for start in range(0, n_members, BATCH):
            stop = min(start + BATCH, n_members)
            _insert(
                Member,
                _member_columns(county, household_ids, start, stop),
                stop - start,
            )
            tell("members", stop - start)
        lap("write members")
        for snap in county.snapshots:
            for start in range(0, n_households, BATCH):
                stop = min(start + BATCH, n_households)
                _insert(
                    Snapshot,
                    _snapshot_columns(snap, household_ids, start, stop),
                    stop - start,
                )
                tell(f"snapshots {snap.year}", stop - start)
        lap("write snapshots")
        digest = county.digest()
        share = {y: round(county.share_below_line(y), 4) for y in parameters.years}
        audit_append(
            action="seeding.seed",
            object_type="division",
            object_id=county_code,
            data={
                "households": n_households,
                "members": n_members,
                "seed": seed,
                "years": list(parameters.years),
                "reset": reset,
                "digest": digest,
            },
        )
    lap("commit")
    return SeedReport(
        county_code=county_code,
        county_name=county.geography.county_name,
        townships=sum(1 for d in county.geography.divisions if d.level == "township"),
        villages=len(county.geography.villages),
        households=n_households,
        members=n_members,
        snapshots=n_households * len(county.snapshots),
        years=parameters.years,
        lines=county.lines,
        share_below_line=share,
        digest=digest,
        seconds=seconds,
    )
