"""The layers import only downward, and a newcomer finds each feature by its name (issue 13).

The contract itself is in pyproject.toml ([tool.importlinter]); docs/architecture.md draws it.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("bot", "handlers", "scheduler", "catalogue")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
SQL_STATEMENTS = {"select", "insert", "update", "delete"}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_layers_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("scheduler/outbox.py", "from bot import screens"),
        ("catalogue/models.py", "from bot.screens import view"),
        ("catalogue/queries.py", "import scheduler.outbox"),
        ("bot/screens/browse.py", "import handlers.browse"),
        ("handlers/browse.py", "from bot.startup import dispatcher"),
    ],
)
def test_an_upward_import_breaks_the_contract(tmp_path: Path, module: str, upward: str) -> None:
    for package in PRODUCT:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / module).open("a") as source:
        source.write(f"\n{upward}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", ["handlers", "bot/screens", "bot/callbacks", "bot/middlewares"])
def test_no_sql_statements_above_the_data_layers(folder: str) -> None:
    found = []
    for path in _modules(folder):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in {
                "sqlalchemy",
                "sqlmodel",
            }:
                found += [
                    f"{path.relative_to(ROOT)}: {a.name}"
                    for a in node.names
                    if a.name in SQL_STATEMENTS
                ]
    assert found == []


def test_no_folder_of_product_code_holds_more_than_about_fifteen_modules() -> None:
    for package in PRODUCT:
        for folder in [ROOT / package, *(p for p in (ROOT / package).rglob("*") if p.is_dir())]:
            if "__pycache__" in folder.parts or "versions" in folder.parts:
                continue
            modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
            assert len(modules) <= 16, (folder, len(modules))


@pytest.mark.parametrize(
    "feature",
    [
        "browse",
        "search",
        "subscriptions",
        "preferences",
        "programme",
        "broadcast",
        "checkin_volunteer",
        "checkin_resident",
        "feedback",
        "reports",
        "privacy",
        "team",
    ],
)
def test_a_feature_is_found_by_its_name(feature: str) -> None:
    handler = ROOT / "handlers" / f"{feature}.py"
    assert handler.exists() or (ROOT / "handlers" / feature).is_dir()
    assert (ROOT / "bot" / "screens" / f"{feature}.py").exists()
    assert (ROOT / "bot" / "callbacks" / f"{feature}.py").exists()
