from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max
from tqdm import tqdm

from propoor.accounts.models import User
from propoor.areas.models import Division
from propoor.core.errors import ApplicationError
from propoor.households.identification import (
    identification_run,
    standard_install_builtins,
)
from propoor.households.models import (
    Household,
    IdentificationRun,
    Snapshot,
    SupportPlan,
)
from propoor.households.plans import intervention_install_catalogue, plan_propose_all
from propoor.seeding.demo import DemoLogin, demo_users_create
from propoor.seeding.generator import DEFAULT_COUNTY_CODE, DEFAULT_SEED
from propoor.seeding.management.commands.seed import progress_bar, report_lines
from propoor.seeding.market import already_built as market_already_built
from propoor.seeding.market import market_demo_build
from propoor.seeding.services import DEMO_USER_PREFIX, county_seed
from propoor.seeding.training import already_built as training_already_built
from propoor.seeding.training import demo_township, training_demo_build
from propoor.surveys.services import forms_install_shipped

STANDARDS = ("cn-national", "global-mpi")


def _steps_bar(desc: str, steps: int) -> tuple[tqdm, Callable[[str], None]]:
    bar = tqdm(total=steps, desc=desc, unit="step", file=sys.stderr)

    def progress(step: str) -> None:
        bar.set_postfix_str(step, refresh=False)
        bar.update(1)

    return bar, progress


class Command(BaseCommand):
    help = (
        "Build the demo county if it is not built yet (seed, standards, "
        "identification, plans, one login per role), print the logins and serve the "
        "site on http://127.0.0.1:<port>."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--households", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--year", type=int, default=None)
        parser.add_argument("--county-code", default=DEFAULT_COUNTY_CODE)
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-serve", action="store_true", help="build and print, do not serve"
        )

    @contextmanager
    def _step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.stdout.write(f"  {name}: {time.perf_counter() - started:.1f}s")
        self.stdout.flush()

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        try:
            logins = self._build(
                households=options["households"],
                seed=options["seed"],
                year=options["year"],
                code=options["county_code"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        url = f"http://127.0.0.1:{options['port']}"
        self.stdout.write("")
        self.stdout.write(f"ProPoor demo: {url}")
        self.stdout.write(self._table(logins))
        if options["no_serve"]:
            return
        self.stdout.write("Serving; stop with Ctrl-C.")
        call_command(
            "runserver",
            f"127.0.0.1:{options['port']}",
            use_reloader=False,
            insecure_serving=True,  # serve the static files whatever DEBUG says
        )

    def _build(
        self, *, households: int, seed: int, year: int | None, code: str
    ) -> list[DemoLogin]:
        started = time.perf_counter()
        self.stdout.write("Building the demo:")
        database = settings.DATABASES["default"]
        if database["ENGINE"].endswith("sqlite3"):
            # The embedded default lives in ./var, which a fresh checkout lacks.
            Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        with self._step("migrate"):
            call_command("migrate", interactive=False, verbosity=0)
        county = Division.objects.filter(code=code).first()
        existing = Household.objects.filter(village__code__startswith=code[:6]).count()
        if county is not None and existing:
            self.stdout.write(
                f"  the demo county {county.name} ({code}) is already built "
                f"({existing:,} households): reusing it"
            )
            year = Snapshot.objects.filter(
                household__village__code__startswith=county.prefix
            ).aggregate(year=Max("year"))["year"]
        else:
            bar, progress = progress_bar("seed")
            try:
                with self._step("seed"):
                    report = county_seed(
                        households=households,
                        seed=seed,
                        year=year,
                        county_code=code,
                        progress=progress,
                    )
            finally:
                bar.close()
            for line in report_lines(report):
                self.stdout.write(f"  {line}")
            year = report.years[-1]
        with self._step("demo logins"):
            logins = demo_users_create(county_code=code)
        admin = User.objects.get(username=f"{DEMO_USER_PREFIX}county_admin")
        with self._step("standards, intervention catalogue, survey forms"):
            standard_install_builtins()
            intervention_install_catalogue()
            forms_install_shipped()
        for standard in STANDARDS:
            if IdentificationRun.objects.filter(
                area_id=code, year=year, standard__name=standard
            ).exists():
                self.stdout.write(f"  identification {standard} {year}: done before")
                continue
            bar, steps = _steps_bar(f"identify {standard}", 4)
            try:
                with self._step(f"identification {standard} {year}"):
                    run = identification_run(
                        admin,
                        area_code=code,
                        year=year,
                        standard_name=standard,
                        progress=steps,
                    )
            finally:
                bar.close()
            self.stdout.write(f"    {run.households:,} households, {run.poor:,} poor")
        if SupportPlan.objects.filter(
            year=year, household__village__code__startswith=code[:6]
        ).exists():
            self.stdout.write(f"  support plans {year}: done before")
        else:
            bar = tqdm(desc="plans", unit="plan", file=sys.stderr)

            def moved(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                with self._step(f"support plans {year}"):
                    made = plan_propose_all(
                        admin, area_code=code, year=year, progress=moved
                    )
            finally:
                bar.close()
            self.stdout.write(f"    {made:,} plans proposed")
        county = Division.objects.get(code=code)
        if training_already_built(county):
            self.stdout.write("  training: done before")
        else:
            with self._step("training (curriculum, cohorts, progress)"):
                built = training_demo_build(
                    township=demo_township(county),
                    admin=admin,
                    trainer=User.objects.get(username=f"{DEMO_USER_PREFIX}trainer"),
                    household_user=User.objects.get(
                        username=f"{DEMO_USER_PREFIX}household"
                    ),
                )
            self.stdout.write(
                f"    {built.plans_approved:,} plans approved, {built.enrolments:,} "
                f"enrolments, {built.cohorts} cohorts, {built.sessions} sessions, "
                f"{built.certificates:,} certificates"
            )
        if market_already_built(county):
            self.stdout.write("  market: done before")
        else:
            with self._step("market (sellers, certified products, months of orders)"):
                market = market_demo_build(county=county, admin=admin, seed=seed)
            self.stdout.write(
                f"    {market.sellers} sellers, {market.products} products, "
                f"{market.orders:,} orders ({market.settled:,} settled, "
                f"{market.public_orders} for public buyers), "
                f"{market.certified} certified products, ¥{market.income_total:,.2f} "
                f"reached {market.households_with_income} poor households"
            )
        self.stdout.write(f"  ready in {time.perf_counter() - started:.1f}s")
        return logins

    @staticmethod
    def _table(logins: list[DemoLogin]) -> str:
        header = ("username", "password", "role", "scope")
        rows = [header] + [(x.username, x.password, x.role, x.scope) for x in logins]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = []
        for index, row in enumerate(rows):
            cells = [row[i].ljust(widths[i]) for i in range(3)]
            lines.append("  ".join([*cells, row[3]]))
            if index == 0:
                lines.append("  ".join(["-" * w for w in widths] + ["-----"]))
        return "\n".join(lines)
