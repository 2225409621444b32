from __future__ import annotations

import pytest

from propoor.households.tests.factories import make_area_tree, make_user


@pytest.fixture
def area_tree(db):  # type: ignore[no-untyped-def]
    return make_area_tree()


@pytest.fixture
def buyer(area_tree):  # type: ignore[no-untyped-def]
    return make_user("buyer")


@pytest.fixture(scope="session")
def _pay_keys(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Generated gateway keys for the whole run (RSA generation is slow)."""
    return tmp_path_factory.mktemp("pay-keys")


@pytest.fixture(autouse=True)
def _pay_paths(settings, _pay_keys, tmp_path):  # type: ignore[no-untyped-def]
    """Keep the sandbox's keys and trades out of the working tree."""
    settings.PROPOOR_PAY_KEYS_DIR = _pay_keys
    settings.PROPOOR_PAY_SANDBOX_STORE = tmp_path / "pay-sandbox.json"
