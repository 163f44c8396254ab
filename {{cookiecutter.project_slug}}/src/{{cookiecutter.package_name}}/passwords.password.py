"""Passwords: argon2id hashes through pwdlib, and the rules a new password must pass.

Parameters: OWASP's minimum for argon2id, 19 MiB of memory, 2 iterations, 1
lane (``PasswordHash.recommended()`` takes 64 MiB and 4 lanes). Each login
costs one hash of that size, so at most ``HASHING_SLOTS`` run at once, in
threads: the event loop never waits on them and memory stays bounded. A hash
made with other parameters is replaced at the next successful login.
"""

from __future__ import annotations

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


def password_problem(password: str, username: str | None, *, min_length: int) -> str | None:
    """Why ``password`` may not be set, or None: too short, the username itself, or one or two characters repeated.

    NIST SP 800-63B §3.1.1.2 names repetitive passwords among those to refuse.
    """
    if len(password) < min_length:
        return f"the password must be at least {min_length} characters long"
    if username and password.strip().casefold() == username.strip().casefold():
        return "the password must not be the username"
    if len(set(password)) <= MAX_REPEATED_CHARACTERS:
        return "the password must not be one or two characters repeated"
    return None
