"""`learncity report …`: the files /report sends, written to a folder, the summary printed.

`learncity report demand [FROM TO]` prints the queries residents made that found nothing or
whose results nobody opened (docs/search.md).

`learncity report gnlc [FROM TO]` writes the GNLC report pack instead: its PDF, a CSV for
each table and a PNG chart for each breakdown (bot/report_files/gnlc.py).

The files come from `bot.report_files`, as in the chat, translated without aiogram: the
command starts in a fraction of the time the bot takes. Like `learncity run`, it loads the
demo programme (and its past festival week) into an empty database when `LOAD_DEMO` is on,
so the first report has something to show.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from datetime import datetime
from pathlib import Path

from bot.report_files import ReportReader
from bot.report_files import make_report_files
from bot.report_files import scope_problem
from bot.settings import SUPPORTED_LOCALES
from bot.settings import Settings
from catalogue.database import apply_migrations
from catalogue.database import create_engine
from catalogue.database import create_session_maker
from catalogue.models import utc_now
from catalogue.reports.attendance import ScopeError
from catalogue.reports.attendance import resolve_scope

TAGS = re.compile(r"</?(b|i|u|s|code|pre|a)( [^>]*)?>")
GNLC = "gnlc"
DEMAND = "demand"


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
        today = now.astimezone(settings.city_zone).date()
        if settings.load_demo:  # the same database `learncity run` would show
            from catalogue.exchange.seeding import load_demo_if_empty

            async with session_maker.begin() as session:
                await load_demo_if_empty(session, today, settings.city_zone)
        if arguments.scope[0].lower() == DEMAND:  # catalogue/search/demand.py
            from catalogue.learners.survey import survey_between
            from catalogue.learners.survey import survey_table
            from catalogue.search.demand import demand_command
            from catalogue.search.demand import demand_period

            async with session_maker() as session:
                code, text = await demand_command(session, arguments.scope[1:], today)
                period = demand_period(arguments.scope[1:], today)
                if code == 0 and period is not None:  # and the survey (catalogue/learners/)
                    survey = await survey_between(session, *period, settings.city_zone)
                    text += "\n\n" + survey_table(survey)
            print(text, file=sys.stdout if code == 0 else sys.stderr)
            return code
        async with session_maker() as session:
            try:
                if arguments.scope[0].lower() == GNLC:
                    files, summary = await _gnlc_files(session, arguments.scope[1:], reader, now)
                else:
                    files, summary = await _report_files(session, arguments.scope, reader, now)
            except ScopeError as error:
                print(_plain(scope_problem(error, locale)), file=sys.stderr)
                return 1
    finally:
        await engine.dispose()
    print(_plain(summary))
    print()
    _write(arguments.out, files)
    return 0


async def _report_files(
    session, words: list[str], reader: ReportReader, now: datetime
) -> tuple[list[tuple[str, bytes]], str]:
    scope = await resolve_scope(session, words, now.astimezone(reader.zone).date())
    files = await make_report_files(session, scope, reader, now)
    return files.files(), files.summary


async def _gnlc_files(
    session, words: list[str], reader: ReportReader, now: datetime
) -> tuple[list[tuple[str, bytes]], str]:
    from bot.report_files.gnlc import make_gnlc_pack
    from catalogue.reports.gnlc import parse_period

    period = parse_period(words, now.astimezone(reader.zone).date())
    pack = await make_gnlc_pack(session, period, reader, now)
    return pack.files(), pack.summary


def _write(folder: Path, files: list[tuple[str, bytes]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files:
        path = folder / name
        path.write_bytes(content)
        print(f"Wrote {path}")


def _plain(text: str) -> str:
    return html.unescape(TAGS.sub("", text))
