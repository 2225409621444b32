from __future__ import annotations

from django.apps import AppConfig


class AreasConfig(AppConfig):
    name = "propoor.areas"
    label = "areas"
