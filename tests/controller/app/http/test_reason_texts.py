"""Every reason the kiosk can be told has a text in Korean and in English; the codes are taken from the code.

The codes come from where they are decided: the quality gates (``quality.reason_codes``), the liveness
checks (``verdict.check_codes``), the worker's own rejections, ``feedback.py`` and the kiosk feed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.app.http import feedback
from controller.app.http.web import feed
from controller.app.http.web.feed import kiosk_message, kiosk_reason, liveness_reason
from controller.domain import events as ev
from controller.domain.evidence import Evidence
from recognition.liveness.verdict import check_codes
from recognition.pipeline.quality import reason_codes
from recognition.runtime.worker import ANALYSIS_FAILED, NO_TEMPLATES

CATALOGUES = Path(feed.__file__).parent / "static" / "i18n"
LANGUAGES = ("ko", "en")


def kiosk_reasons() -> set[str]:
    """Every reason code the kiosk page can receive, as the feed words it."""
    codes = {*reason_codes(), NO_TEMPLATES, ANALYSIS_FAILED, *feedback.REASONS, feed.FACE_OK}
    codes |= {feed.CONTACT_OPERATOR, feed.LOCKED_OUT, feed.NOT_RECOGNISED}
    return {kiosk_reason(code) for code in codes} | {liveness_reason(check) for check in check_codes()}


def catalogue(language: str) -> dict[str, str]:
    return dict(json.loads((CATALOGUES / f"{language}.json").read_text(encoding="utf-8")))


def test_the_codes_are_the_ones_the_code_decides() -> None:
    reasons = kiosk_reasons()
    assert {"face_too_small", "too_dark", "too_blurry", "not_frontal", "multiple_faces"} <= reasons
    assert {"challenge_turn_head", "liveness_failed", "not_recognised"} <= reasons
    assert "replay" not in reasons and "passive" not in reasons  # said as "show your own face"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_reason_has_a_text(language: str) -> None:
    texts = catalogue(language)
    missing = sorted(r for r in kiosk_reasons() if not str(texts.get(f"reason.{r}", "")).strip())
    assert not missing, f"{language}.json has no text for reason.{missing}"


@pytest.mark.parametrize("check", check_codes())
def test_a_liveness_refusal_is_never_not_recognised(check: str) -> None:
    evidence = Evidence(distance=0.3, threshold=0.45, model_version="m", liveness=check)
    rejected = ev.IdentityRejected(compartment_id="3", version=5, occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                                   reason=f"liveness_failed: {check}", evidence=evidence, failed_attempts=1)
    message = kiosk_message(rejected)
    assert message is not None and message["reason"] not in (feed.NOT_RECOGNISED, "")
    assert message["reason"] == (check if check in ("challenge_turn_head", "too_few_frames") else "liveness_failed")
