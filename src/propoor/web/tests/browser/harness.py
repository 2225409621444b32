"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Never ``playwright install``: the browser is the system's ``chromium`` package. The
tests skip, saying how to install it, when it is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.db import connections

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[5]
SCREENSHOTS = Path(os.environ.get("PROPOOR_SCREENSHOTS", REPO / "screenshots"))


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip(
            "Chromium is not installed: apt-get install -y chromium fonts-noto-cjk"
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # tests make meanwhile are still synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        # While Playwright's loop runs in this thread, Django keeps this thread's
        # database connections apart from those it had before (asgiref's Local acts
        # as a context variable when a loop is running): close those now, or they
        # outlive the test database, which then cannot be dropped.
        connections.close_all()
        browser.close()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def open_page(chromium: Browser, *, locale: str, viewport: dict[str, int]) -> Page:
    """A page in a fresh context that records JavaScript and console errors."""
    context = chromium.new_context(
        locale=locale,
        viewport=viewport,
        device_scale_factor=1,
        extra_http_headers={"Accept-Language": locale},
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" else None,
    )
    page.js_errors = errors  # type: ignore[attr-defined]
    return page


@pytest.fixture
def pages(chromium: Browser) -> Iterator[list[Page]]:
    """Pages a test opened; their contexts are closed after it."""
    opened: list[Page] = []
    yield opened
    for page in opened:
        page.context.close()
