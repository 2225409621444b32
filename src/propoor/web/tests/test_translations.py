from __future__ import annotations

import gettext
import re
from pathlib import Path

import propoor

CATALOG = Path(propoor.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES"
ENTRY = re.compile(
    r'^((?:#.*\n)*)msgid ((?:".*"\n)+)(?:msgid_plural (?:".*"\n)+)?'
    r'(msgstr(?:\[0\])? (?:".*"\n)+)',
    re.M,
)


def _text(block: str) -> str:
    return "".join(
        bytes(s, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
        for s in re.findall(r'"(.*)"', block)
    )


def _entries() -> list[tuple[str, str, str]]:
    text = (CATALOG / "django.po").read_text(encoding="utf-8") + "\n"
    return [
        (comments, _text(msgid), _text(msgstr.split(" ", 1)[1]))
        for comments, msgid, msgstr in ENTRY.findall(text)
        if _text(msgid)
    ]


def test_every_string_has_a_chinese_translation() -> None:
    entries = _entries()

    assert len(entries) > 300
    assert [m for _, m, s in entries if not s] == []
    assert [m for c, m, _ in entries if "fuzzy" in c] == []


def test_the_compiled_catalog_matches_the_source() -> None:
    with (CATALOG / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    # (A plural entry answers gettext with its single Chinese form.)
    stale = [m for _, m, s in _entries() if compiled.gettext(m) != s]

    assert stale == []
