"""Writes of the surveys domain: forms, submissions, change requests.

- :mod:`.forms`: install the shipped XLSForms, upload new ones (pyxform).
- :mod:`.receive`: take a submission from an OpenRosa client (idempotent, never
  lost), validate it and turn it into a change request.
- :mod:`.review`: approve (applied through the households services) or reject.
"""

from __future__ import annotations

from propoor.surveys.services.forms import form_upload, forms_install_shipped
from propoor.surveys.services.receive import (
    ALLOWED_ATTACHMENT_TYPES,
    AttachmentTooLarge,
    IncomingAttachment,
    InvalidValues,
    MalformedSubmission,
    OutsideScope,
    Received,
    SubmissionError,
    UnknownForm,
    UnsupportedMediaType,
    submission_receive,
)
from propoor.surveys.services.review import change_approve, change_reject

__all__ = [
    "ALLOWED_ATTACHMENT_TYPES",
    "AttachmentTooLarge",
    "IncomingAttachment",
    "InvalidValues",
    "MalformedSubmission",
    "OutsideScope",
    "Received",
    "SubmissionError",
    "UnknownForm",
    "UnsupportedMediaType",
    "change_approve",
    "change_reject",
    "form_upload",
    "forms_install_shipped",
    "submission_receive",
]
