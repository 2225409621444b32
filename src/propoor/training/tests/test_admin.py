from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from propoor.households.tests.factories import COUNTY, VILLAGE_A1, make_user
from propoor.training.models import Lesson

pytestmark = pytest.mark.django_db

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


@pytest.fixture
def admin_client(area_tree, settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    client = Client()
    client.force_login(make_user("county_admin", [COUNTY]))
    return client


def _upload(client: Client, lesson: Lesson, name: str, data: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        f"/admin/training/lesson/{lesson.pk}/change/",
        {"video": SimpleUploadedFile(name, data)},
    )


def test_a_county_administrator_uploads_a_lesson_video(
    admin_client, small_course
) -> None:
    lesson = Lesson.objects.get(slug="first")
    response = _upload(admin_client, lesson, "lesson.mp4", MP4)
    assert response.status_code == 302
    lesson.refresh_from_db()
    assert lesson.video.name.startswith("training/videos/lesson")
    assert lesson.title_zh == "第一课"  # the rest stays as the curriculum file says


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("lesson.avi", MP4, "Upload an MP4 or WebM video."),
        (
            "lesson.mp4",
            b"<html>not a video</html>",
            "The file is not a real MP4 or WebM video.",
        ),
    ],
)
def test_a_bad_video_is_refused_and_nothing_changes(
    admin_client, small_course, name, data, message
) -> None:
    lesson = Lesson.objects.get(slug="first")
    response = _upload(admin_client, lesson, name, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    lesson.refresh_from_db()
    assert not lesson.video


def test_others_cannot_touch_the_curriculum(small_course, area_tree) -> None:
    client = Client()
    client.force_login(make_user("village_cadre", [VILLAGE_A1]))
    lesson = Lesson.objects.get(slug="first")
    assert client.get(f"/admin/training/lesson/{lesson.pk}/change/").status_code in (
        302,
        403,
    )
    assert client.get("/admin/training/course/").status_code in (302, 403)
