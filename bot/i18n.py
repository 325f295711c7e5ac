"""gettext catalogues: compiled from `locales/*/LC_MESSAGES/messages.po` when they change."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.settings import PROJECT_ROOT
from bot.settings import SUPPORTED_LOCALES

if TYPE_CHECKING:  # aiogram is imported by the bot that needs it, not by the command line
    from aiogram.utils.i18n import I18n

LOCALES_DIR = PROJECT_ROOT / "locales"
DOMAIN = "messages"


def compile_catalogues(locales_dir: Path = LOCALES_DIR) -> list[Path]:
    """Write a `.mo` beside every `.po` that is newer than it; returns what was written."""
    written = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        written.append(mo_path)
    return written


def create_i18n(default_locale: str) -> I18n:
    from aiogram.utils.i18n import I18n

    compile_catalogues()
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


def best_locale(language_code: str | None, default_locale: str) -> str:
    """The supported locale closest to Telegram's `language_code` (e.g. "ru-RU" → "ru")."""
    if language_code:
        base = language_code.split("-", 1)[0].lower()
        if base in SUPPORTED_LOCALES:
            return base
        # Residents with Belarusian or Ukrainian interfaces read Russian more often than English.
        if base in {"be", "uk", "kk"}:
            return "ru"
        return "en"
    return default_locale
