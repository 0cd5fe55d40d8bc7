import pytest

from tenantry.db import schema_names
from tenantry.db.schema_names import InvalidSchemaName


class TestMake:
    @pytest.mark.parametrize(
        ("base", "stem"),
        [
            ("john.doe", "john_doe"),
            ("John+Tag", "john_tag"),
            ("42", "db_42"),
            ("", "db"),
            ("pg_admin", "db_pg_admin"),
            ("public", "public"),
            ("tenantry", "tenantry"),
            ('x"; DROP SCHEMA public; --', "x_drop_schema_public"),
            ("żółw", "w"),
            ("_lead", "lead"),
        ],
    )
    def test_folds_to_a_safe_identifier(self, base: str, stem: str) -> None:
        name = schema_names.make(base)
        assert name.rsplit("_", 1)[0] == stem
        assert name.rsplit("_", 1)[1].isdigit()
        assert len(name.rsplit("_", 1)[1]) == 6
        assert schema_names.validate(name) == name

    def test_long_base_fits_63_bytes(self) -> None:
        name = schema_names.make("a" * 500)
        assert len(name.encode()) <= 63

    def test_random_suffix(self) -> None:
        assert len({schema_names.make("same") for _ in range(50)}) > 45


class TestValidate:
    @pytest.mark.parametrize(
        "name",
        [
            "public",
            "tenantry",
            "information_schema",
            "pg_toast",
            "pg_x",
            "Upper",
            "1a",
            "a-b",
            "a" * 64,
            "",
            'a"b',
            "a b",
            "ä",
        ],
    )
    def test_rejects(self, name: str) -> None:
        with pytest.raises(InvalidSchemaName):
            schema_names.validate(name)

    def test_quote_refuses_anything_outside_the_pattern(self) -> None:
        assert schema_names.quote("public") == '"public"'
        with pytest.raises(InvalidSchemaName):
            schema_names.quote('x"; DROP TABLE y; --')
