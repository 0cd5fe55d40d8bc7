"""Flexible ids: every family's valid and invalid values, round trips, and byte order."""

import string
import uuid

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tenantry.data.flexible_ids import InvalidId, WireId, codec, to_base64url


def round_trip(type_name: str, value: object) -> object:
    ids = codec(type_name)
    return ids.decode(ids.encode(value))


class TestIntegers:
    @pytest.mark.parametrize(
        ("type_name", "value"),
        [
            ("uint32", 0),
            ("uint32", 2**32 - 1),
            ("uint64", 2**64 - 1),
            ("int32", -(2**31)),
            ("int32", 2**31 - 1),
            ("int64", -(2**63)),
            ("int64", 2**63 - 1),
            ("int64", 0),
        ],
    )
    def test_round_trip(self, type_name: str, value: int) -> None:
        assert round_trip(type_name, value) == value
        assert len(codec(type_name).encode(value)) == 8

    def test_decimal_strings_are_numbers(self) -> None:
        assert round_trip("int32", "-42") == -42
        assert round_trip("uint64", str(2**64 - 1)) == 2**64 - 1
        assert round_trip("uint32", "007") == 7

    @pytest.mark.parametrize(
        ("type_name", "value"),
        [
            ("uint32", -1),
            ("uint32", 2**32),
            ("uint64", 2**64),
            ("int32", 2**31),
            ("int32", -(2**31) - 1),
            ("int64", 2**63),
            ("uint32", 1.0),
            ("uint32", True),
            ("uint32", "1e3"),
            ("uint32", " 1"),
            ("uint32", "1_000"),
            ("uint32", "+1"),
            ("uint32", ""),
            ("uint32", None),
        ],
    )
    def test_invalid(self, type_name: str, value: object) -> None:
        with pytest.raises(InvalidId, match="must be an integer"):
            codec(type_name).encode(value)

    @pytest.mark.parametrize("type_name", ["int32", "int64", "uint32", "uint64"])
    def test_byte_order_is_numeric_order(self, type_name: str) -> None:
        values = [0, 1, 2, 255, 256, 70000, 2**31 - 1]
        if type_name.startswith("int"):
            values += [-1, -2, -256, -(2**31)]
        ids = codec(type_name)
        assert sorted(values, key=ids.encode) == sorted(values)


class TestUuid:
    def test_any_case_comes_back_lowercase(self) -> None:
        value = uuid.uuid4()
        assert round_trip("uuid", str(value).upper()) == str(value)
        assert round_trip("uuid", value.hex.upper()) == str(value)
        assert codec("uuid").encode(str(value)) == value.bytes

    @pytest.mark.parametrize(
        "value",
        [
            "not-a-uuid",
            str(uuid.uuid4())[:-1],
            str(uuid.uuid4()) + "0",
            "{" + str(uuid.uuid4()) + "}",
            "urn:uuid:" + str(uuid.uuid4()),
            "g" * 32,
            12,
            "",
        ],
    )
    def test_invalid(self, value: object) -> None:
        with pytest.raises(InvalidId, match="must be a uuid"):
            codec("uuid").encode(value)


class TestHex:
    def test_any_case_comes_back_lowercase(self) -> None:
        assert round_trip("hex4", "DEADbeef") == "deadbeef"
        assert codec("hex4").encode("00ff") == b"\x00\xff"

    def test_size_is_in_bytes(self) -> None:
        assert round_trip("hex16", "ab" * 16) == "ab" * 16
        with pytest.raises(InvalidId, match="1 to 16 bytes"):
            codec("hex16").encode("ab" * 17)

    @pytest.mark.parametrize("value", ["", "abc", "zz", "0x12", " 12", 12])
    def test_invalid(self, value: object) -> None:
        with pytest.raises(InvalidId):
            codec("hex8").encode(value)


class TestUrlsafe:
    def test_round_trip_keeps_case(self) -> None:
        assert round_trip("urlsafe64", "Item_42-a") == "Item_42-a"
        assert round_trip("urlsafe3", "abc") == "abc"

    @pytest.mark.parametrize("value", ["", "abcd", "a b", "a/b", "a.b", "é", "a=", 12])
    def test_invalid(self, value: object) -> None:
        with pytest.raises(InvalidId, match="1 to 3 characters"):
            codec("urlsafe3").encode(value)


class TestBytes:
    def test_base64url_without_padding(self) -> None:
        ids = codec("bytes8")
        assert ids.encode("-_8") == b"\xfb\xff"
        assert ids.decode(b"\xfb\xff") == "-_8"
        assert round_trip("bytes8", "AAECAwQFBgc") == "AAECAwQFBgc"

    def test_padding_is_accepted_and_dropped(self) -> None:
        assert round_trip("bytes8", "-_8=") == "-_8"

    def test_size_is_in_bytes(self) -> None:
        assert codec("bytes3").encode("AAAA") == b"\0\0\0"
        with pytest.raises(InvalidId, match="1 to 3 bytes"):
            codec("bytes3").encode("AAAAAA")

    @pytest.mark.parametrize(
        "value",
        ["", "A", "AB", "+/8", "AA==x", "A===", "AAA=A", 1],
    )
    def test_invalid(self, value: object) -> None:
        with pytest.raises(InvalidId):
            codec("bytes8").encode(value)

    def test_only_the_canonical_spelling(self) -> None:
        assert codec("bytes8").encode("AA") == b"\0"
        with pytest.raises(InvalidId, match="canonical"):
            codec("bytes8").encode("AB")


def test_unknown_type() -> None:
    with pytest.raises(ValueError, match="must be one of"):
        codec("uint128")


URLSAFE_ALPHABET = string.ascii_letters + string.digits + "_-"
# What a lenient parser skips or reads as digits: whitespace and invisible characters,
# non-ASCII digits (int() reads "\u0665" as 5), letters that look like ASCII ones.
WHITESPACE = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x00", "\x85", "\u00a0", "\u2003", "\u3000"]
LENIENT = [
    *WHITESPACE,
    *["\u200b", "\ufeff", "\u2028"],
    *["\u0665", "\u06f5", "\u096b", "\uff15", "\U0001d7d3", "\u00b2", "\u00bd", "\u2164"],
    *["\uff41", "\u00e9", "\u212a", "\u017f", "\u0430"],
    *["+", "/", ".", ":", ",", "{", "}", "%", "~", "'", '"'],
]
JUNK: dict[str, list[str]] = {
    "uint32": [*LENIENT, "_", "-", "=", "e", "x"],
    "int32": [*LENIENT, "_", "=", "e", "x"],  # "-": see test_a_misplaced_minus_is_refused
    "uuid": [*LENIENT, "_", "-", "=", "g", "x"],
    "hex": [*LENIENT, "_", "-", "=", "g", "x"],
    "urlsafe": [*LENIENT, "="],
    "bytes": LENIENT,  # "=": see test_only_the_exact_padding
}
CANONICAL: dict[str, st.SearchStrategy[WireId]] = {
    "uint32": st.integers(0, 2**32 - 1),
    "uint64": st.integers(0, 2**64 - 1),
    "int32": st.integers(-(2**31), 2**31 - 1),
    "int64": st.integers(-(2**63), 2**63 - 1),
    "uuid": st.uuids().map(str),
    **{f"hex{n}": st.binary(min_size=1, max_size=n).map(bytes.hex) for n in (1, 8, 64)},
    **{f"urlsafe{n}": st.text(URLSAFE_ALPHABET, min_size=1, max_size=n) for n in (1, 8, 64)},
    **{f"bytes{n}": st.binary(min_size=1, max_size=n).map(to_base64url) for n in (1, 8, 64)},
}
"""Every family (and sizes at both ends), with its ids as the API writes them."""


def junk(type_name: str) -> list[str]:
    family = type_name.rstrip(string.digits)
    if family in ("uint", "int"):
        family += "32"
    return JUNK[family]


def spellings(type_name: str, value: WireId) -> list[object]:
    """The documented ways to write the canonical `value`."""
    if isinstance(value, int):
        return [value, str(value), f"{'-' if value < 0 else ''}{abs(value):020}"]
    if type_name == "uuid":
        return [value, value.upper(), value.replace("-", ""), value.replace("-", "").upper()]
    if type_name.startswith("hex"):
        return [value, value.upper()]
    if type_name.startswith("bytes"):
        return [value, value + "=" * (-len(value) % 4)]
    return [value]


class TestEveryFamily:
    """Ids are exactly their documented spellings: nothing skipped, nothing read leniently."""

    @pytest.mark.parametrize("type_name", CANONICAL)
    @given(data=st.data())
    def test_canonical_ids_round_trip(self, type_name: str, data: st.DataObject) -> None:
        value = data.draw(CANONICAL[type_name])
        ids = codec(type_name)
        for spelling in spellings(type_name, value):
            assert ids.decode(ids.encode(spelling)) == value

    @pytest.mark.parametrize("type_name", CANONICAL)
    @given(data=st.data())
    def test_anything_inserted_is_refused(self, type_name: str, data: st.DataObject) -> None:
        text = str(data.draw(CANONICAL[type_name]))
        inserted = "".join(data.draw(st.lists(st.sampled_from(junk(type_name)), min_size=1)))
        at = data.draw(st.integers(0, len(text)))
        with pytest.raises(InvalidId):
            codec(type_name).encode(text[:at] + inserted + text[at:])

    @pytest.mark.parametrize("type_name", CANONICAL)
    @given(data=st.data())
    def test_whitespace_anywhere_is_refused(self, type_name: str, data: st.DataObject) -> None:
        text = str(data.draw(CANONICAL[type_name]))
        spaces = data.draw(st.lists(st.sampled_from(WHITESPACE), min_size=1, max_size=2))
        inserted = "".join(spaces) * 2  # even: not refused for the length of a hex id alone
        at = data.draw(st.integers(0, len(text)))
        with pytest.raises(InvalidId):
            codec(type_name).encode(text[:at] + inserted + text[at:])

    @pytest.mark.parametrize("type_name", ["int32", "int64"])
    @given(data=st.data())
    def test_a_misplaced_minus_is_refused(self, type_name: str, data: st.DataObject) -> None:
        text = str(data.draw(CANONICAL[type_name]))
        at = data.draw(st.integers(0, len(text)))
        assume(at > 0 or text.startswith("-"))  # a leading one is the sign
        with pytest.raises(InvalidId):
            codec(type_name).encode(text[:at] + "-" + text[at:])

    @pytest.mark.parametrize("type_name", ["uint32", "uint64"])
    @given(value=st.integers(0, 2**32 - 1), sign=st.sampled_from(["-", "+"]))
    def test_unsigned_ids_have_no_sign(self, type_name: str, value: int, sign: str) -> None:
        with pytest.raises(InvalidId):
            codec(type_name).encode(f"{sign}{value}")

    @pytest.mark.parametrize("type_name", ["int32", "int64"])
    @given(value=st.integers(0, 2**31 - 1))
    def test_signed_ids_have_no_plus(self, type_name: str, value: int) -> None:
        with pytest.raises(InvalidId):
            codec(type_name).encode(f"+{value}")

    @pytest.mark.parametrize("type_name", ["bytes1", "bytes8", "bytes64"])
    @given(data=st.data())
    def test_only_the_exact_padding(self, type_name: str, data: st.DataObject) -> None:
        text = str(data.draw(CANONICAL[type_name]))
        equals = data.draw(st.integers(1, 3).filter(lambda n: n != -len(text) % 4))
        at = data.draw(st.integers(0, len(text)))
        with pytest.raises(InvalidId):
            codec(type_name).encode(text + "=" * equals)
        assume(at < len(text))
        with pytest.raises(InvalidId):
            codec(type_name).encode(text[:at] + "=" + text[at:])

    @pytest.mark.parametrize(
        ("type_name", "value"),
        [
            ("hex8", "ab  cd"),
            ("hex8", "ab\tcd\n"),
            ("hex8", " abcd"),
            ("uint32", "\u0665"),
            ("uint32", "1_000"),
            ("uint32", "-0"),
            ("uint64", "+1"),
            ("int64", "\uff11"),
            ("uuid", "{6f9619ff-8b86-d011-b42d-00c04fc964ff}"),
            ("uuid", "6f9619ff8b86-d011-b42d-00c04fc964ff"),
            ("bytes8", "AA="),
            ("bytes8", "AAAA="),
        ],
    )
    def test_reported_spellings_are_refused(self, type_name: str, value: str) -> None:
        with pytest.raises(InvalidId):
            codec(type_name).encode(value)
