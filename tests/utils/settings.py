"""The settings of the app under test."""

from pathlib import Path

from tenantry.config import Settings

TEST_SECRET = "test-secret-that-is-long-enough-to-pass-0123456789"
# The suite registers hundreds of organizations from one address; the limit has tests of
# its own (tests/control/test_registration_limit.py).
SUITE_REGISTRATION_LIMIT = "100000/hour"


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "data_dir": data_dir,
        "log_format": "json",
        "pool_size": 5,
        "registration_limit": SUITE_REGISTRATION_LIMIT,
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]
