"""Settings refuse weak secrets outside development and make one for the embedded setup."""

import stat
from datetime import timedelta
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


DURATIONS = [
    "access_token_ttl",
    "refresh_token_ttl",
    "login_window",
    "admin_session_idle",
    "idempotency_retention",
    "audit_retention",
]


class TestDurations:
    """Every duration is read in seconds, as the README's table gives them, or as pydantic
    reads a timedelta."""

    def test_every_timedelta_setting_is_listed(self) -> None:
        durations = [
            name for name, field in Settings.model_fields.items() if field.annotation is timedelta
        ]
        assert durations == DURATIONS

    @pytest.mark.parametrize("name", DURATIONS)
    @pytest.mark.parametrize(
        ("text", "duration"),
        [
            ("300", timedelta(minutes=5)),
            ("2.5", timedelta(seconds=2.5)),
            ("86400", timedelta(days=1)),
            ("PT5M", timedelta(minutes=5)),
            ("00:05:00", timedelta(minutes=5)),
            ("1 day", timedelta(days=1)),
        ],
    )
    def test_read_from_environment(
        self,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
        name: str,
        text: str,
        duration: timedelta,
    ) -> None:
        monkeypatch.setenv("TENANTRY_DATA_DIR", str(tmp_path))
        monkeypatch.setenv(f"TENANTRY_{name.upper()}", text)
        assert getattr(Settings(), name) == duration

    @pytest.mark.parametrize("name", DURATIONS)
    @pytest.mark.parametrize(
        "text", ["five minutes", "300s", "1e3", "nan", "inf", "--300", " 300", "1" * 30]
    )
    def test_anything_else_is_refused(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, text: str
    ) -> None:
        monkeypatch.setenv("TENANTRY_DATA_DIR", str(tmp_path))
        monkeypatch.setenv(f"TENANTRY_{name.upper()}", text)
        with pytest.raises(ValidationError, match=name):
            Settings()


class TestTrustedHosts:
    def test_none_by_default(self, tmp_path: Path) -> None:
        assert Settings(data_dir=tmp_path).trusted_hosts == []

    def test_comma_separated_in_the_environment(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("TENANTRY_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("TENANTRY_TRUSTED_HOSTS", "API.example.com, admin.example.com,")
        assert Settings().trusted_hosts == ["api.example.com", "admin.example.com"]
