"""The README keeps its promises: two set-up commands, and CI runs the test one verbatim."""

from __future__ import annotations

import json
import re
from pathlib import Path

from catalogue.exchange.schema import json_schema

ROOT = Path(__file__).resolve().parent.parent


def setup_commands() -> list[str]:
    setup = ROOT.joinpath("README.md").read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", setup, flags=re.S)


def test_readme_shows_exactly_two_setup_commands() -> None:
    commands = setup_commands()
    assert len(commands) == 2, commands
    assert all("\n" not in command for command in commands)
    start, tests = commands
    assert start.endswith("learncity run")
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command() -> None:
    ci = ROOT.joinpath(".ci/run").read_text().splitlines()
    assert setup_commands()[1] in ci


def test_published_schema_matches_the_code() -> None:
    published = json.loads(ROOT.joinpath("docs/catalogue.schema.json").read_text())
    assert published == json_schema(), (
        "regenerate: learncity catalogue schema > docs/catalogue.schema.json"
    )
