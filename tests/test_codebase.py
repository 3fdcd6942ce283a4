"""House rules the CI enforces: ruff lint, mypy --strict, and who may import whom."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]
LINTED = ("classroom", "boardclient", "testkit", "tests", "bench")  # as the Makefile's lint target


def test_ruff_finds_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *LINTED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes_on_the_packages() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "classroom", "boardclient", "testkit"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


SHIPPED = ("classroom", "boardclient")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports by absolute name (relative imports stay in their package)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def imports_of(folder: str) -> dict[str, set[str]]:
    """The top-level names each ``.py`` file under ``folder`` imports, by file."""
    return {
        str(path.relative_to(ROOT)): {name.split(".")[0] for name in imported_modules(path)}
        for path in sorted((ROOT / folder).rglob("*.py"))
    }


def offenders(folder: str, forbidden: set[str]) -> dict[str, set[str]]:
    return {
        path: names & forbidden for path, names in imports_of(folder).items() if names & forbidden
    }


# A benchmark script imports its neighbours by bare name (``from _common import ...``) because
# ``bench/`` is on the path when it runs; a test importing those names is importing bench too.
BENCH_MODULES = {"bench"} | {path.stem for path in (ROOT / "bench").glob("*.py")}


def test_tests_and_benchmarks_meet_only_in_the_kit() -> None:
    assert "testkit" in {name for names in imports_of("tests").values() for name in names}
    assert offenders("tests", BENCH_MODULES) == {}, "tests import bench: move it to testkit/"
    assert offenders("bench", {"tests"}) == {}, "bench imports tests: move it to testkit/"
    assert offenders("testkit", BENCH_MODULES | {"tests"}) == {}, "the kit serves both, needs none"


def test_shipped_packages_do_not_import_the_kit() -> None:
    for package in SHIPPED:
        assert offenders(package, {"testkit", "tests", "bench"}) == {}, package


def test_the_wheel_ships_the_packages_but_not_the_kit() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = find_packages(str(ROOT), include=include)
    assert set(SHIPPED) <= set(packages)
    assert not [p for p in packages if p.split(".")[0] in {"testkit", "tests", "bench"}]
