from __future__ import annotations

from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "propoor.market"
    label = "market"
    verbose_name = "Market"

    def ready(self) -> None:
        from propoor.market.receivers import connect

        connect()  # the ledger records payments, refunds and settlements
