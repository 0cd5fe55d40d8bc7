"""Service accounts' keys: secrets a service account logs in with instead of a password.
Only a SHA-256 is kept: a key is 32 random bytes, beyond guessing, so a slow hash would
buy nothing."""

import hashlib
import secrets

PREFIX = "tsk_"


def generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_key(password: str) -> bool:
    return password.startswith(PREFIX)
