"""axe-core's WCAG 2.2 A/AA check of the page a Playwright test has open (the vendored, pinned build)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
# The page's CSP forbids injected scripts: a context that runs axe needs ``bypass_csp=True``.
RUN_AXE = "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"


def axe_violations(page: Any) -> list[str]:
    """Each WCAG 2.2 A/AA violation on the page as ``rule: selectors``; empty when the page passes."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    violations = page.evaluate(RUN_AXE, WCAG_A_AA)
    return [f"{found['id']}: {[node['target'] for node in found['nodes']]}" for found in violations]
