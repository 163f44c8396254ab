"""Passwords: argon2id hashes through pwdlib, and the rules a new password must pass.

Parameters: OWASP's minimum for argon2id, 19 MiB of memory, 2 iterations, 1
lane (``PasswordHash.recommended()`` takes 64 MiB and 4 lanes). Each login
costs one hash of that size, so at most ``HASHING_SLOTS`` run at once, in
threads: the event loop never waits on them and memory stays bounded. A hash
made with other parameters is replaced at the next successful login.
"""

from __future__ import annotations

import unicodedata
from itertools import pairwise
from pathlib import Path

import anyio
from anyio import CapacityLimiter
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

MEMORY_KIB = 19 * 1024
ITERATIONS = 2
LANES = 1
# Concurrent hashes per worker: 4 x 19 MiB at most, and the other requests keep a core.
HASHING_SLOTS = 4

hasher = PasswordHash((Argon2Hasher(time_cost=ITERATIONS, memory_cost=MEMORY_KIB, parallelism=LANES),))
_slots = CapacityLimiter(HASHING_SLOTS)
# Checked when the username is unknown, so that it costs what a wrong password costs.
_UNKNOWN_USER_HASH = hasher.hash("no user has this password; it only costs the same time")

# A password made of this many distinct characters or fewer is a repetition (aaaa..., abab...).
MAX_REPEATED_CHARACTERS = 2
# Words that guessing lists try first with digits and marks around them ("Password2024!", "Welcome#123"):
# a password that is one of them once its digits and marks are taken out is refused.
COMMON_WORDS = frozenset(
    {
        *("password", "passwort", "passwd", "pass", "letmein", "welcome", "admin", "administrator", "root"),
        *("login", "user", "guest", "test", "changeme", "secret", "default", "qwerty", "qwertz", "azerty"),
        *("qwertyuiop", "asdfghjkl", "zxcvbnm", "abc", "abcdef", "iloveyou", "monkey", "dragon", "master"),
        *("sunshine", "princess", "football", "baseball", "shadow", "superman", "trustno", "whatever"),
    }
)
# This service's name: it, too, is among the first guesses, with digits and marks added.
SERVICE_NAME = "{{ cookiecutter.project_name }}"


async def hash_password(password: str) -> str:
    """An argon2id hash of ``password``, computed off the event loop."""
    return await anyio.to_thread.run_sync(hasher.hash, password, limiter=_slots)


async def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Whether ``password`` matches, and a new hash when the stored one uses other parameters.

    With no hash (unknown user, or one without a password) the same work is done and False returned.
    """
    stored = password_hash or _UNKNOWN_USER_HASH
    try:
        valid, new_hash = await anyio.to_thread.run_sync(hasher.verify_and_update, password, stored, limiter=_slots)
    except UnknownHashError:  # not a hash this code made: refuse, as for a wrong password
        return False, None
    if password_hash is None:
        return False, None
    return valid, new_hash


def _folded(text: str) -> str:
    """``text`` as compared here: NFKC, then case folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def _letters(text: str) -> str:
    """The letters of ``text``, folded: what is left of a password once its digits and marks are taken out."""
    return "".join(character for character in _folded(text) if character.isalpha())


def _successor(character: str) -> str:
    """The next digit or letter, round the end: 9 to 0, z to a; other characters have none."""
    if character.isdigit() and character.isascii():
        return str((int(character) + 1) % 10)
    if "a" <= character <= "z":
        return chr((ord(character) - ord("a") + 1) % 26 + ord("a"))
    return ""


def _is_sequence(password: str) -> bool:
    """Whether ``password`` counts up or down one digit or letter at a time (1234567890, zyxwvuts)."""
    pairs = list(pairwise(_folded(password)))
    return any(all(_successor(a) == b for a, b in ordered) for ordered in (pairs, [(b, a) for a, b in pairs]))


def is_blocklisted(password: str, blocklist: Path) -> bool:
    """Whether ``password`` is a line of the blocklist file, both NFKC and case folded; read line by line."""
    wanted = _folded(password)
    with blocklist.open(encoding="utf-8", errors="replace") as lines:
        return any(_folded(line.rstrip("\r\n")) == wanted for line in lines)


def password_problem(
    password: str, username: str | None, *, min_length: int, blocklist: Path | None = None
) -> str | None:
    """Why ``password`` may not be set, or None.

    NIST SP 800-63B §3.1.1.2: long enough; not in a list of breached or common passwords (the blocklist
    file, a few common words); not the username or the service's name (with digits and marks added, or
    not); not repetitive or sequential.
    """
    if len(password) < min_length:
        return f"the password must be at least {min_length} characters long"
    letters, username_letters = _letters(password), _letters(username or "")
    is_username = bool(username) and _folded(password.strip()) == _folded((username or "").strip())
    refusals = (
        (
            is_username or letters == username_letters != "",
            "must not be the username, with or without digits and marks",
        ),
        (
            letters != "" and letters == _letters(SERVICE_NAME),
            "must not be the service's name, with or without digits and marks",
        ),
        (letters in COMMON_WORDS, "must not be a common word with digits and marks around it"),
        (len(set(password)) <= MAX_REPEATED_CHARACTERS, "must not be one or two characters repeated"),
        (_is_sequence(password), "must not count up or down (12345..., abcde...)"),
    )
    problem = next((f"the password {rule}" for refused, rule in refusals if refused), None)
    if problem is None and blocklist is not None and is_blocklisted(password, blocklist):
        problem = f"the password is in the blocklist ({blocklist.name}): it is known to guessers"
    return problem
