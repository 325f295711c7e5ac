"""Settings: one clear line naming the variable when something is wrong."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.settings import SettingsError
from bot.settings import load_settings


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CITY_TIMEZONE", "Mars/Olympus", "Invalid setting CITY_TIMEZONE: unknown time zone"),
        ("BOT_TOKEN", "not-a-token", "Invalid setting BOT_TOKEN: expected the form"),
        ("DATABASE_URL", "mysql://x", "Invalid setting DATABASE_URL: use a postgresql://"),
        ("DEFAULT_LOCALE", "fr", "Invalid setting DEFAULT_LOCALE: choose one of en, ru"),
        ("ADMIN_IDS", "12,abc", "Invalid setting ADMIN_IDS: a comma-separated list"),
    ],
)
def test_invalid_values_name_the_variable(monkeypatch, variable, value, expected) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=expected.replace("(", r"\(")):
        load_settings(_env_file=None)


def test_cli_prints_one_line_and_exits_2(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env={"CITY_TIMEZONE": "Nowhere/Town", "PATH": ""},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Invalid setting CITY_TIMEZONE: unknown time zone 'Nowhere/Town' (use a name like "
        "Europe/Dublin)"
    ]


def test_defaults_and_conversions(monkeypatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, 2;3")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    settings = load_settings(_env_file=None)
    assert settings.admin_ids == {1, 2, 3}
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert settings.bot_token is None
