"""Quiz grading: pure, no database.

Rules (shown to learners on the quiz page):
- a single-choice or true/false question earns its points when the one correct choice is
  picked;
- a multiple-choice question earns its points only when exactly the correct choices are
  ticked (all or nothing: no credit for guessing every box);
- an unanswered question earns nothing;
- the attempt passes when score × 100 ≥ pass_mark × max_score (integers, no rounding).
The percentage shown is rounded half-up to two decimals, for display only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from propoor.core.errors import ValidationFailed


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    kind: str  # single | multiple | truefalse
    points: int
    choices: frozenset[str]
    correct: frozenset[str]


@dataclass(frozen=True)
class Grade:
    score: int
    max_score: int
    percent: Decimal
    passed: bool
    per_question: dict[str, int]


def normalise(
    questions: Sequence[QuestionSpec], answers: Mapping[str, object]
) -> dict[str, list[str]]:
    """Check answers against the quiz; return {key: sorted choice keys}.

    Raises ValidationFailed naming the first unknown question, unknown choice, or a
    single/true-false question answered with more than one choice.
    """
    if not isinstance(answers, Mapping):
        raise ValidationFailed(
            _("Answers must be an object of question key → choice keys.")
        )
    by_key = {q.key: q for q in questions}
    out: dict[str, list[str]] = {}
    for key, picked in answers.items():
        question = by_key.get(str(key))
        if question is None:
            raise ValidationFailed(
                _("Question %(question)s is not in this quiz.")
                % {"question": repr(key)},
                extra={"question": str(key)},
            )
        if isinstance(picked, str):
            picked = [picked]
        if not isinstance(picked, list | tuple) or not all(
            isinstance(c, str) for c in picked
        ):
            raise ValidationFailed(
                _("The answer to %(question)s must be a list of choice keys.")
                % {"question": key},
                extra={"question": key},
            )
        chosen = sorted(set(picked))
        unknown = [c for c in chosen if c not in question.choices]
        if unknown:
            raise ValidationFailed(
                _("Question %(question)s has no choice %(choice)s.")
                % {"question": key, "choice": repr(unknown[0])},
                extra={"question": key, "choice": unknown[0]},
            )
        if question.kind != "multiple" and len(chosen) > 1:
            raise ValidationFailed(
                _("Question %(question)s takes one answer, %(count)s were given.")
                % {"question": key, "count": len(chosen)},
                extra={"question": key},
            )
        if chosen:
            out[question.key] = chosen
    return out


def grade(
    questions: Sequence[QuestionSpec], answers: Mapping[str, object], pass_mark: int
) -> Grade:
    picked = normalise(questions, answers)
    per_question: dict[str, int] = {}
    for question in questions:
        right = frozenset(picked.get(question.key, ())) == question.correct
        per_question[question.key] = question.points if right else 0
    score = sum(per_question.values())
    max_score = sum(q.points for q in questions)
    percent = (
        (Decimal(score * 100) / Decimal(max_score)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        if max_score
        else Decimal("0.00")
    )
    passed = max_score > 0 and score * 100 >= pass_mark * max_score
    return Grade(score, max_score, percent, passed, per_question)
