from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from propoor.households.tests.factories import (
    VILLAGE_A1,
    VILLAGE_B1,
    api_client,
    make_household,
    make_user,
)
from propoor.training.models import (
    Certificate,
    Cohort,
    Enrolment,
    LessonProgress,
    QuizAttempt,
)
from propoor.training.tests.factories import RIGHT, WRONG, finish_course
from propoor.training.tests.xapi_rules import check

pytestmark = pytest.mark.django_db


def post(client: Client, path: str, body: object):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/training/{path}",
        data=json.dumps(body),
        content_type="application/json",
    )


def attempt(answers, attempt_id=None, version=1, **extra):  # type: ignore[no-untyped-def]
    return {
        "type": "attempt",
        "course": "small-course",
        "attempt_id": str(attempt_id or uuid.uuid4()),
        "quiz_version": version,
        "answers": answers,
        "offline": True,
        **extra,
    }


def test_the_course_package_has_lessons_and_no_answers(
    small_course, household_user
) -> None:
    response = api_client(household_user).get(
        "/api/v1/training/courses/small-course", headers={"Accept-Language": "zh-hans"}
    )
    assert response.status_code == 200
    body = response.json()
    assert [lesson["slug"] for m in body["modules"] for lesson in m["lessons"]] == [
        "first",
        "second",
    ]
    assert body["quiz"]["version"] == 1
    assert body["quiz"]["questions"][2] == {
        "key": "q3",
        "kind": "truefalse",
        "points": 1,
        "text": "判断题",
        "choices": [{"key": "t", "text": "对"}, {"key": "f", "text": "错"}],
    }
    assert "correct" not in response.content.decode()
    assert body["offline_urls"][:3] == [
        "/training/courses/small-course/",
        "/training/courses/small-course/quiz/",
        "/api/v1/training/courses/small-course",
    ]
    assert "<h3>小标题</h3>" in body["modules"][0]["lessons"][0]["html"]
    assert (
        api_client(household_user).get("/api/v1/training/courses/nope").status_code
        == 404
    )


def test_an_offline_batch_synced_twice_is_applied_once(
    small_course, household_user
) -> None:
    client = api_client(household_user)
    finished = (timezone.now() - timedelta(minutes=2)).isoformat()
    batch = {
        "items": [
            {
                "type": "lesson",
                "course": "small-course",
                "lesson": "first",
                "completed_at": finished,
            },
            {
                "type": "lesson",
                "course": "small-course",
                "lesson": "second",
                "completed_at": finished,
            },
            attempt(RIGHT, finished_at=finished),
        ]
    }
    first = post(client, "sync", batch)
    second = post(client, "sync", batch)
    assert first.status_code == second.status_code == 200
    assert [r["state"] for r in first.json()["results"]] == [
        "applied",
        "applied",
        "applied",
    ]
    assert [r["state"] for r in second.json()["results"]] == [
        "duplicate",
        "duplicate",
        "duplicate",
    ]
    result = first.json()["results"][2]["extra"]
    assert (
        result["score"],
        result["max_score"],
        result["percent"],
        result["passed"],
    ) == (4, 4, "100.00", True)
    assert (
        LessonProgress.objects.count(),
        QuizAttempt.objects.count(),
        Certificate.objects.count(),
    ) == (2, 1, 1)
    assert QuizAttempt.objects.get().mode == "offline"
    me = client.get("/api/v1/training/me").json()
    assert [
        (e["course"], e["status"], e["lessons_done"], e["lessons_total"]) for e in me
    ] == [("small-course", "completed", 2, 2)]
    assert me[0]["certificate"] == Certificate.objects.get().code


def test_a_conflicting_sync_keeps_the_first_answers(
    small_course, household_user
) -> None:
    client = api_client(household_user)
    attempt_id = uuid.uuid4()
    post(client, "sync", {"items": [attempt(WRONG, attempt_id)]})
    response = post(
        client,
        "sync",
        {"items": [attempt(RIGHT, attempt_id), attempt(RIGHT, version=9)]},
    )
    results = response.json()["results"]
    assert [r["state"] for r in results] == ["conflict", "stale"]
    assert (
        results[0]["message"]
        == "This attempt was already synced with different answers; "
        "the first one is kept."
    )
    assert (
        results[1]["message"]
        == "The quiz changed after this device downloaded it; please take it again."
    )
    assert list(
        QuizAttempt.objects.order_by("received_at").values_list("status", "passed")
    ) == [
        ("graded", False),
        ("stale", False),
    ]


def test_a_rejected_item_does_not_stop_the_others(small_course, household_user) -> None:
    response = post(
        api_client(household_user),
        "sync",
        {
            "items": [
                {"type": "lesson", "course": "small-course", "lesson": "missing"},
                {"type": "lesson", "course": "no-course", "lesson": "first"},
                attempt({"q1": ["z"]}),
                {"type": "lesson", "course": "small-course", "lesson": "first"},
            ]
        },
    )
    assert [(r["state"], r["message"]) for r in response.json()["results"]] == [
        ("rejected", "Course small-course has no lesson 'missing'."),
        ("rejected", "There is no course 'no-course'."),
        ("rejected", "Question q1 has no choice 'z'."),
        ("applied", ""),
    ]
    assert QuizAttempt.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"items": [{"type": "video", "course": "small-course"}]},
        {
            "items": [
                {
                    "type": "attempt",
                    "course": "small-course",
                    "attempt_id": "x",
                    "quiz_version": 1,
                    "answers": {},
                }
            ]
        },
        {
            "items": [
                {
                    "type": "attempt",
                    "course": "small-course",
                    "attempt_id": str(uuid.uuid4()),
                    "quiz_version": 1,
                    "answers": {"q1": "b"},
                }
            ]
        },
    ],
)
def test_a_malformed_batch_is_a_422_and_changes_nothing(
    small_course, household_user, body
) -> None:
    response = post(api_client(household_user), "sync", body)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert Enrolment.objects.count() == 0


def test_a_cadre_cannot_take_a_quiz_for_credit(small_course, area_tree) -> None:
    cadre = make_user("village_cadre", [VILLAGE_A1])
    response = post(api_client(cadre), "sync", {"items": [attempt(RIGHT)]})
    assert response.json()["results"][0]["state"] == "rejected"
    assert (
        response.json()["results"][0]["message"]
        == "Only a household's own login can take a course for credit."
    )


def test_sync_needs_a_login_and_the_csrf_token_with_a_session(
    small_course, household_user
) -> None:
    assert post(Client(), "sync", {"items": []}).status_code == 401
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(household_user)
    assert post(browser, "sync", {"items": []}).status_code == 403


def test_verification_is_public_and_shows_only_the_masked_name(
    household_enrolment,
) -> None:
    finish_course(household_enrolment)
    code = Certificate.objects.get().code
    body = Client().get(f"/api/v1/training/certificates/verify/{code}").json()
    assert (body["status"], body["learner"], body["course_en"]) == (
        "valid",
        "王*明",
        "Small course",
    )
    assert "王小明" not in json.dumps(body, ensure_ascii=False)
    assert (
        Client()
        .get("/api/v1/training/certificates/verify/PP-1111-2222-3333")
        .json()["status"]
        == "unknown"
    )


def test_revocation_by_a_trainer_in_scope(household_enrolment, area_tree) -> None:
    finish_course(household_enrolment)
    code = Certificate.objects.get().code
    outside = make_user("trainer", [VILLAGE_B1])
    assert (
        post(
            api_client(outside), f"certificates/{code}/revoke", {"reason": "x"}
        ).status_code
        == 404
    )
    trainer = make_user("trainer", [VILLAGE_A1])
    assert (
        post(
            api_client(trainer), f"certificates/{code}/revoke", {"reason": ""}
        ).status_code
        == 422
    )
    response = post(
        api_client(trainer), f"certificates/{code}/revoke", {"reason": "冒名顶替"}
    )
    assert (response.status_code, response.json()["status"]) == (200, "revoked")
    assert (
        post(
            api_client(trainer), f"certificates/{code}/revoke", {"reason": "again"}
        ).status_code
        == 409
    )


def test_cohorts_sessions_roll_call_and_checkin(
    small_course, household_enrolment, household_user
) -> None:
    admin = make_user("county_admin", [VILLAGE_A1[:6] + "000000"])
    make_user("trainer", [VILLAGE_A1], username="li-trainer")
    created = post(
        api_client(admin),
        "cohorts",
        {
            "course": "small-course",
            "area": VILLAGE_A1,
            "name": "一期",
            "venue": "服务站",
            "trainer": "li-trainer",
            "capacity": 2,
            "starts_on": str(timezone.localdate()),
            "ends_on": str(timezone.localdate()),
        },
    )
    assert created.status_code == 201
    cohort = created.json()["id"]
    bad = post(
        api_client(admin),
        "cohorts",
        {
            "course": "small-course",
            "area": VILLAGE_A1,
            "name": "二期",
            "venue": "服务站",
            "trainer": "li-trainer",
            "capacity": 2,
            "starts_on": "2026-12-05",
            "ends_on": "2026-12-01",
        },
    )
    assert (bad.status_code, bad.json()["message"]) == (
        422,
        "The cohort ends before it starts.",
    )
    assert Cohort.objects.count() == 1
    trainer = make_user("trainer", [VILLAGE_A1])
    assert (
        post(
            api_client(trainer),
            f"cohorts/{cohort}/members",
            {"household": household_enrolment.household_id},
        ).status_code
        == 404
    )
    from propoor.accounts.models import User

    li = api_client(User.objects.get(username="li-trainer"))
    assert (
        post(
            li,
            f"cohorts/{cohort}/members",
            {"household": household_enrolment.household_id},
        ).json()["members"]
        == 1
    )
    start = timezone.now() - timedelta(minutes=5)
    session = post(
        li,
        f"cohorts/{cohort}/sessions",
        {
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "topic": "拍照",
        },
    )
    assert session.status_code == 201
    token = session.json()["checkin_url"].rstrip("/").rsplit("/", 1)[1]
    checked = post(api_client(household_user), f"checkin/{token}", {})
    assert checked.json() == {
        "session": session.json()["id"],
        "course": "small-course",
        "method": "qr",
        "created": True,
    }
    roll = post(
        li,
        f"sessions/{session.json()['id']}/roll-call",
        {"present": [household_enrolment.pk]},
    )
    assert roll.json() == {"present": 1, "added": 0, "removed": 0}
    assert (
        post(api_client(household_user), "checkin/not-a-token", {}).status_code == 404
    )


def test_enrol_from_plans_needs_an_organiser(small_course, household_user) -> None:
    assert post(api_client(household_user), "enrol-from-plans", {}).status_code == 403


def test_the_xapi_export_is_valid_json_lines_for_the_county(
    household_enrolment, area_tree
) -> None:
    finish_course(household_enrolment)
    admin = make_user("county_admin", [VILLAGE_A1[:6] + "000000"])
    response = api_client(admin).get("/api/v1/training/xapi/statements")
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    lines = [json.loads(line) for line in response.content.decode().splitlines()]
    assert len(lines) == 5  # registered, 2 lessons, passed, course completed
    assert all(check(s) == [] for s in lines)
    other = make_user("county_admin", [VILLAGE_B1])
    assert api_client(other).get("/api/v1/training/xapi/statements").content == b""
    cadre = make_user("village_cadre", [VILLAGE_A1])
    assert api_client(cadre).get("/api/v1/training/xapi/statements").status_code == 403
    make_household(village_code=VILLAGE_B1)
