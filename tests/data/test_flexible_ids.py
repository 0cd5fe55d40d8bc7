"""Flexible ids: every family's valid and invalid values, round trips, and byte order."""

import uuid

import pytest

from tenantry.data.flexible_ids import InvalidId, codec


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
