from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from propoor.core.errors import ApplicationError
from propoor.seeding.generator import DEFAULT_COUNTY_CODE, DEFAULT_SEED
from propoor.seeding.services import Progress, SeedReport, county_seed


def progress_bar(desc: str = "seed") -> tuple[tqdm, Progress]:
    """A tqdm bar on stderr and the callback the seeding service moves it with."""
    bar = tqdm(total=0, desc=desc, unit="row", file=sys.stderr, dynamic_ncols=True)

    def progress(phase: str, done: int, total: int) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.set_description_str(f"{desc}: {phase}", refresh=False)
        bar.update(done - bar.n)

    return bar, progress


def report_lines(report: SeedReport) -> list[str]:
    lines = [
        f"seeded {report.county_name} ({report.county_code}): "
        f"{report.townships} townships, {report.villages} villages, "
        f"{report.households:,} households, {report.members:,} members, "
        f"{report.snapshots:,} snapshots ({report.years[0]}-{report.years[-1]})",
    ]
    for line in report.lines:
        share = report.share_below_line[line.year]
        lines.append(
            f"  {line.year}: {share:.1%} of households below the line of "
            f"{line.yuan:,} yuan ({line.note})"
        )
    lines.append(
        "  time: "
        + ", ".join(f"{name} {sec:.1f}s" for name, sec in report.seconds.items())
    )
    lines.append(f"  data digest: {report.digest}")
    return lines


class Command(BaseCommand):
    help = (
        "Build a synthetic but plausible county (townships, villages, households, "
        "members, yearly snapshots). Refuses a database that already has households "
        "unless --reset, which deletes the household registry first."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--households", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument(
            "--year",
            type=int,
            default=None,
            help="latest survey year (default: last year); two earlier years too",
        )
        parser.add_argument("--county-code", default=DEFAULT_COUNTY_CODE)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="delete the household registry and the county first",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bar on stderr"
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        bar, progress = (None, None)
        if not options["no_progress"]:
            bar, progress = progress_bar()
        try:
            report = county_seed(
                households=options["households"],
                seed=options["seed"],
                year=options["year"],
                county_code=options["county_code"],
                reset=options["reset"],
                progress=progress,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        finally:
            if bar is not None:
                bar.close()
        for line in report_lines(report):
            self.stdout.write(line)
