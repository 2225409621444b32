"""``manage.py market_settle``: the settlement job (run it daily, after
``orders_complete_due``); ``--snapshots YEAR`` also writes the households' market
income of YEAR into their identification snapshots."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.core.errors import ApplicationError
from propoor.market.services.settlement import (
    orders_settle,
    settlement_waiting,
    snapshot_ecommerce_sync,
)


class Command(BaseCommand):
    help = "Settle completed orders to sellers and households (idempotent)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--now", default=None, help="ISO date-time to settle as of (default: now)"
        )
        parser.add_argument(
            "--snapshots",
            type=int,
            default=None,
            metavar="YEAR",
            help="also sync market income of YEAR into the households' snapshots",
        )
        parser.add_argument(
            "--area", default="", help="division code prefix for --snapshots"
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        now = timezone.now()
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError as exc:
                raise CommandError(
                    _("--now: %(error)s") % {"error": exc}, returncode=2
                ) from exc
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        try:
            settled = orders_settle(now=now)
            waiting = settlement_waiting(now)
            self.stdout.write(
                f"settled {settled} orders; waiting: {waiting['return_window']} in the "
                f"return window, {waiting['acceptance']} for a public buyer's "
                f"acceptance, {waiting['payment_posting']} without a payment posting"
            )
            if options["snapshots"] is not None:
                report = snapshot_ecommerce_sync(
                    None, year=options["snapshots"], area_prefix=options["area"]
                )
                self.stdout.write(
                    f"snapshots {report.year}: {report.households} households with "
                    f"market income, {report.updated} updated, {report.unchanged} "
                    f"unchanged, {report.without_snapshot} without a snapshot, "
                    f"{len(report.failed)} refused"
                )
                for number, why in sorted(report.failed.items()):
                    self.stderr.write(f"  {number}: {why}")
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=2) from exc
