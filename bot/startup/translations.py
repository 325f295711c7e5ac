"""Keeping the gettext catalogues in step with the code: `python -m bot.startup.translations`.

Extracts every `_()`/`__()` string into `locales/messages.pot`, merges it into each language's
`.po` (keeping translations, marking new ones), fills English with the source text and compiles.
"""

from __future__ import annotations

import subprocess
import sys

from babel.messages.pofile import read_po
from babel.messages.pofile import write_po

from bot.i18n import DOMAIN
from bot.i18n import LOCALES_DIR
from bot.i18n import compile_catalogues
from bot.settings import PROJECT_ROOT
from bot.settings import SUPPORTED_LOCALES

SOURCE_DIRS = ("bot", "handlers", "catalogue", "scheduler")
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"
MAPPING = PROJECT_ROOT / "babel.cfg"  # Python, and the Mini App's Jinja2 templates


def pybabel(*arguments: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *arguments], check=True, cwd=PROJECT_ROOT
    )


def update_catalogues() -> None:
    pybabel(
        "extract", "-k", "__", "-F", str(MAPPING), "--no-location", "--sort-output",
        "--project=learncity",
        "-o", str(TEMPLATE), *SOURCE_DIRS,
    )  # fmt: skip
    for locale in SUPPORTED_LOCALES:
        po_path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        command = "update" if po_path.exists() else "init"
        options = ["--no-fuzzy-matching", "--ignore-obsolete"] if command == "update" else []
        pybabel(command, "-i", str(TEMPLATE), "-d", str(LOCALES_DIR), "-D", DOMAIN, "-l", locale,
                *options)  # fmt: skip
    fill_source_language(LOCALES_DIR / "en" / "LC_MESSAGES" / f"{DOMAIN}.po")
    compile_catalogues()


def fill_source_language(po_path) -> None:
    """English is the source language: its translation of every message is the message."""
    with po_path.open("rb") as file:
        catalog = read_po(file, locale="en")
    for message in catalog:
        if message.id and not message.string:
            message.string = message.id
    with po_path.open("wb") as file:
        write_po(file, catalog, no_location=True, sort_output=True, width=100)


if __name__ == "__main__":
    update_catalogues()
