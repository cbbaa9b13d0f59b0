"""``lockers operators`` as a user runs it: accounts in the data dir, one-line errors, the first account."""

from __future__ import annotations

import json
from pathlib import Path

from controller.app.http.operators import OperatorDirectory
from tests.web.conftest import lockers


def test_add_list_and_token(tmp_path: Path) -> None:
    added = lockers(tmp_path, "operators", "add", "kim.minji", "--role", "auditor", "--password-stdin",
                    stdin="a-long-password\n")
    assert added.returncode == 0, added.stderr
    listed = json.loads(lockers(tmp_path, "operators", "list", "--json").stdout)
    assert listed == {"operators": [{"name": "kim.minji", "role": "auditor"}]}
    token = lockers(tmp_path, "operators", "token", "kim.minji").stdout.strip()
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
        result = lockers(tmp_path, "operators", *args, stdin=stdin)
        assert result.returncode == 2 and message in result.stderr
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert OperatorDirectory(tmp_path / "operators.db").names() == []


def test_first_makes_one_account_once(tmp_path: Path) -> None:
    first = lockers(tmp_path, "operators", "first", "--url", "http://127.0.0.1:9000")
    again = lockers(tmp_path, "operators", "first", "--url", "http://127.0.0.1:9000")
    password = (tmp_path / "first-operator.txt").read_text().strip()
    assert f"http://127.0.0.1:9000/operator  user: admin  password: {password}" in first.stdout
    assert first.stdout == again.stdout
    directory = OperatorDirectory(tmp_path / "operators.db")
    assert directory.names() == [("admin", "operator")]
    assert directory.authenticate("admin", password) is not None
