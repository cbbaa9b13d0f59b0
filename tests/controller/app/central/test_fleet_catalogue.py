"""The fleet console's words: every ``fleet.*`` key its page and scripts use, every fleet alarm kind and detail code,
in ko and en.

The lists come from the files: the keys ``fleet.html`` and the scripts it loads name, the kinds of refused batches
(``fleet.errors.REFUSALS``) and the kinds the centre raises by name (``raise_alarm(..., "kind", ...)`` in
``controller/app/central``), every detail code (``fleet.details.DETAILS``: the console words ``fleet.detail.CODE``
with the code's arguments); the ``op.*`` words it borrows from the bank console are held like the bank console's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import controller.app.central as central
from controller.app.http.web.pages import packaged_html
from fleet.details import DETAILS
from fleet.errors import REFUSALS
from tests.controller.app.http.test_console_catalogue import HANGUL, LANGUAGES, catalogue, console_keys, page_scripts

PAGE = "fleet.html"


def fleet_alarm_kinds() -> set[str]:
    """Every kind of fleet alarm: refused batches, and the kinds the centre's code raises by name."""
    named = set()
    for module in Path(central.__file__).parent.glob("*.py"):
        named |= set(re.findall(r'raise_alarm\([^,]+,\s*"(\w+)"', module.read_text(encoding="utf-8")))
    assert "offline" in named, "the liveness monitor raises 'offline' alarms"
    return named | set(REFUSALS)


def fleet_keys() -> set[str]:
    """The ``fleet.*`` keys the page and its scripts name (a ``label("fleet.x", ...)`` prefix is a template)."""
    text = packaged_html(PAGE) + page_scripts(PAGE)
    prefixes = set(re.findall(r'label\("([\w.]+)"', text))
    literal = set(re.findall(r'"(fleet\.[\w.]+)"', text)) - prefixes
    assert "fleet.alarm" in prefixes, "fleet.js names fleet alarms with label('fleet.alarm', kind)"
    assert "`fleet.detail.${alarm.detail_code}`" in text, "fleet.js words a fleet alarm's detail by its code"
    details = {f"fleet.detail.{code}" for code in DETAILS}
    return literal | details | {f"fleet.alarm.{kind}" for kind in fleet_alarm_kinds()}


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def needed() -> set[str]:
    """Everything the fleet console may say: its own keys and the bank console's it uses."""
    return fleet_keys() | console_keys(PAGE)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_the_fleet_console_uses_has_words(lang: str) -> None:
    words = catalogue(lang)
    missing = sorted(key for key in needed() if not words.get(key, "").strip())
    assert not missing, f"{lang}.json lacks {missing}"


def test_the_korean_fleet_console_speaks_korean_and_both_have_the_same_keys() -> None:
    korean, english = catalogue("ko"), catalogue("en")
    untranslated = sorted(k for k in fleet_keys() if not HANGUL.search(korean[k]) or korean[k] == english[k])
    assert not untranslated, untranslated
    fleet = [{key for key in words if key.startswith("fleet.")} for words in (korean, english)]
    assert fleet[0] == fleet[1], fleet[0] ^ fleet[1]


def test_every_alarm_kind_has_detail_codes_and_every_code_a_kind() -> None:
    kinds = {code.split(".", 1)[0] for code in DETAILS}
    assert fleet_alarm_kinds() <= kinds, fleet_alarm_kinds() - kinds


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_detail_text_names_the_arguments_of_its_code(lang: str) -> None:
    words = catalogue(lang)
    wrong = sorted(code for code, english in DETAILS.items()
                   if placeholders(words.get(f"fleet.detail.{code}", "")) != placeholders(english))
    assert not wrong, f"{lang}.json words these detail codes with other arguments: {wrong}"
