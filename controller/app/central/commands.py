"""Commands from the centre to a bank: an operator's action, signed by the centre, pulled by the bank.

A command names the bank, the action (``maintenance_unlock``, ``clear_alarm``, ``out_of_service``), the
compartment, the operator and an expiry; its body is canonical JSON signed with the centre's key, which each
bank pins (``[fleet] central_public_key``). The centre delivers a command on every pull until the bank
reports its outcome (``done``, ``refused``, ``expired``, ``unknown``); the bank runs it at most once. An
``unknown`` outcome is a fleet alarm, never a retry.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from controller.app.audit.keys import sign_bytes
from controller.app.central.envelope import COMMAND, OUTCOME, PULL
from controller.app.central.sync import SyncDesk
from controller.app.http.access import Access
from controller.app.http.operators import Principal
from controller.domain.chain import canonical_json
from fleet.commands import CommandQueue
from fleet.details import detail as alarm_detail
from fleet.errors import UnknownBank

ACTIONS = ("maintenance_unlock", "clear_alarm", "out_of_service")


class CommandRequest(BaseModel):
    """``POST /fleet/banks/{id}/commands``."""

    action: Literal["maintenance_unlock", "clear_alarm", "out_of_service"]
    compartment_id: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=500)
    expires_in_s: float = Field(default=300.0, ge=1.0, le=86_400.0)


def signed_command(bank_id: str, request: CommandRequest, operator: str, signer: Ed25519PrivateKey) -> dict[str, str]:
    """A new command's id, signed body, signature and expiry."""
    now = datetime.now(UTC)
    document = {"format": COMMAND, "id": uuid.uuid4().hex, "bank_id": bank_id, "action": request.action,
                "compartment_id": request.compartment_id, "operator": operator, "note": request.note,
                "issued_at": now.isoformat(), "expires_at": (now + timedelta(seconds=request.expires_in_s)).isoformat()}
    body = canonical_json(document)
    return {"id": document["id"], "body": body, "signature": sign_bytes(body.encode(), signer),
            "expires_at": document["expires_at"]}


def command_router(queue: CommandQueue, signer: Ed25519PrivateKey, access: Access) -> APIRouter:
    """``POST/GET /fleet/banks/{id}/commands``: operators queue commands; readers see them and their outcomes."""
    router = APIRouter(prefix="/fleet")

    @router.post("/banks/{bank_id}/commands", status_code=201)
    def send(bank_id: str, body: CommandRequest, who: Principal = Depends(access.actor)) -> dict[str, Any]:
        command = signed_command(bank_id, body, who.name, signer)
        try:
            queue.add(command["id"], bank_id, command["body"], command["signature"], command["expires_at"])
        except UnknownBank as error:
            raise HTTPException(404, str(error)) from None
        return {"id": command["id"], "expires_at": command["expires_at"], "state": "pending"}

    @router.get("/banks/{bank_id}/commands")
    def listed(bank_id: str, _who: Principal = Depends(access.reader)) -> dict[str, Any]:
        return {"commands": queue.of_bank(bank_id)}

    return router


class BankCommands:
    """The bank's side of the queue, behind its signature: pulls and outcome reports."""

    def __init__(self, desk: SyncDesk, queue: CommandQueue) -> None:
        self.desk, self.queue = desk, queue

    def pull(self, bank_id: str, body: bytes, signature: str) -> dict[str, Any]:
        """The bank's pending commands (``acknowledged``: the centre's head of its log, as every answer has)."""
        self.desk.signed(bank_id, body, signature, PULL)
        return {"acknowledged": self.desk.store.bank(bank_id).head.position, "commands": self.queue.pull(bank_id)}

    def outcome(self, bank_id: str, body: bytes, signature: str) -> dict[str, Any]:
        """Record the outcome a bank reports; ``unknown`` raises a fleet alarm."""
        document = self.desk.signed(bank_id, body, signature, OUTCOME)
        outcome, detail = str(document.get("outcome")), str(document.get("detail", ""))
        recorded = self.queue.report(bank_id, str(document.get("id")), outcome, detail)
        if recorded and outcome == "unknown":
            self.desk.store.raise_alarm(bank_id, "command_unknown", alarm_detail(
                "command_unknown.outcome", command=str(document.get("id")), detail=detail))
        return {"acknowledged": self.desk.store.bank(bank_id).head.position, "recorded": recorded}
