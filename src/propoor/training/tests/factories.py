"""Training test data: a small course as a curriculum file, plans with training."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from django.test import TestCase

from propoor.households.models import Intervention, ItemStatus, SupportPlan
from propoor.households.plans import (
    intervention_install_catalogue,
    plan_approve,
    plan_item_add,
    plan_propose,
)
from propoor.training import services
from propoor.training.models import Course, Enrolment, Question

if TYPE_CHECKING:
    from propoor.households.models import Household

SMALL_COURSE = """
code = "small-course"
order = 1
core = true
interventions = ["training-ecommerce"]
causes = ["lack_skills"]
title_zh = "小课程"
title_en = "Small course"
summary_zh = "两课一测。"
summary_en = "Two lessons and a quiz."

[[modules]]
title_zh = "第一单元"
title_en = "Module one"

  [[modules.lessons]]
  slug = "first"
  minutes = 3
  title_zh = "第一课"
  title_en = "Lesson one"
  body_zh = \"\"\"### 小标题

第一段，**重点**。

- 一
- 二
\"\"\"
  body_en = "First paragraph, **key point**."

  [[modules.lessons]]
  slug = "second"
  minutes = 4
  title_zh = "第二课"
  title_en = "Lesson two"
  body_zh = "第二课的内容。"
  body_en = "The second lesson."

[quiz]
title_zh = "小测验"
title_en = "Small quiz"
pass_mark = 60

  [[quiz.questions]]
  kind = "single"
  text_zh = "单选题"
  text_en = "Single"
  explanation_zh = "因为 B。"
  explanation_en = "Because B."
    [[quiz.questions.choices]]
    text_zh = "甲"
    text_en = "A"
    [[quiz.questions.choices]]
    text_zh = "乙"
    text_en = "B"
    correct = true
    [[quiz.questions.choices]]
    text_zh = "丙"
    text_en = "C"

  [[quiz.questions]]
  kind = "multiple"
  points = 2
  text_zh = "多选题"
  text_en = "Multiple"
    [[quiz.questions.choices]]
    text_zh = "甲"
    text_en = "A"
    correct = true
    [[quiz.questions.choices]]
    text_zh = "乙"
    text_en = "B"
    [[quiz.questions.choices]]
    text_zh = "丙"
    text_en = "C"
    correct = true

  [[quiz.questions]]
  kind = "truefalse"
  answer = false
  text_zh = "判断题"
  text_en = "True or false"
"""

# q1 single (1 point, b), q2 multiple (2 points, a+c), q3 true/false (1 point, f)
RIGHT = {"q1": ["b"], "q2": ["a", "c"], "q3": ["f"]}
WRONG = {"q1": ["a"], "q2": ["a"], "q3": ["t"]}


def install_small_course(folder: Path, text: str = SMALL_COURSE) -> Course:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "01-small-course.toml").write_text(text, encoding="utf-8")
    services.curriculum_install(folder)
    return Course.objects.get(code="small-course")


def right_answers(course: Course) -> dict[str, list[str]]:
    """The correct choices, read from the database (shipped courses too)."""
    return {
        q.key: sorted(c.key for c in q.choices.all() if c.correct)
        for q in Question.objects.filter(quiz__course=course).prefetch_related(
            "choices"
        )
    }


def approved_plan(
    actor: object, household: Household, *, year: int = 2024, training: bool = True
) -> SupportPlan:
    """Propose, make sure the training item is (or is not) there, approve."""
    if not Intervention.objects.exists():
        intervention_install_catalogue()
    plan = plan_propose(actor, household=household, year=year)
    has = plan.items.filter(intervention__kind="training").exists()
    if training and not has:
        plan_item_add(
            actor, plan=plan, intervention_code="training-ecommerce", reason="测试"
        )
    if not training:
        plan.items.filter(intervention__kind="training").update(
            status=ItemStatus.DROPPED
        )
    # Invitations follow the approval's commit (households.signals.plan_approved); a
    # test's transaction never commits, so run the on-commit hooks it queued.
    with TestCase.captureOnCommitCallbacks(execute=True):
        approved = plan_approve(actor, plan=plan)
    return approved


def finish_course(enrolment: Enrolment, *, at: datetime | None = None) -> None:
    """Read every lesson and pass the quiz (the certificate follows)."""
    for lesson in enrolment.course.lessons.all():
        services.lesson_complete(enrolment, lesson, at=at)
    services.attempt_submit(
        enrolment,
        attempt_id=uuid.uuid4(),
        quiz_version=enrolment.course.quiz.version,
        answers=right_answers(enrolment.course),
        finished_at=at,
    )
