"""On PostgreSQL, with real threads: the same offline attempt synced by eight threads at
once is applied once, and the course completes with one certificate."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections

from propoor.training import services
from propoor.training.models import Certificate, QuizAttempt, Statement
from propoor.training.tests.factories import RIGHT

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks need PostgreSQL (DATABASE_URL)",
    ),
]


def test_eight_threads_syncing_one_attempt_apply_it_once(
    household_enrolment, household_user
) -> None:
    for lesson in household_enrolment.course.lessons.all():
        services.lesson_complete(household_enrolment, lesson)
    item = {
        "type": "attempt",
        "course": "small-course",
        "attempt_id": str(uuid.uuid4()),
        "quiz_version": 1,
        "answers": RIGHT,
    }
    barrier = threading.Barrier(8)
    states: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            result = services.sync(household_user, [dict(item)])[0]
            with lock:
                states.append(result.state)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(states) == ["applied"] + ["duplicate"] * 7
    assert QuizAttempt.objects.count() == 1
    assert Certificate.objects.count() == 1
    assert Statement.objects.filter(verb__endswith="/passed").count() == 1
