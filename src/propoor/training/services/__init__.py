"""Training services. Views, the API and the CLI call these; they never write models
themselves.
"""

from propoor.training.services.certificates import (
    certificate_issue,
    certificate_revoke,
    certificate_verify,
    mask_name,
    verify_url,
)
from propoor.training.services.cohorts import (
    checkin,
    cohort_add,
    cohort_create,
    cohort_place,
    roll_call,
    session_create,
)
from propoor.training.services.curriculum import curriculum_install
from propoor.training.services.learning import (
    attempt_submit,
    enrol,
    enrol_from_plan,
    enrol_from_plans,
    enrolment_by_trainer,
    enrolment_for,
    lesson_complete,
)
from propoor.training.services.sync import sync

__all__ = [
    "attempt_submit",
    "certificate_issue",
    "certificate_revoke",
    "certificate_verify",
    "checkin",
    "cohort_add",
    "cohort_create",
    "cohort_place",
    "curriculum_install",
    "enrol",
    "enrol_from_plan",
    "enrol_from_plans",
    "enrolment_by_trainer",
    "enrolment_for",
    "lesson_complete",
    "mask_name",
    "roll_call",
    "session_create",
    "sync",
    "verify_url",
]
