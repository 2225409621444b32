"""`propoor training …`: install and list the curriculum, enrol, export xAPI."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from propoor.core.errors import ApplicationError
from propoor.training import services, xapi
from propoor.training.models import Course, Lesson, Question


def catalogue_data() -> list[dict[str, Any]]:
    """Courses, modules, lessons and quizzes with the languages each text exists in."""

    def languages(obj: object, field: str) -> list[str]:
        return [
            code
            for code, suffix in (("zh-hans", "zh"), ("en", "en"))
            if getattr(obj, f"{field}_{suffix}", "")
        ]

    out = []
    courses = Course.objects.order_by("order", "code").prefetch_related(
        "modules",
        Prefetch("lessons", queryset=Lesson.objects.order_by("order")),
        Prefetch(
            "quiz__questions",
            queryset=Question.objects.order_by("order").prefetch_related("choices"),
        ),
    )
    for course in courses:
        modules = []
        for module in course.modules.all():
            modules.append(
                {
                    "order": module.order,
                    "title": {"zh-hans": module.title_zh, "en": module.title_en},
                    "lessons": [
                        {
                            "slug": lesson.slug,
                            "title": {
                                "zh-hans": lesson.title_zh,
                                "en": lesson.title_en,
                            },
                            "minutes": lesson.minutes,
                            "languages": languages(lesson, "body"),
                            "video": bool(lesson.video),
                        }
                        for lesson in course.lessons.all()
                        if lesson.module_id == module.pk
                    ],
                }
            )
        quiz = getattr(course, "quiz", None)
        out.append(
            {
                "code": course.code,
                "version": course.version,
                "published": course.published,
                "core": course.core,
                "interventions": course.interventions,
                "causes": course.causes,
                "title": {"zh-hans": course.title_zh, "en": course.title_en},
                "languages": languages(course, "title"),
                "completion_rule": course.completion_rule,
                "modules": modules,
                "quiz": None
                if quiz is None
                else {
                    "version": quiz.version,
                    "pass_mark": quiz.pass_mark,
                    "title": {"zh-hans": quiz.title_zh, "en": quiz.title_en},
                    "questions": [
                        {
                            "key": q.key,
                            "kind": q.kind,
                            "points": q.points,
                            "languages": languages(q, "text"),
                            "choices": len(q.choices.all()),
                        }
                        for q in quiz.questions.all()
                    ],
                },
            }
        )
    return out


class Command(BaseCommand):
    help = "Training: install the curriculum, list it, enrol from plans, export xAPI."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        install = sub.add_parser(
            "install", help="install or update the curriculum files"
        )
        install.add_argument("--dir", type=Path, default=None)
        cat = sub.add_parser(
            "catalogue", help="list courses, modules, lessons and quizzes"
        )
        cat.add_argument("--format", choices=("json", "text"), default="text")
        enrol = sub.add_parser(
            "enrol-from-plans", help="invite households whose plan includes training"
        )
        enrol.add_argument("--area", default="", help="12-digit division code")
        export = sub.add_parser("export-xapi", help="xAPI statements as JSON lines")
        export.add_argument("--since", default=None, help="ISO 8601 time")
        export.add_argument("--output", "-o", type=Path, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(options)
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=2) from exc

    def _install(self, options: dict[str, Any]) -> None:
        directory = options["dir"]
        if directory is not None and not directory.is_dir():
            raise CommandError(
                _("%(directory)s is not a folder.") % {"directory": directory},
                returncode=2,
            )
        for row in services.curriculum_install(directory):
            state = "new" if row.created else "updated" if row.changed else "unchanged"
            self.stdout.write(
                f"{row.code}: v{row.version}, quiz v{row.quiz_version} ({state})"
            )

    def _catalogue(self, options: dict[str, Any]) -> None:
        data = catalogue_data()
        if options["format"] == "json":
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        for course in data:
            quiz = course["quiz"]
            lessons = sum(len(m["lessons"]) for m in course["modules"])
            self.stdout.write(
                f"{course['code']} v{course['version']}  "
                f"{course['title']['zh-hans']} / "
                f"{course['title']['en']}  — {len(course['modules'])} modules, "
                f"{lessons} lessons, "
                + (f"quiz of {len(quiz['questions'])}" if quiz else "no quiz")
            )

    def _enrol_from_plans(self, options: dict[str, Any]) -> None:
        from propoor.areas.models import Division

        area = options["area"]
        prefix = ""
        if area:
            division = Division.objects.filter(code=area).first()
            if division is None:
                raise CommandError(
                    _("There is no division %(code)s.") % {"code": area}, returncode=2
                )
            prefix = division.prefix
        report = services.enrol_from_plans(area_code=prefix)
        self.stdout.write(
            f"{report.plans} plans with training: {report.invited} invitations, "
            f"{report.already} already enrolled, "
            f"{report.joined_cohort} placed in cohorts"
        )

    def _export_xapi(self, options: dict[str, Any]) -> None:
        since = None
        if options["since"]:
            try:
                since = datetime.fromisoformat(options["since"].replace("Z", "+00:00"))
            except ValueError as exc:
                raise CommandError(
                    _("--since %(value)s is not an ISO 8601 time.")
                    % {"value": repr(options["since"])},
                    returncode=2,
                ) from exc
        if options["output"] is None:
            count = xapi.export_jsonl(sys.stdout, since)
        else:
            with options["output"].open("w", encoding="utf-8") as out:
                count = xapi.export_jsonl(out, since)
        self.stderr.write(f"{count} statements")
