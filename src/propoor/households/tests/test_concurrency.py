"""Concurrent registrations, on PostgreSQL with real threads."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from propoor.core.errors import DuplicatePerson
from propoor.households.models import Household, Member
from propoor.households.services import MemberInput, household_register
from propoor.households.tests.factories import (
    VILLAGE_A1,
    make_area_tree,
    make_id_number,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL's row locks"
    ),
]

THREADS = 6


def _race(work) -> list[object]:
    """Run ``work(i)`` in THREADS threads released together; collect the outcomes."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[object] = [None] * THREADS

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = work(i)
        except Exception as exc:  # the outcome under test
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_registrations_in_one_village_get_distinct_numbers() -> None:
    make_area_tree()
    ids = [make_id_number() for _ in range(THREADS)]

    outcomes = _race(
        lambda i: (
            household_register(
                actor=None,
                village_code=VILLAGE_A1,
                head_name=f"户主{i}",
                members=[
                    MemberInput(name=f"户主{i}", id_number=ids[i], relation="head")
                ],
            ).number
        )
    )

    assert sorted(outcomes) == [f"{VILLAGE_A1}-{n:04d}" for n in range(1, THREADS + 1)]
    assert Member.objects.count() == THREADS


def test_the_same_person_registered_concurrently_is_registered_once() -> None:
    make_area_tree()
    person = make_id_number()

    outcomes = _race(
        lambda i: household_register(
            actor=None,
            village_code=VILLAGE_A1,
            head_name=f"户主{i}",
            members=[MemberInput(name="同一人", id_number=person, relation="head")],
        )
    )

    assert sum(isinstance(o, Household) for o in outcomes) == 1
    assert sum(isinstance(o, DuplicatePerson) for o in outcomes) == THREADS - 1
    assert Member.objects.count() == 1
    assert Household.objects.count() == 1
