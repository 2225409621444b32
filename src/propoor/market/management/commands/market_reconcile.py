"""`propoor market_reconcile`: ask the gateways about payments whose notification never
came, apply those they say are paid (exactly once, the notifications' path), and send
pending refunds again. Run it every few minutes (cron, a systemd timer)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandParser

from propoor.market.services.payments import payment_reconcile


class Command(BaseCommand):
    help = "Query the gateways for unconfirmed payments and apply the paid ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--minutes",
            type=int,
            default=None,
            help="only payments older than this (PROPOOR_PAY_RECONCILE_MINUTES)",
        )

    def handle(self, *args: object, **options: object) -> None:
        minutes = options["minutes"]
        older_than = None if minutes is None else timedelta(minutes=int(str(minutes)))
        counts = payment_reconcile(older_than=older_than)
        for outcome, count in sorted(counts.items()):
            self.stdout.write(f"{outcome}: {count}")
