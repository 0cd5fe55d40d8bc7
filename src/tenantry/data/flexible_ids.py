"""Item and user ids at the API's edge: checked against the database's id type, stored as
bytes.

Every database's schema is a clone of one template, so an id column cannot have a type per
database. Ids are stored as `bytea`, in one canonical encoding per family, chosen so that
the order of the bytes is the natural order of the ids:

- integers: 8 bytes big-endian; signed types with the sign bit flipped (`value + 2**63`);
- `uuid`: its 16 bytes. Accepted in either case, with or without hyphens; sent back in
  lowercase, hyphenated;
- `hex<N>`: the 1 to N bytes its digits spell (so an even number of digits, 2 to 2N);
  accepted in either case, sent back in lowercase;
- `urlsafe<N>`: 1 to N characters of the url-safe alphabet `[A-Za-z0-9_-]`, as ASCII;
- `bytes<N>`: 1 to N raw bytes, written as base64url without `=` padding (the exact
  padding is accepted; only the canonical spelling of the bytes is).

On the wire integers are JSON numbers (a string of 1 to 20 ASCII decimal digits is accepted
too, as in a path, with a leading `-` for the signed types), every other family a string.
An id is exactly one of these spellings: nothing around or inside it is skipped (no
whitespace, no `+`, no `_`, no digits but ASCII ones), so no two spellings of different
lengths name one id.
"""

import base64
import binascii
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from tenantry.kernel.id_types import INTEGERS, parse

WireId = int | str
# Character classes spelled out in ASCII: `\d`, `\s` and re.IGNORECASE reach beyond it.
DIGITS = re.compile(r"[0-9]{1,20}")
SIGNED_DIGITS = re.compile(r"-?[0-9]{1,20}")
HEX = re.compile(r"[0-9a-fA-F]+")
UUID_TEXT = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{32}"
)
URLSAFE = re.compile(r"[A-Za-z0-9_-]+")
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class InvalidId(ValueError):
    """A value that is not an id of the type; the message says what is expected."""


@dataclass(frozen=True)
class IdCodec:
    type_name: str
    encode: Callable[[object], bytes]
    """The stored bytes of a wire value; InvalidId if it is not an id of this type."""
    decode: Callable[[bytes], WireId]
    """The wire value of stored bytes."""


@cache
def codec(type_name: str) -> IdCodec:
    """The codec of an id type named as the databases API names them (`uint32`, `hex16`…)."""
    id_type = parse(type_name)
    encode: Callable[[object], bytes]
    decode: Callable[[bytes], WireId]
    if id_type.family in INTEGERS:
        low, high = INTEGERS[id_type.family]
        encode, decode = _integers(low, high)
    elif id_type.family == "uuid":
        encode, decode = _uuid, _uuid_text
    else:
        assert id_type.size is not None
        encode, decode = FAMILIES[id_type.family](id_type.size)
    return IdCodec(type_name, encode, decode)


def _integers(low: int, high: int) -> tuple[Callable[[object], bytes], Callable[[bytes], int]]:
    offset = -low  # 2**63 for signed types: the sign bit flipped; 0 for unsigned ones
    decimal = SIGNED_DIGITS if low < 0 else DIGITS  # no "-0" for the unsigned types

    def encode(value: object) -> bytes:
        if isinstance(value, str) and decimal.fullmatch(value):
            value = int(value)
        if type(value) is not int or not low <= value <= high:
            raise InvalidId(f"must be an integer from {low} to {high}")
        return (value + offset).to_bytes(8, "big")

    def decode(raw: bytes) -> int:
        return int.from_bytes(raw, "big") - offset

    return encode, decode


def _uuid(value: object) -> bytes:
    if not isinstance(value, str) or not UUID_TEXT.fullmatch(value):
        raise InvalidId("must be a uuid (32 hexadecimal digits, hyphens optional)")
    return bytes.fromhex(value.replace("-", ""))


def _uuid_text(raw: bytes) -> str:
    return str(uuid.UUID(bytes=raw))


def _hex(size: int) -> tuple[Callable[[object], bytes], Callable[[bytes], str]]:
    def encode(value: object) -> bytes:
        if not isinstance(value, str) or len(value) % 2 or not 2 <= len(value) <= 2 * size:
            raise InvalidId(f"must be 1 to {size} bytes in hexadecimal (2 to {2 * size} digits)")
        if not HEX.fullmatch(value):  # bytes.fromhex would skip whitespace
            raise InvalidId("must hold hexadecimal digits only")
        return bytes.fromhex(value)

    return encode, bytes.hex


def _urlsafe(size: int) -> tuple[Callable[[object], bytes], Callable[[bytes], str]]:
    def encode(value: object) -> bytes:
        if not isinstance(value, str) or len(value) > size or not URLSAFE.fullmatch(value):
            raise InvalidId(f"must be 1 to {size} characters among A-Z, a-z, 0-9, _ and -")
        return value.encode("ascii")

    def decode(raw: bytes) -> str:
        return raw.decode("ascii")

    return encode, decode


def _bytes(size: int) -> tuple[Callable[[object], bytes], Callable[[bytes], str]]:
    def encode(value: object) -> bytes:
        expected = f"must be 1 to {size} bytes in base64url without padding"
        if not isinstance(value, str):
            raise InvalidId(expected)
        text = value.rstrip("=")
        if not BASE64URL.fullmatch(text) or value not in (text, text + "=" * (-len(text) % 4)):
            raise InvalidId(expected)
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except binascii.Error as error:
            raise InvalidId(expected) from error
        if not 1 <= len(raw) <= size:
            raise InvalidId(expected)
        if to_base64url(raw) != text:
            raise InvalidId(f"{expected}: not the canonical spelling of its bytes")
        return raw

    return encode, to_base64url


def to_base64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def from_base64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


FAMILIES = {"hex": _hex, "urlsafe": _urlsafe, "bytes": _bytes}
