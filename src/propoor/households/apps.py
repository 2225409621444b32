from __future__ import annotations

from django.apps import AppConfig


class HouseholdsConfig(AppConfig):
    name = "propoor.households"
    label = "households"
