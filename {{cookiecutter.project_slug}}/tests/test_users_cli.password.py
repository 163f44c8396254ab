"""The users CLI: ``python -m {{ cookiecutter.package_name }}.users``, and what its commands do to logins."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import passwords, users
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings

from .fixtures import BACKENDS
from .live import Cli
from .support import bearer, serving

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def http(settings: Settings) -> Iterator[httpx2.Client]:
    fast = settings.model_copy(update={"revocation_poll_seconds": 0.2})
    with serving(create_app(fast)) as base_url, httpx2.Client(base_url=base_url) as client:
        yield client


def login(http: httpx2.Client, username: str = "alice", password: str = PASSWORD) -> httpx2.Response:
    return http.post("/token", data={"grant_type": "password", "username": username, "password": password})


def test_create_then_log_in_and_list(cli: Cli, http: httpx2.Client) -> None:
    assert cli("create", "alice", "--scope", "items:read", "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    assert login(http).status_code == 200
    status, out, _ = cli("list", "--json")
    assert status == 0
    [listed] = json.loads(out)
    assert (listed["username"], listed["scopes"], listed["disabled"]) == ("alice", ["items:read"], False)
    assert "hash" not in out


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "must be 12 to 1024 characters long"),
        ("x" * 1025, "must be 12 to 1024 characters long"),
        ("alice-the-user", "must not be the username"),
        ("Alice_The_User_1984", "must not be the username, with or without digits and marks"),
        (f"{passwords.SERVICE_NAME} 2026 !!! ###", "must not be the service's name"),
        ("Password2026!", "must not be a common word with digits and marks around it"),
        ("#1 Welcome 2026#", "must not be a common word"),
        (" " * 12, "one or two characters repeated"),
        ("abababababab", "one or two characters repeated"),
        ("1234567890123", "must not count up or down"),
        ("ZYXWVUTSRQPO", "must not count up or down"),
        ("1qaz2wsx3edc", "too easy to guess: this is a very common password"),
        ("Michael1234!", "too easy to guess: common names and surnames are easy to guess"),
        ("P455w0rd1234", "too easy to guess"),
        ("qazwsxedcrfv", "too easy to guess"),
        ("112233445566", "too easy to guess"),
    ],
)
def test_weak_passwords_are_refused_with_one_line(cli: Cli, password: str, message: str) -> None:
    status, _, err = cli("create", "alice-the-user", "--password-stdin", stdin=password + "\n")
    assert status == 1
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert message in err


# What guessers try first, dressed up: each needs too little of its own once the guessable parts are out.
DRESSED_UP = [
    ("1234567890123!", "bob"),
    ("1-2-3-4-5-6-7-8", "bob"),
    ("abcdefghijklm1", "bob"),
    ("abcabcabcabc", "bob"),
    ("123123123123", "bob"),
    ("aaaaaaaaaa12", "bob"),
    ("passwordpassword", "bob"),
    ("Password Password", "bob"),
    ("P@ssw0rd2024!", "bob"),
    ("@lice-the-u$er-2024", "alice-the-user"),
    ("20240101!!!!", "20240101"),
    ("Letmein-letmein-1", "bob"),
    ("Alice#Bob#1990!", "alice"),
    ("A1ice2024!!!!", "alice"),
    ("Sh4d0w!!2024", "bob"),
    ("4l1c3!2024xx", "alice"),
]
# Passphrases and random strings of one's own, which must pass.
OWN = [
    "correct horse battery staple",
    "another long password",
    "Tr0ub4dor&3-horse-Zebra",
    "839201746582",
    "k7$Qp9!xLm2@",
]
OWN += ["Rosemary-Street-123-Leeds", "ψυχή και σώμα 2024", "MyDogRex-walks-at-7am", "]%;/{<*(^!>[", "x#9!%Qz&*_2}^+@L"]


@pytest.mark.parametrize(("password", "username"), DRESSED_UP)
def test_guessable_passwords_dressed_up_with_digits_marks_or_repeats_are_refused(
    backend: str, password: str, username: str
) -> None:
    assert passwords.password_problem(password, username, min_length=12) is not None


@pytest.mark.parametrize("password", OWN)
def test_passphrases_and_random_passwords_of_ones_own_pass(backend: str, password: str) -> None:
    assert passwords.password_problem(password, "bob", min_length=12) is None
    assert users.guessability_problem(password, "bob") is None


@pytest.fixture
def blocklist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A blocklist file of two passwords (the second with a CRLF line end), named by the environment."""
    path = tmp_path / "breached.txt"
    path.write_text("first-breached-password\nTr0ub4dor&3-horse\r\n", encoding="utf-8")
    monkeypatch.setenv("AUTH_PASSWORD_BLOCKLIST_FILE", str(path))
    return path


def test_a_password_in_the_blocklist_file_is_refused_whatever_its_case(cli: Cli, blocklist: Path) -> None:
    status, _, err = cli("create", "alice", "--password-stdin", stdin="tr0ub4dor&3-HORSE\n")
    assert (status, err) == (1, "error: the password is in the blocklist (breached.txt): it is known to guessers\n")
    assert cli("create", "alice", "--password-stdin", stdin=PASSWORD)[0] == 0


def test_a_blocklist_is_read_as_utf8_after_a_byte_order_mark_or_as_latin1_line_by_line(
    backend: str, tmp_path: Path
) -> None:
    path = tmp_path / "old-breach.txt"
    path.write_bytes(b"\xef\xbb\xbfSummer-of-2026!\nm\xfcnchen-1972-olympia\r\nstra\xc3\x9fe-am-see-12\n")
    words = ("summer-of-2026!", "MÜNCHEN-1972-olympia", "STRASSE-am-see-12", "strasse-am-see-13")
    assert [passwords.is_blocklisted(word, path) for word in words] == [True, True, True, False]


def test_a_blocklist_file_that_cannot_be_read_stops_the_command_with_one_line(
    cli: Cli, blocklist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(password: str, path: Path) -> bool:  # as for a file only root may read
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(passwords, "is_blocklisted", unreadable)
    status, _, err = cli("create", "alice", "--password-stdin", stdin=PASSWORD)
    assert (status, err) == (1, f"error: cannot read AUTH_PASSWORD_BLOCKLIST_FILE {blocklist}: Permission denied\n")


def test_a_blocklist_file_that_is_not_there_stops_the_command_but_not_the_service(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.txt"
    monkeypatch.setenv("AUTH_PASSWORD_BLOCKLIST_FILE", str(missing))
    status, _, err = cli("create", "alice", "--password-stdin", stdin=PASSWORD)
    assert (status, err) == (
        1,
        f"error: cannot read AUTH_PASSWORD_BLOCKLIST_FILE {missing}: No such file or directory\n",
    )
    with TestClient(create_app()) as client:  # the service reads no blocklist: it starts all the same
        assert client.get("/health").status_code == 200


def test_a_second_user_of_the_same_name_is_refused(cli: Cli) -> None:
    assert cli("create", "alice", "--password-stdin", stdin=PASSWORD)[0] == 0
    status, _, err = cli("create", "alice", "--password-stdin", stdin=PASSWORD)
    assert (status, err) == (1, "error: a user named 'alice' exists already\n")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Alice", "a user named 'alice' exists already"),  # reads as alice's
        ("alice ", "no spaces around it"),
        ("\uff41lice", "NFKC"),  # a fullwidth a
        ("cafe\u0301", "NFKC"),  # e and a combining accent, where NFKC has one character
    ],
)
def test_a_name_that_reads_as_another_or_cannot_be_typed_back_is_refused(cli: Cli, name: str, message: str) -> None:
    assert cli("create", "alice", "--password-stdin", stdin=PASSWORD)[0] == 0
    status, _, err = cli("create", name, "--password-stdin", stdin=PASSWORD)
    assert (status, err.count("\n")) == (1, 1)
    assert message in err


@pytest.mark.parametrize("scope", ["", "two words", 'say"what"', "back\\slash", "line\nbreak"])
def test_a_scope_no_token_could_carry_is_refused(cli: Cli, scope: str) -> None:
    status, _, err = cli("create", "alice", "--scope", scope, "--password-stdin", stdin=PASSWORD)
    assert (status, err.count("\n")) == (1, 1)
    assert "is not a scope" in err
    assert cli("create", "alice", "--password-stdin", stdin=PASSWORD)[0] == 0  # nothing was created
    assert cli("set-scopes", "alice", "items:read", scope)[0] == 1


def test_no_password_and_text_that_is_not_utf8_are_one_line_each(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getpass", lambda _prompt: (_ for _ in ()).throw(EOFError()))
    status, _, err = cli("create", "alice")
    assert (status, err.startswith("error: no password"), err.count("\n")) == (1, True, 1)
    # What Python makes of a byte that is not UTF-8 in an argument: a lone surrogate.
    status, _, err = cli("create", "alice", "--scope", "s\udcff", "--password-stdin", stdin=PASSWORD)
    assert (status, err.count("\n")) == (1, 1)


def test_it_needs_only_the_database_as_in_the_migrate_container(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """compose runs the CLI in its ``migrate`` service, whose environment holds DATABASE_URL alone."""
    for name in ("AUTH_SECRET", "AUTH_ISSUER", "AUTH_AUDIENCE"):
        monkeypatch.delenv(name)
    assert cli("create", "alice", "--password-stdin", stdin=PASSWORD)[0] == 0
    assert cli("set-password", "alice", "--password-stdin", stdin=PASSWORD + "!")[0] == 0


def test_unknown_user_and_bad_usage_have_their_exit_codes(cli: Cli) -> None:
    assert cli("disable", "nobody")[:2] == (1, "")
    assert cli("frobnicate")[0] == 2
    status, out, _ = cli("--help")
    assert status == 0
    assert "set-password" in out


@pytest.mark.parametrize("command", [["disable"], ["revoke"], ["set-password", "--password-stdin"]])
def test_disable_revoke_and_a_new_password_end_every_session_soon(
    cli: Cli, http: httpx2.Client, command: list[str]
) -> None:
    assert cli("create", "alice", "--password-stdin", stdin=PASSWORD)[0] == 0
    tokens = login(http).json()
    assert http.get("/me", headers=bearer(tokens["access_token"])).status_code == 200
    assert cli(command[0], "alice", *command[1:], stdin="another long password\n")[0] == 0
    deadline = time.monotonic() + 5
    while http.get("/me", headers=bearer(tokens["access_token"])).status_code == 200:
        assert time.monotonic() < deadline, "the running service still accepts the token after 5 s"
        time.sleep(0.05)
    refreshed = http.post("/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.json()["error"] == "invalid_grant"
    new_password = "another long password" if command[0] == "set-password" else PASSWORD
    assert login(http, password=new_password).status_code == (400 if command[0] == "disable" else 200)


def test_enable_lets_a_disabled_user_log_in_again(cli: Cli, http: httpx2.Client) -> None:
    assert cli("create", "alice", "--password-stdin", stdin=PASSWORD)[0] == 0
    assert cli("disable", "alice")[0] == 0
    assert login(http).status_code == 400
    assert cli("enable", "alice")[0] == 0
    assert login(http).status_code == 200


def test_set_scopes_gives_the_next_login_those_scopes(cli: Cli, http: httpx2.Client) -> None:
    assert cli("create", "alice", "--scope", "items:read", "--password-stdin", stdin=PASSWORD)[0] == 0
    assert cli("set-scopes", "alice", "items:write", "items:admin")[0] == 0
    assert sorted(login(http).json()["scope"].split()) == ["items:admin", "items:write"]
    status, out, _ = cli("list", "--json")
    assert (status, sorted(json.loads(out)[0]["scopes"])) == (0, ["items:admin", "items:write"])
