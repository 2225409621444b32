"""The browser harness of the web pages (Debian's Chromium through Playwright)."""

from __future__ import annotations

from propoor.web.tests.browser.conftest import SCREENSHOTS, chromium
from propoor.web.tests.conftest import _no_language_left_behind

__all__ = ["SCREENSHOTS", "_no_language_left_behind", "chromium"]
