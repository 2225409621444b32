"""The survey browser tests use the shared harness (``propoor/conftest.py``)."""

from __future__ import annotations

from propoor.web.tests.conftest import _no_language_left_behind

__all__ = ["_no_language_left_behind"]
