"""`propoor market_jobs`: the market's periodic work, in order; run it every few minutes
(cron or a systemd timer). Each step is idempotent and safe to run concurrently."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from propoor.market.services import orders_complete_due, orders_expire
from propoor.market.services.certification import certifications_finalise
from propoor.market.services.payments import payment_reconcile
from propoor.market.services.settlement import orders_settle


class Command(BaseCommand):
    help = (
        "Expire unpaid orders, ask the gateways about lost notifications, complete "
        "orders past the return window, settle them, finalise certifications."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        steps = (
            ("reconciled payments", lambda: payment_reconcile()),
            ("expired unpaid orders", lambda: orders_expire()),
            ("completed orders (return window passed)", lambda: orders_complete_due()),
            ("settled orders", lambda: orders_settle()),
            ("certifications out of notice", lambda: certifications_finalise()),
        )
        for label, step in steps:
            result = step()
            if isinstance(result, dict):
                detail = ", ".join(f"{k} {v}" for k, v in sorted(result.items()))
                self.stdout.write(f"{label}: {detail or 'none'}")
            else:
                self.stdout.write(f"{label}: {result}")
