from __future__ import annotations

from django.db import models


class AuditRecord(models.Model):
    """What every audit entry records: when, who, what was done to which object."""

    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True


class AuditEntry(AuditRecord):
    """One line of the append-only audit log.

    Each entry's ``hash`` covers its own content and the previous entry's hash, so a
    changed, inserted or deleted entry breaks the chain (``propoor audit verify``).
    """

    seq = models.PositiveBigIntegerField(unique=True)
    prev_hash = models.CharField(max_length=64)
    # not indexed: nothing looks an entry up by its hash (verification walks by seq),
    # and a random 64-character key would cost every append two index insertions
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditPending(AuditRecord):
    """An entry written with its business change, waiting to be chained.

    Hot paths (a checkout) write here instead of locking the chain's head inside their
    own transaction; :func:`propoor.core.audit.audit_seal` moves pending entries onto
    the chain, oldest first, right after the commit (or later, from ``propoor audit
    seal``). Being in the same transaction as the change, an entry is never lost: it is
    chained late, not missing.
    """

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "pending audit entries"

    def __str__(self) -> str:
        return f"pending {self.action} {self.object_type}:{self.object_id}"


class AuditHead(models.Model):
    """The chain's tip, one row, locked while an entry is appended."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head #{self.last_seq}"
