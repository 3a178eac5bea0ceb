"""Password hashes: argon2id through argon2-cffi, with its recommended parameters; a hash made with older ones is
upgraded at the next sign-in."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()
MIN_PASSWORD_CHARS = 12
# Checked when the account does not exist or has no password: a wrong name costs what a wrong password does.
DECOY_HASH = HASHER.hash("decoy password that matches no account")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    return HASHER.hash(password)


def matches(password_hash: str | None, password: str) -> bool:
    """Whether the password is the one hashed; constant work whether or not there is a hash."""
    try:
        return HASHER.verify(password_hash or DECOY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)


def rehash(password: str) -> str:
    """The hash of a password already accepted, with today's parameters (no length rule: it was checked)."""
    return HASHER.hash(password)
