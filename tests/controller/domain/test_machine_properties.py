"""Hypothesis drives random command sequences through the real core and checks its invariants.

Timeouts come from the real ``TimeoutScheduler`` fed with the committed events; every timer ever
armed stays in the pool, so the machine also fires stale ones (armed by an earlier opening, attempt or
unlock, or before a restart), and stale unlock ids reach the pulse outcome, expiry and decisions.

Each run draws a retrieval policy. An invariant no run exercises cannot fail: the flows reached are recorded
(``hypothesis.event``) and the test fails when one an invariant needs was never reached. After a few steps in
alarm only what ends an alarm (an operator, the board coming back) may run, so alarms do not crowd out flows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from controller.domain import commands as c
from controller.domain import events as ev
from controller.domain.compartment import Compartment, Policy
from controller.domain.effects import Unlock, effects_of
from controller.domain.errors import TransitionRejected
from controller.domain.evidence import Evidence
from controller.domain.lifecycle import Retrieval
from controller.ports import FixedClock, StoredEvent
from controller.service.scheduler import Timeouts, TimeoutScheduler
from tests.controller.domain.helpers import (
    CID,
    FLOWS,
    REACHED,
    ReferenceCompartment,
    armed_by_current_flow,
    not_stuck_in_alarm,
    reached,
    vars_of,
)

SUBJECTS = st.sampled_from(["alice", "bob", "mallory"])
CLAIMANTS = st.sampled_from(["owner", "owner", "owner", "alice", "mallory"])
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
TIMEOUTS = (c.ExpireDoorOpen, c.ExpireVerification, c.ExpireUnlock)
DECISIONS = (ev.DepositStarted, ev.IdentityConfirmed, ev.PinConfirmed)
class CompartmentMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock()
        self.policy = Policy(max_failed_verifications=3)
        self.live = Compartment(CID, self.policy)
        self.alarm_steps = 0
        self.log: list[ev.Event] = []
        self.unlock_ids: list[str] = []
        self.counter = 0
        self.scheduler = TimeoutScheduler(Timeouts(0.0, 0.0, 0.0))
        self.armed: list[c.Command] = []

    def _unlock_id(self, stale: bool) -> str:
        if stale and self.unlock_ids:
            return self.unlock_ids[self.counter % len(self.unlock_ids)]
        self.counter += 1
        return f"u-{self.counter}"

    def _commit(self, events: list[ev.Event]) -> None:
        self.log.extend(events)
        self.unlock_ids.extend(e.unlock_id for e in effects_of(events) if isinstance(e, Unlock))
        self.scheduler.on_committed([StoredEvent(len(self.log), e, "", "") for e in events])
        self.armed.extend(self.scheduler.due(FAR_FUTURE))

    def _try(self, command: c.Command) -> None:
        before = self.live.state
        try:
            events = self.live.decide(command, self.clock)
        except TransitionRejected:
            self._refused(command, before)
            return
        self._commit(events)
        self._record_flows(command, before, events)
        if before == "alarm" and self.live.state != "alarm":
            assert any(isinstance(e, ev.AlarmCleared | ev.BoardFaultResolved) for e in events), "left alarm unresolved"
        if any(isinstance(e, ev.BoardFaultResolved) for e in events):
            assert isinstance(command, c.ResolveBoardFault) and not command.door_is_open
            assert all(isinstance(e, ev.BoardFaultResolved) for e in events)

    def _refused(self, command: c.Command, state: str) -> None:
        if isinstance(command, c.ConfirmIdentity) and state == "verifying":
            if command.evidence.subject_id != self.live.subject_id:
                reached("non-owner refused while verifying")
            elif self.live.needs_pin():
                reached("face and PIN: face alone refused")

    def _record_flows(self, command: c.Command, before: str, events: list[ev.Event]) -> None:
        kinds = {type(e) for e in events}
        if ev.IdentityConfirmed in kinds and before == "verifying":
            reached("owner confirmed while verifying")
            if self.policy.retrieval == Retrieval.FACE_AND_PIN and self.live.pin_ref:
                reached("face and PIN: PIN then face")
        if ev.ItemRetrieved in kinds:
            reached("item retrieved")
        if ev.PinConfirmed in kinds:
            reached("retrieval by PIN")
        if ev.AlarmCleared in kinds:
            reached("alarm cleared by an operator")

    @initialize(
        start=st.sampled_from(["free", "occupied", "retrieving"]),
        retrieval=st.sampled_from(list(Retrieval)),
    )
    def begin(self, start: str, retrieval: Retrieval) -> None:
        """Some runs begin with an item inside, or with its owner's door open, so later flows come sooner."""
        self.policy = Policy(max_failed_verifications=3, retrieval=retrieval)
        self.live = Compartment(CID, self.policy)
        if start != "free":
            self.deposit("alice", stale=False)
            self.door(True)
            self.door(False)
        if start == "retrieving":
            self.owner_face()
            self.door(True)

    @precondition(not_stuck_in_alarm)
    @rule(subject=SUBJECTS, stale=st.booleans(), with_pin=st.booleans())
    def deposit(self, subject: str, stale: bool, with_pin: bool = True) -> None:
        unlock_id = self._unlock_id(stale)
        self._try(
            c.StartDeposit(
                compartment_id=CID,
                subject_id=subject,
                template_ref=f"t-{subject}",
                model_version="m",
                unlock_id=unlock_id,
                pin_ref=f"p-{subject}" if with_pin else "",
            )
        )

    @precondition(not_stuck_in_alarm)
    @rule(stale=st.booleans())
    def pin(self, stale: bool) -> None:
        """The deposit's PIN typed at the kiosk: it opens (face or PIN), or vouches for the face (face and PIN)."""
        if self.policy.retrieval == Retrieval.FACE_AND_PIN:
            self._try(c.VerifyPin(compartment_id=CID, kiosk="k"))
        else:
            self._try(c.ConfirmPin(compartment_id=CID, unlock_id=self._unlock_id(stale), kiosk="k"))

    @precondition(not_stuck_in_alarm)
    @rule(proof=st.sampled_from(["face", "pin", "operator"]))
    def erase(self, proof: str) -> None:
        by = "operator" if proof == "operator" else "owner"
        self._try(c.EraseFace(compartment_id=CID, requested_by=by, proof=proof, operator_id="ops"))

    @precondition(not_stuck_in_alarm)
    @rule(stale=st.booleans())
    def rental_ends(self, stale: bool) -> None:
        version = self.live.deposit_version - (1 if stale else 0)
        events = self.live.decide(c.ExpireRental(compartment_id=CID, deposit_version=version), self.clock)
        assert not (stale and events), "a stale rental timer raised an alarm"
        self._commit(events)

    @precondition(not_stuck_in_alarm)
    @rule()
    def wrong_pins(self) -> None:
        self._try(c.ReportWrongPins(compartment_id=CID, count=10))

    @precondition(not_stuck_in_alarm)
    @rule(outcome=st.sampled_from(["sent"] * 6 + ["not_sent", "unknown"]), stale=st.booleans())
    def unlock_outcome(self, outcome: str, stale: bool) -> None:
        unlock_id = self._unlock_id(True) if stale else self.live.unlock_id
        self._try(c.RecordUnlockOutcome(compartment_id=CID, unlock_id=unlock_id, outcome=outcome))

    @precondition(not_stuck_in_alarm)
    @rule(is_open=st.booleans())
    def door(self, is_open: bool) -> None:
        if is_open and self.live.state not in ("open", "alarm"):
            return  # forcing the door is a rule of its own, so alarms do not crowd out the flows
        self._try(c.ObserveDoor(compartment_id=CID, is_open=is_open))

    @precondition(not_stuck_in_alarm)
    @rule()
    def force_door(self) -> None:
        self._try(c.ObserveDoor(compartment_id=CID, is_open=True))

    @precondition(not_stuck_in_alarm)
    @rule(distance=st.floats(0.0, 1.0))
    def start_verification(self, distance: float) -> None:
        evidence = Evidence(distance=distance, threshold=0.45, model_version="m")
        self._try(c.StartVerification(compartment_id=CID, evidence=evidence))

    @precondition(not_stuck_in_alarm)
    @rule(subject=CLAIMANTS, distance=st.floats(0.0, 0.6), stale=st.booleans())
    def confirm(self, subject: str, distance: float, stale: bool) -> None:
        self._try(
            c.ConfirmIdentity(
                compartment_id=CID,
                evidence=Evidence(
                    subject_id=self.live.subject_id if subject == "owner" else subject,
                    distance=distance,
                    threshold=0.45,
                    margin=0.1,
                    frames_agreeing=3,
                    frames_considered=3,
                    model_version="m",
                ),
                unlock_id=self._unlock_id(stale),
            )
        )

    @precondition(not_stuck_in_alarm)
    @rule()
    def owner_face(self) -> None:
        """An accepted frame from the owner: verification starts and confirms at once, as the bridge does."""
        self.start_verification(0.3)
        self.confirm("owner", 0.3, stale=False)

    @precondition(not_stuck_in_alarm)
    @rule(subject=st.sampled_from(["bob", "mallory"]))
    def someone_else_is_verified_against_it(self, subject: str) -> None:
        """A face starts a verification, then another subject's confirmation arrives for it."""
        self.start_verification(0.3)
        self.confirm(subject, 0.3, stale=False)

    @precondition(not_stuck_in_alarm)
    @rule()
    def owner_returns_with_pin(self) -> None:
        """The owner types the PIN at the kiosk, then shows their face (the face-and-PIN flow, in one go)."""
        self.pin(stale=False)
        self.owner_face()

    @precondition(not_stuck_in_alarm)
    @rule()
    def owner_walks_away_then_returns(self) -> None:
        """PIN and face open the door, nobody opens it (its unlock expires), then the owner's face comes back."""
        self.owner_returns_with_pin()
        if self.live.state != "open" or self.live.door_open:
            return
        self._try(c.ExpireUnlock(compartment_id=CID, unlock_id=self.live.unlock_id))
        if self.policy.retrieval == Retrieval.FACE_AND_PIN and self.live.state == "occupied":
            opened = len(self.log)
            self.owner_face()
            if not any(isinstance(e, ev.IdentityConfirmed) for e in self.log[opened:]):
                reached("face and PIN: an unused opening asks for the PIN again")

    @precondition(not_stuck_in_alarm)
    @rule()
    def reject(self) -> None:
        evidence = Evidence(distance=None, threshold=0.45, model_version="m")
        self._try(c.RejectIdentity(compartment_id=CID, reason="x", evidence=evidence))

    def _pool(self) -> list[c.Command]:
        """The current flow's timer and the one of the flow just before it, of each kind, oldest first."""
        latest = {id(t) for kind in TIMEOUTS for t in [a for a in self.armed if isinstance(a, kind)][-2:]}
        return [t for t in self.armed if id(t) in latest]

    @precondition(lambda self: bool(self.armed) and not_stuck_in_alarm(self))
    @rule(data=st.data())
    def timeout(self, data: st.DataObject) -> None:
        self._fire(data.draw(st.sampled_from(self._pool())))

    @precondition(not_stuck_in_alarm)
    @rule()
    def time_passes(self) -> None:
        """Every pending deadline comes due at once, stale ones included, in the order they were armed."""
        for command in self._pool():
            self._fire(command)

    def _fire(self, command: c.Command) -> None:
        current = armed_by_current_flow(self.log, command)
        state = self.live.state
        events = self.live.decide(command, self.clock)  # a timeout never raises, stale or not
        if not current:
            assert events == [], f"{command} armed by an earlier flow changed the log: {events}"
            reached("stale timer ignored")
        elif isinstance(command, c.ExpireDoorOpen | c.ExpireVerification) and state != "alarm":
            assert events, f"{command} of the current flow did nothing"
        if any(isinstance(e, ev.VerificationTimedOut) for e in events) and state == "verifying":
            reached("verification timed out while verifying")
        self._commit(events)

    @precondition(not_stuck_in_alarm)
    @rule()
    def stale_unlock_expiry(self) -> None:
        self._try(c.ExpireUnlock(compartment_id=CID, unlock_id=self._unlock_id(True)))

    @precondition(not_stuck_in_alarm)
    @rule()
    def restart(self) -> None:
        if self.live.state in ("open", "verifying"):
            reached("restart mid-flow")
        self.live = Compartment.replay(CID, self.log, self.policy)
        self.scheduler.resume([self.live], self.clock.now())
        self.armed.extend(self.scheduler.due(FAR_FUTURE))

    @rule(release=st.booleans())
    def operator(self, release: bool) -> None:
        self._try(c.ClearAlarm(compartment_id=CID, operator_id="ops", release=release))

    @precondition(not_stuck_in_alarm)
    @rule()
    def board_fault(self) -> None:
        self._try(c.ReportBoardFault(compartment_id=CID, detail="lost"))

    @rule(door_is_open=st.booleans())
    def board_back(self, door_is_open: bool) -> None:
        self._try(c.ResolveBoardFault(compartment_id=CID, door_is_open=door_is_open))

    @invariant()
    def count_steps_in_alarm(self) -> None:
        self.alarm_steps = self.alarm_steps + 1 if self.live.state == "alarm" else 0

    @invariant()
    def replay_equals_live(self) -> None:
        replayed = Compartment.replay(CID, self.log, self.policy)
        assert replayed.state == self.live.state
        assert vars_of(replayed) == vars_of(self.live)

    @invariant()
    def lean_machine_agrees_with_stock_transitions(self) -> None:
        reference = ReferenceCompartment.replay(CID, self.log)
        assert vars_of(reference) == vars_of(self.live)
        assert reference.state == self.live.state

    @invariant()
    def versions_are_contiguous(self) -> None:
        assert [e.version for e in self.log] == list(range(1, len(self.log) + 1))

    @invariant()
    def every_unlock_has_a_cause_and_is_unique(self) -> None:
        caused = [e.unlock_id for e in self.log if isinstance(e, DECISIONS)]
        assert self.unlock_ids == caused
        assert len(set(caused)) == len(caused), "an unlock id was decided twice"
        pending, acknowledged = "", set()
        for event in self.log:
            if isinstance(event, DECISIONS):
                pending = event.unlock_id
            elif isinstance(event, ev.UnlockPulseSent):
                assert event.unlock_id == pending, f"acknowledged {event.unlock_id}, awaiting {pending}"
                assert event.unlock_id not in acknowledged
                acknowledged.add(event.unlock_id)

    @invariant()
    def a_confirmed_subject_owns_the_compartment_it_opens(self) -> None:
        owner = ""
        for event in self.log:
            if isinstance(event, ev.DepositStarted):
                owner = event.subject_id
            elif isinstance(event, ev.IdentityConfirmed):
                subject = event.evidence.subject_id
                assert owner and subject == owner, f"{subject} opened {owner!r}'s compartment"
                assert event.evidence.within_threshold()
            elif isinstance(event, ev.ItemRetrieved) or getattr(event, "released_template_ref", ""):
                owner = ""

    @invariant()
    def under_face_and_pin_each_face_opening_spends_one_pin(self) -> None:
        if self.policy.retrieval != Retrieval.FACE_AND_PIN:
            return
        vouched, pin_ref = False, ""
        for event in self.log:
            if isinstance(event, ev.DepositStarted):
                vouched, pin_ref = False, event.pin_ref
            elif isinstance(event, ev.PinVerified):
                vouched = True
            elif isinstance(event, ev.IdentityConfirmed):
                assert vouched or not pin_ref, "a face alone opened a compartment that asks for its PIN as well"
                vouched = False  # the PIN's vouching is spent by the opening
            elif isinstance(event, ev.IdentityRejected):
                vouched = False

    @invariant()
    def only_the_deposits_pin_opens_it_and_the_release_shreds_it(self) -> None:
        pin_ref = ""
        for event in self.log:
            if isinstance(event, ev.DepositStarted):
                pin_ref = event.pin_ref
            elif isinstance(event, ev.PinConfirmed):
                assert pin_ref, "a PIN opened a compartment whose deposit had none"
            elif isinstance(event, ev.ItemRetrieved):
                assert event.pin_ref == pin_ref
                pin_ref = ""
            elif getattr(event, "released_template_ref", ""):
                assert getattr(event, "released_pin_ref", "") == pin_ref
                pin_ref = ""


RUNS = settings(max_examples=400, stateful_step_count=60, deadline=None, derandomize=True)
"""Derandomised: the same runs every time, so whether a flow is reached does not depend on luck."""


def test_random_flows_keep_every_invariant_and_reach_every_flow() -> None:
    REACHED.clear()
    run_state_machine_as_test(CompartmentMachine, settings=RUNS)
    missing = sorted(FLOWS - REACHED)
    assert missing == [], f"flows no run reached (the invariants that need them could not fail): {missing}"
