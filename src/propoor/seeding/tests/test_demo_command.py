"""`propoor demo --no-serve`: builds once, reuses after, prints the logins."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from propoor.accounts.models import Role, User
from propoor.households.models import Household, IdentificationRun, SupportPlan
from propoor.market.models import Acceptance, Order, PublicBuyer
from propoor.market.services.buyers import public_buyer_progress
from propoor.seeding.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def _demo() -> str:
    out = io.StringIO()
    call_command("demo", households=300, seed=7, no_serve=True, stdout=out)
    return out.getvalue()


def test_the_demo_builds_the_county_identifies_plans_and_prints_logins() -> None:
    out = _demo()

    assert Household.objects.count() == 300
    assert sorted(
        IdentificationRun.objects.values_list("standard__name", flat=True)
    ) == ["cn-national", "global-mpi"]
    poor = IdentificationRun.objects.get(standard__name="cn-national").poor
    assert poor > 0
    assert SupportPlan.objects.count() == poor
    assert User.objects.filter(username__startswith="demo_").count() == 11
    assert "ProPoor demo: http://127.0.0.1:8000" in out
    for role in Role.values:
        assert f"demo_{role}" in out
    assert out.count(DEMO_PASSWORD) == 11
    assert "  seed: " in out
    assert "ready in " in out
    # the public bodies bought certified goods against their quotas, and what they
    # accepted (invoice and inspection report) is what of theirs could settle
    year = timezone.localdate().year
    bodies = PublicBuyer.objects.filter(year=year)
    assert bodies.count() == 2
    public = Order.objects.filter(public_buyer__isnull=False)
    assert public.exists()
    assert all(public_buyer_progress(body).purchased > 0 for body in bodies)
    assert Acceptance.objects.exists()
    assert not public.filter(settled_at__isnull=False, acceptance__isnull=True).exists()
    assert f"{public.count()} for public buyers" in out


def test_a_second_demo_reuses_the_county_and_adds_nothing() -> None:
    _demo()
    before = (
        Household.objects.count(),
        IdentificationRun.objects.count(),
        SupportPlan.objects.count(),
        User.objects.count(),
    )

    out = _demo()

    assert "is already built (300 households): reusing it" in out
    assert (
        Household.objects.count(),
        IdentificationRun.objects.count(),
        SupportPlan.objects.count(),
        User.objects.count(),
    ) == before


def test_seed_reset_after_the_demo_replaces_the_whole_registry() -> None:
    _demo()

    call_command(
        "seed",
        households=300,
        seed=7,
        reset=True,
        no_progress=True,
        stdout=io.StringIO(),
    )

    assert Household.objects.count() == 300
    assert IdentificationRun.objects.count() == 0
    assert SupportPlan.objects.count() == 0
    assert User.objects.filter(username__startswith="demo_").count() == 0
