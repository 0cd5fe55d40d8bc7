"""The README's first session, block after block, in one `bash -e` against a real
`tenantry serve`, as a reader types it: only the port differs; then each session of
docs/*.md, in a `bash -e` of its own, on the same server. Each output shown must have the
shape of the one printed (`tests.utils.shell_session`)."""

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tests.utils.server import Server
from tests.utils.shell_session import Step, mismatches, run, shape, steps

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
FIRST_SESSION = {"after": "## A first session", "until": "### The admin panel"}


def documented_sessions() -> dict[str, list[Step]]:
    """The README's first session (its command lists too), and each docs page's sessions."""
    found = {"README.md": steps((ROOT / "README.md").read_text(), **FIRST_SESSION)}
    for page in sorted((ROOT / "docs").glob("*.md")):
        if session := steps(page.read_text(), sessions_only=True):
            found[f"docs/{page.name}"] = session
    return found


def test_the_documented_sessions_run_as_written(server: Server, tmp_path: Path) -> None:
    server.start()
    env = server.env | {"TENANTRY_DATA_DIR": str(server.data_dir)}
    wrong: list[str] = []
    for name, session in documented_sessions().items():
        folder = tmp_path / name.replace("/", "-")
        folder.mkdir()
        (folder / ".venv").symlink_to(sys.prefix)  # the README's .venv/bin/tenantry
        here = [
            replace(
                step, command=step.command.replace("localhost:8000", f"localhost:{server.port}")
            )
            for step in session
        ]
        outputs = run(here, cwd=folder, env=env, timeout=240)
        wrong += [
            f"{name} line {step.line}: {step.command}\n" + "\n".join(found)
            for step, output in zip(here, outputs, strict=True)
            if step.shown is not None and (found := list(mismatches(step.shown, output)))
        ]
    assert not wrong, "\n\n".join(wrong)
    assert server.stop() == 0


def test_every_session_is_found() -> None:
    sessions = documented_sessions()
    assert set(sessions) == {"README.md", "docs/data.md"}
    assert sum(step.shown is None for step in sessions["README.md"]) == 6  # the CLI's list
    assert any("uuid.uuid4()" in step.command for step in sessions["docs/data.md"])


class TestTheSessionReader:
    """How the blocks are read and their outputs compared."""

    def test_commands_outputs_and_continuations(self) -> None:
        markdown = (
            '## A\n```sh\n$ curl -s x \\\n    -d \'{"a":\n 1}\'\n{"ok":true}   # yes\n'
            "$ true\n```\n```sh\necho one\necho two  # comment\n```\n## B\n"
        )
        found = steps(markdown, after="## A", until="## B")
        assert [step.command for step in found] == [
            "curl -s x \\\n    -d '{\"a\":\n 1}'",
            "true",
            "echo one",
            "echo two  # comment",
        ]
        assert [step.shown for step in found] == ['{"ok":true}', "", None, None]
        assert [step.line for step in found] == [3, 7, 10, 11]

    @pytest.mark.parametrize(
        ("shown", "output"),
        [
            ('{"id":"wSSZQbPxKvBrk_n2B_m6ZA","name":"jane"}', '{"id":"B_dLZ0u","name":"jane"}'),
            ('{"token":"eyJ…","n":1795456789.1}', '{"token":"abc","n":3}'),
            ('{"a":1,\n "b":[…]}', '{"a":2,"b":[]}'),
            (
                "HTTP/1.1 404 Not Found\nx-id: 5b0e6c0f3f\n\n{}",
                "HTTP/1.1 404 Not Found\r\ndate: now\r\nx-id: 77aa\r\n\r\n{}",
            ),
            ("", ""),
        ],
    )
    def test_same_shape(self, shown: str, output: str) -> None:
        assert list(mismatches(shown, output)) == [], shape(shown)

    @pytest.mark.parametrize(
        ("shown", "output"),
        [
            ('{"status":"ready"}', '{"status":"pending"}'),
            ('{"id":"x1"}', '{"ident":"x1"}'),
            ('{"a":null}', '{"a":1}'),
            ("HTTP/1.1 404 Not Found\nx-id: 5b\n\n{}", "HTTP/1.1 200 OK\r\nx-id: 5b\r\n\r\n{}"),
            ("HTTP/1.1 404 Not Found\nx-id: 5b\n\n{}", "HTTP/1.1 404 Not Found\r\n\r\n{}"),
            ("", '{"status":400}'),
        ],
    )
    def test_other_shape(self, shown: str, output: str) -> None:
        assert list(mismatches(shown, output)) != []
