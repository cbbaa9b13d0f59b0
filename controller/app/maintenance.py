"""Maintenance beside a running controller: find the controller that holds this bank's log, if any.

A maintenance unlock must be recorded in the log; while a controller holds it, only that controller may
write, so ``lockers plc unlock`` refuses and names the operator endpoint that records the pulse.
"""

from __future__ import annotations

from pathlib import Path

from controller.app.config import load_config
from controller.app.location import database_url


def running_controller(config_path: Path | None) -> str | None:
    """Who holds the log the configuration names (host, pid, since), or None when no controller runs."""
    from storage.engine import parse_url, sqlite_path
    from storage.lease import LeaseHeld, acquire_lease, read_holder

    config = load_config(config_path)
    url = database_url(config)
    path = sqlite_path(parse_url(url))
    if path is not None:
        holder = read_holder(path)
        return None if holder is None else f"host {holder.get('host')}, pid {holder.get('pid')}"
    try:
        acquire_lease(url).release()
    except LeaseHeld as exc:
        return str(exc)
    return None


def unlock_through_controller(config_path: Path | None, compartment: int) -> str:
    """The exact command that asks the running controller for a recorded maintenance unlock."""
    api = load_config(config_path).api
    return (
        "curl -X POST -H 'Authorization: Bearer <operator token>' -H 'content-type: application/json' "
        f"-d '{{\"operator_id\": \"<your id>\", \"note\": \"maintenance\"}}' "
        f"http://{api.host}:{api.port}/operator/compartments/{compartment}/unlock"
    )
