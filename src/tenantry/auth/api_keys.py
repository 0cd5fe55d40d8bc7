"""API keys: `tnt_` + an 8-character public prefix + a 32-character secret + a 6-character
checksum. The prefix finds the row; the SHA-256 of the whole key is compared in constant
time. The checksum rejects mistyped keys without a database lookup."""

import hashlib
import hmac
import re
import secrets
import string
import zlib
from dataclasses import dataclass

ALPHABET = string.ascii_letters + string.digits
MARKER = "tnt_"
PREFIX_LENGTH = 8
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
PATTERN = re.compile(rf"{MARKER}[A-Za-z0-9]{{{PREFIX_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH}}}")


@dataclass(frozen=True)
class NewKey:
    key: str
    prefix: str
    secret_hash: str


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _checksum(body: str) -> str:
    value = zlib.crc32(body.encode())
    digits = []
    for _ in range(CHECKSUM_LENGTH):
        value, digit = divmod(value, len(ALPHABET))
        digits.append(ALPHABET[digit])
    return "".join(digits)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate() -> NewKey:
    body = MARKER + _random(PREFIX_LENGTH) + _random(SECRET_LENGTH)
    key = body + _checksum(body)
    return NewKey(key=key, prefix=prefix_of(key), secret_hash=hash_key(key))


def parse(key: str) -> str | None:
    """The key's prefix if it is well formed and its checksum holds, else None."""
    if not PATTERN.fullmatch(key):
        return None
    body, checksum = key[:-CHECKSUM_LENGTH], key[-CHECKSUM_LENGTH:]
    if not hmac.compare_digest(_checksum(body), checksum):
        return None
    return prefix_of(key)


def prefix_of(key: str) -> str:
    return key[: len(MARKER) + PREFIX_LENGTH]


def matches(key: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), secret_hash)
