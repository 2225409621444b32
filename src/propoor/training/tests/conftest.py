from __future__ import annotations

from pathlib import Path

import pytest

from propoor.households.tests.factories import (
    VILLAGE_A1,
    make_area_tree,
    make_household,
    make_user,
)
from propoor.training import services
from propoor.training.models import Course, Enrolment
from propoor.training.tests.factories import install_small_course


@pytest.fixture
def area_tree(db):  # type: ignore[no-untyped-def]
    return make_area_tree()


@pytest.fixture
def small_course(db, tmp_path: Path) -> Course:
    return install_small_course(tmp_path / "curriculum")


@pytest.fixture
def household(area_tree):  # type: ignore[no-untyped-def]
    return make_household(village_code=VILLAGE_A1, head_name="王小明")


@pytest.fixture
def household_user(household):  # type: ignore[no-untyped-def]
    return make_user("household", [VILLAGE_A1], household=household)


@pytest.fixture
def household_enrolment(small_course, household) -> Enrolment:
    enrolment, _ = services.enrol(small_course, household, source="self")
    return enrolment
