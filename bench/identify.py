"""Identification speed: kernel, end-to-end run, I/O floor and a per-record ORM loop.

    python bench/identify.py --db sqlite --households 100000
    python bench/identify.py --db postgresql --households 1000000

Builds a synthetic registry (households and one yearly snapshot each) in a scratch
database — a fresh SQLite file under var/, or the PostgreSQL database
``propoor_bench`` on 127.0.0.1 (dropped and re-created) — and measures, in one run:

- ``kernel``: ``propoor.kernel.identify.identify`` on the in-memory frame;
- ``end_to_end``: ``identification_run`` (read snapshots, compute, write results),
  timed on a steady-state re-run after a warm-up run that moved the statuses;
- ``io_floor``: read the same columns (the standard's ``input_columns``) and write
  the same number of result rows with no computation at all (the bulk paths the run
  itself uses, in one transaction as the run's);
- ``per_record``: the way registry platforms score record by record — one ORM
  object per household, evaluated in Python, one INSERT per result (each committed
  on its own, Django's default) — on a sample; and the same loop inside one
  transaction (``per_record_one_transaction``), the kindest case for the loop.

The end-to-end run, the floor and the two loops are measured ``--rounds`` times
(3), back to back; the report gives the medians, each round, and the range of the
speedup over the rounds.

The registry is built in a child process, so ``peak_rss_mb`` is the memory of the
identification (runs, kernel, I/O floor and loop), not of the synthetic data generator.

Prints JSON and writes ``bench/results/identify-<db>.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2020
COUNTY = "530102000000"


def _configure(db: str) -> str:
    os.environ.setdefault("PROPOOR_DEV_SECRETS", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "propoor.settings"
    os.environ.setdefault("PROPOOR_LOG", "WARNING")
    if db == "sqlite":
        path = ROOT / "var" / "bench-identify.sqlite3"
        path.parent.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        return "sqlite"
    import psycopg

    base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS propoor_bench")
        conn.execute("CREATE DATABASE propoor_bench")
    os.environ["DATABASE_URL"] = f"{base}/propoor_bench"
    return "postgresql"


def _build_registry(n: int, rng_seed: int = 7) -> None:
    """Divisions, ``n`` households and their YEAR snapshots, written in bulk."""
    import numpy as np
    import polars as pl
    from django.db import models

    from propoor.areas.models import Division
    from propoor.core.money import MoneyField
    from propoor.households.models import Household, Snapshot

    rng = np.random.default_rng(rng_seed)
    townships = 12
    villages_per_township = max(1, n // (townships * 150))
    divisions = [
        Division(code="530000000000", name="云南省", level="province", prefix="53"),
        Division(
            code="530100000000",
            name="昆明市",
            level="prefecture",
            prefix="5301",
            parent_id="530000000000",
        ),
        Division(
            code=COUNTY,
            name="示范县",
            level="county",
            prefix="530102",
            parent_id="530100000000",
        ),
    ]
    village_codes = []
    for t in range(1, townships + 1):
        tcode = f"530102{t:03d}000"
        divisions.append(
            Division(
                code=tcode,
                name=f"乡镇{t}",
                level="township",
                prefix=tcode[:9],
                parent_id=COUNTY,
            )
        )
        for v in range(1, villages_per_township + 1):
            vcode = f"530102{t:03d}{v:03d}"
            village_codes.append(vcode)
            divisions.append(
                Division(
                    code=vcode,
                    name=f"村{t}-{v}",
                    level="village",
                    prefix=vcode,
                    parent_id=tcode,
                )
            )
    Division.objects.bulk_create(divisions)

    ids = np.arange(1, n + 1)
    villages = np.array(village_codes)[rng.integers(0, len(village_codes), n)]
    now = "2021-01-15 00:00:00+00:00"
    households = pl.DataFrame(
        {
            "id": ids,
            "number": [f"B{i:09d}" for i in ids],
            "village_id": villages,
            "head_name": "户主",
            "address": "",
            "phone": "",
            "category": "ordinary",
            "status": "registered",
            "main_cause": "",
            "second_cause": "",
            "third_cause": "",
            "created_at": now,
            "updated_at": now,
        }
    )
    _bulk_insert(Household._meta.db_table, households)

    columns: dict[str, object] = {
        "household_id": ids,
        "year": YEAR,
        "surveyed_on": f"{YEAR}-11-15",
        "updated_at": now,
        "skills": "[]",
        "wishes": "[]",
        "wishes_note": "",
    }
    size = rng.integers(1, 7, n)
    for field in Snapshot._meta.concrete_fields:
        name = field.column
        if field.name in {
            "id",
            "household",
            "year",
            "surveyed_on",
            "updated_at",
            "skills",
            "wishes",
            "wishes_note",
        }:
            continue
        if field.name == "surveyed_by":
            columns[name] = pl.Series(name, [None] * n, dtype=pl.Int64)
        elif field.name == "size":
            columns[name] = size
        elif isinstance(field, MoneyField):
            scale = 9000 if field.name.startswith("income_") else 1500
            fen = (rng.gamma(1.3, scale, n) * 100).astype(np.int64)
            if field.name in {
                "income_property",
                "spending_disaster",
                "income_ecommerce",
            }:
                fen = np.where(rng.random(n) < 0.8, 0, fen // 10)
            columns[name] = [f"{f // 100}.{f % 100:02d}" for f in fen.tolist()]
        elif isinstance(field, models.BooleanField):
            p = (
                0.08
                if field.name
                in {
                    "undernourished_member",
                    "child_death_5y",
                    "head_female",
                    "head_elderly",
                    "head_child",
                    "has_car",
                    "has_computer",
                }
                else 0.93
            )
            columns[name] = rng.random(n) < p
        elif field.choices:
            options = [c[0] for c in field.choices]
            columns[name] = np.array(options)[rng.integers(0, len(options), n)]
        elif isinstance(field, models.DecimalField):
            columns[name] = np.round(rng.random(n) * 10, 1)
        elif field.name in {"water_quality", "wall_quality"}:
            columns[name] = rng.integers(1, 6, n)
        elif field.name == "school_age_children":
            columns[name] = rng.integers(0, 3, n)
        elif isinstance(field, models.IntegerField):
            columns[name] = np.zeros(n, dtype=np.int64)
        else:  # pragma: no cover
            raise TypeError(f"no generator for {field.name}")
    frame = pl.DataFrame(columns).with_columns(
        pl.Series("id", ids),
        pl.col("housing_grade").replace({"C": "B", "D": "A"}).alias("housing_grade"),
    )
    # a realistic share of D/C houses and out-of-school children
    frame = frame.with_columns(
        pl.when(pl.Series(rng.random(n) < 0.03))
        .then(pl.lit("D"))
        .otherwise(pl.col("housing_grade"))
        .alias("housing_grade"),
    )
    _bulk_insert(Snapshot._meta.db_table, frame)


def _bulk_insert(table: str, frame) -> None:  # type: ignore[no-untyped-def]
    import io

    from django.db import connection, transaction

    cols = ", ".join(f'"{c}"' for c in frame.columns)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.BytesIO()
            frame.write_csv(buffer, include_header=False)
            with cursor.copy(
                f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)"
            ) as copy:
                copy.write(buffer.getvalue())
        else:
            marks = ", ".join(["%s"] * frame.width)
            sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"
            for chunk in frame.iter_slices(50_000):
                cursor.executemany(sql, chunk.rows())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")


def _timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _build_child(n: int) -> None:
    """Build the registry in a spawned process (the database is already migrated)."""
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.db import connection

    _build_registry(n)
    connection.close()


def _io_floor(n_expected: int, columns: tuple[str, ...]) -> tuple[float, float]:
    """Read the same columns, write as many result rows, compute nothing.

    Returns the whole time and the part spent reading.
    """
    import polars as pl
    from django.db import connection, transaction
    from django.utils import timezone

    from propoor.areas.models import Division
    from propoor.households.identification import standard_get
    from propoor.households.identification_io import (
        result_partitions_prune,
        results_write,
        snapshot_frame,
    )
    from propoor.households.models import IdentificationResult, IdentificationRun

    table = IdentificationResult._meta.db_table
    start = time.perf_counter()
    frame = snapshot_frame(area_prefix="530102", year=YEAR, columns=columns)
    read_s = time.perf_counter() - start
    with transaction.atomic():
        run = IdentificationRun.objects.create(
            standard=standard_get(name="cn-national"),
            area=Division.objects.get(code=COUNTY),
            year=YEAR,
            started_at=timezone.now(),
        )
        rows = frame.select(
            pl.lit(run.pk, dtype=pl.Int64).alias("run_id"),
            pl.col("household_id"),
            pl.lit(YEAR, dtype=pl.Int64).alias("year"),
            pl.lit(value=False).alias("poor"),
            pl.lit("0.00").alias("per_capita_income"),
            pl.lit("0.00").alias("income_line"),
            pl.lit(value=False).alias("income_poor"),
            pl.lit(value=True).alias("guarantees_met"),
            pl.lit("").alias("mpi_score"),
            pl.lit(None, dtype=pl.Boolean).alias("mpi_poor"),
            pl.lit(None, dtype=pl.String).alias("pmt_score"),
            pl.lit(None, dtype=pl.Boolean).alias("pmt_eligible"),
            pl.lit(value=True).alias("exit_ok"),
            pl.lit("[]").alias("failed_conditions"),
            pl.lit('{"deprived":[]}').alias("explanation"),
            pl.lit("x").alias("input_digest"),
            pl.lit(value=False).alias("is_latest"),
        )
        written = results_write(rows)
    elapsed = time.perf_counter() - start
    assert written == n_expected, (written, n_expected)
    with connection.cursor() as cursor:  # its rows go with it, not row by row
        cursor.execute(f'DROP TABLE IF EXISTS "{table}_run{run.pk}"')
    run.delete()
    result_partitions_prune()
    return elapsed, read_s


def _kernel_times(frame, spec, mpi_spec) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best of three ``identify`` calls on the frame each standard's run reads."""
    from propoor.households.identification_io import snapshot_frame
    from propoor.kernel.identify import identify, input_columns

    # the run read the national standard's input columns, and only those
    assert tuple(frame.columns) == input_columns(spec), frame.columns
    mpi_frame = snapshot_frame(
        area_prefix="530102", year=YEAR, columns=input_columns(mpi_spec)
    )
    kernel_s = min(_timed(lambda: identify(frame, spec, YEAR))[0] for _ in range(3))
    kernel_mpi_s = min(
        _timed(lambda: identify(mpi_frame, mpi_spec, YEAR))[0] for _ in range(3)
    )
    return kernel_s, kernel_mpi_s


def _per_record(sample: int, *, one_transaction: bool) -> tuple[float, int]:
    """One ORM object per household, scored in Python, one INSERT per result.

    Django's default is autocommit: each ``create()`` commits on its own, as a job
    that walks the registry record by record does. ``one_transaction`` wraps the
    whole loop in one transaction instead (the kindest case for the loop).
    """
    import contextlib

    from django.db import transaction
    from django.utils import timezone

    from propoor.areas.models import Division
    from propoor.households.identification import standard_get
    from propoor.households.models import (
        IdentificationResult,
        IdentificationRun,
        Snapshot,
    )

    standard = standard_get(name="cn-national")
    lines = {
        int(x["year"]): Decimal(str(x["line"]))
        for x in standard.definition["income"]["lines"]
    }
    start = time.perf_counter()
    poor_count = 0
    scope = transaction.atomic() if one_transaction else contextlib.nullcontext()
    with scope:
        run = IdentificationRun.objects.create(
            standard=standard,
            area=Division.objects.get(code=COUNTY),
            year=YEAR,
            started_at=timezone.now(),
        )
        snapshots = Snapshot.objects.filter(year=YEAR).order_by("household_id")[:sample]
        for s in snapshots:
            per_capita = (s.net_income / s.size).quantize(Decimal("0.01"))
            line = lines[YEAR]
            failed = []
            if not per_capita > line:
                failed.append("income")
            checks = {
                "food": s.food_secure,
                "clothing": s.clothing_secure,
                "education": s.children_out_of_school == 0,
                "medical": s.medical_insured and s.medical_care_access,
                "housing": s.housing_grade in ("A", "B"),
                "water": s.safe_water,
            }
            failed += [k for k, ok in checks.items() if not ok]
            poor = per_capita < line or not all(checks.values())
            poor_count += poor
            IdentificationResult.objects.create(
                run=run,
                household_id=s.household_id,
                year=YEAR,
                poor=poor,
                per_capita_income=per_capita,
                income_line=line,
                income_poor=per_capita < line,
                guarantees_met=all(checks.values()),
                exit_ok=not failed,
                failed_conditions=failed,
                explanation={"deprived": []},
                input_digest="per-record",
                is_latest=False,
            )
    elapsed = time.perf_counter() - start
    run.delete()
    return elapsed, poor_count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--households", type=int, default=None)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="measured rounds; medians reported"
    )
    args = parser.parse_args(argv)
    n = args.households or (100_000 if args.db == "sqlite" else 1_000_000)
    vendor = _configure(args.db)
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from propoor.households.identification import (
        identification_run_detailed,
        standard_get,
        standard_install_builtins,
    )
    from propoor.kernel.identify import input_columns
    from propoor.kernel.standard import IdentificationSpec

    builder = multiprocessing.get_context("spawn").Process(
        target=_build_child, args=(n,)
    )
    build_s, _ = _timed(lambda: (builder.start(), builder.join()))
    if builder.exitcode != 0:
        raise SystemExit(f"building the registry failed ({builder.exitcode})")
    standard_install_builtins()
    spec = IdentificationSpec.from_definition(
        standard_get(name="cn-national").definition
    )
    mpi_spec = IdentificationSpec.from_definition(
        standard_get(name="global-mpi").definition
    )

    warm = identification_run_detailed(None, area_code=COUNTY, year=YEAR)
    kernel_s, kernel_mpi_s = _kernel_times(warm.frame, spec, mpi_spec)
    del warm
    sample = min(args.sample, n)
    # Rounds of (end to end, I/O floor, per-record loop, the loop in one transaction)
    # back to back: a ratio compares neighbours, and the medians outlast a moment of
    # CPU steal or a slow fsync on a shared machine.
    rounds = []
    for _ in range(args.rounds):
        e2e_s, outcome = _timed(
            lambda: identification_run_detailed(None, area_code=COUNTY, year=YEAR)
        )
        io_s, io_read_s = _io_floor(n, input_columns(spec))
        per_record_s, per_record_poor = _per_record(sample, one_transaction=False)
        per_record_tx_s, _ = _per_record(sample, one_transaction=True)
        rounds.append(
            {
                "end_to_end_s": round(e2e_s, 3),
                "io_floor_s": round(io_s, 3),
                "io_floor_read_s": round(io_read_s, 3),
                "per_record_s": round(per_record_s, 3),
                "per_record_one_transaction_s": round(per_record_tx_s, 3),
                "speedup_vs_per_record": round(
                    (per_record_s / sample) / (e2e_s / n), 1
                ),
            }
        )
    kernel_poor_in_sample = int(
        outcome.results.sort("household_id").head(sample)["poor"].sum()
    )

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    e2e_s, io_s, io_read_s = (
        median("end_to_end_s"),
        median("io_floor_s"),
        median("io_floor_read_s"),
    )
    per_record_s = median("per_record_s")
    per_record_tx_s = median("per_record_one_transaction_s")
    e2e_per_household = e2e_s / n
    per_record_per_household = per_record_s / sample
    speedups = [r["speedup_vs_per_record"] for r in rounds]
    report = {
        "bench": "identify",
        "database": vendor,
        "households": n,
        "year": YEAR,
        "standard": "cn-national",
        "input_columns": len(input_columns(spec)),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "build_registry_s": round(build_s, 2),
        "kernel_s": round(kernel_s, 4),
        "kernel_households_per_s": round(n / kernel_s),
        "kernel_global_mpi_households_per_s": round(n / kernel_mpi_s),
        "end_to_end_s": round(e2e_s, 3),
        "end_to_end_households_per_s": round(n / e2e_s),
        "io_floor_s": round(io_s, 3),
        "io_floor_read_s": round(io_read_s, 3),
        "io_floor_write_s": round(io_s - io_read_s, 3),
        "end_to_end_over_io_floor": round(e2e_s / io_s, 3),
        "per_record_sample": sample,
        "per_record_s": round(per_record_s, 3),
        "per_record_households_per_s": round(sample / per_record_s),
        "speedup_vs_per_record": round(statistics.median(speedups), 1),
        "speedup_vs_per_record_of_medians": round(
            per_record_per_household / e2e_per_household, 1
        ),
        "speedup_vs_per_record_range": [min(speedups), max(speedups)],
        "per_record_one_transaction_s": round(per_record_tx_s, 3),
        "speedup_vs_per_record_one_transaction": round(
            (per_record_tx_s / sample) / e2e_per_household, 1
        ),
        "per_record_agrees_with_kernel": per_record_poor == kernel_poor_in_sample,
        "poor": outcome.run.poor,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rounds": rounds,
        "targets": {
            "kernel_households_per_s": ">= 2000000",
            "end_to_end_over_io_floor": "<= 2",
            "speedup_vs_per_record": ">= 100",
        },
    }
    out = ROOT / "bench" / "results" / f"identify-{vendor}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
