"""Signals other domains listen to, so that households never imports them.

``plan_approved`` is sent after the approving transaction commits, with ``plan`` and
``actor``: training invites the household to the courses its plan calls for.
"""

from __future__ import annotations

from django.dispatch import Signal

plan_approved = Signal()
