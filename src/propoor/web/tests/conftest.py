from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _no_language_left_behind() -> Iterator[None]:
    """Requests activate their language in this thread; don't leak it to others."""
    yield
    translation.deactivate()
