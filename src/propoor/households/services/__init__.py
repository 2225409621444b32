"""Writes on the household registry, one household at a time.

Every service takes the acting user (``actor``; None is the system: seeding, imports,
management commands), checks the role and area scope, validates everything before it
writes anything, runs in one transaction and appends an audit entry. A clear ID number
never leaves these modules except through :func:`member_id_reveal`.
"""

from __future__ import annotations

from propoor.households.services.households import (
    ALLOWED_TRANSITIONS,
    HOUSEHOLD_EDITABLE,
    household_register,
    household_set_causes,
    household_set_status,
    household_update,
)
from propoor.households.services.members import (
    MEMBER_EDITABLE,
    MemberInput,
    member_add,
    member_id_reveal,
    member_remove,
    member_update,
)
from propoor.households.services.snapshots import (
    FIRST_YEAR,
    MONEY_FIELDS,
    SNAPSHOT_REQUIRED,
    snapshot_record,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "FIRST_YEAR",
    "HOUSEHOLD_EDITABLE",
    "MEMBER_EDITABLE",
    "MONEY_FIELDS",
    "SNAPSHOT_REQUIRED",
    "MemberInput",
    "household_register",
    "household_set_causes",
    "household_set_status",
    "household_update",
    "member_add",
    "member_id_reveal",
    "member_remove",
    "member_update",
    "snapshot_record",
]
