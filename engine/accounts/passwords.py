"""Password hashing: argon2id over the MD5 hex of the password, checked and upgraded at login.

The cost parameters are one of the configurations OWASP's Password Storage Cheat Sheet lists for argon2id
(all "an equal level of defense", trading memory for passes): m = 12 MiB, t = 3, p = 1. Hashes made with
other parameters (before 0017: argon2-cffi's default, m = 64 MiB, t = 3, p = 4) still verify, and a
successful login stores a new hash with the current parameters; a wrong password never writes anything
(README, "Security").
"""
from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import secrets
import threading
from dataclasses import dataclass

from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP: "m=12288 (12 MiB), t=3, p=1" (salt and hash lengths: argon2-cffi's defaults). A web worker holds
# one computation's memory at a time (below) on top of its ~100 MB, and its budget is 120 MB: with OWASP's
# m=19 MiB, t=2 it peaked at 122.5 MB after bench/memory.py's 10,000 requests. 12 MiB stays above
# MMAP_THRESHOLD, so each computation's block is still mapped and unmapped.
OWASP_ARGON2ID = Parameters(type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=3,
                            memory_cost=12 * 1024, parallelism=1)
_hasher = PasswordHasher.from_parameters(OWASP_ARGON2ID)
# One argon2 computation at a time in a process. Each holds the hash's memory cost for its duration, so
# the eight threads of a web worker answering logins at once would hold eight; one at a time, a worker
# peaks at its own size plus one computation. Logins on the other gunicorn workers run on the other cores.
_one_computation = threading.Lock()

# glibc's malloc serves an allocation this size or larger with its own mmap, returned to the system on free.
# By default that threshold follows the largest block freed so far (up to 32 MiB): after the first password
# check every later block came from the heap of the thread asking, and a gthread worker's eight
# threads each kept one resident (bench/memory.py --only logins, at m = 19 MiB: 203 MB peak with one check
# at a time, 70 MB with this). Fixing the threshold (which also stops that adjustment) keeps every check's
# memory mapped and unmapped; smaller blocks are served as before. Python's small objects never reach it.
MMAP_THRESHOLD = 8 * 1024 * 1024
_M_MMAP_THRESHOLD = -3   # <malloc.h>


def _map_large_blocks() -> bool:
    """Fix glibc's mmap threshold; False (and nothing changed) on another C library."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False


_map_large_blocks()


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    # A hash of the same password with the current parameters, when the stored one was made with others
    # (only ever set when `ok`): the caller stores it in place of the old one.
    new_hash: str | None = None


def _argon2(operation, *args):
    with _one_computation:
        return operation(*args)


def _md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - legacy wire format, not security


def hash_password(password: str) -> str:
    """argon2 over the MD5 hex of the password.

    The legacy protocol lets clients log in with `PasswordEncrypted=true` and an MD5 of the
    password; hashing the MD5 keeps that working without ever storing MD5 itself.
    """
    return _argon2(_hasher.hash, _md5_hex(password))


def check_password(stored_hash: str | None, password: str, *, pre_hashed: bool = False) -> PasswordCheck:
    """Whether `password` (or, `pre_hashed`, its MD5 hex) matches `stored_hash`, and the upgraded hash to
    store when it does and the stored one's parameters are not the current ones. With no hash (no such
    account) it still runs one argon2 verification with the parameters real hashes get, and answers
    not ok: an unknown username must cost what a wrong password costs, or the time tells which exist."""
    candidate = password.lower() if pre_hashed else _md5_hex(password)
    try:
        if stored_hash is None:
            _argon2(_hasher.verify, _stand_in_hash(), candidate)
            return PasswordCheck(False)
        _argon2(_hasher.verify, stored_hash, candidate)
    except (VerificationError, InvalidHashError):
        return PasswordCheck(False)
    if not _hasher.check_needs_rehash(stored_hash):
        return PasswordCheck(True)
    # The candidate is the MD5 hex either way, which is exactly what hash_password() hashes.
    return PasswordCheck(True, _argon2(_hasher.hash, candidate))


_stand_in: tuple[PasswordHasher, str] | None = None


def _stand_in_hash() -> str:
    """A hash no candidate matches (its password is random and forgotten), made once per process with
    the current hasher, so its verification costs exactly what a real account's does."""
    global _stand_in
    if _stand_in is None or _stand_in[0] is not _hasher:
        _stand_in = (_hasher, _argon2(_hasher.hash, secrets.token_hex(32)))
    return _stand_in[1]
