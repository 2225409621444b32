"""The append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from propoor.core.models import AuditEntry, AuditHead, AuditPending

GENESIS = "0" * 64
log = logging.getLogger(__name__)


def _digest(entry: AuditEntry | _Link) -> str:
    """The hash of an entry: its content and the previous entry's hash."""
    body = json.dumps(
        {
            "prev": entry.prev_hash,
            "seq": entry.seq,
            "at": entry.at.isoformat(timespec="microseconds"),
            "actor_id": entry.actor_id,
            "actor": entry.actor,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "data": entry.data,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class _Pending(NamedTuple):
    """A pending entry as a plain row: as it happens (no ``id`` yet), or as PostgreSQL
    answers it (``data`` as jsonb's text)."""

    id: int | None
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    object_type: str
    object_id: str
    data: str | dict[str, object]


def _pending(
    *,
    action: str,
    actor: object | None,
    object_type: str,
    object_id: object,
    data: dict[str, object] | None,
) -> _Pending:
    """An entry as it happens (unsaved); its payload round-tripped through JSON, so
    that the stored value hashes the same."""
    return _Pending(
        None,
        timezone.now(),
        getattr(actor, "pk", None),
        getattr(actor, "username", "") if actor is not None else "system",
        action,
        object_type,
        str(object_id),
        json.loads(json.dumps(data or {}, default=str, ensure_ascii=False)),
    )


class _Link(NamedTuple):
    """What an entry's hash covers, as a plain tuple (sealing many entries builds no
    model objects); :func:`_digest` reads it as it reads an :class:`AuditEntry`."""

    seq: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    object_type: str
    object_id: str
    data: object
    prev_hash: str


def _link(head: AuditHead, item: AuditPending | _Pending) -> tuple[_Link, str]:
    """The link that follows the head and its hash; the head moves on to it."""
    link = _Link(
        head.last_seq + 1,
        item.at,
        item.actor_id,
        item.actor,
        item.action,
        item.object_type,
        item.object_id,
        item.data,
        head.last_hash,
    )
    digest = _digest(link)
    head.last_seq, head.last_hash = link.seq, digest
    return link, digest


def _chained(head: AuditHead, item: AuditPending | _Pending) -> AuditEntry:
    """The entry that follows the head (unsaved); the head moves on to it."""
    link, digest = _link(head, item)
    return AuditEntry(**link._asdict(), hash=digest)


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
    item = _pending(
        action=action,
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        data=data,
    )
    with transaction.atomic(savepoint=False):
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
        entry = _chained(head, item)
        entry.save(force_insert=True)
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
    item = _pending(
        action=action,
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        data=data,
    )
    AuditPending(**item._asdict()).save(force_insert=True)
    transaction.on_commit(_seal_after_commit, robust=True)


def audit_defer_sql(
    *,
    action: str,
    actor: object | None = None,
    object_type: str = "",
    object_id: object = "",
    data: dict[str, object] | None = None,
) -> tuple[str, list[object]]:
    """:func:`audit_defer` for a caller that writes in one SQL statement (PostgreSQL).

    Returns an ``INSERT … SELECT`` of the pending entry and its parameters; the caller
    runs the statement (as it is, or as a data-modifying ``WITH`` item, or with a
    ``FROM``/``WHERE`` of its own appended so that the entry is written only with its
    change), then calls :func:`audit_seal_soon` to have the entry chained once it is
    committed (the statement may be its own transaction, in autocommit).
    """
    item = _pending(
        action=action,
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        data=data,
    )
    table = AuditPending._meta.db_table
    sql = (
        f"INSERT INTO {table} (at, actor_id, actor, action, object_type, object_id,"
        f" data) SELECT %s::timestamptz, %s::bigint, %s::varchar, %s::varchar,"
        f" %s::varchar, %s::varchar, %s::jsonb"
    )
    params: list[object] = [
        item.at,
        item.actor_id,
        item.actor,
        item.action,
        item.object_type,
        item.object_id,
        json.dumps(item.data, ensure_ascii=False),
    ]
    return sql, params


def audit_seal_soon() -> None:
    """Have the entries this transaction recorded with :func:`audit_defer_sql`
    chained after it commits (at once, when it already has: autocommit)."""
    transaction.on_commit(_seal_after_commit, robust=True)


def _seal_after_commit() -> None:
    """Chain what a commit left pending: at once, or — with
    ``settings.PROPOOR_AUDIT_SEAL_DELAY`` seconds (> 0) — by this process's sealer
    thread, which then chains every entry committed within that window in one go."""
    if settings.PROPOOR_AUDIT_SEAL_DELAY <= 0:
        audit_seal()
    else:
        _sealer.wake()


class _Sealer:
    """One thread per process that chains pending entries a short while after a
    commit asked for it, so that a busy server seals in batches (one transaction for
    all the entries of the window) instead of once per commit. It keeps a database
    connection of its own. Entries are durable from their own commit; a process that
    dies before its sealer ran leaves them pending for the next seal of any process
    (or ``propoor audit seal``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._asked = threading.Event()
        self._hurry = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = False

    def wake(self) -> None:
        self._asked.set()
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run, name="audit-sealer", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                self._asked.wait()
                # let the window fill (or stop cut it short), then take all of it
                self._hurry.wait(settings.PROPOOR_AUDIT_SEAL_DELAY)
                self._asked.clear()  # a commit from here on asks again
                try:
                    audit_seal()
                except Exception:  # the entries stay pending for the next seal
                    log.exception("audit seal failed; entries stay pending")
                    connections["default"].close()
                if self._stop:
                    return
        finally:
            connections["default"].close()

    def stop(self) -> None:
        """Chain what is pending and end the thread (tests; a clean shutdown)."""
        thread = self._thread
        if thread is None:
            return
        self._stop = True
        self._hurry.set()
        self._asked.set()
        thread.join()
        self._thread = None
        self._stop = False
        self._hurry.clear()
        self._asked.clear()


_sealer = _Sealer()


def audit_sealer_stop() -> None:
    """Stop this process's sealer thread once it has chained what it was asked to."""
    _sealer.stop()


def audit_seal(*, wait: bool = False, batch: int = 500) -> int:
    """Chain the pending entries, oldest first; returns how many were chained.

    With ``wait=False`` (after a commit), a seal that finds the head locked (or
    another thread of this process sealing) returns at once: the one sealing chains
    what is pending, for before it lets the head go it looks again and chains what
    was committed meanwhile. ``wait=True`` (the command) waits for the head.
    """
    if not _sealing.acquire(blocking=wait):
        return 0
    try:
        sealed = 0
        while True:
            with transaction.atomic():
                head = _seal_head(wait=wait)
                if head is None:
                    return sealed  # another process holds the head
                before, more = sealed, True
                for _ in range(_BATCHES_PER_COMMIT):
                    pending = _seal_pending(batch)
                    if pending:
                        _seal_write(head, pending)
                        sealed += len(pending)
                    if len(pending) < batch:  # none left (or only locked ones)
                        more = False
                        break
                if sealed > before:
                    AuditHead.objects.filter(id=1).update(
                        last_seq=head.last_seq, last_hash=head.last_hash
                    )
            if not more:
                return sealed
    finally:
        _sealing.release()


_sealing = threading.Lock()
_BATCHES_PER_COMMIT = 20
_HEAD_WAIT = "SELECT last_seq, last_hash FROM core_audithead WHERE id = 1 FOR UPDATE"
_HEAD_SKIP = _HEAD_WAIT + " SKIP LOCKED"
_PENDING = (
    "SELECT id, at, actor_id, actor, action, object_type, object_id, data"
    " FROM core_auditpending ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"
)


def _seal_head(*, wait: bool) -> AuditHead | None:
    """The chain's head, locked; None when another transaction holds it."""
    if connection.vendor != "postgresql":  # SQLite: one writer at a time anyway
        head, _ = AuditHead.objects.get_or_create(id=1)
        return head
    select = _HEAD_WAIT if wait else _HEAD_SKIP
    with connection.cursor() as cursor:
        cursor.execute(select)
        row = cursor.fetchone()
        if row is None:  # no head yet (a new database), or a locked one
            cursor.execute(
                "INSERT INTO core_audithead (id, last_seq, last_hash) VALUES (1, 0, %s)"
                " ON CONFLICT (id) DO NOTHING",
                [GENESIS],
            )
            cursor.execute(select)
            row = cursor.fetchone()
    if row is None:
        return None
    return AuditHead(id=1, last_seq=row[0], last_hash=row[1])


def _seal_pending(batch: int) -> list[AuditPending] | list[_Pending]:
    """The oldest pending entries (on PostgreSQL locked, skipping locked ones, as
    plain rows)."""
    if connection.vendor != "postgresql":
        return list(AuditPending.objects.order_by("id")[:batch])
    with connection.cursor() as cursor:
        cursor.execute(_PENDING, [batch])
        return [_Pending(*row) for row in cursor.fetchall()]


def _seal_write(head: AuditHead, pending: list[AuditPending] | list[_Pending]) -> None:
    """Append the entries after the head (moved along), delete them from pending."""
    if connection.vendor != "postgresql":
        AuditEntry.objects.bulk_create([_chained(head, item) for item in pending])
        AuditPending.objects.filter(pk__in=[p.pk for p in pending]).delete()  # type: ignore[union-attr]
        return
    batch = []
    for row in pending:
        data = json.loads(row.data) if isinstance(row.data, str) else row.data
        link, digest = _link(head, row._replace(data=data))  # type: ignore[union-attr]
        batch.append({"id": row.id, **link._asdict(), "hash": digest})
    with connection.cursor() as cursor:
        cursor.execute(_SEAL, [json.dumps(batch, ensure_ascii=False, default=str)])


# Moves a batch from pending into the chain in one statement, whatever its size: the
# batch travels as one JSON document (one parameter for the driver to quote, one text
# for the server to plan), and ``at`` as ISO 8601 with its microseconds.
_SEAL = """
WITH batch AS (
    SELECT * FROM jsonb_to_recordset(%s::jsonb) AS b (id bigint, seq bigint,
        at timestamptz, actor_id bigint, actor varchar, action varchar,
        object_type varchar, object_id varchar, data jsonb, prev_hash varchar,
        hash varchar)
),
sealed AS (DELETE FROM core_auditpending p USING batch b WHERE p.id = b.id)
INSERT INTO core_auditentry (seq, at, actor_id, actor, action, object_type,
    object_id, data, prev_hash, hash)
SELECT seq, at, actor_id, actor, action, object_type, object_id, data, prev_hash, hash
FROM batch
"""


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
        recomputed = _digest(entry)
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
