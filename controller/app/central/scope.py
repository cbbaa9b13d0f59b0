"""Which banks an operator of the centre sees and acts on (``lockers operators add NAME --banks A,B``).

An account limited to some banks (``OperatorDirectory.banks_of``) gets 403 on any ``/fleet`` route that names
another bank, by its path (``{bank_id}``) or through a fleet alarm (``{alarm_id}``), and lists (banks, alarms)
without the others. An account with no limit, and the deprecated shared token, see every bank.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request

from controller.app.http.access import Access
from controller.app.http.operators import Principal
from fleet.store import CentralStore


class BankScope:
    """The fleet API's per-bank guard and filter."""

    def __init__(self, access: Access, store: CentralStore) -> None:
        self.access, self.store = access, store

    def limit(self, who: Principal) -> frozenset[str]:
        """The banks ``who`` is limited to; empty: every bank."""
        return self.access.directory.banks_of(who.name) if who.via in {"session", "token"} else frozenset()

    def allows(self, who: Principal, bank_id: str) -> bool:
        """Whether ``who`` may see and act on ``bank_id``."""
        limit = self.limit(who)
        return not limit or bank_id in limit

    def only(self, who: Principal, rows: list[dict[str, Any]], key: str = "bank_id") -> list[dict[str, Any]]:
        """The rows of the banks ``who`` may see."""
        limit = self.limit(who)
        return [row for row in rows if not limit or row[key] in limit]

    def guard(self, request: Request) -> None:
        """FastAPI dependency: 403 for a route naming a bank the caller is not given (401 is the route's own)."""
        who = self.access.identify(request)
        if who is None:
            return
        bank_id = request.path_params.get("bank_id")
        if bank_id is None and "alarm_id" in request.path_params:
            bank_id = self._alarm_bank(str(request.path_params["alarm_id"]))
        if bank_id is not None and not self.allows(who, str(bank_id)):
            raise HTTPException(403, f"{who.role} {who.name!r} is not given bank {bank_id!r}")

    def _alarm_bank(self, alarm_id: str) -> str | None:
        alarm = self.store.alarm(int(alarm_id)) if alarm_id.isdecimal() else None
        return None if alarm is None else str(alarm["bank_id"])
