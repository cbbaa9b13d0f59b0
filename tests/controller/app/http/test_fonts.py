"""The kiosk's shipped font covers every character its message catalogues use."""

from __future__ import annotations

from controller.app.http.web.pages import STATIC


def test_every_catalogue_character_is_in_the_shipped_font_subset() -> None:
    subset = set((STATIC / "fonts" / "characters.txt").read_text(encoding="utf-8"))
    for catalogue in sorted((STATIC / "i18n").glob("*.json")):
        missing = set(catalogue.read_text(encoding="utf-8")) - subset - {"\n"}
        assert not missing, f"{catalogue.name} uses {sorted(missing)}: run deploy/fonts/subset.py again"
