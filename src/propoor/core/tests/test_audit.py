from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from propoor.core.audit import (
    audit_append,
    audit_defer,
    audit_seal,
    audit_sealer_stop,
    audit_verify,
)
from propoor.core.models import AuditEntry, AuditPending

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


def test_a_deferred_entry_is_chained_when_its_transaction_commits(
    django_capture_on_commit_callbacks,
) -> None:
    audit_append(action="test.before", object_type="thing", object_id=1)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        audit_defer(action="test.hot", object_type="thing", object_id=2, data={})
        # written with the change, not yet on the chain
        assert AuditPending.objects.count() == 1
        assert AuditEntry.objects.count() == 1

    assert not AuditPending.objects.exists()
    assert list(AuditEntry.objects.values_list("seq", "action")) == [
        (1, "test.before"),
        (2, "test.hot"),
    ]
    report = audit_verify()
    assert (report.ok, report.entries, report.pending) == (True, 2, 0)


def _failing_change() -> None:
    with transaction.atomic():
        audit_defer(action="test.hot", object_type="thing", object_id=1)
        raise RuntimeError("the change failed")


def test_a_deferred_entry_goes_with_a_rolled_back_change() -> None:
    with pytest.raises(RuntimeError):
        _failing_change()

    assert not AuditPending.objects.exists()
    assert not AuditEntry.objects.exists()


def test_pending_entries_are_reported_then_chained_by_the_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # two entries left pending (their seal never ran: a test transaction, or a
    # process killed between its commit and the seal), one appended after them
    audit_defer(action="test.first", object_type="thing", object_id=1)
    audit_defer(action="test.second", object_type="thing", object_id=2)
    audit_append(action="test.third", object_type="thing", object_id=3)

    call_command("audit", "verify")
    assert capsys.readouterr().out == (
        "audit log intact: 1 entries; 2 pending (run `propoor audit seal`)\n"
    )
    call_command("audit", "seal")
    assert capsys.readouterr().out == "chained 2 pending entries\n"

    assert list(AuditEntry.objects.values_list("seq", "action")) == [
        (1, "test.third"),
        (2, "test.first"),
        (3, "test.second"),
    ]
    assert audit_verify().ok
    call_command("audit", "verify")
    assert capsys.readouterr().out == "audit log intact: 3 entries\n"


def test_a_chained_deferred_entry_that_is_changed_is_detected() -> None:
    audit_defer(action="test.hot", object_type="thing", object_id=1, data={"n": 1})
    audit_seal(wait=True)
    AuditEntry.objects.filter(seq=1).update(data={"n": 2})

    assert [(p.seq, p.problem) for p in audit_verify().problems] == [
        (1, "content changed after it was written")
    ]


@pytest.mark.django_db(transaction=True)
def test_the_sealer_thread_chains_a_window_of_commits_after_the_delay(
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.PROPOOR_AUDIT_SEAL_DELAY = 0.5
    try:
        for n in range(1, 6):
            with transaction.atomic():
                audit_defer(action="test.hot", object_type="thing", object_id=n)
        # committed, and waiting for the sealer's window to close
        assert AuditPending.objects.count() == 5
        assert not AuditEntry.objects.exists()

        deadline = time.monotonic() + 10
        while AuditPending.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

        assert not AuditPending.objects.exists()
        assert list(AuditEntry.objects.values_list("seq", "object_id")) == [
            (1, "1"),
            (2, "2"),
            (3, "3"),
            (4, "4"),
            (5, "5"),
        ]
        assert audit_verify().ok
    finally:
        audit_sealer_stop()


@pytest.mark.django_db(transaction=True)
def test_stopping_the_sealer_chains_what_it_was_asked_to_at_once(
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.PROPOOR_AUDIT_SEAL_DELAY = 30  # the window would outlast the test
    with transaction.atomic():
        audit_defer(action="test.hot", object_type="thing", object_id=1)
    assert AuditPending.objects.count() == 1

    audit_sealer_stop()

    assert not AuditPending.objects.exists()
    assert list(AuditEntry.objects.values_list("seq", "action")) == [(1, "test.hot")]
