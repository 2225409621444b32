from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from propoor.core.audit import audit_append, audit_verify
from propoor.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def _three_entries() -> None:
    for n in range(3):
        audit_append(
            action="test.write", object_type="thing", object_id=n, data={"n": n}
        )


def test_an_untouched_chain_verifies() -> None:
    _three_entries()

    report = audit_verify()

    assert report.ok
    assert report.entries == 3
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == [1, 2, 3]


def test_a_changed_entry_is_detected() -> None:
    _three_entries()
    AuditEntry.objects.filter(seq=2).update(data={"n": 99})

    report = audit_verify()

    assert [(p.seq, p.problem) for p in report.problems] == [
        (2, "content changed after it was written")
    ]


def test_a_deleted_entry_is_detected() -> None:
    _three_entries()
    AuditEntry.objects.filter(seq=2).delete()

    report = audit_verify()

    assert [(p.seq, p.problem) for p in report.problems] == [
        (3, "entries 2..2 are missing"),
        (3, "link to the previous entry broken"),
    ]


def test_deleting_the_newest_entry_is_detected() -> None:
    _three_entries()
    AuditEntry.objects.filter(seq=3).delete()

    report = audit_verify()

    assert [(p.seq, p.problem) for p in report.problems] == [
        (3, "the newest entries were deleted (tip mismatch)")
    ]


def test_the_cli_exits_with_2_on_tampering(capsys: pytest.CaptureFixture[str]) -> None:
    _three_entries()
    AuditEntry.objects.filter(seq=1).update(action="forged")

    with pytest.raises(CommandError) as caught:
        call_command("audit", "verify")

    assert caught.value.returncode == 2
    assert "1 problem(s) in 3 entries" in str(caught.value)
