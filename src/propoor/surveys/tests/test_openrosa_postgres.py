"""Idempotent submissions under real concurrency (PostgreSQL, real threads)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
from defusedxml.ElementTree import fromstring
from django.db import connection

from propoor.accounts.models import Role
from propoor.households.tests.factories import (
    TEST_PASSWORD,
    VILLAGE_A1,
    make_area_tree,
    make_user,
)
from propoor.surveys.models import Attachment, ChangeRequest, Submission
from propoor.surveys.tests.factories import household_submission, shipped_versions
from propoor.surveys.tests.odk import JPEG, OdkClient

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrency is proven on PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]

THREADS = 8


def test_the_same_submission_from_8_threads_at_once_is_kept_once():
    # given a survey and 8 phones (threads) already past the Digest challenge
    make_area_tree()
    shipped_versions()
    make_user(Role.VILLAGE_CADRE, [VILLAGE_A1], username="cadre-a1")
    instance_id = f"uuid:{uuid.uuid4()}"
    xml = household_submission(instance_id=instance_id, village_code=VILLAGE_A1)
    start = threading.Barrier(THREADS)
    answers: list[tuple[int, str]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def phone() -> None:
        try:
            client = OdkClient("cadre-a1", TEST_PASSWORD)
            assert client.head("/openrosa/submission").status_code == 204
            start.wait(timeout=30)
            # when all of them post the same submission at the same moment
            response = client.submit(xml, [("house.jpg", "image/jpeg", JPEG)])
            nature = fromstring(response.content)[0].get("nature")
            with lock:
                answers.append((response.status_code, nature))
        except BaseException as exc:  # reported by the main thread
            with lock:
                failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=phone) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then every phone is told of success, and one of everything is kept
    assert failures == []
    assert Counter(answers) == {
        (201, "submit_success"): 1,
        (202, "submit_success"): THREADS - 1,
    }
    assert list(Submission.objects.values_list("instance_id", flat=True)) == [
        instance_id
    ]
    assert Submission.objects.get().status == "pending"
    assert ChangeRequest.objects.count() == 1
    assert Attachment.objects.count() == 1
