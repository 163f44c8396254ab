"""Passwords: argon2id hashes through pwdlib, and the rules a new password must pass.

Parameters: OWASP's minimum for argon2id, 19 MiB of memory, 2 iterations, 1
lane (``PasswordHash.recommended()`` takes 64 MiB and 4 lanes). Each login
costs one hash of that size, so at most ``HASHING_SLOTS`` run at once, in
threads: the event loop never waits on them and memory stays bounded. A hash
made with other parameters is replaced at the next successful login.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
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
# Longer passwords are refused here, as POST /token refuses them: argon2id would hash them, but slowly.
MAX_PASSWORD_LENGTH = 1024
# Words that guessing lists try first, with digits and marks around them ("Password2024!", "Welcome#123").
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
# What guessers try in place of letters: a mark or digit beside a letter is read as these letters too
# (P@ssw0rd), one reading per table, since 1 and ! stand for i as often as for l (L3tme1n, A1ice).
LOOKALIKES = tuple(
    str.maketrans({"@": "a", "4": "a", "$": "s", "5": "s", "0": "o", "1": one, "!": one, "3": "e", "7": "t"})
    for one in ("i", "l")
)
# What must be left of a password once the guessable parts are taken out (see ``_own_characters``).
MIN_OWN_CHARACTERS = 6
# A run up or down, or a repetition of one character, counts as guessable from this length on.
MIN_RUN = 3
# A year, the commonest number put after a word.
YEAR = re.compile(r"(?:19|20)[0-9]{2}")


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


def _alphanumerics(text: str) -> str:
    """The letters and digits of ``text``, folded."""
    return "".join(character for character in _folded(text) if character.isalnum())


def _readings(folded: str) -> list[str]:
    """``folded`` as written, and with marks and digits beside a letter read as letters they look like.

    Either every such mark and digit (``P455w0rd``), or only those not beside another digit, so that a
    year stays a year (``4l1c3!2024xx``).
    """
    padded = f" {folded} "
    near_letter = [padded[n].isalpha() or padded[n + 2].isalpha() for n in range(len(folded))]
    near_digit = [padded[n].isdigit() or padded[n + 2].isdigit() for n in range(len(folded))]
    alone = [letter and not digit for letter, digit in zip(near_letter, near_digit, strict=True)]
    return [folded] + [
        "".join(c.translate(table) if read else c for c, read in zip(folded, which, strict=True))
        for table in LOOKALIKES
        for which in (near_letter, alone)
    ]


def _successor(character: str) -> str:
    """The next digit or letter, round the end: 9 to 0, z to a; other characters have none."""
    if character.isdigit() and character.isascii():
        return str((int(character) + 1) % 10)
    if "a" <= character <= "z":
        return chr((ord(character) - ord("a") + 1) % 26 + ord("a"))
    return ""


def _counts_up(a: str, b: str) -> bool:
    return _successor(a) == b


def _counts_down(a: str, b: str) -> bool:
    return _successor(b) == a


def _repeats(a: str, b: str) -> bool:
    return a == b


def _run_end(text: str, start: int, follows: Callable[[str, str], bool]) -> int:
    """Where the stretch of ``text`` from ``start`` in which each character ``follows`` the one before ends."""
    end = start + 1
    while end < len(text) and follows(text[end - 1], text[end]):
        end += 1
    return end


def _is_sequence(password: str) -> bool:
    """Whether ``password`` counts up or down one digit or letter at a time (1234567890, zyxwvuts)."""
    folded = _folded(password)
    return any(_run_end(folded, 0, follows) == len(folded) for follows in (_counts_up, _counts_down))


def _without_runs(text: str) -> str:
    """``text`` less every stretch of ``MIN_RUN`` or more characters that counts up, counts down or repeats one."""
    kept: list[str] = []
    start = 0
    while start < len(text):
        end = max(_run_end(text, start, follows) for follows in (_counts_up, _counts_down, _repeats))
        if end - start < MIN_RUN:
            end = start + 1
            kept.append(text[start])
        start = end
    return "".join(kept)


def _shortest_unit(text: str) -> str:
    """The shortest piece ``text`` repeats whole (``abc`` for ``abcabcabc``), or ``text`` itself."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def _own_characters(text: str, known: list[str]) -> int:
    """How much of ``text`` (folded) is its own: its letters and digits without the ``known`` words, years,
    runs and repetitions, and each distinct mark once (a generator's ``]%;/{<*(^!>[`` is all marks)."""
    rest = _shortest_unit(_alphanumerics(text))
    for word in sorted(known, key=len, reverse=True):
        rest = rest.replace(word, "")
    rest = YEAR.sub("", rest)
    marks = {character for character in text if not character.isalnum() and not character.isspace()}
    return len(_without_runs(rest)) + len(marks)


def is_blocklisted(password: str, blocklist: Path) -> bool:
    """Whether ``password`` is a line of the blocklist file, both NFKC and case folded; read line by line.

    Lines are UTF-8 (a byte order mark at the start is skipped), or Latin-1 where they are not UTF-8,
    as in the breach lists that predate UTF-8.
    """
    wanted = _folded(password)
    with blocklist.open("rb") as lines:
        for number, raw in enumerate(lines):
            line = raw.rstrip(b"\r\n").removeprefix(b"\xef\xbb\xbf" if number == 0 else b"")
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                text = line.decode("latin-1")
            if _folded(text) == wanted:
                return True
    return False


def password_problem(
    password: str, username: str | None, *, min_length: int, blocklist: Path | None = None
) -> str | None:
    """Why ``password`` may not be set, or None; reading the blocklist may raise ``OSError``.

    NIST SP 800-63B §3.1.1.2: long enough; not in a list of breached or common passwords (the blocklist
    file, a few common words); not the username or the service's name (with digits and marks added, or
    not); not repetitive or sequential. Beyond the password as a whole, at least ``MIN_OWN_CHARACTERS``
    characters must be its own once the common words, the username, the service's name, runs and
    repetitions are taken out, as written and with look-alike marks read as letters (``P@ssw0rd``).
    """
    if not min_length <= len(password) <= MAX_PASSWORD_LENGTH:
        return f"the password must be {min_length} to {MAX_PASSWORD_LENGTH} characters long"
    folded, names = _folded(password), [_alphanumerics(username or ""), _alphanumerics(SERVICE_NAME)]
    is_username = bool(username) and folded.strip() == _folded((username or "").strip())
    readings = _readings(folded)
    letters = {_letters(reading) for reading in readings}
    known = [*filter(None, names), *COMMON_WORDS]
    own = min(_own_characters(reading, known) for reading in readings)
    refusals = (
        (
            is_username or names[0] in {_alphanumerics(password), *letters} - {""},
            "must not be the username, with or without digits and marks",
        ),
        (_letters(SERVICE_NAME) in letters, "must not be the service's name, with or without digits and marks"),
        (not letters.isdisjoint(COMMON_WORDS), "must not be a common word with digits and marks around it"),
        (len(set(password)) <= MAX_REPEATED_CHARACTERS, "must not be one or two characters repeated"),
        (_is_sequence(password), "must not count up or down (12345..., abcde...)"),
        (
            own < MIN_OWN_CHARACTERS,
            f"needs {MIN_OWN_CHARACTERS} characters of its own beside common words, names, runs and repeats",
        ),
    )
    problem = next((f"the password {rule}" for refused, rule in refusals if refused), None)
    if problem is None and blocklist is not None and is_blocklisted(password, blocklist):
        problem = f"the password is in the blocklist ({blocklist.name}): it is known to guessers"
    return problem
