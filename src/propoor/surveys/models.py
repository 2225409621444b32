"""Field surveys: XLSForm forms, OpenRosa submissions, change requests for review.

A submission is stored raw first (never lost), then parsed into a change request on
the registry that a reviewer approves (applied through the households services) or
rejects with a reason.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class FormKind(models.TextChoices):
    HOUSEHOLD = "household", _("Household questionnaire")
    VILLAGE = "village", _("Village questionnaire")


class Form(models.Model):
    form_id = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=FormKind.choices)
    # Where the form is used; None = everywhere. A user sees a form when this area
    # and their scope overlap.
    area = models.ForeignKey(
        "areas.Division", null=True, blank=True, on_delete=models.PROTECT
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("form_id",)

    def __str__(self) -> str:
        return self.form_id

    @property
    def current_version(self) -> FormVersion | None:
        """The version clients download (prefetched by ``selectors.form_list``)."""
        prefetched = getattr(self, "current_versions", None)
        if prefetched is not None:
            return prefetched[0] if prefetched else None
        return self.versions.filter(is_current=True).first()


class FormVersion(models.Model):
    """One uploaded XLSForm, converted to an XForm by pyxform."""

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=40)
    xlsform = models.BinaryField()
    xlsform_name = models.CharField(max_length=200)
    xform = models.TextField()
    md5 = models.CharField(max_length=32)
    # How form fields map onto registry fields: {"<path below the root>": "<target>"},
    # e.g. {"income/income_wages": "income_wages", "members": "members",
    # "members/id_number": "members.id_number"} (see surveys/README.md).
    mapping = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    is_current = models.BooleanField(default=True)

    class Meta:
        ordering = ("form_id", "-created_at")
        constraints = (
            models.UniqueConstraint(
                fields=("form", "version"), name="form_version_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.form.form_id}@{self.version}"


class SubmissionStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    INVALID = "invalid", _("Invalid")
    PENDING = "pending", _("Waiting for review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Submission(models.Model):
    instance_id = models.CharField(max_length=64, unique=True)
    form_version = models.ForeignKey(
        FormVersion, null=True, blank=True, on_delete=models.PROTECT
    )
    form_id_raw = models.CharField(max_length=80, blank=True)
    version_raw = models.CharField(max_length=40, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL
    )
    received_at = models.DateTimeField(auto_now_add=True)
    # The XML as received, with every ID number masked: safe to show.
    xml = models.TextField()
    # The XML exactly as received, Fernet-encrypted (ID numbers are never stored in
    # clear): approval reads the members' clear ID numbers from it.
    xml_encrypted = models.TextField(blank=True)
    status = models.CharField(
        max_length=10,
        choices=SubmissionStatus.choices,
        default=SubmissionStatus.RECEIVED,
    )
    errors = models.JSONField(default=list, blank=True)
    village = models.ForeignKey(
        "areas.Division", null=True, blank=True, on_delete=models.PROTECT
    )
    household = models.ForeignKey(
        "households.Household", null=True, blank=True, on_delete=models.SET_NULL
    )
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True
    )

    class Meta:
        ordering = ("-received_at", "-id")
        indexes = (models.Index(fields=("status", "village")),)

    def __str__(self) -> str:
        return self.instance_id


class Attachment(models.Model):
    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="attachments"
    )
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ("submission_id", "name")
        constraints = (
            models.UniqueConstraint(
                fields=("submission", "name"), name="attachment_name_unique"
            ),
        )

    def __str__(self) -> str:
        return self.name


class ChangeKind(models.TextChoices):
    NEW_HOUSEHOLD = "new_household", _("New household")
    UPDATE = "update", _("Updated yearly survey")
    VILLAGE = "village", _("Village profile")


class ChangeStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    CONFLICT = "conflict", _("In conflict")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ChangeRequest(models.Model):
    """What a submission would change in the registry, waiting for a reviewer."""

    submission = models.OneToOneField(
        Submission, on_delete=models.CASCADE, related_name="change"
    )
    kind = models.CharField(max_length=14, choices=ChangeKind.choices)
    village = models.ForeignKey("areas.Division", on_delete=models.PROTECT)
    household = models.ForeignKey(
        "households.Household", null=True, blank=True, on_delete=models.SET_NULL
    )
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    # The registry values the submission carries (members with masked IDs only;
    # the clear ID numbers stay in the raw submission, which only the service reads).
    payload = models.JSONField(default=dict)
    # The household's state when the submission arrived: a later approved change to
    # the same household puts this request in conflict.
    base_marker = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.PENDING
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=400, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (
            models.Index(fields=("status", "village")),
            models.Index(fields=("household", "status")),
        )

    def __str__(self) -> str:
        return f"{self.kind} {self.submission_id} {self.status}"
