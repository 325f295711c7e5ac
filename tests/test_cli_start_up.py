"""The commands that do not talk to Telegram start without aiogram and the handlers.

`learncity catalogue …`, `report` and `migrate` import what they use inside the command, so
they answer in well under a second instead of the seconds aiogram's import takes
(bench/cli.py measures it). Each runs here in a process of its own, on a SQLite database of
its own, and must succeed with neither `aiogram` nor `handlers` in `sys.modules`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL_CATALOGUE = ROOT / "tests" / "data" / "small_catalogue.json"
# Prints what the command loaded that it should not have, after the command ran.
PROBE = """
import sys
from bot.startup.cli import main
code = main(sys.argv[1:])
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0] in ("aiogram", "handlers")
)
print("LOADED", *[name for name in loaded if "." not in name], file=sys.stderr)
sys.exit(code)
"""


def learncity(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"BOT_TOKEN", "REDIS_URL", "WEBHOOK_URL", "LOG_FORMAT"}
    }
    environment.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'learncity.sqlite3'}",
        DEFAULT_LOCALE="en",
        PYTHONPATH=str(ROOT),
    )
    # Run in the folder, so no .env of the working copy is read.
    return subprocess.run(
        [sys.executable, "-c", PROBE, *arguments],
        cwd=folder, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def loaded_too_much(result: subprocess.CompletedProcess[str]) -> list[str]:
    line = next(line for line in result.stderr.splitlines() if line.startswith("LOADED"))
    return line.split()[1:]


@pytest.mark.parametrize(
    "arguments",
    [
        ["migrate"],
        ["catalogue", "schema"],
        ["catalogue", "search", "robot"],
        ["catalogue", "import", str(SMALL_CATALOGUE)],
        ["catalogue", "export", "exported.json"],
        ["report", "today", "--out", "reports"],
        ["report", "2025-06-01", "2025-06-30", "--locale", "ru", "--out", "reports"],
    ],
    ids=" ".join,
)
def test_the_command_runs_without_aiogram(tmp_path: Path, arguments: list[str]) -> None:
    result = learncity(tmp_path, *arguments)
    assert result.returncode == 0, result.stderr
    assert loaded_too_much(result) == []


def test_what_the_commands_leave_behind(tmp_path: Path) -> None:
    assert json.loads(learncity(tmp_path, "catalogue", "schema").stdout)["properties"]
    assert learncity(tmp_path, "catalogue", "import", str(SMALL_CATALOGUE)).returncode == 0
    assert learncity(tmp_path, "catalogue", "export", "exported.json").returncode == 0
    assert json.loads((tmp_path / "exported.json").read_text())["offers"]
    report = learncity(tmp_path, "report", "2025-06-01", "--locale", "ru", "--out", "reports")
    assert report.returncode == 0, report.stderr
    assert "Отчёт" in report.stdout
    written = sorted(path.name for path in (tmp_path / "reports").iterdir())
    assert written == [
        "aggregates-2025-06-01_2025-06-01.csv",
        "attendance-2025-06-01_2025-06-01.csv",
        "attendance-2025-06-01_2025-06-01.png",
    ]


def test_a_mistyped_report_is_explained_without_aiogram(tmp_path: Path) -> None:
    result = learncity(tmp_path, "report", "festival", "nope")
    assert result.returncode == 1
    assert "Nothing is called “nope”" in result.stderr
    assert loaded_too_much(result) == []


def test_the_bot_itself_still_brings_aiogram(tmp_path: Path) -> None:
    """The probe can see aiogram: the commands above really do go without it."""
    code = "import sys, bot.startup.app; print('aiogram' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "True"
