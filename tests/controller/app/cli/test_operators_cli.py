"""``lockers operators`` as a user runs it: accounts in the data dir, one-line errors, the first account."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from controller.app.http.operators import OperatorDirectory, token_digest
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


def lockers_ok(tmp_path: Path, *args: str, stdin: str | None = None) -> str:
    result = quiet_lockers("operators", *args, stdin=stdin, data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_passwd_disable_revoke_and_remove(tmp_path: Path) -> None:
    lockers_ok(tmp_path, "add", "lee", "--password-stdin", stdin="first-password\n")
    directory = OperatorDirectory(tmp_path / "operators.db")
    kept, revoked = lockers_ok(tmp_path, "token", "lee"), lockers_ok(tmp_path, "token", "lee")
    assert lockers_ok(tmp_path, "passwd", "lee", "--password-stdin", stdin="second-password\n")
    assert directory.authenticate("lee", "first-password") is None
    assert directory.authenticate("lee", "second-password") is not None
    assert lockers_ok(tmp_path, "disable", "lee") == "operator 'lee' disabled"
    assert directory.authenticate("lee", "second-password") is None and directory.by_token(kept) is None
    lockers_ok(tmp_path, "disable", "lee", "--enable")
    assert directory.by_token(kept) is not None
    assert lockers_ok(tmp_path, "revoke-token", "lee", "--token-stdin", stdin=revoked + "\n").startswith("1 token")
    assert directory.by_token(revoked) is None and directory.by_token(kept) is not None
    assert lockers_ok(tmp_path, "revoke-token", "lee").startswith("1 token")
    assert directory.by_token(kept) is None
    lockers_ok(tmp_path, "remove", "lee")
    assert directory.names() == []
    assert "no operator 'lee'" in quiet_lockers("operators", "remove", "lee", data_dir=tmp_path).stderr


def test_tokens_expire_by_default_and_old_ones_keep_working(tmp_path: Path) -> None:
    lockers_ok(tmp_path, "add", "park", "--password-stdin", stdin="a-long-password\n")
    directory = OperatorDirectory(tmp_path / "operators.db")
    expired = lockers_ok(tmp_path, "token", "park", "--expires-days", "0")  # 0: never expires
    default = lockers_ok(tmp_path, "token", "park")
    with sqlite3.connect(tmp_path / "operators.db") as db:
        rows = dict(db.execute("SELECT token_sha256, expires_at FROM api_tokens").fetchall())
        assert rows[token_digest(expired)] is None
        days = (datetime.fromisoformat(rows[token_digest(default)]) - datetime.now(UTC)).days
        assert days in (89, 90)  # [api] token_days
        db.execute("UPDATE api_tokens SET expires_at = ? WHERE token_sha256 = ?",
                   ((datetime.now(UTC) - timedelta(seconds=1)).isoformat(), token_digest(default)))
    assert directory.by_token(default) is None and directory.by_token(expired) is not None


def test_a_file_from_before_expiries_is_upgraded_and_its_tokens_keep_working(tmp_path: Path) -> None:
    path = tmp_path / "operators.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE operators (name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,"
            " created_at TEXT NOT NULL);"
            "CREATE TABLE api_tokens (token_sha256 TEXT PRIMARY KEY, operator TEXT NOT NULL, created_at TEXT NOT NULL);"
        )
        db.execute("INSERT INTO operators VALUES ('old', 'operator', 'x', '2025-01-01')")
        db.execute("INSERT INTO api_tokens VALUES (?, 'old', '2025-01-01')", (token_digest("legacy-token"),))
    principal = OperatorDirectory(path).by_token("legacy-token")
    assert principal is not None and principal.name == "old"
