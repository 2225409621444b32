"""The staff pages: status codes, permissions, forms that refuse bad input, the QR code.

The county is ``build_world`` of the selector tests (see its docstring).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from propoor.households.tests.factories import VILLAGE_A1, VILLAGE_A2, VILLAGE_B1
from propoor.training import services
from propoor.training.models import Attendance, Cohort, Enrolment, TrainingSession
from propoor.training.tests.test_staff_selectors import World, build_world

TRAINER = reverse("training:trainer")
COVERAGE = reverse("training:coverage")
OUTCOMES = reverse("training:outcomes")


@pytest.fixture
def world(db, tmp_path: Path) -> World:  # type: ignore[no-untyped-def]
    return build_world(tmp_path / "curriculum")


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _cohort_post(world: World, **changes: str) -> dict[str, str]:
    today = timezone.localdate()
    data = {
        "action": "cohort",
        "name": "一村秋季班",
        "course": str(world.course.pk),
        "area": VILLAGE_A1,
        "venue": "一村村委会",
        "trainer": str(world.trainer.pk),
        "capacity": "20",
        "starts_on": today.isoformat(),
        "ends_on": today.replace(day=1).replace(year=today.year + 1).isoformat(),
    }
    data.update(changes)
    return data


def _session_post(cohort: Cohort, **changes: str) -> dict[str, str]:
    prefix = f"session-{cohort.pk}"
    data = {
        "action": "session",
        "cohort": str(cohort.pk),
        f"{prefix}-day": timezone.localdate().isoformat(),
        f"{prefix}-starts": "14:00",
        f"{prefix}-ends": "16:00",
        f"{prefix}-topic": "直播带货",
    }
    data.update({f"{prefix}-{k}": v for k, v in changes.items()})
    return data


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


# --- who may see the pages ------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(world: World) -> None:
    response = Client().get(TRAINER)

    assert response.status_code == 302
    assert reverse("web:login") in response["Location"]


@pytest.mark.parametrize(
    "url",
    [
        lambda w: TRAINER,
        lambda w: reverse("training:cohort", args=[w.c1.pk]),
        lambda w: reverse("training:session", args=[w.s1.pk]),
        lambda w: COVERAGE,
        lambda w: OUTCOMES,
    ],
    ids=["trainer", "cohort", "session", "coverage", "outcomes"],
)
def test_a_household_login_is_refused_every_staff_page(world: World, url) -> None:  # type: ignore[no-untyped-def]
    response = _client(world.household_user).get(url(world))

    assert response.status_code == 403


@pytest.mark.parametrize("who", ["admin", "trainer", "cadre_a1"])
def test_staff_see_every_page_of_their_cohort(world: World, who: str) -> None:
    client = _client(getattr(world, who))
    for url in (
        TRAINER,
        reverse("training:cohort", args=[world.c1.pk]),
        reverse("training:session", args=[world.s1.pk]),
        COVERAGE,
        OUTCOMES,
    ):
        assert client.get(url).status_code == 200, url


def test_a_cohort_outside_the_scope_is_not_found(world: World) -> None:
    client = _client(world.cadre_b1)

    assert client.get(reverse("training:cohort", args=[world.c1.pk])).status_code == 404
    assert (
        client.get(reverse("training:session", args=[world.s1.pk])).status_code == 404
    )
    assert client.get(COVERAGE + f"?area={VILLAGE_A1}").status_code == 404
    assert client.get(OUTCOMES + f"?area={VILLAGE_A1}").status_code == 404


# --- the dashboard --------------------------------------------------------------------


def test_the_dashboard_shows_the_trainers_cohort_cards(world: World) -> None:
    response = _client(world.trainer).get(TRAINER)

    page = _text(response)
    assert f'data-cohort="{world.c1.pk}"' in page
    assert f'data-cohort="{world.c2.pk}"' not in page
    assert "一村电商班" in page
    assert "75.0%" in page  # attendance
    assert "50.0%" in page  # completion
    assert 'id="new-cohort"' in page
    assert f'name="session-{world.c1.pk}-day"' in page


def test_a_cadre_sees_cards_but_no_forms(world: World) -> None:
    page = _text(_client(world.cadre_a1).get(TRAINER))

    assert f'data-cohort="{world.c1.pk}"' in page
    assert 'id="new-cohort"' not in page
    assert f'name="session-{world.c1.pk}-day"' not in page


def test_a_trainer_creates_a_cohort(world: World) -> None:
    before = Cohort.objects.count()

    response = _client(world.trainer).post(TRAINER, _cohort_post(world))

    assert response.status_code == 302
    cohort = Cohort.objects.get(name="一村秋季班")
    assert response["Location"] == f"{TRAINER}#cohort-{cohort.pk}"
    assert (cohort.area_id, cohort.trainer, cohort.capacity) == (
        VILLAGE_A1,
        world.trainer,
        20,
    )
    assert Cohort.objects.count() == before + 1


def test_a_cohort_that_ends_before_it_starts_is_refused(world: World) -> None:
    today = timezone.localdate()
    before = Cohort.objects.count()

    response = _client(world.trainer).post(
        TRAINER,
        _cohort_post(
            world,
            starts_on=today.isoformat(),
            ends_on=today.replace(year=today.year - 1).isoformat(),
        ),
    )

    assert response.status_code == 422
    assert "The cohort ends before it starts." in _text(response)
    assert 'id="id_ends_on-errors"' in _text(response)
    assert Cohort.objects.count() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"capacity": "lots"}, "capacity"),
        ({"capacity": "0"}, "capacity"),
        ({"name": ""}, "name"),
        ({"starts_on": "2026-02-30"}, "starts_on"),
        ({"area": VILLAGE_B1}, "area"),  # outside the trainer's scope
        ({"trainer": "999999"}, "trainer"),
    ],
)
def test_bad_cohort_input_is_400_and_creates_nothing(
    world: World, changes: dict[str, str], field: str
) -> None:
    before = Cohort.objects.count()

    response = _client(world.trainer).post(TRAINER, _cohort_post(world, **changes))

    assert response.status_code == 400
    assert f'id="id_{field}-errors"' in _text(response)
    assert 'data-errors="cohort"' in _text(response)
    assert Cohort.objects.count() == before


def test_a_cadre_may_not_create_a_cohort(world: World) -> None:
    before = Cohort.objects.count()

    response = _client(world.cadre_a1).post(TRAINER, _cohort_post(world))

    assert response.status_code == 403
    assert Cohort.objects.count() == before


def test_an_unknown_action_is_400(world: World) -> None:
    response = _client(world.trainer).post(TRAINER, {"action": "explode"})

    assert response.status_code == 400


def test_a_trainer_adds_a_session(world: World) -> None:
    before = TrainingSession.objects.count()

    response = _client(world.trainer).post(TRAINER, _session_post(world.c1))

    assert response.status_code == 302
    session = TrainingSession.objects.get(topic="直播带货")
    assert response["Location"] == reverse("training:session", args=[session.pk])
    local = timezone.localtime(session.starts_at)
    assert (local.date(), local.hour, local.minute) == (timezone.localdate(), 14, 0)
    assert session.ends_at - session.starts_at == timezone.timedelta(hours=2)
    assert TrainingSession.objects.count() == before + 1


def test_a_session_that_ends_before_it_starts_is_refused(world: World) -> None:
    before = TrainingSession.objects.count()

    response = _client(world.trainer).post(
        TRAINER, _session_post(world.c1, starts="16:00", ends="15:00")
    )

    assert response.status_code == 422
    page = _text(response)
    assert "The session must end after it starts." in page
    assert f'id="id_session-{world.c1.pk}-ends-errors"' in page
    assert TrainingSession.objects.count() == before


def test_bad_session_input_is_400(world: World) -> None:
    before = TrainingSession.objects.count()

    response = _client(world.trainer).post(
        TRAINER, _session_post(world.c1, starts="late")
    )

    assert response.status_code == 400
    assert f'id="id_session-{world.c1.pk}-starts-errors"' in _text(response)
    assert TrainingSession.objects.count() == before


def test_a_session_for_a_cohort_one_does_not_see_is_404(world: World) -> None:
    before = TrainingSession.objects.count()

    assert (
        _client(world.other_trainer).post(TRAINER, _session_post(world.c1)).status_code
        == 404
    )
    assert (
        _client(world.trainer)
        .post(TRAINER, {**_session_post(world.c1), "cohort": "x"})
        .status_code
        == 404
    )
    assert TrainingSession.objects.count() == before


def test_a_cadre_may_not_add_a_session(world: World) -> None:
    response = _client(world.cadre_a1).post(TRAINER, _session_post(world.c1))

    assert response.status_code == 403


# --- a cohort -------------------------------------------------------------------------


def test_the_cohort_page_shows_members_and_quiz_results(world: World) -> None:
    response = _client(world.trainer).get(
        reverse("training:cohort", args=[world.c1.pk])
    )

    page = _text(response)
    assert "王*明" in page
    assert "王小明" not in page  # names are masked
    assert world.e1.certificate.code in page
    assert "latest graded attempt" in page
    assert 'data-question="q2"' in page
    assert 'data-correct="1"' in page
    assert 'data-choice="a" data-picked="2"' in page
    assert "50.0%" in page
    assert f'<option value="{Enrolment.objects.get(household=world.h4).pk}"' in page


def test_a_household_of_the_area_joins_the_cohort(world: World) -> None:
    enrolment = Enrolment.objects.get(household=world.h4)
    url = reverse("training:cohort", args=[world.c1.pk])

    response = _client(world.trainer).post(url, {"enrolment": str(enrolment.pk)})

    assert response.status_code == 302
    assert response["Location"] == url
    enrolment.refresh_from_db()
    assert enrolment.cohort == world.c1


@pytest.mark.parametrize("value", ["", "abc", "999999"])
def test_adding_someone_not_on_the_list_is_400(world: World, value: str) -> None:
    url = reverse("training:cohort", args=[world.c1.pk])

    response = _client(world.trainer).post(url, {"enrolment": value})

    assert response.status_code == 400
    assert "Choose a household from the list." in _text(response)
    assert Enrolment.objects.filter(cohort=world.c1).count() == 2


def test_adding_to_a_full_cohort_is_409(world: World) -> None:
    small = services.cohort_create(
        world.admin,
        course=world.course,
        area=world.c1.area,
        name="小班",
        venue="一村服务站",
        trainer=world.trainer,
        capacity=1,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate(),
    )
    services.cohort_add(world.admin, small, world.e2)
    enrolment = Enrolment.objects.get(household=world.h4)
    url = reverse("training:cohort", args=[small.pk])

    response = _client(world.trainer).post(url, {"enrolment": str(enrolment.pk)})

    assert response.status_code == 409
    assert "The cohort is full." in _text(response)
    enrolment.refresh_from_db()
    assert enrolment.cohort is None


def test_a_cadre_may_not_add_members(world: World) -> None:
    enrolment = Enrolment.objects.get(household=world.h4)
    url = reverse("training:cohort", args=[world.c1.pk])

    response = _client(world.cadre_a1).post(url, {"enrolment": str(enrolment.pk)})

    assert response.status_code == 403
    enrolment.refresh_from_db()
    assert enrolment.cohort is None


# --- a session ------------------------------------------------------------------------


def test_the_session_page_has_a_qr_code_of_the_checkin_address(world: World) -> None:
    response = _client(world.trainer).get(
        reverse("training:session", args=[world.s1.pk])
    )

    page = _text(response)
    checkin = "http://testserver" + reverse(
        "training:checkin", args=[world.s1.checkin_token]
    )
    assert checkin in page
    assert '<svg viewBox="0 0 ' in page
    assert 'class="qr"' in page
    assert "<title>Check-in QR code</title>" in page
    # the roll: both present, the QR check-in cannot be unticked
    assert f'value="{world.e2.pk}" checked disabled' in page
    assert f'value="{world.e1.pk}" checked>' in page


def test_the_qr_code_encodes_the_checkin_address(world: World) -> None:
    import segno

    from propoor.training.views.staff import checkin_qr

    url = "https://propoor.example/training/checkin/abc/"
    expected = segno.make(url, error="m").svg_inline(
        scale=1, border=4, omitsize=True, light="#fff", lineclass="qr-line"
    )
    path = expected.split(' d="', 1)[1].split('"', 1)[0]

    assert path in checkin_qr(url)


def test_the_roll_call_marks_and_unmarks(world: World) -> None:
    url = reverse("training:session", args=[world.s2.pk])
    client = _client(world.trainer)

    response = client.post(url, {"present": [str(world.e2.pk)]}, follow=True)

    assert response.redirect_chain == [(url, 302)]
    assert "1 marked present, 1 added, 1 removed" in _text(response)
    assert set(
        Attendance.objects.filter(session=world.s2).values_list(
            "enrolment_id", "method"
        )
    ) == {(world.e2.pk, "roll_call")}


@pytest.mark.parametrize("value", ["abc", "-1"])
def test_a_roll_call_not_understood_is_400(world: World, value: str) -> None:
    url = reverse("training:session", args=[world.s2.pk])

    response = _client(world.trainer).post(url, {"present": [value]})

    assert response.status_code == 400
    assert "The roll call was not understood." in _text(response)
    assert Attendance.objects.filter(session=world.s2).count() == 1


def test_a_roll_call_naming_a_stranger_is_422(world: World) -> None:
    url = reverse("training:session", args=[world.s2.pk])

    response = _client(world.trainer).post(
        url, {"present": [str(world.e1.pk), str(world.e5.pk)]}
    )

    assert response.status_code == 422
    assert "Some of those marked present are not in the cohort." in _text(response)
    assert Attendance.objects.filter(session=world.s2).count() == 1


def test_a_cadre_sees_the_roll_but_may_not_call_it(world: World) -> None:
    url = reverse("training:session", args=[world.s1.pk])
    client = _client(world.cadre_a1)

    assert 'name="present"' not in _text(client.get(url))
    assert client.post(url, {"present": []}).status_code == 403
    assert Attendance.objects.filter(session=world.s1).count() == 2


# --- coverage and outcomes ------------------------------------------------------------


def test_the_coverage_page(world: World) -> None:
    response = _client(world.admin).get(COVERAGE)

    page = _text(response)
    assert f'data-village="{VILLAGE_A1}"' in page
    assert f'data-village="{VILLAGE_B1}"' in page
    assert '<span class="bar-value" data-share>33.3%</span>' in page
    assert '<span class="stat-value" data-stat="share">20.0%</span>' in page
    assert 'id="dashboard-charts"' in page
    assert "data-needed-households" in page
    assert f'data-household="{world.h3.pk}" data-course=""' in page
    assert f'data-household="{world.h6.pk}"' in page


def test_the_still_needed_list_narrows_to_a_village(world: World) -> None:
    page = _text(_client(world.admin).get(COVERAGE + f"?area={VILLAGE_A2}"))

    assert f'data-household="{world.h5.pk}"' in page
    assert f'data-household="{world.h3.pk}"' not in page
    # the table by village still shows the whole scope
    assert f'data-village="{VILLAGE_A1}"' in page


def test_an_unknown_area_is_404(world: World) -> None:
    assert _client(world.admin).get(COVERAGE + "?area=nowhere").status_code == 404


def test_the_outcomes_page(world: World) -> None:
    response = _client(world.admin).get(OUTCOMES)

    page = _text(response)
    assert "market income is what the market's ledger attributed" in page.lower()
    assert "data-market-before>¥0.00" in page
    assert f'data-household="{world.h1.pk}"' in page
    assert "¥1,950.00" in page
    assert "¥3,700.00" in page
    assert "+¥1,750.00" in page
    assert "¥3,000.00" in page


def test_the_outcomes_page_of_a_village_without_any(world: World) -> None:
    page = _text(_client(world.admin).get(OUTCOMES + f"?area={VILLAGE_B1}"))

    assert "No household here has completed a course yet." in page


def test_long_lists_are_paged(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from propoor.training.views import staff as views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    client = _client(world.admin)

    first = _text(client.get(COVERAGE))
    last = _text(client.get(COVERAGE + "?page=3"))

    assert first.count("<tr data-household=") == 2
    assert '<a href="?page=2#still-needed" rel="next">' in first
    assert last.count("<tr data-household=") == 1
    assert f'data-household="{world.h6.pk}"' in last
    assert "3 / 3" in last
