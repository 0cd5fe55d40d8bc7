"""Names of PostgreSQL schemas. Made by the server only, validated before any use."""

import re
import secrets

MAX_LENGTH = 63
SUFFIX_DIGITS = 6
PATTERN = re.compile(r"[a-z][a-z0-9_]{0,62}")
RESERVED = frozenset({"public", "tenantry", "information_schema"})


class InvalidSchemaName(ValueError):
    pass


def validate(name: str) -> str:
    """Return `name` if it may name a database's schema; raise InvalidSchemaName otherwise."""
    if (
        not PATTERN.fullmatch(name)
        or len(name.encode()) > MAX_LENGTH
        or name in RESERVED
        or name.startswith("pg_")
    ):
        raise InvalidSchemaName(f"not a valid schema name: {name!r}")
    return name


def quote(name: str) -> str:
    """Quote a schema name for DDL; only names matching the server's own pattern pass."""
    if not PATTERN.fullmatch(name):
        raise InvalidSchemaName(f"not a valid schema name: {name!r}")
    return f'"{name}"'


def make(base: str) -> str:
    """`<base>_<6 random digits>`, with `base` folded to a safe identifier."""
    stem = re.sub(r"[^a-z0-9]+", "_", base.lower()).strip("_")
    if not stem or not stem[0].isalpha() or stem.startswith("pg_"):
        stem = f"db_{stem}".rstrip("_")
    stem = stem[: MAX_LENGTH - SUFFIX_DIGITS - 1].rstrip("_")
    digits = f"{secrets.randbelow(10**SUFFIX_DIGITS):0{SUFFIX_DIGITS}d}"
    return validate(f"{stem}_{digits}")
