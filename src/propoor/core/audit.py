"""The append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from propoor.core.models import AuditEntry, AuditHead, AuditPending

if TYPE_CHECKING:
    from datetime import datetime

GENESIS = "0" * 64


def _digest(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    data: dict[str, object],
) -> str:
    body = json.dumps(
        {
            "prev": prev_hash,
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "data": data,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def audit_append(
    *,
    action: str,
    actor: object | None = None,
    object_type: str = "",
    object_id: object = "",
    data: dict[str, object] | None = None,
) -> AuditEntry:
    """Append one entry; runs inside the caller's transaction (or its own).

    No savepoint of its own: the head row is locked until the caller commits, so callers
    append last, just before their commit, to keep that lock short.
    """
    # Round-trip the payload through JSON so the stored value hashes the same.
    payload = json.loads(json.dumps(data or {}, default=str, ensure_ascii=False))
    actor_id = getattr(actor, "pk", None)
    actor_name = getattr(actor, "username", "") if actor is not None else "system"
    with transaction.atomic(savepoint=False):
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
        at = timezone.now()
        seq = head.last_seq + 1
        entry_hash = _digest(
            prev_hash=head.last_hash,
            seq=seq,
            at=at,
            actor_id=actor_id,
            actor=actor_name,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            data=payload,
        )
        entry = AuditEntry.objects.create(
            seq=seq,
            at=at,
            actor_id=actor_id,
            actor=actor_name,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            data=payload,
            prev_hash=head.last_hash,
            hash=entry_hash,
        )
        head.last_seq = seq
        head.last_hash = entry_hash
        head.save(update_fields=["last_seq", "last_hash"])
    return entry


def audit_defer(
    *,
    action: str,
    actor: object | None = None,
    object_type: str = "",
    object_id: object = "",
    data: dict[str, object] | None = None,
) -> None:
    """Record an entry with the caller's change; chain it after the commit.

    For hot paths: no lock on the chain's head inside the caller's transaction, one
    INSERT instead. The entry is chained by :func:`audit_seal`, which runs once the
    transaction commits (and from ``propoor audit seal`` for any left pending, e.g. by
    a process killed between its commit and the seal).
    """
    AuditPending.objects.create(
        at=timezone.now(),
        actor_id=getattr(actor, "pk", None),
        actor=getattr(actor, "username", "") if actor is not None else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        data=json.loads(json.dumps(data or {}, default=str, ensure_ascii=False)),
    )
    transaction.on_commit(audit_seal, robust=True)


def audit_seal(*, wait: bool = False, batch: int = 500) -> int:
    """Chain the pending entries, oldest first; returns how many were chained.

    With ``wait=False`` (after a commit), a seal that finds the head locked returns at
    once: the holder, or the next seal, chains what is pending. ``wait=True`` (the
    command) waits for the head and chains everything pending.
    """
    sealed = 0
    while True:
        with transaction.atomic():
            head = (
                AuditHead.objects.select_for_update(skip_locked=not wait)
                .filter(id=1)
                .first()
            )
            if head is None:
                if AuditHead.objects.filter(id=1).exists():
                    return sealed  # another seal holds the head
                head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
            pending = list(
                AuditPending.objects.select_for_update(skip_locked=True).order_by("id")[
                    :batch
                ]
            )
            if not pending:
                return sealed
            entries = []
            for item in pending:
                seq = head.last_seq + 1
                entry_hash = _digest(
                    prev_hash=head.last_hash,
                    seq=seq,
                    at=item.at,
                    actor_id=item.actor_id,
                    actor=item.actor,
                    action=item.action,
                    object_type=item.object_type,
                    object_id=item.object_id,
                    data=item.data,
                )
                entries.append(
                    AuditEntry(
                        seq=seq,
                        at=item.at,
                        actor_id=item.actor_id,
                        actor=item.actor,
                        action=item.action,
                        object_type=item.object_type,
                        object_id=item.object_id,
                        data=item.data,
                        prev_hash=head.last_hash,
                        hash=entry_hash,
                    )
                )
                head.last_seq, head.last_hash = seq, entry_hash
            AuditEntry.objects.bulk_create(entries)
            AuditPending.objects.filter(pk__in=[p.pk for p in pending]).delete()
            head.save(update_fields=["last_seq", "last_hash"])
        sealed += len(pending)
        if len(pending) < batch:
            return sealed


@dataclass(frozen=True)
class AuditProblem:
    seq: int
    problem: str


@dataclass(frozen=True)
class AuditReport:
    entries: int
    problems: tuple[AuditProblem, ...]
    pending: int = 0  # recorded, not yet chained (``propoor audit seal``)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_verify() -> AuditReport:
    """Walk the chain; report every entry whose content, link or position is off."""
    problems: list[AuditProblem] = []
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        count += 1
        if entry.seq != expected_seq:
            problems.append(
                AuditProblem(
                    entry.seq, f"entries {expected_seq}..{entry.seq - 1} are missing"
                )
            )
        if entry.prev_hash != prev_hash:
            problems.append(
                AuditProblem(entry.seq, "link to the previous entry broken")
            )
        recomputed = _digest(
            prev_hash=entry.prev_hash,
            seq=entry.seq,
            at=entry.at,
            actor_id=entry.actor_id,
            actor=entry.actor,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            data=entry.data,
        )
        if recomputed != entry.hash:
            problems.append(
                AuditProblem(entry.seq, "content changed after it was written")
            )
        prev_hash = entry.hash
        expected_seq = entry.seq + 1
    head = AuditHead.objects.filter(id=1).first()
    if head is not None and (
        head.last_seq != expected_seq - 1 or head.last_hash != prev_hash
    ):
        problems.append(
            AuditProblem(
                head.last_seq, "the newest entries were deleted (tip mismatch)"
            )
        )
    return AuditReport(
        entries=count,
        problems=tuple(problems),
        pending=AuditPending.objects.count(),
    )
