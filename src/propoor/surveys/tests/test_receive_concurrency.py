"""The same submission sent concurrently, on PostgreSQL with real threads."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from propoor.accounts.models import Role
from propoor.households.tests.factories import VILLAGE_A1, make_area_tree, make_user
from propoor.surveys.models import ChangeRequest, Submission, SubmissionStatus
from propoor.surveys.services import submission_receive
from propoor.surveys.tests.factories import household_submission, shipped_versions

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL's concurrency"
    ),
]

THREADS = 6


def test_copies_sent_at_once_are_stored_once():
    # given one survey, and six clients' copies released together
    make_area_tree()
    shipped_versions()
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])
    xml = household_submission(instance_id="uuid:0c8e4a56-2a8f-4f0e-9d2e-5b7f7c1a9e11")
    barrier = threading.Barrier(THREADS)
    outcomes: list[object] = [None] * THREADS

    def send(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = submission_receive(user=cadre, xml=xml).duplicate
        except Exception as exc:  # the outcome under test
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then exactly one is new, the others duplicates; one row, one change request
    assert sorted(outcomes) == [False] + [True] * (THREADS - 1)
    assert Submission.objects.count() == 1
    assert Submission.objects.get().status == SubmissionStatus.PENDING
    assert ChangeRequest.objects.count() == 1
