"""The compartment state machine as data: one row per allowed transition.

Rows are evaluated in order; a row's ``conditions`` read only the event and the model, and its
``before`` callback (``Compartment.record_<trigger>``) only copies facts from the event onto the
model. No row does IO, so replaying a log never touches hardware.
"""

from __future__ import annotations

from typing import Any, Final

from controller.domain.states import CompartmentState as S

ANY_STATE: Final = "*"
UNLOCKED_FOR_DEPOSIT: Final = "is_deposit"
UNLOCKED_FOR_RETRIEVAL: Final = "is_retrieval"
EXPECTED_UNLOCK: Final = "is_expected_unlock"
RESUMES_FREE: Final = "resumes_free"
RESUMES_OCCUPIED: Final = "resumes_occupied"

TRANSITIONS: Final[list[dict[str, Any]]] = [
    # Deposit: a free compartment is assigned and unlocked; the door opens, then closes.
    {"trigger": "start_deposit", "source": S.FREE, "dest": S.OPEN},
    {"trigger": "pulse_sent", "source": S.OPEN, "dest": S.OPEN, "conditions": EXPECTED_UNLOCK},
    {"trigger": "pulse_sent", "source": S.ALARM, "dest": None, "conditions": EXPECTED_UNLOCK},
    {"trigger": "door_opened", "source": [S.OPEN, S.ALARM], "dest": None},
    {"trigger": "door_closed", "source": [S.OPEN, S.ALARM, S.FREE, S.OCCUPIED, S.VERIFYING], "dest": None},
    {"trigger": "deposit_completed", "source": S.OPEN, "dest": S.OCCUPIED, "conditions": UNLOCKED_FOR_DEPOSIT},
    # Retrieval: a face resembles the owner, verification confirms it, the door opens and closes.
    {"trigger": "start_verification", "source": S.OCCUPIED, "dest": S.VERIFYING},
    {"trigger": "confirm_identity", "source": S.VERIFYING, "dest": S.OPEN},
    {"trigger": "reject_identity", "source": S.VERIFYING, "dest": S.OCCUPIED},
    {"trigger": "verification_timed_out", "source": S.VERIFYING, "dest": S.OCCUPIED},
    # A one-time PIN opens for retrieval on its own (face or PIN), or vouches for a face to come (face and PIN).
    {"trigger": "confirm_pin", "source": [S.OCCUPIED, S.VERIFYING], "dest": S.OPEN},
    {"trigger": "verify_pin", "source": [S.OCCUPIED, S.VERIFYING], "dest": None},
    # Erasure on request: the face template goes, the item stays.
    {"trigger": "erase_face", "source": [S.OCCUPIED, S.ALARM], "dest": None},
    {"trigger": "retrieval_completed", "source": S.OPEN, "dest": S.FREE, "conditions": UNLOCKED_FOR_RETRIEVAL},
    # Unlocked but never opened: the latch closes again and the flow is undone.
    {
        "trigger": "unlock_expired",
        "source": S.OPEN,
        "dest": S.FREE,
        "conditions": [UNLOCKED_FOR_DEPOSIT, EXPECTED_UNLOCK],
    },
    {
        "trigger": "unlock_expired",
        "source": S.OPEN,
        "dest": S.OCCUPIED,
        "conditions": [UNLOCKED_FOR_RETRIEVAL, EXPECTED_UNLOCK],
    },
    # A face recorded after its time to live: noted in the log, acted on never.
    {"trigger": "face_seen_too_late", "source": ANY_STATE, "dest": None},
    # Alarms: anything may raise one; an operator clears it (or the board's recovery, below).
    {"trigger": "raise_alarm", "source": ANY_STATE, "dest": S.ALARM},
    {"trigger": "maintenance_unlock", "source": ANY_STATE, "dest": S.ALARM},
    {"trigger": "clear_alarm", "source": S.ALARM, "dest": S.FREE, "conditions": RESUMES_FREE},
    {"trigger": "clear_alarm", "source": S.ALARM, "dest": S.OCCUPIED, "conditions": RESUMES_OCCUPIED},
    # A lock board that comes back with every door as the log expects ends its own fault alarms.
    {"trigger": "board_fault_resolved", "source": S.ALARM, "dest": S.FREE, "conditions": RESUMES_FREE},
    {"trigger": "board_fault_resolved", "source": S.ALARM, "dest": S.OCCUPIED, "conditions": RESUMES_OCCUPIED},
]


def with_recorders(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attach each row's ``before`` callback, ``record_<trigger>``, which copies the event's facts."""
    return [{**row, "before": f"record_{row['trigger']}"} for row in table]


TRIGGERS: Final[frozenset[str]] = frozenset(row["trigger"] for row in TRANSITIONS)
