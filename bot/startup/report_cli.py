"""`learncity report …`: the files /report sends, written to a folder, the summary printed.

The files come from `bot.report_files`, as in the chat, translated without aiogram: the
command starts in a fraction of the time the bot takes.
"""

from __future__ import annotations

import argparse
import html
import re
import sys

from bot.report_files import ReportReader
from bot.report_files import make_report_files
from bot.report_files import scope_problem
from bot.settings import SUPPORTED_LOCALES
from bot.settings import Settings
from catalogue.database import apply_migrations
from catalogue.database import create_engine
from catalogue.database import create_session_maker
from catalogue.models import utc_now
from catalogue.reports import ScopeError
from catalogue.reports import resolve_scope

TAGS = re.compile(r"</?(b|i|u|s|code|pre|a)( [^>]*)?>")


async def report_command(arguments: argparse.Namespace, settings: Settings) -> int:
    locale = arguments.locale or settings.default_locale
    if locale not in SUPPORTED_LOCALES:
        print(f"Unknown locale {locale!r}: choose {', '.join(SUPPORTED_LOCALES)}", file=sys.stderr)
        return 2
    reader = ReportReader(locale, settings.city_zone)
    engine = create_engine(settings.database_url)
    try:
        await apply_migrations(engine)
        session_maker = create_session_maker(engine)
        now = utc_now()
        async with session_maker() as session:
            try:
                scope = await resolve_scope(
                    session, arguments.scope, now.astimezone(settings.city_zone).date()
                )
            except ScopeError as error:
                print(_plain(scope_problem(error, locale)), file=sys.stderr)
                return 1
            files = await make_report_files(session, scope, reader, now)
    finally:
        await engine.dispose()
    folder = arguments.out
    folder.mkdir(parents=True, exist_ok=True)
    print(_plain(files.summary))
    print()
    for name, content in (
        (files.chart_name, files.chart_png),
        (files.attendance_name, files.attendance_csv),
        (files.aggregates_name, files.aggregates_csv),
    ):
        path = folder / name
        path.write_bytes(content)
        print(f"Wrote {path}")
    return 0


def _plain(text: str) -> str:
    return html.unescape(TAGS.sub("", text))
