"""The catalogue and a course's offline package (what a phone downloads to learn
offline).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from propoor.core.errors import NotFound
from propoor.training import body as body_format
from propoor.training.models import Course, Lesson, Module, Question


def courses():  # type: ignore[no-untyped-def]  # annotated (lesson_count)
    return (
        Course.objects.filter(published=True)
        .select_related("quiz")
        .annotate(lesson_count=Count("lessons", distinct=True))
        .order_by("order", "code")
    )


def course_get(code: str) -> Course:
    course = courses().filter(code=code).first()
    if course is None:
        raise NotFound(
            _("There is no course %(course)s.") % {"course": repr(code)},
            extra={"course": code},
        )
    return course


def _lang() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh"


def course_package(course: Course) -> dict[str, Any]:
    """Everything to show a course and take its quiz, in the active language.

    Correct answers are not in it: grading happens on the server when the attempt syncs.
    """
    lang = _lang()
    image_prefix = reverse("training:image", args=["x"])[:-1]
    modules = Module.objects.filter(course=course).prefetch_related(
        Prefetch("lessons", queryset=Lesson.objects.order_by("order"))
    )
    out_modules = []
    urls = [
        reverse("training:course", args=[course.code]),
        reverse("training:quiz", args=[course.code]),
        reverse("api:training_course", args=[course.code]),
    ]
    for module in modules:
        lessons = []
        for lesson in module.lessons.all():
            blocks = body_format.parse(getattr(lesson, f"body_{lang}"))
            url = reverse("training:lesson", args=[course.code, lesson.slug])
            urls.append(url)
            urls.extend(image_prefix + name for name in body_format.images(blocks))
            lessons.append(
                {
                    "slug": lesson.slug,
                    "title": lesson.t("title"),
                    "minutes": lesson.minutes,
                    "url": url,
                    "html": body_format.to_html(blocks, image_prefix),
                }
            )
        out_modules.append({"title": module.t("title"), "lessons": lessons})
    quiz = getattr(course, "quiz", None)
    quiz_out = None
    if quiz is not None:
        questions = Question.objects.filter(quiz=quiz).prefetch_related("choices")
        quiz_out = {
            "version": quiz.version,
            "title": quiz.t("title"),
            "pass_mark": quiz.pass_mark,
            "questions": [
                {
                    "key": q.key,
                    "kind": q.kind,
                    "points": q.points,
                    "text": q.t("text"),
                    "choices": [
                        {"key": c.key, "text": c.t("text")} for c in q.choices.all()
                    ],
                }
                for q in questions
            ],
        }
    return {
        "code": course.code,
        "version": course.version,
        "language": "en" if lang == "en" else "zh-hans",
        "title": course.t("title"),
        "summary": course.t("summary"),
        "completion_rule": course.completion_rule,
        "modules": out_modules,
        "quiz": quiz_out,
        "offline_urls": list(dict.fromkeys(urls)),
    }
