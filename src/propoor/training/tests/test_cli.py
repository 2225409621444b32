from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from propoor.training.tests.factories import finish_course
from propoor.training.tests.xapi_rules import check

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("training", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_install_then_catalogue_as_json_lists_every_course_with_languages() -> None:
    first = run("install")
    assert "ecommerce-basics: v1, quiz v1 (new)" in first
    assert "ecommerce-basics: v1, quiz v1 (unchanged)" in run("install")
    data = json.loads(run("catalogue", "--format", "json"))
    assert [c["code"] for c in data] == [
        "ecommerce-basics",
        "open-a-shop",
        "presenting-products",
        "online-marketing",
        "packing-shipping",
        "rural-tourism",
        "village-cases",
    ]
    for course in data:
        assert course["languages"] == ["zh-hans", "en"]
        assert all(
            lesson["languages"] == ["zh-hans", "en"]
            for module in course["modules"]
            for lesson in module["lessons"]
        )
        assert {q["kind"] for q in course["quiz"]["questions"]} == {
            "single",
            "multiple",
            "truefalse",
        }
    text = run("catalogue")
    assert text.splitlines()[0].startswith("ecommerce-basics v1  ")


def test_export_xapi_writes_valid_json_lines(
    household_enrolment, tmp_path: Path
) -> None:
    finish_course(household_enrolment)
    target = tmp_path / "statements.jsonl"
    run("export-xapi", "--output", str(target))
    lines = [
        json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()
    ]
    assert len(lines) == 5
    assert all(check(statement) == [] for statement in lines)
    assert lines == sorted(lines, key=lambda s: s["stored"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("export-xapi", "--since", "yesterday"),
            "--since 'yesterday' is not an ISO 8601 time.",
        ),
        (("install", "--dir", "/nonexistent"), "/nonexistent is not a folder."),
        (
            ("enrol-from-plans", "--area", "999999999999"),
            "There is no division 999999999999.",
        ),
    ],
)
def test_bad_arguments_exit_2_with_what_is_wrong(args, message) -> None:
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert (str(caught.value), caught.value.returncode) == (message, 2)
