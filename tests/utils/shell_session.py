"""The shell sessions of a Markdown file, run as written and compared with what they show.

A ```sh block whose lines start with `$ ` is a session: each `$ ` line is a command
(continued on the next lines while the shell would wait for more), and the lines
under it, up to the next command, are the output shown for it; a command with nothing
under it prints nothing. A block with no `$ ` is a list of commands whose output is not shown.

An output shown is compared by its shape: keys, words and punctuation as written; a
string value or a word holding a digit stands for any (ids, tokens, timestamps), a number
for any number, `…` for anything, and whitespace for any or none. When it starts with an
HTTP status line, the head shows only some of the headers: each must be there.
"""

import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"\s{2,}# .*$")  # `   # the key is shown once` beside an output
MARK = "\x1e@@ step {}"
TOKEN = re.compile(
    r'(?P<string>"(?:[^"\\]|\\.)*")(?P<key>\s*:)?'
    r"|(?P<more>…)"
    r"|(?P<space>\s+)"
    r"|(?P<word>[A-Za-z0-9_.+-]+)"
    r"|(?P<other>.)"
)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
ANY_STRING = r'"(?:[^"\\]|\\.)*"'
ANY_NUMBER = NUMBER.pattern
ANY_WORD = r"[A-Za-z0-9_.+-]+"


@dataclass(frozen=True)
class Step:
    command: str
    shown: str | None  # None: the output is not shown, so not compared
    line: int  # where the command is in its file


def steps(
    markdown: str, *, after: str = "", until: str = "", sessions_only: bool = False
) -> list[Step]:
    """The commands of the ```sh blocks between the headings `after` and `until` (the whole
    file when not named); only those of sessions when `sessions_only`."""
    start = markdown.index(after)
    end = markdown.index(until, start) if until else len(markdown)
    found: list[Step] = []
    for block in FENCE.finditer(markdown, start, end):
        lines = block[2].splitlines()
        is_session = any(line.startswith("$ ") for line in lines)
        if block[1] != "sh" or (sessions_only and not is_session):
            continue
        first_line = markdown.count("\n", 0, block.start(2)) + 1
        found += _block_steps(lines, first_line)
    return found


def _block_steps(lines: list[str], first_line: int) -> list[Step]:
    session = any(line.startswith("$ ") for line in lines)
    found: list[Step] = []
    command: list[str] = []
    output: list[str] = []
    at = first_line

    def close() -> None:
        if command:
            shown = "\n".join(COMMENT.sub("", line) for line in output) if session else None
            found.append(Step("\n".join(command), shown, at))

    for number, line in enumerate(lines, first_line):
        continued = bool(command) and not output and not _complete("\n".join(command))
        if continued:
            command.append(line)
        elif line.startswith("$ ") or (not session and line.strip()):
            close()
            command, output, at = [line.removeprefix("$ ")], [], number
        elif session:
            output.append(line)
    close()
    return found


def _complete(command: str) -> bool:
    """Whether the shell would run `command` as it is: no `\\` at its end, no quote, loop
    or brace left open (as `bash -n` finds)."""
    if command.endswith("\\"):
        return False
    return subprocess.run(["bash", "-n", "-c", command], capture_output=True).returncode == 0


def run(steps_: list[Step], *, cwd: Path, env: dict[str, str], timeout: float) -> list[str]:
    """Run the commands in order in one `bash -e`, as a reader would type them; the output
    of each (stdout and stderr)."""
    script = ["exec 2>&1"]
    for index, step in enumerate(steps_):
        script += [f"printf '\\n%s\\n' {shlex.quote(MARK.format(index))}", step.command]
    script.append(f"printf '\\n%s\\n' {shlex.quote(MARK.format('end'))}")
    result = subprocess.run(
        ["bash", "-e", "-c", "\n".join(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    parts = re.split("\n" + re.escape(MARK.format("")) + r"(\d+|end)\n", "\n" + result.stdout)
    outputs = dict(zip(parts[1::2], parts[2::2], strict=True))
    ran = [outputs[str(index)] for index in range(len(steps_)) if str(index) in outputs]
    if "end" not in outputs:
        failed = steps_[len(ran) - 1]
        raise AssertionError(
            f"line {failed.line} failed (exit {result.returncode}):\n{failed.command}\n"
            f"{ran[-1] if ran else result.stdout}"
        )
    return ran


def shape(shown: str) -> str:
    """The pattern an output must match to have the shape of `shown`."""
    pattern: list[str] = []
    for token in TOKEN.finditer(shown.strip()):
        kind, text = token.lastgroup, token[0]
        if token["string"] is not None:
            value = token["string"]
            if token["key"] is not None:
                pattern.append(re.escape(value) + r"\s*:")
            elif "…" in value or re.search(r"\d", value):
                pattern.append(ANY_STRING)
            else:
                pattern.append(re.escape(value))
        elif kind == "more":
            pattern.append(".*?")
        elif kind == "space":
            pattern.append(r"\s*")
        elif kind == "word" and NUMBER.fullmatch(text):
            pattern.append(ANY_NUMBER)
        elif kind == "word" and re.search(r"\d", text):
            pattern.append(ANY_WORD)
        else:
            pattern.append(re.escape(text))
    return "".join(pattern)


def mismatches(shown: str, output: str) -> Iterator[str]:
    """What in `output` has not the shape of `shown`: nothing when it has."""
    output = output.replace("\r\n", "\n").strip()
    if shown.startswith("HTTP/"):
        shown_head, _, shown = shown.partition("\n\n")
        head, _, output = output.partition("\n\n")
        status, *headers = shown_head.splitlines()
        got_status, *got_headers = head.splitlines()
        if not re.fullmatch(shape(status), got_status):
            yield f"status {got_status!r}, not {status!r}"
        for header in headers:
            if not any(re.fullmatch(shape(header), got, re.IGNORECASE) for got in got_headers):
                yield f"no header {header!r} in\n{head}"
    if not re.fullmatch(shape(shown), output.strip(), re.DOTALL):
        yield f"shown:\n{shown.strip()}\ngot:\n{output.strip()}"
