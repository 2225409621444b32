from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "propoor.core"
    label = "core"
    verbose_name = "ProPoor core"
