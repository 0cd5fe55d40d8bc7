import os

import pytest


@pytest.fixture
def env() -> dict[str, str]:
    """The environment of a `tenantry` process: this one's, without any TENANTRY_ setting."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}
    environment["TENANTRY_LOG_FORMAT"] = "json"
    return environment
