"""Scenario files: parsing and validating the YAML (``lockers scenario run`` runs them, see ``scenario``).

Each step is one thing that happens in front of the bank (a deposit, a face, a door, time passing,
an operator, the lock board going away, the controller restarting) or an expectation about what the
previous steps caused. Image paths are relative to the scenario file.

``deposit`` and ``show`` take either a list of images or a recording played as the camera:
``{camera: {file: clip.mp4, from_s: 0, to_s: 3, fps: 10}}`` (a video file or a folder of frames; ``from_s``
and ``to_s`` in seconds of the recording, default its whole length; ``fps`` default the file's own rate).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from controller.app.config.loader import assets_root
from controller.domain.errors import LockerError
from controller.domain.events import AlarmReason
from controller.domain.states import CompartmentState

CAMERA_KEYS = ("file", "from_s", "to_s", "fps")
STEP_KINDS = ("deposit", "show", "expect", "door", "wait", "operator", "plc", "restart", "pin", "erase")
DOOR_ACTIONS = ("open", "close", "force", "jam", "unjam")
STATE_NAMES = tuple(state.value for state in CompartmentState)
ALARM_REASONS = tuple(reason.value for reason in AlarmReason)


class ScenarioError(LockerError):
    """The scenario file is invalid; the message names the step."""


@dataclass(frozen=True, slots=True)
class Step:
    """One validated step: its position, its kind and its argument."""

    index: int
    kind: str
    arg: Any


@dataclass
class Scenario:
    """A parsed scenario file."""

    path: Path
    compartments: int
    config: Mapping[str, Any]
    steps: list[Step]

    def image(self, name: Any, step: Step) -> Path:
        """An image path relative to the scenario file; ``${LOCKERS_ASSETS}`` names the assets folder."""
        if not isinstance(name, str):
            raise _fail(step, f"image names must be strings, got {name!r}")
        expanded = name.replace("${LOCKERS_ASSETS}", str(assets_root()))
        path = (self.path.parent / expanded).resolve()
        if not path.is_file():
            raise _fail(step, f"image {name} not found at {path}")
        return path

    def recording(self, name: Any, step: Step) -> Path:
        """A recording (video file or folder of frames), resolved like an image path."""
        if not isinstance(name, str) or not name:
            raise _fail(step, f"camera: file must be a path, got {name!r}")
        path = (self.path.parent / name.replace("${LOCKERS_ASSETS}", str(assets_root()))).resolve()
        if not path.exists():
            raise _fail(step, f"camera: recording {name} not found at {path}")
        return path


@dataclass(frozen=True, slots=True)
class CameraSpec:
    """A stretch of a recording played as the camera (``deposit: {camera: ...}``, ``show: {camera: ...}``)."""

    path: Path
    from_s: float
    to_s: float
    fps: float | None


def camera_spec(scenario: Scenario, step: Step) -> CameraSpec | None:
    """The step's recording, or None where the step lists images; errors name the step."""
    arg = step.arg
    if not isinstance(arg, dict):
        return None
    if set(arg) != {"camera"} or not isinstance(arg["camera"], dict):
        raise _fail(step, "expected a list of image paths or {camera: {file: ..., from_s: S, to_s: S, fps: N}}")
    camera = arg["camera"]
    unknown = sorted(set(camera) - set(CAMERA_KEYS))
    if unknown:
        raise _fail(step, f"camera: unknown keys {', '.join(map(str, unknown))} (known: {', '.join(CAMERA_KEYS)})")
    numbers = {key: camera[key] for key in ("from_s", "to_s", "fps") if key in camera}
    for key, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(step, f"camera: {key} must be a number, got {value!r}")
    from_s, to_s = float(numbers.get("from_s", 0.0)), float(numbers.get("to_s", float("inf")))
    if from_s < 0 or to_s <= from_s:
        raise _fail(step, f"camera: expected 0 <= from_s < to_s, got from_s {from_s} and to_s {to_s}")
    fps = numbers.get("fps")
    if fps is not None and fps <= 0:
        raise _fail(step, f"camera: fps must be > 0, got {fps}")
    path = scenario.recording(camera.get("file"), step)
    return CameraSpec(path, from_s, to_s, None if fps is None else float(fps))


def load_scenario(path: Path) -> Scenario:
    """Parse and validate a scenario file: every step and every image is checked before anything runs."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"scenario file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"scenario file {path} is not valid YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("steps"), list):
        raise ScenarioError(f"{path}: expected a mapping with a 'steps' list")
    compartments = document.get("compartments", 6)
    if not _is_int(compartments) or not 1 <= compartments <= 256:
        raise ScenarioError(f"{path}: 'compartments' must be an integer from 1 to 256")
    config = document.get("config", {})
    if not isinstance(config, dict):
        raise ScenarioError(f"{path}: 'config' must be a mapping")
    scenario = Scenario(path.resolve(), compartments, config, [])
    for i, raw in enumerate(document["steps"]):  # one by one: a pin step names the deposits before it
        scenario.steps.append(_parse_step(scenario, i, raw))
    return scenario


def _parse_step(scenario: Scenario, index: int, raw: Any) -> Step:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ScenarioError(f"step {index}: expected a mapping with exactly one of {', '.join(STEP_KINDS)}")
    ((kind, arg),) = raw.items()
    if kind not in STEP_KINDS:
        raise ScenarioError(f"step {index}: unknown step {kind!r} (known: {', '.join(STEP_KINDS)})")
    step = Step(index, kind, arg)
    _VALIDATORS[kind](scenario, step)
    return step


def _fail(step: Step, why: str) -> ScenarioError:
    return ScenarioError(f"step {step.index} ({step.kind}): {why}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _compartment(scenario: Scenario, step: Step, value: Any, what: str = "compartment") -> None:
    if not _is_int(value) or not 1 <= value <= scenario.compartments:
        raise _fail(step, f"{what} must be a compartment number from 1 to {scenario.compartments}, got {value!r}")


def _frames(scenario: Scenario, step: Step) -> None:
    if camera_spec(scenario, step) is None:
        _images_list(scenario, step)


def _images_list(scenario: Scenario, step: Step) -> None:
    if not isinstance(step.arg, list) or not step.arg:
        raise _fail(step, "expected a non-empty list of image paths")
    for name in step.arg:
        scenario.image(name, step)


def _expect_mapping(scenario: Scenario, step: Step) -> None:
    arg = step.arg
    if not isinstance(arg, dict) or not arg or not set(arg) <= {"unlocked", "states", "alarms", "audit"}:
        raise _fail(step, "expected a mapping of unlocked, states, alarms and/or audit")
    if "unlocked" in arg:
        if not isinstance(arg["unlocked"], list):
            raise _fail(step, "unlocked must be a list of compartment numbers, e.g. [1]")
        for value in arg["unlocked"]:
            _compartment(scenario, step, value, "unlocked")
    for key, allowed in (("states", STATE_NAMES), ("alarms", ALARM_REASONS)):
        table = arg.get(key, {})
        if not isinstance(table, dict):
            raise _fail(step, f"{key} must map compartment numbers to values")
        for cid, value in table.items():
            _compartment(scenario, step, cid, key)
            if value not in allowed:
                raise _fail(step, f"{key}: {value!r} is not one of {', '.join(allowed)}")
    if "audit" in arg and not isinstance(arg["audit"], bool):
        raise _fail(step, "audit must be true or false")


def _door(scenario: Scenario, step: Step) -> None:
    if not isinstance(step.arg, dict) or step.arg.get("action") not in DOOR_ACTIONS:
        raise _fail(step, f"expected {{compartment: K, action: {'|'.join(DOOR_ACTIONS)}}}")
    _compartment(scenario, step, step.arg.get("compartment"))


def _wait(scenario: Scenario, step: Step) -> None:
    if isinstance(step.arg, bool) or not isinstance(step.arg, int | float) or step.arg < 0:
        raise _fail(step, "expected a number of seconds >= 0")


def _operator(scenario: Scenario, step: Step) -> None:
    arg = step.arg
    if not isinstance(arg, dict) or not isinstance(arg.get("operator"), str) or not arg["operator"]:
        raise _fail(step, "expected {clear: K, operator: ID}, {out_of_service: K, operator: ID} or {unlock: K, ...}")
    actions = [key for key in ("clear", "out_of_service", "unlock") if key in arg]
    if len(actions) != 1:
        raise _fail(step, "name the compartment with exactly one of clear: K, out_of_service: K or unlock: K")
    _compartment(scenario, step, arg[actions[0]], actions[0])


def _plc(scenario: Scenario, step: Step) -> None:
    if step.arg not in ("disconnect", "reconnect"):
        raise _fail(step, "expected disconnect or reconnect")


def _restart(scenario: Scenario, step: Step) -> None:
    if step.arg not in (None, {}):
        raise _fail(step, "expected {}")


def _pin(scenario: Scenario, step: Step) -> None:
    arg = step.arg
    if not isinstance(arg, dict) or not set(arg) <= {"from_deposit", "code", "kiosk"}:
        raise _fail(step, 'expected {from_deposit: N} or {code: "12345678"}, optionally with kiosk: NAME')
    if ("from_deposit" in arg) == ("code" in arg):
        raise _fail(step, "name the PIN with exactly one of from_deposit: N or code: \"...\"")
    _pin_source(scenario, step, arg)
    if not isinstance(arg.get("kiosk", ""), str):
        raise _fail(step, "kiosk must be a name")


def _pin_source(scenario: Scenario, step: Step, arg: dict[str, Any]) -> None:
    if "code" in arg and not isinstance(arg["code"], str):
        raise _fail(step, 'code must be a quoted string of digits, e.g. "12345678"')
    if "from_deposit" in arg:
        deposits = sum(1 for earlier in scenario.steps if earlier.kind == "deposit")
        number = arg["from_deposit"]
        if not _is_int(number) or not 1 <= number <= deposits:
            raise _fail(step, f"from_deposit must name one of the {deposits} deposits before it, got {number!r}")


def _erase(scenario: Scenario, step: Step) -> None:
    arg = step.arg
    shapes = "{from_deposit: N}, {code: \"...\"}, {show: [images]} or {compartment: K, operator: ID}"
    if not isinstance(arg, dict) or not arg:
        raise _fail(step, f"expected one of {shapes}")
    if "show" in arg and set(arg) == {"show"}:
        _images_list(scenario, Step(step.index, step.kind, arg["show"]))
    elif "operator" in arg and set(arg) == {"operator", "compartment"} and isinstance(arg["operator"], str):
        _compartment(scenario, step, arg["compartment"])
    elif len(arg) == 1 and set(arg) <= {"from_deposit", "code"}:
        _pin_source(scenario, step, arg)
    else:
        raise _fail(step, f"expected one of {shapes}")


_VALIDATORS: dict[str, Callable[[Scenario, Step], None]] = {
    "deposit": _frames,
    "show": _frames,
    "expect": _expect_mapping,
    "door": _door,
    "wait": _wait,
    "operator": _operator,
    "plc": _plc,
    "restart": _restart,
    "pin": _pin,
    "erase": _erase,
}
