"""Reads for the trainer's, the cadre's and the county's training pages.

Every selector takes the acting user first, requires a staff role (trainer, county
administrator, township officer, village cadre; a household's own login is refused)
and applies the user's area scope once, through :func:`scope_of`:

- a cohort is visible when its area's code is in the scope, or when the user trains it
  (a trainer sees the cohorts they train, plus what their scope covers);
- a household is visible when its village's code is in the scope.

Objects outside the scope are :class:`NotFound`, never "forbidden": the user must not
learn that they exist. Names of heads of household are masked (``张*丰``): these pages
are shown on a projector at the station.

Definitions used by the coverage and outcome pages:

- *plan-targeted*: the household's current approved support plan (its approved plan of
  the latest year) has a training item (intervention kind ``training``) not dropped;
- *completed*: an enrolment completed whose certificate has not been revoked;
- *income before*: the yearly survey snapshot of the year before the household's first
  completion; *income after*: the latest snapshot of the completion's year or later
  surveyed on or after the day of that completion.
"""

from __future__ import annotations

from propoor.training.selectors.staff.cohorts import (
    CohortOptions,
    CohortReport,
    CohortRow,
    SessionReport,
    cohort_options,
    cohort_report,
    session_report,
    trainer_cohorts,
)
from propoor.training.selectors.staff.common import STAFF
from propoor.training.selectors.staff.reach import (
    CoverageRow,
    Income,
    NeedRow,
    OutcomeRow,
    TrainingCoverage,
    coverage,
    outcomes,
    still_needed,
)
from propoor.training.services.cohorts import ORGANISERS

__all__ = [
    "ORGANISERS",
    "STAFF",
    "CohortOptions",
    "CohortReport",
    "CohortRow",
    "CoverageRow",
    "Income",
    "NeedRow",
    "OutcomeRow",
    "SessionReport",
    "TrainingCoverage",
    "cohort_options",
    "cohort_report",
    "coverage",
    "outcomes",
    "session_report",
    "still_needed",
    "trainer_cohorts",
]
