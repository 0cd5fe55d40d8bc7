"""Test helpers live in `tests/utils`: no module under tests/ imports a test module
(`test_*`) or a conftest module, whose fixtures pytest provides by name."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).parent


def forbidden(module: str) -> bool:
    """Whether `module` (absolute, dotted) is a test module or a conftest module: one of
    `tests`, or a top-level one (as pytest's rootdir on `sys.path` would let it be named)."""
    parts = module.split(".")
    if parts[0] == "tests":
        parts = parts[1:]
    elif len(parts) > 1:
        return False
    return any(part == "conftest" or part.startswith("test_") for part in parts)


def _package_of(path: Path) -> list[str]:
    """The dotted package of a file under tests/: `tests/data/x.py` -> [tests, data]."""
    return ["tests", *path.parent.relative_to(TESTS).parts]


def imported_modules(source: str, path: Path) -> Iterator[tuple[int, str]]:
    """Every module an import statement in `source` names (with the line), relative imports
    resolved from `path`; `from a import b` names `a` and `a.b` (b may be a module)."""
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path)
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def imports_of_test_modules(path: Path) -> list[str]:
    return [
        f"{path.relative_to(TESTS.parent)}:{line}: imports {module}"
        for line, module in imported_modules(path.read_text(), path)
        if forbidden(module)
    ]


def test_no_module_imports_a_test_module_or_a_conftest() -> None:
    found = [
        problem for path in sorted(TESTS.rglob("*.py")) for problem in imports_of_test_modules(path)
    ]
    assert not found, "move the helpers to tests/utils:\n" + "\n".join(found)


# `{t}` stands for `tests`, so that a grep for such imports finds none in this file.
@pytest.mark.parametrize(
    "source",
    [
        "from {t}.test_errors import assert_problem",
        "from {t}.control.conftest import register",
        "from {t}.reliability import conftest as fixtures",
        "from {t}.e2e import test_serve",
        "import {t}.data.test_spaces",
        "import {t}.conftest",
        "from .conftest import PASSWORD",
        "from . import test_catalog",
        "from ..test_errors import assert_problem",
        "import conftest",
        "def f():\n    from {t}.conftest import make_settings",
    ],
)
def test_the_check_sees_such_imports(source: str) -> None:
    path = TESTS / "data" / "test_example.py"
    found = imported_modules(source.format(t="tests"), path)
    assert [module for _, module in found if forbidden(module)]


@pytest.mark.parametrize(
    "source",
    [
        "from tests.utils.factories import register",
        "from tests.utils import factories",
        "from tenantry.control import testing",
        "import pytest",
        "from .utils_of_mine import helper",
    ],
)
def test_the_check_lets_helpers_through(source: str) -> None:
    path = TESTS / "data" / "test_example.py"
    assert not [module for _, module in imported_modules(source, path) if forbidden(module)]
