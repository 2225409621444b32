"""The append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from propoor.core.models import AuditEntry, AuditHead

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


@dataclass(frozen=True)
class AuditProblem:
    seq: int
    problem: str


@dataclass(frozen=True)
class AuditReport:
    entries: int
    problems: tuple[AuditProblem, ...]

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
    return AuditReport(entries=count, problems=tuple(problems))
