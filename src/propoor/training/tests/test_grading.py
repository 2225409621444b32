from __future__ import annotations

from decimal import Decimal

import pytest

from propoor.core.errors import ValidationFailed
from propoor.training.grading import QuestionSpec, grade

QUESTIONS = [
    QuestionSpec("q1", "single", 1, frozenset("abc"), frozenset("b")),
    QuestionSpec("q2", "multiple", 2, frozenset("abc"), frozenset("ac")),
    QuestionSpec("q3", "truefalse", 1, frozenset("tf"), frozenset("f")),
]


def test_all_right_scores_every_point() -> None:
    result = grade(QUESTIONS, {"q1": ["b"], "q2": ["c", "a"], "q3": ["f"]}, 60)
    assert (result.score, result.max_score, result.percent, result.passed) == (
        4,
        4,
        Decimal("100.00"),
        True,
    )
    assert result.per_question == {"q1": 1, "q2": 2, "q3": 1}


def test_multiple_choice_is_all_or_nothing() -> None:
    assert grade(QUESTIONS, {"q2": ["a"]}, 60).per_question["q2"] == 0
    assert grade(QUESTIONS, {"q2": ["a", "b", "c"]}, 60).per_question["q2"] == 0


def test_pass_mark_is_compared_exactly_in_integers() -> None:
    # 3 of 4 points = 75 %; 2 of 4 = 50 %
    three = grade(QUESTIONS, {"q1": ["b"], "q2": ["a", "c"]}, 75)
    assert (three.score, three.passed) == (3, True)
    two = grade(QUESTIONS, {"q2": ["a", "c"]}, 51)
    assert (two.score, two.percent, two.passed) == (2, Decimal("50.00"), False)
    assert grade(QUESTIONS, {"q2": ["a", "c"]}, 50).passed is True


def test_percent_is_rounded_half_up_for_display() -> None:
    three = [
        QuestionSpec(f"q{i}", "truefalse", 1, frozenset("tf"), frozenset("t"))
        for i in (1, 2, 3)
    ]
    assert grade(three, {"q1": ["t"], "q2": ["t"]}, 60).percent == Decimal("66.67")
    assert grade(three, {"q1": ["t"]}, 60).percent == Decimal("33.33")


def test_unanswered_earns_nothing() -> None:
    result = grade(QUESTIONS, {}, 60)
    assert (result.score, result.passed) == (0, False)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"q9": ["a"]}, "Question 'q9' is not in this quiz."),
        ({"q1": ["z"]}, "Question q1 has no choice 'z'."),
        ({"q1": ["a", "b"]}, "Question q1 takes one answer, 2 were given."),
        ({"q1": [1]}, "The answer to q1 must be a list of choice keys."),
    ],
)
def test_bad_answers_are_refused_with_what_is_wrong(answers, message) -> None:
    with pytest.raises(ValidationFailed) as caught:
        grade(QUESTIONS, answers, 60)
    assert caught.value.message == message
