from __future__ import annotations

from pathlib import Path

import pytest

from controller.app.config.loader import load_config, plc_config
from controller.domain.errors import ConfigError
from plc.registers import BoardMap, PlcConfig, RtuEndpoint, TcpEndpoint, default_plc_config, plc_config_of
from plc.settings import DEFAULT_COMPARTMENTS, PlcSettings


def parse_plc_config(section: dict[str, object]) -> PlcConfig:
    return plc_config_of(PlcSettings.model_validate(section))


def test_default_map_is_one_board_device_1_with_pulse_registers_at_512() -> None:
    config = parse_plc_config({})
    (board,) = config.boards
    assert config.endpoint == TcpEndpoint("127.0.0.1", 502)
    assert (board.device_id, list(board.compartments)) == (1, list(range(1, 17)))
    assert [board.coil(k) for k in (1, 2, 16)] == [0, 1, 15]
    assert [board.pulse_register(k) for k in (1, 16)] == [512, 527]
    assert (config.poll_interval_s, config.debounce_polls) == (0.1, 2)


def test_inputs_mean_closed_unless_inverted() -> None:
    plain = BoardMap("a", 1, 1, 2)
    inverted = BoardMap("b", 2, 3, 2, inputs_inverted=True)
    assert plain.doors_from_inputs([True, False]) == {1: False, 2: True}
    assert inverted.doors_from_inputs([True, False]) == {3: True, 4: False}


def test_several_boards_number_on_and_take_their_own_addresses() -> None:
    config = parse_plc_config({"boards": [
        {"compartments": 4, "name": "left"},
        {"device_id": 7, "compartments": 3, "coil_base": 100, "input_base": 200, "inputs_inverted": True,
         "board_timed_pulse": False},
    ]})
    left, right = config.boards
    assert list(right.compartments) == [5, 6, 7]
    assert (right.coil(5), right.pulse_register(5), right.device_id) == (100, None, 7)
    assert config.board_of(6) is right and config.board_of(8) is None
    assert config.compartments == list(range(1, 8))


def test_rtu_endpoint() -> None:
    config = parse_plc_config({"transport": "rtu", "serial_port": "/dev/ttyUSB0", "baudrate": 9600, "parity": "E"})
    assert config.endpoint == RtuEndpoint("/dev/ttyUSB0", 9600, "E", 1, 8)


@pytest.mark.parametrize(("section", "message"), [
    ({"port": "502"}, "plc.port: input should be a valid integer, got '502'"),
    ({"port": 70000}, "plc.port: input should be less than or equal to 65535"),
    ({"timeout_ms": True}, "plc.timeout_ms: input should be a valid integer"),
    ({"transport": "udp"}, "plc.transport: input should be 'tcp' or 'rtu'"),
    ({"transport": "rtu"}, "serial_port is required"),
    ({"compartmnts": 4}, "plc.compartmnts is not a known key; did you mean plc.compartments?"),
    ({"boards": [{}]}, "plc.boards[0].compartments: required"),
    ({"boards": [{"compartments": 2}, {"compartments": 2}]}, "boards[1].device_id is required"),
    ({"boards": [{"compartments": 2, "colour": 1}]}, "plc.boards[0].colour is not a known key"),
    ({"boards": [{"compartments": 2, "inputs_inverted": "yes"}]}, "inputs_inverted: input should be a valid boolean"),
    ({"boards": [{"compartments": 2}, {"compartments": 2, "device_id": 1}]}, "share device_id 1"),
    ({"boards": [{"compartments": 3}, {"compartments": 2, "device_id": 2, "first_compartment": 3}]},
     "compartment 3 is on both"),
    ({"boards": [{"compartments": 2, "name": "x"}, {"compartments": 2, "device_id": 2, "name": "x"}]},
     "two boards are named 'x'"),
    ({"boards": [{"compartments": 2}], "compartments": 4}, "not both"),
    ({"boards": [{"compartments": 10, "coil_base": 65530}]}, "coil_base + compartments must not exceed 65536"),
    ({"boards": "x"}, "plc.boards: input should be a valid list"),
])
def test_invalid_sections_name_the_key(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"plc": section})
    assert message in str(caught.value)


def test_load_from_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "lockers.toml"
    path.write_text('[plc]\nhost = "10.0.0.5"\n[[plc.boards]]\ncompartments = 24\n[[plc.boards]]\n'
                    'device_id = 2\ncompartments = 24\n', encoding="utf-8")
    config = plc_config(load_config(path))
    assert config.endpoint == TcpEndpoint("10.0.0.5", 502)
    assert config.compartments == list(range(1, 49))


def test_load_reports_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[plc\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_missing_plc_section_means_defaults(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text("[storage]\nurl = 'sqlite://'\n", encoding="utf-8")
    assert plc_config_of(load_config(path).site.plc) == default_plc_config(DEFAULT_COMPARTMENTS)
