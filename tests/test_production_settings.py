"""Production settings stop a wrong start-up with one clear line naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.settings import SettingsError
from bot.settings import load_settings


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("REDIS_URL", "http://localhost:6379", "Invalid setting REDIS_URL: use a redis://"),
        ("REDIS_PREFIX", "has spaces", "Invalid setting REDIS_PREFIX: 1 to 40"),
        ("WEBHOOK_URL", "bot.example.org/hook", "Invalid setting WEBHOOK_URL: the public"),
        ("WEBHOOK_SECRET", "no spaces please", "Invalid setting WEBHOOK_SECRET: 1 to 256"),
        ("WEBHOOK_PORT", "70000", "Invalid setting WEBHOOK_PORT: Input should be less"),
        ("FLOOD_LIMIT", "-1", "Invalid setting FLOOD_LIMIT: Input should be greater"),
        ("LOG_FORMAT", "xml", "Invalid setting LOG_FORMAT: Input should be 'text' or 'json'"),
    ],
)
def test_invalid_values_name_the_variable(monkeypatch, variable, value, expected) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=expected.replace("(", r"\(")):
        load_settings(_env_file=None)


def test_blank_optional_urls_mean_not_set(monkeypatch) -> None:
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("WEBHOOK_URL", " ")
    settings = load_settings(_env_file=None)
    assert settings.redis_url is None
    assert settings.webhook_url is None


def run_cli(tmp_path, *arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *arguments],
        env={"PATH": "", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", **environment},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, "Missing setting BOT_TOKEN: --webhook needs the token from @BotFather"),
        (
            {"BOT_TOKEN": "1:x"},
            "Missing setting WEBHOOK_URL: --webhook needs the public https:// address "
            "Telegram posts to",
        ),
        (
            {"BOT_TOKEN": "1:x", "WEBHOOK_URL": "https://bot.example.org/tg"},
            "Missing setting WEBHOOK_SECRET: --webhook needs a secret Telegram sends back "
            "with each post",
        ),
    ],
)
def test_webhook_mode_names_what_is_missing(tmp_path, environment, expected) -> None:
    result = run_cli(tmp_path, "run", "--webhook", **environment)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [expected]


def test_an_unreachable_redis_stops_start_up_with_one_line(tmp_path) -> None:
    result = run_cli(
        tmp_path,
        "run",
        BOT_TOKEN="1:x",
        REDIS_URL="redis://:hunter2@127.0.0.1:1/0",
        LOAD_DEMO="false",
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Cannot reach REDIS_URL redis://:***@127.0.0.1:1/0:")
    assert "hunter2" not in result.stderr
