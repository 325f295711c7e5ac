"""How long the `learncity` commands that do not talk to Telegram take, start to finish.

    python bench/cli.py [--runs 5]

Each command runs `--runs` times as a process of its own (the installed `learncity` script,
else `python -m bot`); the median wall time is printed beside two anchors measured in the same
run: `python -c pass` (the interpreter alone) and `python -c "import aiogram"` (what every
command paid before the commands imported their libraries lazily). The commands share one
SQLite database in a temporary folder, migrated and holding the demo catalogue (loaded by a
first, unmeasured search), so `migrate` measures the check a database already at the head
gets and `catalogue search` a warm start. Last line: one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "learncity --help": ["--help"],
    "learncity catalogue schema": ["catalogue", "schema"],
    "learncity catalogue search robot": ["catalogue", "search", "robot"],
    "learncity migrate": ["migrate"],
    "learncity report today": ["report", "today", "--out", "reports"],
}


def learncity() -> list[str]:
    script = Path(sys.executable).with_name("learncity")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def median_seconds(
    command: list[str], folder: Path, environment: dict[str, str], runs: int
) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            command, cwd=folder, env=environment, check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="learncity-cli-") as name:
        folder = Path(name)  # the working folder too: no .env of the checkout is read
        environment = {
            key: value
            for key, value in os.environ.items()
            if key not in {"BOT_TOKEN", "REDIS_URL", "LOG_FORMAT"}
        }
        environment.update(
            DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'learncity.sqlite3'}",
            PYTHONPATH=str(ROOT),
        )
        # The database at the head, with the demo catalogue: what a second run finds.
        subprocess.run(
            [*learncity(), "catalogue", "search", "robot"], cwd=folder, env=environment,
            check=True, capture_output=True,
        )  # fmt: skip
        anchors = {
            "python -c pass": [sys.executable, "-c", "pass"],
            'python -c "import aiogram"': [sys.executable, "-c", "import aiogram"],
        }
        commands = {label: [*learncity(), *arguments] for label, arguments in COMMANDS.items()}
        seconds = {
            label: median_seconds(command, folder, environment, runs)
            for label, command in {**anchors, **commands}.items()
        }
    width = max(map(len, seconds))
    print(f"median wall time of {runs} runs, seconds")
    for label, value in seconds.items():
        print(f"  {label:<{width}}  {value:6.3f}")
    print(json.dumps({"runs": runs, "seconds": {k: round(v, 4) for k, v in seconds.items()}}))


if __name__ == "__main__":
    main()
