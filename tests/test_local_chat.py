"""`learncity chat`: the real process in a terminal, no token and no network."""

from __future__ import annotations

import os
import subprocess
import sys


def test_a_resident_reaches_an_offer_card_in_four_presses(tmp_path) -> None:
    environment = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'chat.sqlite3'}"}
    environment.pop("BOT_TOKEN", None)
    typed = "/start\n1\n5\n1\n1\n"  # English, Seniors, first track, first offer
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input=typed,
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    screens = result.stdout.split("─── bot")
    assert "Выберите язык" in screens[1] or "Choose your language" in screens[1]
    assert "[1] 🇬🇧 English" in screens[1]
    assert "Next sessions:" in screens[-1]
    assert "Provider:" in screens[-1]


def test_numbers_without_a_button_and_free_text_get_hints(tmp_path) -> None:
    environment = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'chat.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="/start\n9\n🎨 hello\n",
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "(there is no button 9; choose 1–2)" in result.stdout
