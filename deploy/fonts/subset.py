"""Subset the kiosk's Korean and Latin font (Pretendard, OFL-1.1, npm ``pretendard@1.3.9``) to what pages show.

Kept: printable ASCII, Latin-1 punctuation, the 2,350 Hangul syllables of KS X 1001 (what Korean text
uses in practice), and every character of the message catalogues, so a catalogue edit that adds a rarer
syllable is covered by running this again (``tests/controller/app/http/test_fonts.py`` says when).

    npm pack pretendard@1.3.9 && tar xzf pretendard-1.3.9.tgz
    python deploy/fonts/subset.py package/dist/public/static   # needs fonttools and brotli

Pretendard reserves its font name (OFL-1.1 RFN): a subset is a Modified Version, so it is renamed
``Lockers Kiosk Sans`` inside the font and in the stylesheet.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "controller/app/http/web/static"
WEIGHTS = ("Regular", "Bold")
FAMILY = "Lockers Kiosk Sans"


def ks_x_1001_syllables() -> str:
    """The 2,350 precomposed Hangul syllables of KS X 1001 (EUC-KR rows 0xB0-0xC8)."""
    return "".join(bytes([high, low]).decode("euc-kr") for high in range(0xB0, 0xC9) for low in range(0xA1, 0xFF))


def wanted_text() -> str:
    """Every character the kiosk and the console may draw with the shipped font."""
    ascii_and_punctuation = "".join(chr(c) for c in range(0x20, 0x7F)) + "·–—‘’“”…€₩×"
    catalogues = "".join(p.read_text(encoding="utf-8") for p in sorted((STATIC / "i18n").glob("*.json")))
    return "".join(sorted(set(ascii_and_punctuation + ks_x_1001_syllables() + catalogues) - {"\n"}))


def main(source: Path) -> None:
    """Write ``static/fonts/LockersKioskSans-<weight>.woff2`` and the ``characters.txt`` they hold."""
    text_file = STATIC / "fonts" / "characters.txt"  # kept: the test checks the catalogues against it
    text_file.write_text(wanted_text(), encoding="utf-8")
    for weight in WEIGHTS:
        subprocess.run([sys.executable, "-m", "fontTools.subset", str(source / f"Pretendard-{weight}.otf"),
                        f"--text-file={text_file}", "--flavor=woff2", "--layout-features=kern,liga,ccmp,locl",
                        f"--output-file={output(weight)}"], check=True)
        rename(output(weight), weight)


def output(weight: str) -> Path:
    """Where the subset of ``weight`` is written."""
    return STATIC / "fonts" / f"LockersKioskSans-{weight}.woff2"


def rename(path: Path, weight: str) -> None:
    """Give the subset its own family name (the OFL's reserved-name rule for Modified Versions)."""
    from fontTools.ttLib import TTFont

    font = TTFont(path)
    names = {1: FAMILY, 2: weight, 3: f"{FAMILY} {weight}; subset of Pretendard 1.3.9", 4: f"{FAMILY} {weight}",
             6: f"LockersKioskSans-{weight}", 16: FAMILY, 17: weight}
    for record in list(font["name"].names):
        if record.nameID in names:
            record.string = names[record.nameID]
    font.save(path)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
