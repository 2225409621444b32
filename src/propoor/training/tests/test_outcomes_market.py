"""Training outcomes next to what the market's ledger attributed to the household."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from propoor.households.tests.factories import COUNTY, make_user
from propoor.market.services.ledger import ledger_post
from propoor.training.models import Enrolment
from propoor.training.selectors.staff import outcomes
from propoor.training.tests.factories import finish_course

pytestmark = pytest.mark.django_db
CHINA = ZoneInfo("Asia/Shanghai")


def income(household, amount: str, at: datetime) -> None:  # type: ignore[no-untyped-def]
    value = Decimal(amount)
    ledger_post(
        "test_income",
        [
            ("seller:1:payable", value),
            (
                f"household:{household.pk}:income:operating",
                -value,
                household,
                "operating",
            ),
        ],
        at=at,
    )


def test_market_income_before_and_after_the_first_completion(
    household_enrolment,
) -> None:
    finished = datetime(2026, 6, 15, 10, 0, tzinfo=CHINA)
    Enrolment.objects.filter(pk=household_enrolment.pk).update(
        invited_at=finished - timedelta(days=30)
    )
    household_enrolment.refresh_from_db()
    finish_course(household_enrolment, at=finished)
    household = household_enrolment.household
    income(household, "120.50", finished - timedelta(days=200))  # outside the window
    income(household, "80.00", finished - timedelta(days=10))
    income(household, "300.00", finished + timedelta(days=20))
    income(household, "-45.25", finished + timedelta(days=40))  # a refund taken back
    income(household, "999.00", finished + timedelta(days=181))  # outside the window
    [row] = outcomes(make_user("county_admin", [COUNTY]))
    assert (row.market_before, row.market_after, row.market_change) == (
        Decimal("80.00"),
        Decimal("254.75"),
        Decimal("174.75"),
    )
    assert row.first_completed == timezone.localdate(finished)
