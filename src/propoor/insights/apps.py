from __future__ import annotations

from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "propoor.insights"
    label = "insights"
    verbose_name = "ProPoor insights"
