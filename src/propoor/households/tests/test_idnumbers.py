from __future__ import annotations

from datetime import date

import pytest

from propoor.core.errors import ValidationFailed
from propoor.households import idnumbers

VALID_ID = "11010519491231002X"


def test_protect_encrypts_hashes_and_masks() -> None:
    protected = idnumbers.protect(VALID_ID.lower())

    assert protected.masked == "1101**********002X"
    assert protected.hash == idnumbers.id_hash(VALID_ID)
    assert len(protected.hash) == 64
    assert idnumbers.decrypt(protected.cipher) == VALID_ID
    assert (protected.birth_date, protected.sex) == (date(1949, 12, 31), "female")
    assert repr(protected) == "ProtectedId(1101**********002X)"


def test_the_cipher_differs_each_time_but_the_hash_does_not() -> None:
    first, second = idnumbers.protect(VALID_ID), idnumbers.protect(VALID_ID)

    assert first.cipher != second.cipher
    assert first.hash == second.hash


def test_the_hash_depends_on_the_key(settings) -> None:
    before = idnumbers.id_hash(VALID_ID)
    settings.ID_HASH_KEY = "another-key"

    assert idnumbers.id_hash(VALID_ID) != before


def test_a_cipher_under_another_key_does_not_decrypt(settings) -> None:
    cipher = idnumbers.encrypt(VALID_ID)
    settings.ID_ENCRYPTION_KEY = "YW5vdGhlci1rZXktZm9yLXRoZS1pZC1jaXBoZXIhISE="

    with pytest.raises(ValueError, match="does not decrypt with the current key"):
        idnumbers.decrypt(cipher)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "110105194912310021",
            "ID number 1101**********0021 is not valid: the check character is 1 "
            "but the first 17 digits give X",
        ),
        (
            "110105194913310021",
            "ID number 1101**********0021 is not valid: characters 7-14 (19491331) "
            "are not a real birth date (YYYYMMDD)",
        ),
        (
            "1101051949123",
            "ID number 1101*****9123 is not valid: an ID number has 18 characters, "
            "this one has 13",
        ),
    ],
)
def test_invalid_numbers_are_refused_without_echoing_them(raw, message) -> None:
    with pytest.raises(ValidationFailed) as caught:
        idnumbers.protect(raw)

    assert caught.value.message == message
    assert raw not in str(caught.value.as_dict())


def test_a_blank_number_is_asked_for() -> None:
    with pytest.raises(ValidationFailed, match=r"^Give the ID number\.$"):
        idnumbers.protect("  ")
