"""Fixtures shared across domains.

The browser fixtures live here once: a session-scoped Playwright may start only once
per process, so two conftests must not each define their own.
"""

from __future__ import annotations

from propoor.web.tests.browser.harness import chromium, pages

__all__ = ["chromium", "pages"]
