"""Install courses from the curriculum files (content is data, see
curriculum/README.md).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from propoor.core.audit import audit_append
from propoor.core.errors import ValidationFailed
from propoor.households.models import Cause
from propoor.training import body as body_format
from propoor.training.models import (
    Choice,
    Course,
    Lesson,
    Module,
    Question,
    QuestionKind,
    Quiz,
)

CURRICULUM = Path(__file__).resolve().parent.parent / "curriculum"
IMAGES = CURRICULUM / "images"
KINDS = {k.value for k in QuestionKind}
TRUE_FALSE = (("t", "对", "True", True), ("f", "错", "False", False))


@dataclass(frozen=True)
class InstalledCourse:
    code: str
    version: int
    quiz_version: int
    created: bool
    changed: bool


def _digest(data: object) -> str:
    canonical = json.dumps(
        data, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _text(data: dict[str, Any], field: str, where: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(
            _("%(where)s: %(field)s is missing or empty.")
            % {"where": where, "field": field},
            extra={"field": field},
        )
    return value.strip()


def _bilingual(
    data: dict[str, Any], field: str, where: str, required: bool = True
) -> dict[str, str]:
    if not required and f"{field}_zh" not in data and f"{field}_en" not in data:
        return {f"{field}_zh": "", f"{field}_en": ""}
    return {
        f"{field}_{lang}": _text(data, f"{field}_{lang}", where)
        for lang in ("zh", "en")
    }


def course_spec(path: Path) -> dict[str, Any]:
    """Read and check one course file; raise ValidationFailed naming file and place."""
    name = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            _("%(file)s: not valid TOML: %(error)s") % {"file": name, "error": exc},
            extra={"file": name},
        ) from exc
    code = _text(data, "code", name)
    spec: dict[str, Any] = {
        "code": code,
        "order": int(data.get("order", 0)),
        "core": bool(data.get("core", False)),
        "interventions": list(data.get("interventions", [])),
        "causes": list(data.get("causes", [])),
        **_bilingual(data, "title", name),
        **_bilingual(data, "summary", name, required=False),
        "modules": [],
    }
    bad_causes = sorted(set(spec["causes"]) - {c.value for c in Cause})
    if bad_causes:
        raise ValidationFailed(
            _("%(file)s: unknown cause %(cause)s.")
            % {"file": name, "cause": repr(bad_causes[0])},
            extra={"file": name},
        )
    slugs: set[str] = set()
    modules = data.get("modules")
    if not isinstance(modules, list) or not modules:
        raise ValidationFailed(
            _("%(file)s: a course needs at least one [[modules]].") % {"file": name}
        )
    for m, module in enumerate(modules, 1):
        where = _("%(file)s module %(module)s") % {"file": name, "module": m}
        lessons_out = []
        lessons = module.get("lessons")
        if not isinstance(lessons, list) or not lessons:
            raise ValidationFailed(
                _("%(where)s: a module needs at least one lesson.") % {"where": where}
            )
        for n, lesson in enumerate(lessons, 1):
            lwhere = _("%(file)s module %(module)s lesson %(lesson)s") % {
                "file": name,
                "module": m,
                "lesson": n,
            }
            slug = _text(lesson, "slug", lwhere)
            if slug in slugs:
                raise ValidationFailed(
                    _("%(where)s: slug %(slug)s is used twice.")
                    % {"where": lwhere, "slug": repr(slug)}
                )
            slugs.add(slug)
            entry = {
                "slug": slug,
                "minutes": int(lesson.get("minutes", 5)),
                **_bilingual(lesson, "title", lwhere),
                **_bilingual(lesson, "body", lwhere),
            }
            for lang in ("zh", "en"):
                for image in body_format.images(
                    body_format.parse(entry[f"body_{lang}"])
                ):
                    if not (IMAGES / image).is_file():
                        raise ValidationFailed(
                            _("%(where)s: image %(image)s is not in images/.")
                            % {"where": lwhere, "image": repr(image)}
                        )
            lessons_out.append(entry)
        spec["modules"].append(
            {**_bilingual(module, "title", where), "lessons": lessons_out}
        )
    spec["quiz"] = _quiz_spec(data.get("quiz"), name)
    return spec


def _quiz_spec(quiz: Any, name: str) -> dict[str, Any]:
    if not isinstance(quiz, dict):
        raise ValidationFailed(_("%(file)s: a course needs a [quiz].") % {"file": name})
    pass_mark = quiz.get("pass_mark")
    if not isinstance(pass_mark, int) or not 1 <= pass_mark <= 100:
        raise ValidationFailed(
            _("%(file)s: quiz pass_mark must be a whole percent from 1 to 100.")
            % {"file": name}
        )
    questions = []
    for q, question in enumerate(quiz.get("questions") or [], 1):
        where = _("%(file)s question %(question)s") % {"file": name, "question": q}
        kind = question.get("kind")
        if kind not in KINDS:
            raise ValidationFailed(
                _("%(where)s: kind must be one of %(kinds)s.")
                % {"where": where, "kinds": sorted(KINDS)}
            )
        entry: dict[str, Any] = {
            "kind": kind,
            "points": int(question.get("points", 1)),
            **_bilingual(question, "text", where),
            **_bilingual(question, "explanation", where, required=False),
        }
        if kind == QuestionKind.TRUE_FALSE:
            if not isinstance(question.get("answer"), bool) or question.get("choices"):
                raise ValidationFailed(
                    _("%(where)s: a true/false question has `answer` and no choices.")
                    % {"where": where}
                )
            entry["choices"] = [
                {"text_zh": zh, "text_en": en, "correct": value is question["answer"]}
                for _key, zh, en, value in TRUE_FALSE
            ]
        else:
            choices = [
                {
                    **_bilingual(
                        c,
                        "text",
                        _("%(file)s question %(question)s choice %(choice)s")
                        % {"file": name, "question": q, "choice": i},
                    ),
                    "correct": bool(c.get("correct")),
                }
                for i, c in enumerate(question.get("choices") or [], 1)
            ]
            right = sum(c["correct"] for c in choices)
            if len(choices) < 2:
                raise ValidationFailed(
                    _("%(where)s: needs at least two choices.") % {"where": where}
                )
            if kind == QuestionKind.SINGLE and right != 1:
                raise ValidationFailed(
                    _(
                        "%(where)s: a single-choice question has exactly one "
                        "correct choice."
                    )
                    % {"where": where}
                )
            if kind == QuestionKind.MULTIPLE and not 1 <= right < len(choices):
                raise ValidationFailed(
                    _(
                        "%(where)s: a multiple-choice question needs right and "
                        "wrong choices."
                    )
                    % {"where": where}
                )
            entry["choices"] = choices
        questions.append(entry)
    if not questions:
        raise ValidationFailed(
            _("%(file)s: the quiz has no questions.") % {"file": name}
        )
    return {
        **_bilingual(quiz, "title", _("%(file)s quiz") % {"file": name}),
        "pass_mark": pass_mark,
        "questions": questions,
    }


def curriculum_install(
    directory: Path | None = None, *, actor: object | None = None
) -> list[InstalledCourse]:
    """Install or update every course file; all checked before anything is written."""
    folder = directory or CURRICULUM
    specs = [course_spec(path) for path in sorted(folder.glob("*.toml"))]
    codes = [s["code"] for s in specs]
    if len(set(codes)) != len(codes):
        raise ValidationFailed(
            _("Two course files use the same code."), extra={"codes": codes}
        )
    with transaction.atomic():
        return [_install(spec, actor) for spec in specs]


def _install(spec: dict[str, Any], actor: object | None) -> InstalledCourse:
    digest = _digest(spec)
    quiz_spec = spec["quiz"]
    quiz_digest = _digest(quiz_spec)
    course = Course.objects.select_for_update().filter(code=spec["code"]).first()
    created = course is None
    if course is not None and course.content_hash == digest:
        return InstalledCourse(
            course.code, course.version, course.quiz.version, False, False
        )
    fields = {
        k: spec[k]
        for k in (
            "order",
            "core",
            "interventions",
            "causes",
            "title_zh",
            "title_en",
            "summary_zh",
            "summary_en",
        )
    }
    if course is None:
        course = Course.objects.create(code=spec["code"], content_hash=digest, **fields)
    else:
        for key, value in fields.items():
            setattr(course, key, value)
        course.version += 1
        course.content_hash = digest
        course.save()
    _install_lessons(course, spec["modules"])
    quiz = Quiz.objects.filter(course=course).first()
    if quiz is None or quiz.content_hash != quiz_digest:
        quiz = _install_quiz(course, quiz, quiz_spec, quiz_digest)
    audit_append(
        action="training.course_installed",
        actor=actor,
        object_type="training.course",
        object_id=course.code,
        data={
            "version": course.version,
            "quiz_version": quiz.version,
            "created": created,
        },
    )
    return InstalledCourse(course.code, course.version, quiz.version, created, True)


def _install_lessons(course: Course, modules: list[dict[str, Any]]) -> None:
    """Lessons are kept by slug so that learners' progress survives an edit."""
    existing = {lesson.slug: lesson for lesson in Lesson.objects.filter(course=course)}
    position = 0
    keep: set[str] = set()
    # Move lessons out of the way of the unique (course, order) positions first.
    Lesson.objects.filter(course=course).update(order=0)
    for m, module in enumerate(modules, 1):
        row, _created = Module.objects.update_or_create(
            course=course,
            order=m,
            defaults={"title_zh": module["title_zh"], "title_en": module["title_en"]},
        )
        for lesson in module["lessons"]:
            position += 1
            keep.add(lesson["slug"])
            values = {
                k: lesson[k]
                for k in ("minutes", "title_zh", "title_en", "body_zh", "body_en")
            }
            current = existing.get(lesson["slug"])
            if current is None:
                Lesson.objects.create(
                    course=course,
                    module=row,
                    order=position,
                    slug=lesson["slug"],
                    **values,
                )
            else:
                for key, value in values.items():
                    setattr(current, key, value)
                current.module = row
                current.order = position
                current.save()
    Lesson.objects.filter(course=course).exclude(slug__in=keep).delete()
    Module.objects.filter(course=course, order__gt=len(modules)).delete()


def _install_quiz(
    course: Course, quiz: Quiz | None, spec: dict[str, Any], digest: str
) -> Quiz:
    values = {
        "title_zh": spec["title_zh"],
        "title_en": spec["title_en"],
        "pass_mark": spec["pass_mark"],
    }
    if quiz is None:
        quiz = Quiz.objects.create(course=course, content_hash=digest, **values)
    else:
        for key, value in values.items():
            setattr(quiz, key, value)
        quiz.version += 1
        quiz.content_hash = digest
        quiz.save()
        quiz.questions.all().delete()
    for q, question in enumerate(spec["questions"], 1):
        row = Question.objects.create(
            quiz=quiz,
            key=f"q{q}",
            order=q,
            kind=question["kind"],
            points=question["points"],
            text_zh=question["text_zh"],
            text_en=question["text_en"],
            explanation_zh=question["explanation_zh"],
            explanation_en=question["explanation_en"],
        )
        Choice.objects.bulk_create(
            Choice(
                question=row,
                key=("t" if choice["text_en"] == "True" else "f")
                if question["kind"] == QuestionKind.TRUE_FALSE
                else "abcdefghij"[c],
                order=c + 1,
                text_zh=choice["text_zh"],
                text_en=choice["text_en"],
                correct=choice["correct"],
            )
            for c, choice in enumerate(question["choices"])
        )
    return quiz
