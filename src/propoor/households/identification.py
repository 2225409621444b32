"""Identification runs: load an area's snapshots, call the kernel, store the results.

A run is a recorded service call — who ran it, when, which standard version, over which
area and year, with counts and the aggregates by village, township and county. Each
household's result keeps its explanation (deprived indicators, failed exit conditions)
and a digest of its inputs, so a later run with ``only_changed=True`` recomputes
everything in memory (cheap) but writes only the households whose data changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.models import Role
from propoor.accounts.scope import scope_of
from propoor.areas.models import Division
from propoor.core.audit import audit_append
from propoor.core.errors import NotFound, PermissionDenied, ValidationFailed
from propoor.households.identification_io import results_write, snapshot_frame
from propoor.households.models import (
    Household,
    IdentificationResult,
    IdentificationRun,
    IdentificationStandard,
    Status,
    StatusChange,
)
from propoor.kernel.identify import (
    AreaSummary,
    aggregate_by,
    identify,
    input_columns,
)
from propoor.kernel.standard import IdentificationSpec, builtin_names, load_builtin

Progress = Callable[[str], None]

RUNNERS = frozenset({Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER})
STANDARD_EDITORS = frozenset({Role.COUNTY_ADMIN})


def _require(actor: object | None, roles: frozenset[Role], refusal: str) -> None:
    """PermissionDenied with the (translated) ``refusal`` unless the role fits."""
    if actor is None or getattr(actor, "is_superuser", False):
        return
    if getattr(actor, "role", None) not in roles:
        raise PermissionDenied(refusal)


# --- standards -------------------------------------------------------------------


def standard_install_builtins(
    actor: object | None = None,
) -> list[IdentificationStandard]:
    """Install version 1 of each built-in standard that is not installed yet."""
    installed = []
    for name in builtin_names():
        if IdentificationStandard.objects.filter(name=name).exists():
            continue
        definition = load_builtin(name)
        IdentificationSpec.from_definition(definition)
        standard = IdentificationStandard(
            name=name,
            version=1,
            title=str(definition.get("title", name)),
            definition=definition,
            note="built-in",
        )
        standard.full_clean()
        standard.save()
        audit_append(
            action="standard.install",
            actor=actor,
            object_type="standard",
            object_id=f"{name}@1",
        )
        installed.append(standard)
    return installed


def standard_get(*, name: str, version: int | None = None) -> IdentificationStandard:
    found = IdentificationStandard.objects.filter(name=name)
    if version is not None:
        found = found.filter(version=version)
    standard = found.order_by("-version").first()
    if standard is None:
        if version is None:
            message = _("No identification standard named %(name)s.")
        else:
            message = _(
                "No identification standard named %(name)s version %(version)s."
            )
        raise NotFound(message % {"name": repr(name), "version": version})
    return standard


def standard_revise(
    actor: object, *, name: str, definition: dict[str, object], note: str = ""
) -> IdentificationStandard:
    """Save an edited definition as the next version of the standard."""
    _require(
        actor, STANDARD_EDITORS, _("Your role may not edit identification standards.")
    )
    try:
        IdentificationSpec.from_definition(definition)
    except ValueError as exc:
        raise ValidationFailed(
            _("The standard's definition is not valid: %(error)s") % {"error": exc},
            extra={"definition": str(exc)},
        ) from exc
    with transaction.atomic():
        latest = (
            IdentificationStandard.objects.select_for_update()
            .filter(name=name)
            .aggregate(v=Max("version"))["v"]
        )
        standard = IdentificationStandard(
            name=name,
            version=(latest or 0) + 1,
            title=str(definition.get("title", name)),
            definition=definition,
            created_by=actor if getattr(actor, "pk", None) else None,
            note=note,
        )
        standard.full_clean()
        standard.save()
        audit_append(
            action="standard.revise",
            actor=actor,
            object_type="standard",
            object_id=f"{name}@{standard.version}",
            data={"note": note},
        )
    return standard


# --- runs ------------------------------------------------------------------------


_FEN = pl.lit(Decimal("0.01"), dtype=pl.Decimal(3, 2))


def _money_text(fen: pl.Expr) -> pl.Expr:
    """Integer fen -> "1234.56" (exact decimal arithmetic, sign kept)."""
    return (fen.cast(pl.Decimal(20, 0)) * _FEN).cast(pl.String)


def _json_list(column: str) -> pl.Expr:
    """A List[String] of identifiers (no quote or backslash in them) -> JSON text."""
    items = pl.col(column)
    return (
        pl.when(items.list.len() == 0)
        .then(pl.lit("[]"))
        .otherwise(pl.lit('["') + items.list.join('","') + pl.lit('"]'))
    )


def _input_digest(frame: pl.DataFrame, standard: IdentificationStandard) -> pl.Series:
    """A digest of each household's inputs under this standard version.

    ``frame`` holds exactly the columns the standard reads (its ``input_columns``),
    so a change to a field the standard does not use leaves the digest alone.
    """
    hashed = frame.drop("household_id").hash_rows(seed=standard.pk or 0)
    return (
        pl.select(pl.lit(f"{standard.pk}-") + hashed.cast(pl.String))
        .to_series()
        .alias("input_digest")
    )


def _mpi_score(results: pl.DataFrame) -> pl.Series:
    """The exact MPI score as "num/den" in lowest terms ("" without an MPI)."""
    has_mpi = ~results["mpi_numerator"].is_null().to_numpy()
    if not has_mpi.any():
        return pl.repeat("", results.height, dtype=pl.String, eager=True)
    num = results["mpi_numerator"].to_numpy(allow_copy=True)
    den = results["mpi_denominator"].to_numpy(allow_copy=True)
    num_i = np.where(has_mpi, num, 0).astype(np.int64)
    den_i = np.where(has_mpi, den, 1).astype(np.int64)
    gcd = np.gcd(num_i, den_i)
    gcd[gcd == 0] = 1
    score = (
        pl.Series("mpi_score_num", num_i // gcd).cast(pl.String)
        + "/"
        + pl.Series("d", den_i // gcd).cast(pl.String)
    )
    return pl.select(
        pl.when(pl.Series(has_mpi)).then(score).otherwise(pl.lit(""))
    ).to_series()


def _result_rows(results: pl.DataFrame, *, run_id: int, year: int) -> pl.DataFrame:
    results = results.with_columns(
        _mpi_score(results).alias("mpi_score"),
        _json_list("failed_conditions").alias("failed_json"),
    )
    pmt = pl.col("pmt_score_hundredths")
    return results.select(
        pl.lit(run_id, dtype=pl.Int64).alias("run_id"),
        pl.col("household_id"),
        pl.lit(year, dtype=pl.Int64).alias("year"),
        pl.col("poor"),
        _money_text(pl.col("per_capita_income_fen")).alias("per_capita_income"),
        _money_text(pl.col("income_line_fen")).alias("income_line"),
        pl.col("income_poor"),
        pl.col("guarantees_met"),
        pl.col("mpi_score"),
        pl.col("mpi_poor"),
        pl.when(pmt.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(_money_text(pmt))
        .alias("pmt_score"),
        pl.col("pmt_eligible"),
        pl.col("exit_ok"),
        pl.col("failed_json").alias("failed_conditions"),
        # the deprived indicators; the failed exit conditions have a column of their own
        (pl.lit('{"deprived":') + _json_list("deprived") + pl.lit("}")).alias(
            "explanation"
        ),
        pl.col("input_digest"),
        pl.lit(value=True).alias("is_latest"),
    )


def _latest_digests(*, standard_name: str, year: int, prefix: str) -> dict[int, str]:
    rows = (
        IdentificationResult.objects.current(standard_name)
        .filter(year=year, household__village__code__startswith=prefix)
        .values_list("household_id", "input_digest")
    )
    return dict(rows.iterator(chunk_size=20_000))


def _chunks(values: list[int], size: int = 5_000) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _retire_previous(
    *, run: IdentificationRun, household_ids: list[int] | None
) -> None:
    """Earlier results of the same standard and year stop being current.

    A full run (``household_ids is None``) supersedes whole earlier runs over its
    area or a part of it with one UPDATE of the runs table; only runs over a larger
    area have the flags of this area's results turned off. A run of the changed
    households turns off just their earlier flags.
    """
    earlier = IdentificationRun.objects.filter(
        standard__name=run.standard.name, year=run.year, superseded_by__isnull=True
    ).exclude(pk=run.pk)
    prefix = run.area.prefix
    results = IdentificationResult.objects.filter(is_latest=True)
    if household_ids is not None:
        ids = list(earlier.values_list("pk", flat=True))
        for chunk in _chunks(household_ids):
            results.filter(run_id__in=ids, household_id__in=chunk).update(
                is_latest=False
            )
        return
    earlier.filter(area__prefix__startswith=prefix).update(superseded_by=run)
    larger = [
        r.pk
        for r in earlier.exclude(area__prefix__startswith=prefix).select_related("area")
        if prefix.startswith(r.area.prefix)
    ]
    if larger:
        in_area = Household.objects.filter(village__code__startswith=prefix)
        results.filter(run_id__in=larger, household_id__in=in_area.values("id")).update(
            is_latest=False
        )


# Status moves a run of the official standard (settings.PROPOOR_OFFICIAL_STANDARD)
# makes on its own; other standards (the global MPI, a PMT) only inform.
_WHEN_POOR = {
    Status.REGISTERED: Status.IDENTIFIED,
    Status.NOT_POOR: Status.IDENTIFIED,
    Status.EXITED: Status.RETURNED,
    Status.MONITORED: Status.RETURNED,
}
_WHEN_NOT_POOR = {Status.REGISTERED: Status.NOT_POOR}


def _apply_statuses(
    *, actor: object | None, verdicts: pl.DataFrame, current: pl.DataFrame, run_id: int
) -> int:
    """Move statuses by the verdicts (household_id, poor); no read, few writes.

    ``current`` holds each household's status as read with its snapshot; an UPDATE
    moves a household only if it is still in that status.
    """
    movable = {str(status) for status in (*_WHEN_POOR, *_WHEN_NOT_POOR)}
    current = current.filter(pl.col("status").is_in(sorted(movable)))
    moves = pl.DataFrame(
        [(True, str(old), str(new)) for old, new in _WHEN_POOR.items()]
        + [(False, str(old), str(new)) for old, new in _WHEN_NOT_POOR.items()],
        schema={"poor": pl.Boolean, "status": pl.String, "new_status": pl.String},
        orient="row",
    )
    changes = (
        verdicts.select("household_id", "poor")
        .join(current, on="household_id")
        .join(moves, on=["poor", "status"])
    )
    by = actor if getattr(actor, "pk", None) else None
    for (old, new), group in changes.group_by(["status", "new_status"]):
        ids = group["household_id"].to_list()
        for chunk in _chunks(ids):
            Household.objects.filter(id__in=chunk, status=old).update(status=new)
        StatusChange.objects.bulk_create(
            [
                StatusChange(
                    household_id=h,
                    old_status=old,
                    new_status=new,
                    by=by,
                    reason=f"identification run {run_id}",
                )
                for h in ids
            ],
            batch_size=5_000,
        )
    return changes.height


def _summary_json(
    areas: dict[str, dict[str, AreaSummary]],
) -> dict[str, dict[str, dict[str, object]]]:
    """The run's aggregates as JSON: exact fractions as "num/den" text."""
    return {
        level: {
            code: {
                "n": item.n,
                "poor": item.poor,
                "incidence": str(item.incidence),
                "mpi": None if item.mpi is None else item.mpi.as_dict(exact=True),
            }
            for code, item in by_code.items()
        }
        for level, by_code in areas.items()
    }


@dataclass(frozen=True)
class RunOutcome:
    run: IdentificationRun
    frame: pl.DataFrame
    results: pl.DataFrame


def identification_run(
    actor: object | None,
    *,
    area_code: str,
    year: int,
    standard_name: str = "cn-national",
    standard_version: int | None = None,
    only_changed: bool = False,
    progress: Progress | None = None,
) -> IdentificationRun:
    """Identify every household of the area for the year; see the module docstring."""
    return identification_run_detailed(
        actor,
        area_code=area_code,
        year=year,
        standard_name=standard_name,
        standard_version=standard_version,
        only_changed=only_changed,
        progress=progress,
    ).run


def identification_run_detailed(
    actor: object | None,
    *,
    area_code: str,
    year: int,
    standard_name: str = "cn-national",
    standard_version: int | None = None,
    only_changed: bool = False,
    progress: Progress | None = None,
) -> RunOutcome:
    def step(text: str) -> None:
        if progress is not None:
            progress(text)

    _require(actor, RUNNERS, _("Your role may not run identification."))
    area = Division.objects.filter(code=area_code).first()
    if area is None or (actor is not None and not scope_of(actor).covers(area.code)):  # type: ignore[arg-type]
        raise NotFound(
            _("No area with code %(code)s in your scope.") % {"code": repr(area_code)}
        )
    standard = standard_get(name=standard_name, version=standard_version)
    try:
        spec = IdentificationSpec.from_definition(standard.definition)
    except ValueError as exc:
        raise ValidationFailed(
            _("Standard %(standard)s is not valid: %(error)s")
            % {"standard": standard, "error": exc}
        ) from exc

    started = timezone.now()
    step("read")
    try:
        loaded = snapshot_frame(
            area_prefix=area.prefix,
            year=year,
            columns=[*input_columns(spec), "status"],
        )
    except ValueError as exc:
        raise ValidationFailed(
            _("Standard %(standard)s cannot be run: %(error)s")
            % {"standard": standard, "error": exc}
        ) from exc
    # the statuses as read with the snapshots; the kernel sees the standard's inputs
    statuses = loaded.select("household_id", "status")
    frame = loaded.drop("status")
    if frame.height == 0:
        raise ValidationFailed(
            _("No household in %(area)s has a %(year)s survey snapshot to identify.")
            % {"area": area.name, "year": year}
        )
    step("compute")
    try:
        results = identify(frame, spec, year)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    results = results.with_columns(_input_digest(frame, standard))
    summary = _summary_json(aggregate_by(results, frame, spec))

    changed = results
    if only_changed:
        before = _latest_digests(
            standard_name=standard.name, year=year, prefix=area.prefix
        )
        if before:
            known = pl.DataFrame(
                {
                    "household_id": list(before.keys()),
                    "_old": list(before.values()),
                },
                schema={"household_id": pl.Int64, "_old": pl.String},
            )
            changed = (
                results.join(known, on="household_id", how="left")
                .filter(
                    pl.col("_old").is_null()
                    | (pl.col("_old") != pl.col("input_digest"))
                )
                .drop("_old")
            )

    step("write")
    with transaction.atomic():
        run = IdentificationRun.objects.create(
            standard=standard,
            area=area,
            year=year,
            ran_by=actor if getattr(actor, "pk", None) else None,
            started_at=started,
            only_changed=only_changed,
            households=frame.height,
            computed=changed.height,
            unchanged=frame.height - changed.height,
            poor=int(results["poor"].sum()),
            summary=summary,
        )
        _retire_previous(
            run=run,
            household_ids=changed["household_id"].to_list() if only_changed else None,
        )
        results_write(_result_rows(changed, run_id=run.pk, year=year))
        moved = 0
        if standard.name == settings.PROPOOR_OFFICIAL_STANDARD:
            moved = _apply_statuses(
                actor=actor, verdicts=changed, current=statuses, run_id=run.pk
            )
        run.finished_at = timezone.now()
        run.save(update_fields=["finished_at"])
        audit_append(
            action="identification.run",
            actor=actor,
            object_type="identification_run",
            object_id=run.pk,
            data={
                "standard": f"{standard.name}@{standard.version}",
                "area": area.code,
                "year": year,
                "households": run.households,
                "computed": run.computed,
                "poor": run.poor,
                "status_changes": moved,
            },
        )
    step("done")
    _unused = connection  # the bulk writers use the default connection
    return RunOutcome(run=run, frame=frame, results=results)


def run_top_households(
    actor: object, *, run: IdentificationRun, n: int, by: str = "mpi"
) -> list[int]:
    """The ``n`` households of a run ranked most deprived first, for enrolment quotas.

    ``by="mpi"``: highest weighted deprivation score first; ``by="pmt"``: lowest proxy
    means score first; ``by="income"``: lowest per-capita income first.
    """
    if n < 1:
        raise ValidationFailed(_("n must be at least 1."), extra={"n": n})
    if not scope_of(actor).covers(run.area_id):  # type: ignore[arg-type]
        raise NotFound(_("No such identification run in your scope."))
    results = IdentificationResult.objects.filter(run=run)
    if by == "pmt":
        ordered = results.exclude(pmt_score=None).order_by("pmt_score", "household_id")
        return list(ordered.values_list("household_id", flat=True)[:n])
    if by == "income":
        ordered = results.order_by("per_capita_income", "household_id")
        return list(ordered.values_list("household_id", flat=True)[:n])
    if by != "mpi":
        raise ValidationFailed(
            _("Cannot rank by %(by)s; choose mpi, pmt or income.") % {"by": repr(by)},
            extra={"by": by},
        )
    from fractions import Fraction

    scored = [
        (Fraction(score), hid)
        for hid, score in results.exclude(mpi_score="").values_list(
            "household_id", "mpi_score"
        )
    ]
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [hid for _score, hid in scored[:n]]
