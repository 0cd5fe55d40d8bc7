"""Settings refuse weak secrets outside development and make one for the embedded setup."""

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from tenantry.config import Settings, default_lanes

EXTERNAL = "postgresql://postgres@127.0.0.1:5432/tenantry"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("DATABASE_URL", "SECRET_KEY", "DEV", "DATA_DIR"):
        monkeypatch.delenv(f"TENANTRY_{name}", raising=False)


class TestSecret:
    def test_external_database_needs_a_secret(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationError, match="TENANTRY_SECRET_KEY must be set"):
            Settings(database_url=EXTERNAL, data_dir=tmp_path)

    @pytest.mark.parametrize("secret", ["changethis", "secret", "short-but-not-default"])
    def test_weak_secret_refused(self, tmp_path: Path, secret: str) -> None:
        with pytest.raises(ValidationError, match="TENANTRY_SECRET_KEY is a default"):
            Settings(database_url=EXTERNAL, secret_key=secret, data_dir=tmp_path)

    def test_weak_secret_allowed_in_dev_mode(self, tmp_path: Path) -> None:
        settings = Settings(database_url=EXTERNAL, secret_key="changethis", dev=True)
        assert settings.secret == "changethis"

    def test_embedded_setup_generates_and_keeps_one(self, tmp_path: Path) -> None:
        first = Settings(data_dir=tmp_path / "data")
        second = Settings(data_dir=tmp_path / "data")
        assert len(first.secret) >= 32
        assert first.secret == second.secret
        mode = (tmp_path / "data" / "secret_key").stat().st_mode
        assert stat.S_IMODE(mode) == 0o600

    def test_dev_mode_with_external_database_generates_one(self, tmp_path: Path) -> None:
        settings = Settings(database_url=EXTERNAL, dev=True, data_dir=tmp_path)
        assert len(settings.secret) >= 32

    def test_read_from_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TENANTRY_DATABASE_URL", EXTERNAL)
        monkeypatch.setenv("TENANTRY_SECRET_KEY", "s" * 40)
        monkeypatch.setenv("TENANTRY_PORT", "9001")
        settings = Settings()
        assert settings.port == 9001
        assert settings.database_url == "postgresql+asyncpg://postgres@127.0.0.1:5432/tenantry"

    def test_read_from_dotenv(self, tmp_path: Path) -> None:
        (tmp_path / ".env").write_text(
            f"TENANTRY_DATABASE_URL={EXTERNAL}\nTENANTRY_SECRET_KEY={'k' * 40}\n"
        )
        assert Settings().secret == "k" * 40


def test_rejects_a_non_postgresql_url(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="postgresql"):
        Settings(database_url="mysql://x/y", secret_key="s" * 40, data_dir=tmp_path)


@pytest.mark.parametrize(("cpus", "lanes"), [(None, 2), (1, 2), (2, 4), (4, 8), (8, 16), (64, 16)])
def test_lanes_default_to_two_per_cpu_within_bounds(cpus: int | None, lanes: int) -> None:
    assert default_lanes(cpus) == lanes
