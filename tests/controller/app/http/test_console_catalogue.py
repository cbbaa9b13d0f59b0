"""The console's words: every alarm reason, refusal code, state, event type and payload field has Korean and English.

The lists come from the code (the domain's enums and event registry, the error boundary's codes, the keys the
console's page and script name), never from this file: a new alarm reason, event or error code without its
words in both catalogues fails here.
"""

from __future__ import annotations

import json
import re

import pytest

from controller.app.http.errors import ERROR_CODES
from controller.app.http.web.pages import STATIC, packaged_html
from controller.domain.events import EVENT_TYPES, AlarmReason, payload_names
from controller.domain.states import CompartmentState

LANGUAGES = ("ko", "en")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def catalogue(lang: str) -> dict[str, str]:
    """``static/i18n/<lang>.json`` as the page loads it."""
    return dict(json.loads((STATIC / "i18n" / f"{lang}.json").read_text(encoding="utf-8")))


def page_scripts(page: str) -> str:
    """The scripts ``page`` loads from the package (the catalogue loader aside), one after the other."""
    html = packaged_html(page)
    names = [name for name in re.findall(r'<script src="/assets/([\w.-]+\.js)"', html) if name != "i18n.js"]
    assert names, f"{page} loads no script of its own"
    return "\n".join((STATIC / name).read_text(encoding="utf-8") for name in names)


def console_keys(page: str = "operator.html") -> set[str]:
    """Every catalogue key a console's page and the scripts it loads name literally (templates are checked below)."""
    html = packaged_html(page)  # as served: with the parts it includes
    script = page_scripts(page)
    keys = set(re.findall(r'data-i18n="([\w.]+)"', html))
    keys |= set(re.findall(r'(?:I18N\.t|button)\("([\w.]+)"', script))
    statuses = re.search(r"STATUS_ERRORS = \{(.*?)\};", script, re.DOTALL)
    assert statuses is not None, f"{page}'s scripts name refusals by status in STATUS_ERRORS"
    fallbacks = {"unavailable", "unknown"} | set(re.findall(r'"(\w+)"', statuses.group(1)))
    return keys | {f"op.error.{code}" for code in fallbacks}


def required_keys() -> dict[str, set[str]]:
    """What the console must be able to say, by kind, derived from the code."""
    fields = {name for event_type in EVENT_TYPES.values() for name in payload_names(event_type)}
    return {
        "alarm reasons": {f"op.alarm.{reason}" for reason in AlarmReason},
        "refusals": {f"op.error.{code}" for code in ERROR_CODES},
        "states": {f"op.state.{state}" for state in CompartmentState},
        "events": {f"op.event.{name}" for name in EVENT_TYPES},
        "payload fields": {f"op.field.{name}" for name in fields},
        "page and script": console_keys(),
    }


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(required_keys()))
def test_the_console_has_words_for_every(kind: str, lang: str) -> None:
    words = catalogue(lang)
    missing = sorted(key for key in required_keys()[kind] if not words.get(key, "").strip())
    assert not missing, f"{lang}.json lacks {kind}: {missing}"


def test_the_korean_console_speaks_korean() -> None:
    korean, english = catalogue("ko"), catalogue("en")
    needed = set().union(*required_keys().values()) - {"op.signed_in"}  # "{name} ({role})": no words of its own
    untranslated = sorted(k for k in needed if not HANGUL.search(korean[k]) or korean[k] == english[k])
    assert not untranslated, untranslated


def test_both_catalogues_have_the_same_console_keys() -> None:
    console = [{key for key in catalogue(lang) if key.startswith("op.")} for lang in LANGUAGES]
    assert console[0] == console[1], console[0] ^ console[1]
