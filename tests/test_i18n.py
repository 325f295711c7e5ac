"""Every string a resident can see is in gettext, and translated into Russian."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR
from bot.i18n import compile_catalogues
from bot.settings import SUPPORTED_LOCALES
from bot.startup.translations import SOURCE_DIRS

ROOT = Path(__file__).resolve().parent.parent


def catalogue(locale: str):
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file, locale=locale)


def code_messages(tmp_path: Path) -> set[str]:
    template = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-k", "__",
         "-F", str(ROOT / "babel.cfg"), "-o", str(template), *SOURCE_DIRS],
        check=True, cwd=ROOT, capture_output=True,
    )  # fmt: skip
    with template.open("rb") as file:
        return {message.id for message in read_po(file) if message.id}


def test_every_message_in_the_code_is_in_every_catalogue(tmp_path: Path) -> None:
    in_code = code_messages(tmp_path)
    assert in_code, "extraction found no messages"
    for locale in SUPPORTED_LOCALES:
        in_catalogue = {message.id for message in catalogue(locale) if message.id}
        missing = in_code - in_catalogue
        assert not missing, (
            f"{locale}: run `python -m bot.startup.translations`; missing {sorted(missing)}"
        )


def test_every_message_has_a_russian_translation() -> None:
    untranslated = [m.id for m in catalogue("ru") if m.id and (not m.string or m.fuzzy)]
    assert not untranslated, f"translate in locales/ru/LC_MESSAGES/messages.po: {untranslated}"


def test_placeholders_survive_translation() -> None:
    import re

    placeholder = re.compile(r"\{\w+\}")
    for message in catalogue("ru"):
        if message.id:
            assert sorted(placeholder.findall(message.id)) == sorted(
                placeholder.findall(message.string)
            ), message.id


def test_catalogues_compile() -> None:
    compile_catalogues()
    for locale in SUPPORTED_LOCALES:
        assert (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.mo").stat().st_size > 0
