from __future__ import annotations

from django.apps import AppConfig


class SeedingConfig(AppConfig):
    name = "propoor.seeding"
    label = "seeding"
    verbose_name = "Synthetic demo county"
