"""Rebuild the CJK font that certificates and handouts embed.

The project ships ``NotoSansSC-Regular-subset.ttf`` (beside this file): a subset of
Noto Sans SC Regular, TrueType outlines, SIL Open Font License 1.1 (``OFL.txt``).

Where the source comes from: the npm package ``@expo-google-fonts/noto-sans-sc``,
version 0.4.3, file ``400Regular/NotoSansSC_400Regular.ttf`` inside it::

    npm pack @expo-google-fonts/noto-sans-sc@0.4.3
    tar xzf expo-google-fonts-noto-sans-sc-0.4.3.tgz
    python -m propoor.training.fonts.build package/400Regular/NotoSansSC_400Regular.ttf

The licence is ``package/LICENSE_FONT`` in the same tarball (copied here as OFL.txt).

What is kept: printable ASCII, Latin-1 supplement, general punctuation, CJK symbols and
punctuation, fullwidth forms, the whole CJK Unified Ideographs block (U+4E00-U+9FFF),
and ¥ · ×. Hinting is dropped (the PDF viewers rasterise themselves); the name table is
kept whole so the font still names itself and carries its copyright and licence.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "NotoSansSC-Regular-subset.ttf"

#: Inclusive code point ranges kept in the subset.
RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # printable ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement
    (0x2000, 0x206F),  # general punctuation (… — “ ” ‘ ’ ‧ …)
    (0x3000, 0x303F),  # CJK symbols and punctuation (、。《》「」【】…)
    (0xFF00, 0xFFEF),  # halfwidth and fullwidth forms (，：；！？（）…)
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
)
#: Single characters, named so a reader sees why they are here.
EXTRA = "¥·×"


def unicodes() -> list[int]:
    codes = {cp for lo, hi in RANGES for cp in range(lo, hi + 1)}
    codes.update(ord(ch) for ch in EXTRA)
    return sorted(codes)


def build(source: Path, output: Path = OUTPUT) -> Path:
    options = subset.Options()
    options.notdef_outline = True
    options.hinting = False
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.name_legacy = True
    options.layout_features = ["*"]  # keep vertical forms, fullwidth variants, etc.
    options.recalc_timestamp = False  # same source, same bytes

    font = subset.load_font(str(source), options, lazy=False)
    try:
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=unicodes())
        subsetter.subset(font)
        subset.save_font(font, str(output), options)
    finally:
        font.close()
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="NotoSansSC_400Regular.ttf")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    out = build(args.source, args.output)
    print(f"{out}: {out.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
