from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from propoor.core.errors import ApplicationError
from propoor.households.identification import identification_run

_STEPS = ["read", "compute", "write", "done"]


class Command(BaseCommand):
    help = "Identify the poor households of an area with a standard (a recorded run)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--area", required=True, help="12-digit division code")
        parser.add_argument("--standard", default="cn-national")
        parser.add_argument("--version", type=int, default=None, dest="std_version")
        parser.add_argument("--year", type=int, default=None)
        parser.add_argument(
            "--only-changed",
            action="store_true",
            help="write results only for households whose data changed",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        year = options["year"] or timezone.localdate().year - 1
        bar = tqdm(total=len(_STEPS), desc="identify", unit="step", file=sys.stderr)

        def progress(step: str) -> None:
            bar.set_postfix_str(step)
            bar.update(1)

        try:
            run = identification_run(
                None,
                area_code=options["area"],
                year=year,
                standard_name=options["standard"],
                standard_version=options["std_version"],
                only_changed=options["only_changed"],
                progress=progress,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        finally:
            bar.close()
        self.stdout.write(
            f"run {run.pk}: {run.standard.name} v{run.standard.version} over "
            f"{run.area.name} ({run.area_id}) for {run.year}: {run.households} "
            f"households, {run.poor} poor, {run.computed} results written, "
            f"{run.unchanged} unchanged"
        )
