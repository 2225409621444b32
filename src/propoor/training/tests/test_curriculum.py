from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from propoor.core.errors import ValidationFailed
from propoor.training import body
from propoor.training.models import Course, Lesson, LessonProgress, Question, Quiz
from propoor.training.services import curriculum_install
from propoor.training.services.curriculum import CURRICULUM, IMAGES
from propoor.training.tests.factories import SMALL_COURSE, install_small_course

pytestmark = pytest.mark.django_db

SHIPPED = {
    "ecommerce-basics",
    "open-a-shop",
    "presenting-products",
    "online-marketing",
    "packing-shipping",
    "rural-tourism",
    "village-cases",
}


def test_a_course_file_installs_modules_lessons_and_quiz(tmp_path: Path) -> None:
    course = install_small_course(tmp_path)
    assert (course.title_zh, course.title_en, course.version) == (
        "小课程",
        "Small course",
        1,
    )
    assert list(course.lessons.values_list("order", "slug", "module__order")) == [
        (1, "first", 1),
        (2, "second", 1),
    ]
    quiz = course.quiz
    assert (quiz.version, quiz.pass_mark) == (1, 60)
    rows = [
        (q.key, q.kind, q.points, [(c.key, c.correct) for c in q.choices.all()])
        for q in quiz.questions.all()
    ]
    assert rows == [
        ("q1", "single", 1, [("a", False), ("b", True), ("c", False)]),
        ("q2", "multiple", 2, [("a", True), ("b", False), ("c", True)]),
        ("q3", "truefalse", 1, [("t", False), ("f", True)]),
    ]


def test_installing_again_changes_nothing(tmp_path: Path) -> None:
    install_small_course(tmp_path)
    again = curriculum_install(tmp_path)
    assert [(r.code, r.version, r.quiz_version, r.changed) for r in again] == [
        ("small-course", 1, 1, False)
    ]


def test_an_edit_raises_versions_and_keeps_progress(
    tmp_path: Path, household_enrolment
) -> None:
    enrolment = household_enrolment
    lesson = Lesson.objects.get(slug="first")
    LessonProgress.objects.create(
        enrolment=enrolment, lesson=lesson, completed_at=enrolment.invited_at
    )
    edited = SMALL_COURSE.replace('text_en = "Single"', 'text_en = "Single, reworded"')
    install_small_course(tmp_path, edited)
    course = Course.objects.get(code="small-course")
    assert (course.version, course.quiz.version) == (2, 2)
    assert (
        LessonProgress.objects.filter(enrolment=enrolment, lesson__slug="first").count()
        == 1
    )
    lesson_only = edited.replace(
        'body_en = "The second lesson."', 'body_en = "Lesson two."'
    )
    install_small_course(tmp_path, lesson_only)
    course.refresh_from_db()
    assert (course.version, Quiz.objects.get(course=course).version) == (3, 2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('title_en = "Small course"\n', ""),
            "01-small-course.toml: title_en is missing or empty.",
        ),
        (
            ('kind = "single"', 'kind = "essay"'),
            "01-small-course.toml question 1: kind must be one of ['multiple', 'single', 'truefalse'].",  # noqa: E501
        ),
        (
            ("pass_mark = 60", "pass_mark = 0"),
            "01-small-course.toml: quiz pass_mark must be a whole percent from 1 to 100.",  # noqa: E501
        ),
        (
            ('slug = "second"', 'slug = "first"'),
            "01-small-course.toml module 1 lesson 2: slug 'first' is used twice.",
        ),
        (
            ('causes = ["lack_skills"]', 'causes = ["laziness"]'),
            "01-small-course.toml: unknown cause 'laziness'.",
        ),
        (
            ("第二课的内容。", "![图](missing.svg)"),
            "01-small-course.toml module 1 lesson 2: image 'missing.svg' is not in images/.",  # noqa: E501
        ),
        (
            (
                '    correct = true\n    [[quiz.questions.choices]]\n    text_zh = "丙"\n    text_en = "C"\n\n  [[quiz.questions]]\n  kind = "multiple"',  # noqa: E501
                '    correct = true\n    [[quiz.questions.choices]]\n    text_zh = "丙"\n    text_en = "C"\n    correct = true\n\n  [[quiz.questions]]\n  kind = "multiple"',  # noqa: E501
            ),
            "01-small-course.toml question 1: a single-choice question has exactly one correct choice.",  # noqa: E501
        ),
        (("[quiz]", "[quiz"), None),
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_written(
    tmp_path: Path, change, message
) -> None:
    old, new = change
    text = SMALL_COURSE.replace(old, new, 1)
    assert text != SMALL_COURSE
    (tmp_path / "01-small-course.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        curriculum_install(tmp_path)
    if message is None:
        assert caught.value.message.startswith("01-small-course.toml: not valid TOML:")
    else:
        assert caught.value.message == message
    assert Course.objects.count() == 0


def test_the_shipped_curriculum_covers_the_seven_topics_in_both_languages() -> None:
    installed = curriculum_install()
    assert {r.code for r in installed} == SHIPPED
    for course in Course.objects.all():
        lessons = list(course.lessons.all())
        assert len(lessons) >= 4, course.code
        for lesson in lessons:
            for field in ("title_zh", "title_en", "body_zh", "body_en"):
                assert getattr(lesson, field).strip(), (course.code, lesson.slug, field)
            assert len(body.plain(body.parse(lesson.body_zh))) >= 150, (
                course.code,
                lesson.slug,
            )
        kinds = set(
            Question.objects.filter(quiz__course=course).values_list("kind", flat=True)
        )
        assert kinds == {"single", "multiple", "truefalse"}, course.code
        assert course.quiz.questions.count() >= 5
    assert Course.objects.filter(core=True).count() >= 1


def test_every_shipped_image_is_used_and_is_a_plain_svg() -> None:
    used = set()
    for path in CURRICULUM.glob("*.toml"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for module in data["modules"]:
            for lesson in module["lessons"]:
                for lang in ("zh", "en"):
                    used |= set(body.images(body.parse(lesson[f"body_{lang}"])))
    files = {p.name for p in IMAGES.iterdir()}
    assert used <= files
    assert files <= used, f"unused images: {sorted(files - used)}"
    for name in files:
        text = (IMAGES / name).read_text(encoding="utf-8")
        assert "<script" not in text, name
        assert 'href="http' not in text, name
