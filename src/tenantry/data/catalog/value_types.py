"""The value types of item and user properties, as the Crossing Minds API names them, and
the check of a value against its type.

- integers `int8` … `int64`, `uint8` … `uint64`: JSON integers within the type's range
  (not booleans, not `2.0`);
- floats `float16`, `float32`, `float64` (`float` is `float64`): JSON numbers within the
  type's finite range, read back as floats (`reader`: PostgreSQL's jsonb writes a number
  by its digits, so `1e300` or an integer sent would read back as an integer);
- `bool`: `true` or `false`;
- strings `unicode<N>` (at most N characters, 1 <= N <= 65,536), `unicode` and `str` (any
  length);
- the flexible id types of the databases API not named above (`uuid`, `hex<N>`,
  `urlsafe<N>`, `bytes<N>`): an id of that type, kept in its canonical spelling.
"""

import math
import re
from collections.abc import Callable
from functools import cache

from tenantry.data.flexible_ids import InvalidId, codec
from tenantry.kernel.id_types import parse

Check = Callable[[object], object]
"""The value to store for a value sent; ValueError saying what is expected otherwise."""

INTEGERS = {f"int{bits}": (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) for bits in (8, 16, 32, 64)}
INTEGERS |= {f"uint{bits}": (0, 2**bits - 1) for bits in (8, 16, 32, 64)}
FLOATS = {"float16": 65504.0, "float32": 3.4028234663852886e38, "float64": math.inf}
FLOATS["float"] = FLOATS["float64"]
STRINGS = {"unicode", "str"}
UNICODE = re.compile(r"unicode([1-9][0-9]{0,4})")
MAX_UNICODE = 65_536
NAMES = (
    "int8..int64, uint8..uint64, float16, float32, float64, float, bool, unicode<N> "
    f"(N from 1 to {MAX_UNICODE}), unicode, str, uuid, hex<N>, urlsafe<N>, bytes<N>"
)


@cache
def checker(value_type: str) -> Check:
    """The check of `value_type`; ValueError when it names no type."""
    if value_type in INTEGERS:
        return _integer(*INTEGERS[value_type])
    if value_type in FLOATS:
        return _float(FLOATS[value_type])
    if value_type == "bool":
        return _bool
    if value_type in STRINGS:
        return _string(None)
    match = UNICODE.fullmatch(value_type)
    if match is not None and int(match[1]) <= MAX_UNICODE:
        return _string(int(match[1]))
    try:
        parse(value_type)
    except ValueError:
        raise ValueError(f"Not a value type; one of {NAMES}.") from None
    return _id(value_type)


def reader(value_type: str) -> Check | None:
    """How a stored value of `value_type` is read back, when JSON alone does not say: a
    float type's integral values (stored by jsonb as their digits) are floats again."""
    return _as_float if value_type in FLOATS else None


def _as_float(value: object) -> object:
    return float(value) if type(value) is int else value


def _integer(low: int, high: int) -> Check:
    def check(value: object) -> object:
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"Expected an integer from {low} to {high}.")
        return value

    return check


def _float(limit: float) -> Check:
    def check(value: object) -> object:
        if type(value) not in (int, float) or not abs(value) <= limit:  # type: ignore[arg-type]
            raise ValueError(f"Expected a number of at most {limit:g} in magnitude.")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("Expected a finite number.")
        return value

    return check


def _bool(value: object) -> object:
    if type(value) is not bool:
        raise ValueError("Expected true or false.")
    return value


def _string(size: int | None) -> Check:
    def check(value: object) -> object:
        if type(value) is not str:
            raise ValueError("Expected a string.")
        if size is not None and len(value) > size:
            raise ValueError(f"Expected at most {size} characters.")
        return value

    return check


def _id(value_type: str) -> Check:
    ids = codec(value_type)

    def check(value: object) -> object:
        try:
            return ids.decode(ids.encode(value))
        except InvalidId as error:
            raise ValueError(f"Not a {value_type} id: {error}.") from None

    return check
