"""``lockers operators`` as a user runs it: accounts in the data dir, one-line errors, the first account."""

from __future__ import annotations

import json
from pathlib import Path

from controller.app.http.operators import OperatorDirectory
from tests.support.cli import quiet_lockers


def test_add_list_and_token(tmp_path: Path) -> None:
    added = quiet_lockers("operators", "add", "kim.minji", "--role", "auditor", "--password-stdin",
                          stdin="a-long-password\n", data_dir=tmp_path)
    assert added.returncode == 0, added.stderr
    listed = json.loads(quiet_lockers("operators", "list", "--json", data_dir=tmp_path).stdout)
    assert listed == {"operators": [{"name": "kim.minji", "role": "auditor"}]}
    token = quiet_lockers("operators", "token", "kim.minji", data_dir=tmp_path).stdout.strip()
    principal = OperatorDirectory(tmp_path / "operators.db").by_token(token)
    assert principal is not None and (principal.name, principal.role) == ("kim.minji", "auditor")
    assert (tmp_path / "operators.db").stat().st_mode & 0o777 == 0o600


def test_refusals_are_one_line_and_change_nothing(tmp_path: Path) -> None:
    cases = [
        (("add", "bob", "--password-stdin"), "short\n", "at least 10 characters"),
        (("add", "bob", "--role", "admin", "--password-stdin"), "a-long-password\n", "role must be one of"),
        (("token", "nobody"), None, "no operator 'nobody'"),
    ]
    for args, stdin, message in cases:
        result = quiet_lockers("operators", *args, stdin=stdin, data_dir=tmp_path)
        assert result.returncode == 2 and message in result.stderr
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert OperatorDirectory(tmp_path / "operators.db").names() == []


def test_first_makes_one_account_once(tmp_path: Path) -> None:
    first = quiet_lockers("operators", "first", "--url", "http://127.0.0.1:9000", data_dir=tmp_path)
    again = quiet_lockers("operators", "first", "--url", "http://127.0.0.1:9000", data_dir=tmp_path)
    password = (tmp_path / "first-operator.txt").read_text().strip()
    assert f"http://127.0.0.1:9000/operator  user: admin  password: {password}" in first.stdout
    assert first.stdout == again.stdout
    directory = OperatorDirectory(tmp_path / "operators.db")
    assert directory.names() == [("admin", "operator")]
    assert directory.authenticate("admin", password) is not None
