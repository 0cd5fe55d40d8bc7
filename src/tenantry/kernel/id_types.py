"""Flexible identifier types: how a database's items, users and sessions are named.

The families of the databases API: unsigned and signed integers (`uint32`, `uint64`,
`int32`, `int64`), `uuid`, and strings of a maximum size in bytes: `hex<N>`, `urlsafe<N>`
and `bytes<N>` (base64url on the wire), with 1 <= N <= 64. The choice is permanent.
"""

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

INTEGERS = {"uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1)}
INTEGERS |= {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
SIZED = re.compile(r"(hex|urlsafe|bytes)([1-9][0-9]?)")
MAX_SIZE = 64


@dataclass(frozen=True)
class IdType:
    family: str
    size: int | None = None


def parse(name: str) -> IdType:
    """The type named `name`; ValueError names the accepted families."""
    if name in INTEGERS or name == "uuid":
        return IdType(name)
    match = SIZED.fullmatch(name)
    if match is not None and int(match[2]) <= MAX_SIZE:
        return IdType(match[1], int(match[2]))
    raise ValueError(
        "must be one of uint32, uint64, int32, int64, uuid, or hex<N>, urlsafe<N>, "
        f"bytes<N> with N from 1 to {MAX_SIZE}"
    )


def _checked(name: str) -> str:
    parse(name)
    return name


IdTypeName = Annotated[str, AfterValidator(_checked)]
