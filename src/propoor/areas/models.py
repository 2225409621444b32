from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

# Significant digits of a 12-digit statistical division code at each level:
# 53 | 01 | 02 | 001 | 001  → province, prefecture, county, township, village.
LEVEL_DIGITS = {
    "province": 2,
    "prefecture": 4,
    "county": 6,
    "township": 9,
    "village": 12,
}


class Level(models.TextChoices):
    PROVINCE = "province", _("Province")
    PREFECTURE = "prefecture", _("Prefecture")
    COUNTY = "county", _("County")
    TOWNSHIP = "township", _("Township")
    VILLAGE = "village", _("Village")


class Division(models.Model):
    """A node of the division tree, keyed by its 12-digit statistical code."""

    code = models.CharField(max_length=12, primary_key=True)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100, blank=True)
    level = models.CharField(max_length=12, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # The code's significant prefix ("530102001"): the scope test is startswith(prefix).
    prefix = models.CharField(max_length=12, db_index=True)
    # Western provinces exit at 3% incidence instead of 2%.
    western = models.BooleanField(default=False)

    class Meta:
        ordering = ("code",)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Terrain(models.TextChoices):
    PLAIN = "plain", _("Plain")
    HILL = "hill", _("Hill")
    MOUNTAIN = "mountain", _("Mountain")


class Coverage(models.TextChoices):
    NONE = "none", _("None")
    PARTIAL = "partial", _("Partial")
    FULL = "full", _("Full")


class VillageProfile(models.Model):
    """What a village is like: geography, infrastructure and resources."""

    village = models.OneToOneField(
        Division, primary_key=True, on_delete=models.CASCADE, related_name="profile"
    )
    terrain = models.CharField(max_length=10, choices=Terrain.choices)
    km_to_county_seat = models.DecimalField(max_digits=6, decimal_places=1)
    km_to_paved_road = models.DecimalField(max_digits=6, decimal_places=1)
    broadband = models.CharField(max_length=8, choices=Coverage.choices)
    mobile_4g = models.CharField(max_length=8, choices=Coverage.choices)
    has_service_station = models.BooleanField(default=False)
    has_logistics_point = models.BooleanField(default=False)
    has_cold_storage = models.BooleanField(default=False)
    population = models.PositiveIntegerField(default=0)
    # Resources for e-commerce and rural tourism.
    landscape = models.BooleanField(default=False)
    folk_culture = models.BooleanField(default=False)
    orchards = models.BooleanField(default=False)
    vegetable_gardens = models.BooleanField(default=False)
    fish_ponds = models.BooleanField(default=False)
    specialty_products = models.CharField(max_length=200, blank=True)
    latitude = models.DecimalField(
        max_digits=8, decimal_places=5, null=True, blank=True
    )
    longitude = models.DecimalField(
        max_digits=8, decimal_places=5, null=True, blank=True
    )

    def __str__(self) -> str:
        return f"profile of {self.village_id}"
