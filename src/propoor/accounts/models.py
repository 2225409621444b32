from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COUNTY_ADMIN = "county_admin", _("County administrator")
    TOWNSHIP_OFFICER = "township_officer", _("Township officer")
    VILLAGE_CADRE = "village_cadre", _("Village cadre")
    HOUSEHOLD = "household", _("Household")
    COOPERATIVE = "cooperative", _("Cooperative")
    STATION_OPERATOR = "station_operator", _("Service-station operator")
    BUYER = "buyer", _("Buyer")
    TRAINER = "trainer", _("Trainer")
    LENDER = "lender", _("Lender")
    INSURER = "insurer", _("Insurer")
    AUDITOR = "auditor", _("Auditor")


# Roles that may read the household registry of their scope, and those that may
# write it.
REGISTRY_READERS = frozenset(
    {Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER, Role.VILLAGE_CADRE, Role.AUDITOR}
)
REGISTRY_WRITERS = frozenset(
    {Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER, Role.VILLAGE_CADRE}
)


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.BUYER)
    # Areas this user may see: an object is visible when its division code starts with
    # one of these divisions' prefixes.
    scopes = models.ManyToManyField("areas.Division", blank=True, related_name="users")
    household = models.ForeignKey(
        "households.Household",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="accounts",
        help_text="For a household's own login.",
    )
    # HTTP Digest (OpenRosa clients such as ODK Collect) cannot check Django's salted
    # hashes: HA1 = MD5(username:realm:password) is derived when the password is set.
    digest_ha1 = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return self.username


class ApiToken(models.Model):
    """A bearer token for API clients; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} / {self.name}"
