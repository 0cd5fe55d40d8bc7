"""Schemathesis against a real `tenantry serve`, through both OpenAPI documents, with an
API key and without credentials.

Every check of schemathesis runs (server errors, status codes, content types, response
schemas and headers, negative and positive data, missing headers, `Allow`, auth, and the
stateful links it infers), plus ours (`schemathesis_hooks`): every error is a problem+json
whose `status` is the HTTP status, with no stack trace or SQL in it. The few narrowings,
each with its reason, are in `schemathesis.toml`. The two runs of a document go at once.

`TENANTRY_FUZZ_EXAMPLES` (default 5) sets the examples per operation and
`TENANTRY_FUZZ_SEED` replays a run; see docs/reliability.md.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.utils.factories import unique_email
from tests.utils.http import registered_at
from tests.utils.server import Server

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
ROOT = HERE.parent.parent
EXAMPLES = int(os.environ.get("TENANTRY_FUZZ_EXAMPLES", "5"))
SEED = os.environ.get("TENANTRY_FUZZ_SEED", "20261130")  # "random": a new one each run
CLI = Path(sys.executable).parent / "schemathesis"


def schemathesis(document: str, headers: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    """A `schemathesis run` of `document`, in the background, its output in a file."""
    command = [
        str(CLI),
        "--no-color",
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        document,
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        # Health checks judge the data generation (too slow, too much filtered), not the
        # server; on a loaded machine they would fail a run that found nothing.
        "--suppress-health-check",
        "all",
    ]
    command += [] if SEED == "random" else ["--seed", SEED]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.fuzz.schemathesis_hooks",
    }
    workdir.mkdir(parents=True, exist_ok=True)
    with (workdir / "output.txt").open("wb") as output:
        return subprocess.Popen(
            command, cwd=workdir, env=env, stdout=output, stderr=subprocess.STDOUT
        )


@pytest.mark.parametrize("document", ["openapi.json", "v20241104/openapi.json"])
def test_schemathesis_finds_nothing(served: Server, document: str) -> None:
    tenant = registered_at(served.url, unique_email("fuzz"))
    outputs = served.data_dir.parent / document.replace("/", "-")
    credentials = {"with an API key": tenant.key, "anonymous": {}}
    runs = {
        name: schemathesis(f"{served.url}/{document}", headers, outputs / str(index))
        for index, (name, headers) in enumerate(credentials.items())
    }
    failed = []
    for index, (name, run) in enumerate(runs.items()):
        code = run.wait(timeout=900)
        if code != 0:
            output = (outputs / str(index) / "output.txt").read_text(errors="replace")
            failed.append(f"=== {document}, {name}: exit {code}\n{output[-20000:]}")
    assert not failed, "\n".join(failed)
